// allergy: an AllergyIntolerance coded in a value set, or (`orderDrug`) in the drug the order delivers — its RxNorm
// ingredients, else its ingredient names in the allergy's text (usually a contraindication: `expect: "none"`,
// `absent: "met"`).
import type { Coding, Resource } from 'fhir/r4';
import { HCPCS, RXNORM } from '../../fhir/systems.js';
import { capEvidence, evidenceOf, filterWith, none, result } from './common.js';
import { title } from './condition.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface AllergyParams { valueSet?: string; orderDrug?: boolean; includeInactive?: boolean; expect?: 'present' | 'none'; where?: string | string[] }

const code = (cc: unknown) => (cc as { coding?: { code?: string }[] } | undefined)?.coding?.find((c) => typeof c?.code === 'string')?.code;

export const allergy: CriterionKind<AllergyParams> = {
  name: 'allergy',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { valueSet: S.valueSet, orderDrug: { const: true }, includeInactive: { type: 'boolean' }, expect: { enum: ['present', 'none'] }, where: S.where },
    oneOf: [{ required: ['valueSet'] }, { required: ['orderDrug'] }],
  },
  // The order's drug is known only at evaluation: every allergy of the patient is read.
  dataRequirements: (p) => [p.valueSet ? { type: 'AllergyIntolerance', valueSets: [p.valueSet] } : { type: 'AllergyIntolerance' }],
  evaluate(ctx, p) {
    const pass = filterWith(ctx);
    let candidates: Resource[];
    let what: string;
    if (p.valueSet) {
      candidates = ctx.record.byCodes<Resource>('AllergyIntolerance', ctx.valueSets.codings(p.valueSet));
      what = title(ctx, p.valueSet);
    } else {
      const d = ctx.order.drug;
      if (d?.status !== 'identified') return { status: 'not-documented', empty: true, finding: { kind: 'allergy', code: 'drug-unknown', values: {} }, evidence: [] };
      what = d.names.length ? d.names.map((n) => n.replace(/-/g, ' ')).join(', ') : (d.display ?? 'the pump drug');
      const codings: Coding[] = [...d.ingredients.map((code) => ({ system: RXNORM, code })), ...d.hcpcs.map((code) => ({ system: HCPCS, code }))];
      const byCode = ctx.record.byCodes<Resource>('AllergyIntolerance', codings);
      const names = d.names.map((n) => n.replace(/-/g, ' ').toLowerCase()).filter((n) => n.length >= 4);
      const byName = ctx.record.all<Resource>('AllergyIntolerance').filter((r) => names.some((n) => textOf(r).includes(` ${n} `)));
      candidates = [...new Set([...byCode, ...byName])];
    }
    const found = candidates.filter((r) => {
      const a = r as unknown as { clinicalStatus?: unknown; verificationStatus?: unknown };
      const v = code(a.verificationStatus);
      if (v === 'entered-in-error' || v === 'refuted') return false;
      const s = code(a.clinicalStatus);
      if (!p.includeInactive && s !== undefined && s !== 'active') return false;
      return pass(r);
    });
    const values = { ...(p.valueSet ? { valueSet: p.valueSet } : {}), title: what, count: found.length };
    const evidence = capEvidence(found.map((r) => evidenceOf(r)), 3);
    if (found.length === 0) return none('allergy', [], values);
    return p.expect === 'none' ? result('not-met', 'allergy', 'present', evidence, values) : result('met', 'allergy', 'found', evidence, values);
  },
};

/** The allergy's code text and displays, lower case (names match as words). */
function textOf(r: Resource): string {
  const cc = (r as { code?: { text?: unknown; coding?: { display?: unknown }[] } }).code;
  const parts = [cc?.text, ...(Array.isArray(cc?.coding) ? cc.coding.map((c) => c?.display) : [])].filter((x): x is string => typeof x === 'string');
  return ` ${parts.join(' ').toLowerCase().replace(/[^a-z0-9]+/g, ' ')} `;
}
