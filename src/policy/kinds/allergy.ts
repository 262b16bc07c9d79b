// allergy: an AllergyIntolerance coded in a value set (usually a contraindication: `expect: "none"`, `absent: "met"`).
import type { Resource } from 'fhir/r4';
import { capEvidence, evidenceOf, filterWith, none, result } from './common.js';
import { title } from './condition.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface AllergyParams { valueSet: string; includeInactive?: boolean; expect?: 'present' | 'none'; where?: string | string[] }

const code = (cc: unknown) => (cc as { coding?: { code?: string }[] } | undefined)?.coding?.find((c) => typeof c?.code === 'string')?.code;

export const allergy: CriterionKind<AllergyParams> = {
  name: 'allergy',
  paramsSchema: {
    type: 'object',
    required: ['valueSet'],
    additionalProperties: false,
    properties: { valueSet: S.valueSet, includeInactive: { type: 'boolean' }, expect: { enum: ['present', 'none'] }, where: S.where },
  },
  dataRequirements: (p) => [{ type: 'AllergyIntolerance', valueSets: [p.valueSet] }],
  evaluate(ctx, p) {
    const pass = filterWith(ctx);
    const found = ctx.record.byCodes<Resource>('AllergyIntolerance', ctx.valueSets.codings(p.valueSet)).filter((r) => {
      const a = r as unknown as { clinicalStatus?: unknown; verificationStatus?: unknown };
      const v = code(a.verificationStatus);
      if (v === 'entered-in-error' || v === 'refuted') return false;
      const s = code(a.clinicalStatus);
      if (!p.includeInactive && s !== undefined && s !== 'active') return false;
      return pass(r);
    });
    const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), count: found.length };
    const evidence = capEvidence(found.map((r) => evidenceOf(r)), 3);
    if (found.length === 0) return none('allergy', [], values);
    return p.expect === 'none' ? result('not-met', 'allergy', 'present', evidence, values) : result('met', 'allergy', 'found', evidence, values);
  },
};
