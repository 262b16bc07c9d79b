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
