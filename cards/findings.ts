// Clinician wording of the criterion kinds' structured findings (src/policy/kinds/): one template per kind and
// finding code, filled with the values the kind read and the criterion's own text / value set titles. The engine
// never writes prose; bespoke facts still give a `reason`, which wins when present.
import type { CriterionResult } from '../src/policy/types.js';

type Values = Record<string, string | number | boolean>;

function lower(s: string): string {
  return s && /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function windowPhrase(c: CriterionResult): string {
  const w = c.finding?.window;
  if (!w) return '';
  const anchor = w.anchor && w.anchor !== 'order-date' ? w.anchorText ?? w.anchor : undefined;
  if (w.from && w.to) return ` between ${w.from} and ${w.to}${anchor ? ` (before ${anchor})` : ''}`;
  if (w.to && anchor) return ` on or before ${w.to} (${anchor})`;
  return '';
}

const TEMPLATES: Record<string, (v: Values, c: CriterionResult) => string | undefined> = {
  'condition/none': (v) => `no ${lower(String(v.title))} on record`,
  'condition/only-inactive': (v) => `${lower(String(v.title))} is on record only as inactive, resolved or refuted`,
  'condition/too-few': (v) => `${v.count} ${lower(String(v.title))} on record, ${v.min} required`,
  'condition/present': (v) => `${lower(String(v.title))} on record`,
  'observation/none': (v, c) => `no ${lower(String(v.title))} on record${windowPhrase(c)}`,
  'observation/unreadable': (v) => `${lower(String(v.title))} could not be read (${v.why})`,
  'observation/fails': (v) => `${lower(String(v.title))} ${v.read}${v.normalised && v.normalised !== v.read ? ` (${v.normalised})` : ''} on ${v.date} — needs ${v.threshold}`,
  'observation/rate-fails': (v) => `${v.readings} ${lower(String(v.title))} over ${v.days} days = ${v.perDay}/day (< ${v.min}/day)`,
  'observation/too-few-days': (v) => `readings on only ${v.daysWithReadings} day(s) in the window (fewer than ${v.minDays}): not taken as a self-testing log`,
  'medication/none': (v, c) => `no ${lower(String(v.title))} on record${windowPhrase(c)}`,
  'medication/not-in-use': (v) => `${lower(String(v.title))} is not in use`,
  'medication/too-short': (v) => `${lower(String(v.title))} in use only since ${v.since} (needed since ${v.needSince})`,
  'medication/still-in-use': (v) => `${lower(String(v.title))} is still in use (not ended or failed)`,
  'medication/course-too-short': (v) => `${lower(String(v.title))} tried ${v.days} days (${v.needDays} required)`,
  'procedure/present': (v) => `${lower(String(v.title))} on record`,
  'procedure/none': (v, c) => `no completed ${lower(String(v.title))} on record${windowPhrase(c)}`,
  'encounter/none': (v) => `no finished encounter${v.performerIsOrderer ? ' with the ordering practitioner' : ''} on record`,
  'encounter/too-old': (v) => `last visit with the treating practitioner ${v.daysBefore} days ago (one is needed on or after ${v.earliest})`,
  // Never the questionnaire id or linkId: the criterion's own text says what was asked.
  'attestation/none': () => 'not yet answered in the documentation form',
  // An answer already given is reported as given ("answered … in the documentation questionnaire"), never next to an
  // invitation to the form: a card must not invite a clinician to change an answer.
  'attestation/no': (v) =>
    v.min !== undefined
      ? `answered ${v.answer} in the documentation questionnaire (at least ${v.min} required)`
      : v.answer !== undefined
        ? `answered “${v.answer}” in the documentation questionnaire`
        : 'answered “no” in the documentation questionnaire',
  'attestation/no-soft': () => 'answered “no” in the documentation questionnaire: the record must show this before the claim',
  'attestation/other-answer': (v) => `answered “${v.answer}” in the documentation questionnaire, which does not show this`,
  'allergy/drug-unknown': () => 'the pump drug is not identified, so allergies to it could not be checked',
  'allergy/present': (v) => `${lower(String(v.title))} recorded as an allergy`,
  'allergy/none': (v) => `no ${lower(String(v.title))} allergy on record`,
  'device/present': (v) => `${lower(String(v.title))} on record`,
  'device/none': (v, c) => `no ${lower(String(v.title))} documented${windowPhrase(c)}`,
  'device/undated': (v, c) => `${lower(String(v.title))} on record, but not dated${windowPhrase(c)}`,
  'device/not-in-use': (v) => `${lower(String(v.title))} on record, but not in use`,
  'order/wrong-code': (v) => `ordered as ${v.ordered}: only ${v.expected} is covered`,
  'order/not-addressed': (v) => `code ${v.ordered} is not addressed by the policy documents: verify the code with the DME MAC`,
  'procedure/too-few': (v) => `${lower(String(v.title))} on ${v.count} day(s) only (${v.min} needed to show a completed program)`,
  'order/uncoded': (v) => `the pump order carries no HCPCS code (${v.expected} required)`,
  'order/forbidden': (v, c) => (v.pumpKind === 'implantable' ? 'an implanted infusion pump is not covered for this use' : `${lower(c.label ?? 'this pump')} — not covered`),
  'order/unpaired': (v, c) => {
    if (v.against === 'on record') return `${c.label ? `${c.label} — ` : ''}not associated with the pump on record: ${v.supplies}`;
    return c.label ? `${c.label} (${v.supplies} not associated with this pump)` : `supply not associated with the pump ordered: ${v.supplies}`;
  },
  'order/missing-companion': () => 'not ordered with the required companion order',
  'order/forbidden-companion': () => 'ordered with a companion order this policy does not allow',
  'order/too-many': (v) => `${v.count} pumps (ordered and on record); at most ${v.max}`,
  'order/unknown': () => 'the pumps already on record are not known',
  'order/setting': (v) =>
    v.setting === 'institutional'
      ? `ordered during an inpatient or skilled-nursing stay, an institutional setting — covered only for use in the ${String(v.allowed).replace(/, /g, ' or ')}`
      : `ordered in an ${v.setting} setting — covered only for use in the ${String(v.allowed).replace(/, /g, ' or ')}`,
  'order/setting-unknown': (v) => `the care setting is not known (covered only for ${v.allowed})`,
  'order/drug-not-identified': () => 'the drug for the pump could not be identified',
  'order/drug-not-in-set': (v, c) => (c.label ? `${lower(c.label)} — not ${v.drug ?? 'the drug ordered'}` : 'the drug ordered is not one this policy covers'),
  'order/no-pump': () => 'no pump in this order set',
  'order-element/none': () => 'not stated on the order',
  'order-element/contradicted': () => 'the order says otherwise',
  'order/forbidden-drug': (v) => `${v.drug ?? 'the drug ordered'} in this pump is not covered`,
  'order/other-code': () => 'the order is not coded as this rule requires',
  'order/not-in-set': () => 'not ordered in this order set',
  'order/missing-detail': () => 'ordered in this order set without the required modifier',
  'patient/fails': (v) => (v.age !== undefined ? `age ${v.age} (needs ${v.threshold})` : `gender ${v.gender}`),
  'patient/none': (v) => `no ${v.missing} on record`,
};

/** The reason for a criterion's status in plain words: a fact's own reason, else the finding's template. */
export function reasonText(c: CriterionResult): string | undefined {
  if (c.reason) return c.reason;
  const f = c.finding;
  if (!f || c.status === 'met') return undefined;
  const v = f.values ?? {};
  let text: string | undefined;
  if (f.code === 'anchor-missing') text = String(v.missing);
  else if (f.code === 'error') text = `could not be evaluated: ${v.message}`;
  else text = TEMPLATES[`${f.kind}/${f.code}`]?.(v, c);
  if (text && v.gap) text += ` (this part of the record could not be read: ${v.gap})`;
  return text;
}
