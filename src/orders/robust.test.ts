// Linearity (issue 13 F1) and robustness on malformed FHIR (F2): structure, not time, is asserted.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../config.js';
import { PatientRecord } from '../fhir/record.js';
import { HCPCS } from '../fhir/systems.js';
import { loadOrderCatalogue, recogniseOrders } from './index.js';

const catalogue = loadOrderCatalogue(path.join(projectRoot, 'policies'));
const e0784 = (i: number) => ({ resourceType: 'DeviceRequest', id: `dr${i}`, status: 'draft', intent: 'original-order', subject: { reference: 'Patient/p1' }, codeCodeableConcept: { coding: [{ system: HCPCS, code: 'E0784' }] } });

describe('linear in the number of draft orders', () => {
  it('10,000 minimal E0784 orders share one companion array, one drug, one setting and one pumps-on-record array', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: Array.from({ length: 10_000 }, (_, i) => ({ resource: e0784(i) })) };
    const record = new PatientRecord('p1', []);
    const orders = recogniseOrders(bundle, catalogue, { record, encounterId: 'none', requestTime: new Date('2026-04-10T00:00:00Z') });
    expect(orders).toHaveLength(10_000);
    const first = orders[0]!;
    expect(first.companions).toHaveLength(10_000);
    for (const o of orders) {
      expect(o.companions).toBe(first.companions);
      expect(o.drug).toBe(first.drug);
      expect(o.setting).toBe(first.setting);
      expect(o.pumpsOnRecord).toBe(first.pumpsOnRecord);
      expect(o.groupKey).toBe('draftOrders');
    }
    // Companion entries total n, not n²: the objects are the orders' own codings arrays.
    expect(new Set(orders.map((o) => o.companions)).size).toBe(1);
    expect(first.companions[9_999]!.codings).toBe(orders[9_999]!.codings);
  });
});

// Values of the wrong type for any element.
const junk = fc.oneof(
  fc.constant(null), fc.constant(undefined), fc.boolean(), fc.integer(), fc.double(), fc.string({ maxLength: 8 }),
  fc.constant({}), fc.constant([]), fc.constant([null]), fc.constant('Coverage/x'), fc.constant({ coding: {} }),
  fc.constant({ coding: 5 }), fc.constant({ coding: [{ system: 12345, code: true }] }), fc.constant({ reference: 7 }),
);

function mutate(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? mutate(v, rest, replacement) : v));
  if (typeof value === 'object' && value !== null) return { ...(value as object), [head as string]: mutate((value as Record<string, unknown>)[head as string], rest, replacement) };
  return value;
}

function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

const sample = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { fullUrl: 'urn:uuid:1', resource: { ...e0784(1), insurance: [{ reference: 'Coverage/c1' }], basedOn: [{ reference: 'MedicationRequest/m1' }], groupIdentifier: { system: 's', value: 'g' }, encounter: { reference: 'Encounter/e1' }, authoredOn: '2026-04-01', parameter: [{ valueCodeableConcept: { text: 'morphine' } }], note: [{ text: 'x' }], extension: [{ url: 'category', valueCoding: { code: 'community' } }] } },
    { resource: { resourceType: 'MedicationRequest', id: 'm1', status: 'draft', groupIdentifier: { value: 'g' }, medicationReference: { reference: '#med' }, contained: [{ resourceType: 'Medication', id: 'med', code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '7052' }] }, ingredient: [{ itemCodeableConcept: { text: 'morphine' } }] }], dosageInstruction: [{ route: { coding: [{ code: 'x' }] } }] } },
    { resource: { resourceType: 'ServiceRequest', id: 's1', status: 'draft', code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }] }, orderDetail: [{ text: 'baclofen' }], category: [{ coding: [{ code: 'inpatient' }] }] } },
    { resource: { resourceType: 'SupplyRequest', id: 'su1', itemReference: { reference: '#d' }, contained: [{ resourceType: 'Device', id: 'd', type: { coding: [{ system: HCPCS, code: 'A4222' }] } }] } },
  ],
};
const record = new PatientRecord('p1', [
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, location: [{ location: { reference: 'Location/l1' } }] },
  { resourceType: 'Location', id: 'l1', type: [{ coding: [{ code: 'SNF' }] }] },
  { resourceType: 'Device', id: 'd1', status: 'active', type: { coding: [{ system: HCPCS, code: 'E0784' }] } },
  { resourceType: 'MedicationRequest', id: 'r1', status: 'active', authoredOn: '2026-03-30', medicationCodeableConcept: { text: 'hydromorphone' } },
] as never);
const allPaths = paths(sample);

describe('never throws on malformed draft orders (property)', () => {
  it('replacing any element of a realistic order set by a value of the wrong type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allPaths), junk, fc.constantFrom(...allPaths), junk, (p1, v1, p2, v2) => {
        const mutated = mutate(mutate(sample, p1, v1), p2, v2);
        const orders = recogniseOrders(mutated, catalogue, { record, encounterId: v1 as never, selections: ['DeviceRequest/dr1'], requestTime: new Date('2026-04-02T00:00:00Z') });
        for (const o of orders) {
          expect(typeof o.ref).toBe('string');
          expect(typeof o.label).toBe('string');
          expect(Array.isArray(o.insurance)).toBe(true);
          for (const c of o.codings) expect(typeof c.code).toBe('string');
          expect(['identified', 'not-identified', 'not-applicable']).toContain(o.drug.status);
          expect(['home', 'institutional', 'unknown']).toContain(o.setting.value);
        }
      }),
      { seed: 8013, numRuns: 400 },
    );
  });

  it('the issue 13 reproducers', () => {
    const cases: unknown[] = [
      { entry: [{ resource: { ...e0784(1), codeCodeableConcept: { coding: [{ system: 12345, code: 'E0784' }] } } }] },
      { entry: [{ resource: { ...e0784(1), codeCodeableConcept: { coding: [{ system: HCPCS, code: true }] } } }] },
      { entry: [{ resource: { ...e0784(1), codeCodeableConcept: { coding: {} } } }] },
      { entry: [{ resource: { ...e0784(1), codeCodeableConcept: { coding: [null] } } }] },
      { entry: [{ resource: { ...e0784(1), codeCodeableConcept: { coding: 5 } } }] },
      { entry: [{ resource: { ...e0784(1), insurance: 'Coverage/x' } }] },
      { entry: [{ resource: { ...e0784(1), insurance: [null] } }] },
      { entry: [{ resource: { ...e0784(1), authoredOn: 20260401 } }] },
      { entry: 'x' }, null, 42, { entry: [null, 1, 'a', { resource: 5 }] },
    ];
    for (const c of cases) expect(() => recogniseOrders(c, catalogue, { record, selections: [5, null, 'DeviceRequest/dr1'] as never })).not.toThrow();
    // A numeric system makes the coding system-less (not HCPCS): no order; the numeric date is ignored.
    expect(recogniseOrders(cases[0], catalogue)).toEqual([]);
    expect(recogniseOrders(cases[7], catalogue)[0]!.authoredOn).toBeUndefined();
    expect(recogniseOrders(cases[5], catalogue)[0]!.insurance).toEqual([]);
  });
});
