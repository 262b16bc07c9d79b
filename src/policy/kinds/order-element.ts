// order-element: a FHIRPath test over a deep copy of the draft order (standard written order elements, quantities).
// fhirpath.js may annotate the objects it walks, so it never sees the request body that is echoed back.
import { none, result } from './common.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface OrderElementParams { expression: string; notMetIf?: string }

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
    properties: { expression: S.fhirpath, notMetIf: S.fhirpath },
  },
  dataRequirements: () => [],
  evaluate(ctx, p) {
    const key = `kinds:order-copy:${ctx.order.ref}`;
    let copy = ctx.memo.get(key) as unknown;
    if (!copy) ctx.memo.set(key, (copy = structuredClone(ctx.order.resource)));
    const env = ctx.env as Record<string, unknown>;
    const ev = [{ reference: ctx.order.ref, value: ctx.order.label }];
    if (truthy(ctx.filters.get('/expression')!(copy, env))) return result('met', 'order-element', 'present', ev, { expression: p.expression });
    const notMet = ctx.filters.get('/notMetIf');
    if (notMet && truthy(notMet(copy, env))) return result('not-met', 'order-element', 'contradicted', ev, { expression: p.notMetIf! });
    return none('order-element', ev, { expression: p.expression });
  },
};
