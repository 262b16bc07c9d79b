import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../config.js';
import { PatientRecord } from '../fhir/record.js';
import { HCPCS, SNOMED } from '../fhir/systems.js';
import { loadOrderCatalogue, recogniseOrders } from './index.js';

const catalogue = loadOrderCatalogue(path.join(projectRoot, 'policies'));
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const ROLE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const pump = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Bundle', type: 'collection',
  entry: [{ resource: { resourceType: 'DeviceRequest', id: 'p1', status: 'draft', intent: 'original-order', subject: { reference: 'Patient/p1' }, codeCodeableConcept: { coding: [{ system: HCPCS, code: 'E0784' }] }, ...extra } }],
});
const enc = (id: string, cls: string, location?: string) => ({
  resourceType: 'Encounter', id, status: 'in-progress', class: { system: ACT, code: cls }, subject: { reference: 'Patient/p1' },
  ...(location ? { location: [{ location: { reference: `Location/${location}` } }] } : {}),
});
const record = new PatientRecord('p1', [
  enc('inpt', 'IMP'), enc('amb', 'AMB'), enc('er-snf', 'EMER', 'snf'), enc('er-home', 'EMER', 'home'), enc('er', 'EMER'),
  { resourceType: 'Location', id: 'snf', type: [{ coding: [{ system: ROLE, code: 'SNF' }] }] },
  { resourceType: 'Location', id: 'home', type: [{ coding: [{ system: ROLE, code: 'PTRES' }] }] },
] as never);

describe('setting', () => {
  it.each([
    ['inpt', 'institutional', 'encounter', 'Encounter.class IMP'],
    ['amb', 'home', 'encounter', 'Encounter.class AMB'],
    ['er-snf', 'institutional', 'location', 'Location.type SNF'],
    ['er-home', 'home', 'location', 'Location.type PTRES'],
  ])('context.encounterId %s → %s from %s', (encounterId, value, source, detail) => {
    expect(recogniseOrders(pump(), catalogue, { record, encounterId })[0]!.setting).toEqual({ value, source, detail });
  });

  it("the order's own encounter wins over context.encounterId", () => {
    expect(recogniseOrders(pump({ encounter: { reference: 'Encounter/inpt' } }), catalogue, { record, encounterId: 'amb' })[0]!.setting.value).toBe('institutional');
  });

  it('the request category when the encounter does not say (DeviceRequest: a category extension)', () => {
    const ext = { extension: [{ url: 'http://example.org/fhir/StructureDefinition/request-category', valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'community' }] } }] };
    expect(recogniseOrders(pump(ext), catalogue, { record, encounterId: 'er' })[0]!.setting).toEqual({ value: 'home', source: 'crd-category', detail: 'request category community' });
  });

  it('unknown, with the assumption stated, when nothing says', () => {
    const s = recogniseOrders(pump(), catalogue, { record, encounterId: 'er' })[0]!.setting;
    expect(s).toMatchObject({ value: 'unknown', source: 'none' });
    expect(s.detail).toMatch(/home use is not confirmed/);
    expect(recogniseOrders(pump(), catalogue)[0]!.setting.value).toBe('unknown');
  });
});

describe('pumps on record', () => {
  it('active Devices typed with a pump code and the Device of an active DeviceUseStatement, once each', () => {
    const r = new PatientRecord('p1', [
      { resourceType: 'Device', id: 'd1', status: 'active', type: { coding: [{ system: SNOMED, code: '69805005' }] } },
      { resourceType: 'Device', id: 'd2', status: 'inactive', type: { coding: [{ system: HCPCS, code: 'E0784' }] } },
      { resourceType: 'Device', id: 'd3', type: { coding: [{ system: HCPCS, code: 'E0783' }] } },
      { resourceType: 'Device', id: 'cgm', status: 'active', type: { coding: [{ system: HCPCS, code: 'E2102' }] } },
      { resourceType: 'DeviceUseStatement', id: 'u1', status: 'active', subject: { reference: 'Patient/p1' }, device: { reference: 'Device/d3' } },
      { resourceType: 'DeviceUseStatement', id: 'u2', status: 'active', subject: { reference: 'Patient/p1' }, device: { reference: 'Device/d1' } },
    ] as never);
    const [supply] = recogniseOrders(pump({ codeCodeableConcept: { coding: [{ system: HCPCS, code: 'A4224' }] } }), catalogue, { record: r });
    expect(supply!.pumpsOnRecord.map((p) => [p.ref, p.hcpcs ?? null, p.kind])).toEqual([
      ['Device/d1', null, 'external'],
      ['Device/d3', 'E0783', 'implantable'],
    ]);
  });
});

describe('procedures (ServiceRequest) and supplies (SupplyRequest)', () => {
  it('a refill ServiceRequest is a procedure with its CPT; a SupplyRequest of A4222 is a supply', () => {
    const b = {
      resourceType: 'Bundle',
      entry: [
        { resource: { resourceType: 'ServiceRequest', id: 'sr1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: ' 95990 ' }] }, note: [{ text: 'refill with ziconotide' }] } },
        { resource: { resourceType: 'SupplyRequest', id: 'su1', status: 'draft', itemCodeableConcept: { coding: [{ system: HCPCS, code: 'A4222' }] } } },
      ],
    };
    const [sr, su] = recogniseOrders(b, catalogue);
    expect(sr).toMatchObject({ ref: 'ServiceRequest/sr1', role: 'procedure', cpt: '95990', noun: 'pump refill procedure', drug: { status: 'identified', names: ['ziconotide'], source: 'order' } });
    expect(sr!.label).toMatch(/^95990 Refilling and maintenance of implantable pump/);
    expect(su).toMatchObject({ ref: 'SupplyRequest/su1', role: 'supply', hcpcs: 'A4222' });
  });
});
