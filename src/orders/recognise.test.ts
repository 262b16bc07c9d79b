import path from 'node:path';
import type { Bundle, DeviceRequest, MedicationRequest } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { writePolicyDir } from '../../test/support/policy-dir.js';
import { projectRoot } from '../config.js';
import { loadOrderCatalogue, otherCompanions, recogniseOrders } from './index.js';
import { PolicyLoadError } from '../policy/schemas.js';

const catalogue = loadOrderCatalogue(path.join(projectRoot, 'policies'));

const HCPCS_URIS = [
  'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'https://bluebutton.cms.gov/resources/codesystem/hcpcs',
];

function device(id: string, system: string, code: string, extra: Partial<DeviceRequest> = {}): DeviceRequest {
  return {
    resourceType: 'DeviceRequest',
    id,
    status: 'draft',
    intent: 'original-order',
    subject: { reference: 'Patient/p1' },
    codeCodeableConcept: { coding: [{ system, code }] },
    ...extra,
  };
}

function med(id: string, system: string, code: string, extra: Partial<MedicationRequest> = {}): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: { coding: [{ system, code }] },
    ...extra,
  };
}

function bundle(...resources: unknown[]): Bundle {
  return { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource: resource as DeviceRequest })) };
}

describe('recogniseOrders', () => {
  it.each(HCPCS_URIS)('recognises E0784 under %s', (system) => {
    const [order] = recogniseOrders(bundle(device('dr1', system, 'E0784')), catalogue);
    expect(order).toMatchObject({
      ref: 'DeviceRequest/dr1',
      role: 'pump',
      hcpcs: 'E0784',
      pumpKind: 'external',
      label: 'E0784 External ambulatory infusion pump, insulin',
      selected: true,
      groupKey: 'draftOrders',
    });
    expect(order?.companions.map((c) => c.ref)).toEqual(['DeviceRequest/dr1']);
  });

  it('trims stray whitespace and folds case, keeping the codings as received', () => {
    const [order] = recogniseOrders(bundle(device('dr1', ' https://bluebutton.cms.gov/resources/codesystem/hcpcs ', ' e0784\n')), catalogue);
    expect(order?.hcpcs).toBe('E0784');
    expect(order?.codings[0]?.code).toBe(' e0784\n');
  });

  it('SNOMED 69805005 insulin pump is an external pump', () => {
    const [order] = recogniseOrders(bundle(device('dr1', 'http://snomed.info/sct', '69805005')), catalogue);
    expect(order).toMatchObject({ role: 'pump', pumpKind: 'external', label: 'Insulin pump (SNOMED CT 69805005)' });
    expect(order?.hcpcs).toBeUndefined();
  });

  it('an HCPCS coding next to a SNOMED one gives the HCPCS code and label', () => {
    const dr = device('dr1', 'http://snomed.info/sct', '69805005');
    dr.codeCodeableConcept!.coding!.push({ system: HCPCS_URIS[0], code: 'E0784' });
    const [order] = recogniseOrders(bundle(dr), catalogue);
    expect(order).toMatchObject({ hcpcs: 'E0784', label: 'E0784 External ambulatory infusion pump, insulin' });
  });

  it('implantable pumps', () => {
    const orders = recogniseOrders(bundle(device('a', HCPCS_URIS[0]!, 'E0783'), device('b', HCPCS_URIS[1]!, 'E0782')), catalogue);
    expect(orders.map((o) => [o.hcpcs, o.role, o.pumpKind])).toEqual([
      ['E0783', 'pump', 'implantable'],
      ['E0782', 'pump', 'implantable'],
    ]);
  });

  it('examines every entry: supplies and drug orders become companions of the pump (and back)', () => {
    const b = bundle(
      { resourceType: 'NutritionOrder', id: 'n1', status: 'draft', intent: 'order', patient: { reference: 'Patient/p1' } },
      device('sup', HCPCS_URIS[2]!, 'A4224'),
      device('other', 'http://snomed.info/sct', '19923001'),
      device('pump', HCPCS_URIS[0]!, 'E0784'),
      med('ins', HCPCS_URIS[0]!, 'J1817'),
    );
    const orders = recogniseOrders(b, catalogue);
    expect(orders.map((o) => [o.ref, o.role])).toEqual([
      ['DeviceRequest/sup', 'supply'],
      ['DeviceRequest/pump', 'pump'],
      ['MedicationRequest/ins', 'drug'],
    ]);
    const pump = orders.find((o) => o.role === 'pump')!;
    expect(otherCompanions(pump).map((c) => [c.ref, c.role, c.hcpcs])).toEqual([
      ['DeviceRequest/sup', 'supply', 'A4224'],
      ['MedicationRequest/ins', 'drug', 'J1817'],
    ]);
    expect(otherCompanions(orders[0]!).map((c) => c.ref)).toEqual(['DeviceRequest/pump', 'MedicationRequest/ins']);
    // One array for the whole order set, shared by every order of it.
    expect(orders[0]!.companions).toBe(pump.companions);
  });

  it('drug orders by RxNorm and through a contained Medication', () => {
    const contained = med('m2', 'x', 'y');
    delete contained.medicationCodeableConcept;
    contained.medicationReference = { reference: '#med' };
    contained.contained = [
      { resourceType: 'Medication', id: 'med', code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '51428' }] } },
    ];
    const orders = recogniseOrders(bundle(med('m1', 'http://www.nlm.nih.gov/research/umls/rxnorm', '86009'), contained), catalogue);
    expect(orders.map((o) => [o.ref, o.role, o.label])).toEqual([
      ['MedicationRequest/m1', 'drug', 'Insulin lispro (RxNorm 86009)'],
      ['MedicationRequest/m2', 'drug', 'Insulin aspart (RxNorm 51428)'],
    ]);
  });

  it('codeReference counts only when it resolves to a contained Device with a type coding', () => {
    const viaDevice = device('d1', 'x', 'y');
    delete viaDevice.codeCodeableConcept;
    viaDevice.codeReference = { reference: '#pump' };
    viaDevice.contained = [{ resourceType: 'Device', id: 'pump', type: { coding: [{ system: HCPCS_URIS[0], code: 'E0784' }] } } as never];
    const external = device('d2', 'x', 'y');
    delete external.codeCodeableConcept;
    external.codeReference = { reference: 'Device/123' };
    const orders = recogniseOrders(bundle(viaDevice, external), catalogue);
    expect(orders.map((o) => o.ref)).toEqual(['DeviceRequest/d1']);
    expect(orders[0]?.hcpcs).toBe('E0784');
  });

  it('selections mark what the clinician is looking at; everything is selected without selections', () => {
    const b = bundle(device('pump', HCPCS_URIS[0]!, 'E0784'), device('sup', HCPCS_URIS[0]!, 'A4225'));
    expect(recogniseOrders(b, catalogue, ['DeviceRequest/sup']).map((o) => [o.ref, o.selected])).toEqual([
      ['DeviceRequest/pump', false],
      ['DeviceRequest/sup', true],
    ]);
    expect(recogniseOrders(b, catalogue, []).every((o) => !o.selected)).toBe(true);
    expect(recogniseOrders(b, catalogue).every((o) => o.selected)).toBe(true);
  });

  it('keeps authoredOn, requester and Coverage references (absolute URLs reduced to Type/id)', () => {
    const dr = device('pump', HCPCS_URIS[0]!, 'E0784', {
      authoredOn: '2026-04-01T10:12:00Z',
      requester: { reference: 'PractitionerRole/pr-42' },
      insurance: [{ reference: 'https://ehr.example.org/fhir/r4/Coverage/cov-1' }, { reference: 'Coverage/cov-2' }],
    });
    const [order] = recogniseOrders(bundle(dr), catalogue);
    expect(order).toMatchObject({ authoredOn: '2026-04-01T10:12:00Z', requester: 'PractitionerRole/pr-42', insurance: ['Coverage/cov-1', 'Coverage/cov-2'] });
    expect(order?.resource).toBe(dr);
  });

  it('ignores empty bundles and entries without resources', () => {
    expect(recogniseOrders({ resourceType: 'Bundle', type: 'collection' }, catalogue)).toEqual([]);
    expect(recogniseOrders({ resourceType: 'Bundle', type: 'collection', entry: [{}] }, catalogue)).toEqual([]);
  });
});

describe('loadOrderCatalogue', () => {
  it('has the pump, supply and drug codes of the digest', () => {
    const roles = Object.fromEntries(catalogue.entries.map((e) => [e.code, [e.role, e.pumpKind ?? null]]));
    for (const c of ['E0779', 'E0780', 'E0781', 'E0784', 'E0787', 'E0791', 'K0455']) expect(roles[c]).toEqual(['pump', 'external']);
    for (const c of ['E0782', 'E0783', 'E0785', 'E0786']) expect(roles[c]).toEqual(['pump', 'implantable']);
    for (const c of ['A4221', 'A4222', 'A4224', 'A4225', 'A4238', 'A4239', 'K0552', 'E0776', 'A4244', 'A4245', 'A4246', 'A4247', 'A5120']) expect(roles[c]).toEqual(['supply', null]);
    for (const c of ['A4305', 'A4306', 'A9274', 'E1399']) expect(roles[c]).toEqual(['pump', 'external']);
    for (const c of ['62350', '62351', '62360', '62361', '62362', '62367', '62368', '62369', '62370', '95990', '95991']) expect(roles[c]).toEqual(['procedure', null]);
    for (const c of ['J1817', 'J1811', 'J1813', '86009']) expect(roles[c]).toEqual(['drug', null]);
    expect(roles['69805005']).toEqual(['pump', 'external']);
    expect(catalogue.entries.every((e) => e.display.length > 0)).toBe(true);
  });

  it('rejects a malformed catalogue with file and path', () => {
    const dir = writePolicyDir({ 'orders.json': { entries: [{ system: 'x', code: 'E0784', role: 'pumpp', display: 'x' }] } });
    expect(() => loadOrderCatalogue(dir)).toThrow(PolicyLoadError);
    expect(() => loadOrderCatalogue(dir)).toThrow(/orders\.json: \/entries\/0\/role: must be one of "pump", "supply", "drug", "procedure"/);
  });
});
