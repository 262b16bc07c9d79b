// condition: a coded Condition (problem list / diagnosis), active or historical, optionally the draft order's reason.
import type { Resource } from 'fhir/r4';
import { isActiveCondition, isAssertedCondition, type Condition } from '../facts/common.js';
import { selectInValueSet } from '../valuesets.js';
import { capEvidence, codedIn, dayOf, evidenceOf, filterWith, inWindow, none, resolveWindow, result, type WindowParams } from './common.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface ConditionParams {
  valueSet: string;
  status?: 'active' | 'any';
  minCount?: number;
  orOrderReason?: boolean;
  window?: WindowParams;
  expect?: 'present' | 'none';
  where?: string | string[];
}

export const condition: CriterionKind<ConditionParams> = {
  name: 'condition',
  paramsSchema: {
    type: 'object',
    required: ['valueSet'],
    additionalProperties: false,
    properties: {
      valueSet: S.valueSet,
      status: { enum: ['active', 'any'] },
      minCount: S.num,
      orOrderReason: { type: 'boolean' },
      window: S.window,
      expect: { enum: ['present', 'none'] },
      where: S.where,
    },
  },
  dataRequirements: (p) => [{ type: 'Condition', valueSets: [p.valueSet] }],
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'condition', p.window);
    if (!w.ok) return w.outcome;
    const win = w.window;
    const pass = filterWith(ctx);
    const dated = (c: Condition) => {
      const day = dayOf(c.onsetDateTime ?? c.recordedDate);
      // Undated diagnoses count unless the window has a lower bound they could fall outside.
      return day ? inWindow(day, win) : !win.from;
    };
    const all = (selectInValueSet<Resource>(ctx.record, 'Condition', ctx.valueSets, p.valueSet) as unknown as Condition[])
      .filter((c) => isAssertedCondition(c) && dated(c) && pass(c as unknown as Resource));
    const counted = p.status === 'any' ? all : all.filter(isActiveCondition);
    const ev = (c: Condition) => {
      const code = c.code?.coding?.find((x) => ctx.valueSets.contains(p.valueSet, x));
      return evidenceOf(c as unknown as Resource, { value: `${code?.code ?? ''} ${c.code?.text ?? code?.display ?? ''}`.trim() });
    };
    const min = p.minCount ?? 1;
    const found = counted.map(ev);
    if (p.orOrderReason && counted.length < min) {
      const order = ctx.order.resource as { reasonCode?: unknown[]; reasonReference?: { reference?: string }[] };
      for (const rc of Array.isArray(order.reasonCode) ? order.reasonCode : []) {
        if (codedIn(ctx, p.valueSet, rc)) found.push({ reference: ctx.order.ref, value: (rc as { text?: string }).text ?? 'order reason', note: 'diagnosis given as the order reason' });
      }
      for (const rr of Array.isArray(order.reasonReference) ? order.reasonReference : []) {
        const c = ctx.record.resolve<Resource>(rr) as unknown as Condition | undefined;
        if (c?.resourceType === 'Condition' && isActiveCondition(c) && codedIn(ctx, p.valueSet, c.code)) found.push({ ...ev(c), note: 'referenced as the order reason' });
      }
    }
    const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), count: found.length, min };
    if (p.expect === 'none') {
      return found.length > 0 ? result('not-met', 'condition', 'present', capEvidence(found, 3), values, win) : none('condition', [], values, win);
    }
    if (found.length >= min) return result('met', 'condition', 'found', capEvidence(found, 3), values, win);
    if (found.length > 0) return result('not-documented', 'condition', 'too-few', capEvidence(found, 3), values, win);
    const inactive = all.filter((c) => !isActiveCondition(c));
    if (inactive.length > 0) return { ...none('condition', capEvidence(inactive.map(ev), 3), values, win), finding: { kind: 'condition', code: 'only-inactive', values } };
    return none('condition', [], values, win);
  },
};

export function title(ctx: { valueSets: unknown }, id: string): string {
  const vs = ctx.valueSets as { title?: (id: string) => string | undefined };
  return (typeof vs.title === 'function' ? vs.title(id) : undefined) ?? id;
}
