import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../config.js';
import { PatientRecord } from '../fhir/record.js';
import { HCPCS, RXNORM } from '../fhir/systems.js';
import { loadOrderCatalogue, recogniseOrders } from './index.js';

const catalogue = loadOrderCatalogue(path.join(projectRoot, 'policies'));
const bundle = (...resources: unknown[]) => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });
const pump = (id: string, code: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'DeviceRequest', id, status: 'draft', intent: 'original-order', subject: { reference: 'Patient/p1' },
  codeCodeableConcept: { coding: [{ system: HCPCS, code }] }, authoredOn: '2026-04-10', ...extra,
});
const med = (id: string, concept: unknown, extra: Record<string, unknown> = {}) => ({
  resourceType: 'MedicationRequest', id, status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: concept, ...extra,
});

describe('drug identification', () => {
  it('from a basedOn companion, by product-level RxNorm mapped to the ingredient', () => {
    const b = bundle(
      pump('p1', 'E0781', { basedOn: [{ reference: 'MedicationRequest/m1' }] }),
      med('m1', { coding: [{ system: RXNORM, code: '1734377' }] }, { dosageInstruction: [{ route: { coding: [{ system: 'http://snomed.info/sct', code: '47625008' }] } }] }),
      med('m2', { coding: [{ system: HCPCS, code: 'J1817' }] }),
    );
    const [p] = recogniseOrders(b, catalogue);
    expect(p!.drug).toMatchObject({ status: 'identified', source: 'companion', ref: 'MedicationRequest/m1', names: ['foscarnet'], matchedBy: 'rxnorm-product', route: ['47625008'] });
    // foscarnet's ingredient RXCUI is not verified: identified by name id, no RXCUI claimed.
    expect(p!.drug.ingredients).toEqual([]);
  });

  it('basedOn beats the rest of the order set; a MedicationRequest based on the pump counts too', () => {
    const b = bundle(pump('p1', 'E0779'), med('m0', { coding: [{ system: HCPCS, code: 'J1817' }] }), med('m1', { text: 'Morphine sulfate PF 25 mg/mL' }, { basedOn: [{ reference: 'DeviceRequest/p1' }] }));
    const [p] = recogniseOrders(b, catalogue);
    expect(p!.drug).toMatchObject({ status: 'identified', source: 'companion', ref: 'MedicationRequest/m1', ingredients: ['7052'], matchedBy: 'name' });
  });

  it('from the same order set by RxNorm ingredient or J-code, groups split by groupIdentifier', () => {
    const b = bundle(
      pump('p1', 'K0455', { groupIdentifier: { value: 'g1' } }),
      med('m1', { coding: [{ system: RXNORM, code: '343048' }] }, { groupIdentifier: { value: 'g1' } }),
      pump('p2', 'E0779', { groupIdentifier: { value: 'g2' } }),
      med('m2', { coding: [{ system: 'https://bluebutton.cms.gov/resources/codesystem/hcpcs', code: 'j1559' }] }, { groupIdentifier: { value: 'g2' } }),
    );
    // The drugs are catalogue entries too (their own orders): take the pumps.
    const [p1, p2] = recogniseOrders(b, catalogue).filter((o) => o.role === 'pump');
    expect(p1!.drug).toMatchObject({ status: 'identified', names: ['treprostinil'], ingredients: ['343048'], matchedBy: 'rxnorm-ingredient' });
    expect(p2!.drug).toMatchObject({ status: 'identified', names: ['immune-globulin-sc'], hcpcs: ['J1559'], matchedBy: 'hcpcs' });
    expect(p1!.groupKey).not.toBe(p2!.groupKey);
  });

  it("from the order's own fields (parameter, note)", () => {
    const b = bundle(pump('p1', 'E0783', { note: [{ text: 'Intrathecal baclofen (Lioresal) 2000 mcg/mL' }] }));
    expect(recogniseOrders(b, catalogue)[0]!.drug).toMatchObject({ status: 'identified', source: 'order', ingredients: ['1292'] });
    const c = bundle(pump('p1', 'E0779', { parameter: [{ code: { text: 'drug' }, valueCodeableConcept: { coding: [{ system: HCPCS, code: 'J2278' }] } }] }));
    expect(recogniseOrders(c, catalogue)[0]!.drug).toMatchObject({ status: 'identified', names: ['ziconotide'], hcpcs: ['J2278'] });
  });

  it('from an active MedicationRequest on record started within 30 days, through a Medication on record', () => {
    const record = new PatientRecord('p1', [
      { resourceType: 'Medication', id: 'med-1', code: { coding: [{ system: RXNORM, code: '1652639' }] } },
      { resourceType: 'MedicationRequest', id: 'old', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, authoredOn: '2026-01-01', medicationCodeableConcept: { coding: [{ system: RXNORM, code: '3423' }] } },
      { resourceType: 'MedicationRequest', id: 'new', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, authoredOn: '2026-04-01', medicationReference: { reference: 'Medication/med-1' } },
    ] as never);
    const [p] = recogniseOrders(bundle(pump('p1', 'E0784')), catalogue, { record });
    expect(p!.drug).toMatchObject({ status: 'identified', source: 'record', ref: 'MedicationRequest/new', ingredients: ['86009'] });
    // Outside the window: not identified.
    const [q] = recogniseOrders(bundle(pump('p1', 'E0784', { authoredOn: '2026-08-01' })), catalogue, { record });
    expect(q!.drug.status).toBe('not-identified');
  });

  it('names the longest match: "insulin lispro" is lispro, not generic insulin', () => {
    const [m] = recogniseOrders(bundle(med('m1', { coding: [{ system: HCPCS, code: 'J1817' }], text: 'Insulin lispro U-100' })), catalogue);
    expect(m!.drug.names).toEqual(['insulin']); // the J-code decides before names are read
    const [p] = recogniseOrders(bundle(pump('p1', 'E0784', { note: [{ text: 'insulin lispro via pump' }] })), catalogue);
    expect(p!.drug.names).toEqual(['insulin-lispro']);
  });

  it('not-identified when nothing matches; not-applicable for an IV pole', () => {
    const orders = recogniseOrders(bundle(pump('p1', 'E0791'), pump('pole', 'E0776'), med('m1', { text: 'saline flush' })), catalogue);
    expect(orders.map((o) => [o.ref, o.drug.status])).toEqual([
      ['DeviceRequest/p1', 'not-identified'],
      ['DeviceRequest/pole', 'not-applicable'],
    ]);
  });
});

describe('drug identification: what the policies can match on (issue 9)', () => {
  it('a drug named only in text and without a verified RXCUI is known by its one J-code; a J-code names a drug the map does not list; a NOC code names none', () => {
    const [blina] = recogniseOrders(bundle(pump('p1', 'E0781'), med('m1', { text: 'Blincyto 28 mcg/day continuous infusion' })), catalogue);
    expect(blina!.drug).toMatchObject({ status: 'identified', names: ['blinatumomab'], hcpcs: ['J9039'], matchedBy: 'name', ref: 'MedicationRequest/m1' });
    expect(blina!.drug.resource?.id).toBe('m1');
    // Immune globulin has one J-code per product: the text names no product, so no J-code is claimed.
    const [ig] = recogniseOrders(bundle(pump('p1', 'E0779'), med('m1', { text: 'Immune globulin 20% subcutaneous weekly' })), catalogue);
    expect(ig!.drug.hcpcs).toEqual([]);
    const [oxali] = recogniseOrders(bundle(pump('p1', 'E0779'), med('m1', { coding: [{ system: HCPCS, code: 'J9263' }] })), catalogue);
    expect(oxali!.drug).toMatchObject({ status: 'identified', hcpcs: ['J9263'], ingredients: [] });
    const [noc] = recogniseOrders(bundle(pump('p1', 'E0779'), med('m1', { coding: [{ system: HCPCS, code: 'J7799' }], text: 'compounded infusion' })), catalogue);
    expect(noc!.drug.status).toBe('not-identified');
  });
});
