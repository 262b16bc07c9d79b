// patient: age in full years on an anchor day (and, optionally, administrative gender).
import { ageOn } from '../facts/common.js';
import { compare, none, resolveWindow, result } from './common.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface PatientParams { age?: { op: string; value: number }; gender?: string[]; anchor?: string }

export const patient: CriterionKind<PatientParams> = {
  name: 'patient',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      age: { type: 'object', required: ['op', 'value'], additionalProperties: false, properties: { op: S.op, value: S.num } },
      gender: { type: 'array', minItems: 1, items: { enum: ['male', 'female', 'other', 'unknown'] } },
      anchor: S.anchor,
    },
  },
  dataRequirements: () => [{ type: 'Patient' }],
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'patient', p.anchor ? { anchor: p.anchor } : undefined);
    if (!w.ok) return w.outcome;
    const pt = ctx.record.patient as { birthDate?: unknown; gender?: unknown; id?: string } | undefined;
    const ref = `Patient/${ctx.record.patientId}`;
    if (p.age) {
      const age = ageOn(typeof pt?.birthDate === 'string' ? pt.birthDate : undefined, w.window.to);
      if (age === undefined) return none('patient', [], { missing: 'birth date' }, w.window);
      const ok = compare(age, p.age.op, p.age.value);
      const values = { age, threshold: `${p.age.op} ${p.age.value} years`, on: w.window.to };
      if (!ok) return result('not-met', 'patient', 'fails', [{ reference: ref, value: `age ${age} on ${w.window.to}`, threshold: values.threshold }], values, w.window);
    }
    if (p.gender) {
      const g = typeof pt?.gender === 'string' ? pt.gender : undefined;
      if (!g) return none('patient', [], { missing: 'gender' }, w.window);
      if (!p.gender.includes(g)) return result('not-met', 'patient', 'fails', [{ reference: ref, value: g, threshold: p.gender.join(' / ') }], { gender: g }, w.window);
    }
    return result('met', 'patient', 'meets', [{ reference: ref, value: 'patient criteria met' }], {}, w.window);
  },
};
