import { describe, expect, it } from 'vitest';
import { order, runKind } from '../../../test/support/fact-fixtures.js';

describe('order-element kind', () => {
  it('FHIRPath over a copy of the draft order: the request body is never touched', () => {
    const o = order();
    const before = JSON.stringify(o.resource);
    expect(runKind('order-element', { expression: "authoredOn.exists() and subject.reference.startsWith('Patient/')" }, [], { order: o }).status).toBe('met');
    expect(runKind('order-element', { expression: 'quantity.exists()', notMetIf: "status = 'draft'" }, [], { order: o }).status).toBe('not-met');
    expect(runKind('order-element', { expression: 'quantity.exists()' }, [], { order: o }).empty).toBe(true);
    expect(JSON.stringify(o.resource)).toBe(before);
  });
});

describe('order-element target drug-order', () => {
  const drugOrder = { resourceType: 'MedicationRequest', id: 'mr-1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p1' }, dispenseRequest: { quantity: { value: 900 } } } as const;
  it("reads the pump's drug order from the order set, and is absent when there is none", () => {
    const o = order({ hcpcs: 'E0781' });
    const params = { expression: 'dispenseRequest.quantity.where(value <= 875).exists()', notMetIf: 'dispenseRequest.quantity.where(value > 875).exists()', target: 'drug-order' };
    expect(runKind('order-element', params, [], { order: o }).empty).toBe(true);
    const withDrug = { ...o, drug: { status: 'identified' as const, ingredients: [], names: ['x'], hcpcs: ['J9039'], source: 'companion' as const, ref: 'MedicationRequest/mr-1', resource: structuredClone(drugOrder) as never } };
    const before = JSON.stringify(withDrug.drug.resource);
    const r = runKind('order-element', params, [], { order: withDrug });
    expect(r.status).toBe('not-met');
    expect(r.evidence[0]?.reference).toBe('MedicationRequest/mr-1');
    expect(JSON.stringify(withDrug.drug.resource)).toBe(before);
    // The pump order's own elements are still read with the default target.
    expect(runKind('order-element', { expression: 'dispenseRequest.exists()' }, [], { order: withDrug }).empty).toBe(true);
  });
});
