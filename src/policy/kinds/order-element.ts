// order-element: a FHIRPath test over a deep copy of the draft order (standard written order elements, quantities).
// fhirpath.js may annotate the objects it walks, so it never sees the request body that is echoed back.
// `target: "drug-order"` reads the order set's drug order instead: the order itself when it is the drug, else the
// draft MedicationRequest the pump's drug was identified from (a pump's determination covers its drug, so the drug's
// dispense quantity and supply duration are judged with the pump). No draft drug order ⇒ `absent`.
import { none, result } from './common.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface OrderElementParams { expression: string; notMetIf?: string; target?: 'order' | 'drug-order' }

/** Deep copies by the request's own order object: they live as long as the request body does. */
const copies = new WeakMap<object, unknown>();

function truthy(r: unknown[]): boolean {
  if (r.length === 0) return false;
  if (r.length > 1) return true;
  return r[0] !== false;
}

export const orderElement: CriterionKind<OrderElementParams> = {
  name: 'order-element',
  paramsSchema: {
    type: 'object',
    required: ['expression'],
    additionalProperties: false,
    properties: { expression: S.fhirpath, notMetIf: S.fhirpath, target: { enum: ['order', 'drug-order'] } },
  },
  dataRequirements: () => [],
  evaluate(ctx, p) {
    let source: unknown = ctx.order.resource;
    let ev = [{ reference: ctx.order.ref, value: ctx.order.label }];
    if (p.target === 'drug-order' && ctx.order.resource.resourceType !== 'MedicationRequest') {
      const drug = ctx.order.drug;
      if (!drug?.resource) return none('order-element', ev, { expression: p.expression, target: 'drug-order' });
      source = drug.resource;
      ev = [{ reference: drug.ref ?? ctx.order.ref, value: drug.display ?? ctx.order.label }];
    }
    // One copy per order resource for the whole request (every policy's leaves read the same copy), not per policy.
    let copy = copies.get(source as object);
    if (copy === undefined) copies.set(source as object, (copy = structuredClone(source)));
    const env = ctx.env as Record<string, unknown>;
    if (truthy(ctx.filters.get('/expression')!(copy, env))) return result('met', 'order-element', 'present', ev, { expression: p.expression });
    const notMet = ctx.filters.get('/notMetIf');
    if (notMet && truthy(notMet(copy, env))) return result('not-met', 'order-element', 'contradicted', ev, { expression: p.notMetIf! });
    return none('order-element', ev, { expression: p.expression });
  },
};
