// Builders for the Medicare external-pump policy test cases: FHIR R4 resources shaped as an EHR sends them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../policies/tests');
export const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
export const RX = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const NOW = '2026-04-01T14:35:00Z';
export const AUTHORED = '2026-04-01T14:30:00Z';
const QURL = 'http://pumpcheck.example.org/fhir/Questionnaire/external-pump-documentation';

let P = 'pt-x';
const subj = () => ({ reference: `Patient/${P}` });
/** A resource written inline gets the case's patient as its subject. */
export const withSubject = (r) => ({ ...r, subject: subj() });
export function patient(name, birthDate = '1954-03-12', gender = 'female') {
  return { resourceType: 'Patient', id: P, identifier: [{ system: 'https://ehr.example.org/mrn', value: `MRN-${P.slice(3)}` }], name: [{ family: 'Example', given: [name] }], gender, birthDate };
}
export function coverage() {
  return { resourceType: 'Coverage', id: `cov-${P.slice(3)}`, status: 'active', type: { coding: [{ system: 'https://nahdo.org/sopt', code: '121', display: 'Medicare FFS' }] }, beneficiary: subj(), relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }] }, period: { start: '2019-01-01' }, payor: [{ reference: 'Organization/cms', display: 'Medicare' }], class: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: 'Medicare Part B', name: 'Original Medicare Part B' }] };
}
export function cond(id, code, display, extra = {}) {
  return { resourceType: 'Condition', id, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: extra.clinical ?? 'active' }] }, verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }], code: { coding: [{ system: ICD, code, display }], text: display }, subject: subj(), onsetDateTime: extra.onset ?? '2025-06-10', recordedDate: extra.onset ?? '2025-06-10' };
}
export function obs(id, code, display, value, unit, ucum, date, extra = {}) {
  return { resourceType: 'Observation', id, status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: extra.category ?? 'laboratory' }] }], code: { coding: [{ system: LOINC, code, display }], text: display }, subject: subj(), effectiveDateTime: date, issued: date, valueQuantity: { value, unit, system: UCUM, code: ucum }, ...(extra.method ? { method: { text: extra.method } } : {}), ...(extra.note ? { note: [{ text: extra.note }] } : {}) };
}
export function qr(id, answers) {
  return { resourceType: 'QuestionnaireResponse', id, questionnaire: QURL, status: 'completed', subject: subj(), authored: '2026-03-30T16:00:00Z', author: { reference: 'PractitionerRole/pr-1' }, item: Object.entries(answers).map(([linkId, v]) => ({ linkId, answer: [{ valueBoolean: v }] })) };
}
export function encounter(id, cls, display, status = 'in-progress') {
  return { resourceType: 'Encounter', id, status, class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: cls, display }, subject: subj(), period: { start: '2026-03-28T08:00:00Z' } };
}
export function device(id, code, display) {
  return { resourceType: 'Device', id, status: 'active', type: { coding: [{ system: HCPCS, code, display }], text: display }, patient: subj() };
}
export const PUMPS = {
  E0779: 'Ambulatory infusion pump, mechanical, reusable, for infusion 8 hours or greater',
  E0780: 'Ambulatory infusion pump, mechanical, reusable, for infusion less than 8 hours',
  E0781: 'Ambulatory infusion pump, single or multiple channels, electric or battery operated, with administrative equipment, worn by patient',
  E0784: 'External ambulatory infusion pump, insulin',
  E0791: 'Parenteral infusion pump, stationary, single or multi-channel',
  K0455: 'Infusion pump used for uninterrupted parenteral administration of medication (e.g., epoprostenol or treprostinol)',
  A4305: 'Disposable drug delivery system, flow rate of 50 ml or greater per hour',
  A4306: 'Disposable drug delivery system, flow rate of less than 50 ml per hour',
  E1399: 'Durable medical equipment, miscellaneous',
  E0776: 'IV pole',
  A4221: 'Supplies for maintenance of non-insulin drug infusion catheter, per week',
  A4222: 'Infusion supplies for external drug infusion pump, per cassette or bag (list drug separately)',
  A4224: 'Supplies for maintenance of insulin infusion catheter, per week',
};
/** A DeviceRequest for a pump / supply / pole. */
export function devOrder(id, code, extra = {}) {
  const { text, basedOn, group = 'set-1', noAuthored, noRequester, encounter: enc, quantityWeeks, ...rest } = extra;
  return {
    resourceType: 'DeviceRequest', id, status: 'draft', intent: 'original-order',
    ...(basedOn ? { basedOn: [{ reference: basedOn }] } : {}),
    ...(group ? { groupIdentifier: { system: 'https://ehr.example.org/order-set', value: `${P.slice(3)}-${group}` } } : {}),
    codeCodeableConcept: { coding: [{ system: HCPCS, code, display: PUMPS[code] ?? code }], ...(text ? { text } : {}) },
    subject: subj(), ...(enc ? { encounter: { reference: `Encounter/${enc}` } } : {}),
    ...(noAuthored ? {} : { authoredOn: AUTHORED }), ...(noRequester ? {} : { requester: { reference: 'PractitionerRole/pr-1' } }),
    insurance: [{ reference: `Coverage/cov-${P.slice(3)}` }],
    ...(quantityWeeks ? { parameter: [{ code: { text: 'quantity (weeks)' }, valueQuantity: { value: quantityWeeks, unit: 'wk', system: UCUM, code: 'wk' } }] } : {}),
    ...rest,
  };
}
/**
 * A drug MedicationRequest. med: { rx: [code, display] | hcpcs: [code, display] | codings: [...], text }
 * opts: hours (infusion duration per episode), every (hours between episodes, default continuous), supplyDays, quantity, route
 */
export function drugOrder(id, med, opts = {}) {
  const codings = [...(med.rx ? [{ system: RX, code: med.rx[0], display: med.rx[1] }] : []), ...(med.hcpcs ? [{ system: HCPCS, code: med.hcpcs[0], display: med.hcpcs[1] }] : []), ...(med.codings ?? [])];
  const timing = opts.hours !== undefined ? { repeat: { duration: opts.hours, durationUnit: 'h', ...(opts.every ? { frequency: 1, period: opts.every, periodUnit: 'h' } : { frequency: 1, period: 1, periodUnit: 'd' }) } } : undefined;
  return {
    resourceType: 'MedicationRequest', id, status: 'draft', intent: 'order',
    groupIdentifier: { system: 'https://ehr.example.org/order-set', value: `${P.slice(3)}-${opts.group ?? 'set-1'}` },
    medicationCodeableConcept: { ...(codings.length ? { coding: codings } : {}), text: med.text },
    subject: subj(), authoredOn: AUTHORED, requester: { reference: 'PractitionerRole/pr-1' },
    dosageInstruction: [{ text: opts.sig ?? med.text, ...(timing ? { timing } : {}), route: { coding: [{ system: 'http://snomed.info/sct', code: opts.route?.[0] ?? '47625008', display: opts.route?.[1] ?? 'Intravenous route' }] } }],
    ...(opts.supplyDays !== undefined || opts.quantity !== undefined ? { dispenseRequest: { ...(opts.quantity !== undefined ? { quantity: opts.quantity } : {}), ...(opts.supplyDays !== undefined ? { expectedSupplyDuration: { value: opts.supplyDays, unit: 'days', system: UCUM, code: 'd' } } : {}) } } : {}),
    ...(opts.insurance === false ? {} : { insurance: [{ reference: `Coverage/cov-${P.slice(3)}` }] }),
  };
}

const written = new Set();
/** spec: { dir, name, title, exercises, given: patient given name, record: [...], orders: [...] (functions of P), expected } */
export function emit(spec) {
  P = `pt-${spec.slug ?? spec.name}`.slice(0, 60);
  const record = [patient(spec.given ?? 'Sam', spec.birthDate), coverage(), ...(spec.record ? spec.record() : [])];
  const orders = spec.orders();
  const expected = typeof spec.expected === 'function' ? spec.expected() : spec.expected;
  const out = { $schema: '../../schema/policy-case.schema.json', now: NOW, title: spec.title, exercises: spec.exercises, ...(spec.hook ? { hook: spec.hook } : {}), record, draftOrders: orders, expected };
  const dir = path.join(ROOT, spec.dir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${spec.name}.json`);
  if (written.has(file)) throw new Error(`duplicate ${file}`);
  written.add(file);
  fs.writeFileSync(file, format(out));
}
function format(o) {
  const lines = ['{'];
  const keys = Object.keys(o);
  keys.forEach((k, i) => {
    const comma = i < keys.length - 1 ? ',' : '';
    const v = o[k];
    if (k === 'record' || k === 'draftOrders') {
      lines.push(`  ${JSON.stringify(k)}: [`);
      v.forEach((r, j) => lines.push(`    ${JSON.stringify(r)}${j < v.length - 1 ? ',' : ''}`));
      lines.push(`  ]${comma}`);
    } else if (k === 'expected') {
      lines.push(`  "expected": ${JSON.stringify(v, null, 2).replace(/\n/g, '\n  ')}${comma}`);
    } else lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(v)}${comma}`);
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}
export const met = (...ids) => Object.fromEntries(ids.map((i) => [i, 'met']));
