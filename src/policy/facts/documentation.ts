// Generic documentation facts: questionnaire attestations, completed procedures, coded conditions.
// Policy-neutral (the value set, questionnaire and linkId come from the leaf's params), so other policies can reuse them.
import type { Evidence, FactFunction, LeafOutcome } from '../types.js';
import { selectInValueSet } from '../valuesets.js';
import {
  type AnyResource,
  type CodeableConcept,
  type Condition,
  booleanAnswer,
  firstCodeText,
  isAssertedCondition,
  notDocumented,
  numParamOr,
  outcome,
  recordedDay,
  refOf,
} from './common.js';

function requiredString(params: Readonly<Record<string, unknown>>, name: string): string {
  const v = params[name];
  if (typeof v !== 'string' || v === '') throw new Error(`fact parameter "${name}" is required`);
  return v;
}

/**
 * An attestation in the newest completed QuestionnaireResponse that answers `linkId`:
 * true ⇒ met, false ⇒ not met, unanswered ⇒ not documented.
 * params: { linkId, questionnaire? (default csii-documentation), dateLinkId? (a date answered alongside) }
 */
export const documentationAttested: FactFunction = (ctx, params) => {
  const linkId = requiredString(params, 'linkId');
  const questionnaire = typeof params.questionnaire === 'string' ? params.questionnaire : 'csii-documentation';
  const dateLinkId = typeof params.dateLinkId === 'string' ? params.dateLinkId : undefined;
  const hit = booleanAnswer(ctx, questionnaire, linkId, dateLinkId);
  if (!hit) {
    return notDocumented(ctx, `no completed ${questionnaire} questionnaire response answers "${linkId}"`, [], ['QuestionnaireResponse']);
  }
  const ev: Evidence = {
    reference: refOf(hit.qr),
    value: `${linkId}: ${hit.value ? 'yes' : 'no'}`,
    note: hit.date ? `date given: ${hit.date}` : `attested in questionnaire ${questionnaire}`,
  };
  const date = hit.qr.authored;
  if (date) ev.date = date;
  return hit.value
    ? outcome('met', [ev])
    : outcome('not-met', [ev], `the documentation questionnaire answers "no" to ${linkId}`);
};

interface Procedure extends AnyResource {
  status?: string;
  code?: CodeableConcept;
  performedDateTime?: string;
  performedPeriod?: { start?: string; end?: string };
}
interface Encounter extends AnyResource {
  status?: string;
  type?: CodeableConcept[];
  period?: { start?: string; end?: string };
}

/**
 * A completed Procedure (or finished Encounter typed with the code, as DSMT visits often are) coded in `valueSet`.
 * Only ever met or not documented: absence of a coded procedure says nothing (the questionnaire may still attest it).
 */
export const procedureCompleted: FactFunction = (ctx, params) => {
  const valueSet = requiredString(params, 'valueSet');
  const today = recordedDay(ctx.asOf.toISOString())!;
  const evidence: Evidence[] = [];
  for (const p of ctx.record.byCodes<Procedure & { resourceType: 'Procedure' }>('Procedure', ctx.valueSets.codings(valueSet))) {
    const when = p.performedDateTime ?? p.performedPeriod?.end ?? p.performedPeriod?.start;
    if (p.status !== 'completed' || (recordedDay(when) ?? '') > today) continue;
    evidence.push({ reference: refOf(p), ...(when ? { date: when } : {}), value: firstCodeText(p.code) ?? 'procedure', note: 'completed' });
  }
  for (const e of ctx.record.byCodes<Encounter & { resourceType: 'Encounter' }>('Encounter', ctx.valueSets.codings(valueSet))) {
    const when = e.period?.end ?? e.period?.start;
    if (e.status !== 'finished' || (recordedDay(when) ?? '') > today) continue;
    evidence.push({ reference: refOf(e), ...(when ? { date: when } : {}), value: firstCodeText(e.type?.[0]) ?? 'encounter', note: 'finished encounter' });
  }
  if (evidence.length === 0) return notDocumented(ctx, `no completed procedure in value set ${valueSet}`, [], ['Procedure']);
  evidence.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
  return outcome('met', evidence.slice(0, 3));
};

/**
 * A Condition coded in `valueSet`, any clinical status (a "history of" criterion counts resolved episodes), excluding
 * entered-in-error / refuted. params: { valueSet, minCount? (default 1) }.
 * Only met or not documented: the absence of a coded diagnosis does not contradict an attestation.
 */
export const conditionDocumented: FactFunction = (ctx, params): LeafOutcome => {
  const valueSet = requiredString(params, 'valueSet');
  const minCount = numParamOr(ctx, params, 'minCount', 1);
  const today = recordedDay(ctx.asOf.toISOString())!;
  const found = selectInValueSet<Condition & { resourceType: 'Condition' }>(ctx.record, 'Condition', ctx.valueSets, valueSet)
    .filter((c) => isAssertedCondition(c as Condition))
    .filter((c) => (recordedDay(c.onsetDateTime ?? c.recordedDate) ?? '') <= today) as Condition[];
  const evidence = found.map((c) => {
    const date = c.onsetDateTime ?? c.recordedDate;
    return { reference: refOf(c), ...(date ? { date } : {}), value: firstCodeText(c.code) ?? 'condition' } as Evidence;
  });
  if (found.length === 0) return notDocumented(ctx, `no condition in value set ${valueSet}`, [], ['Condition']);
  if (found.length < minCount) {
    return notDocumented(ctx, `${found.length} condition(s) in value set ${valueSet}, ${minCount} required`, evidence.slice(0, 3), ['Condition']);
  }
  return outcome('met', evidence.slice(0, 3));
};

export const documentationFacts: Record<string, FactFunction> = {
  documentationAttested,
  procedureCompleted,
  conditionDocumented,
};
