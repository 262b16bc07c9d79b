// Medicare external infusion pumps (issue 9) end to end over HTTP against the real app: the general rules (MLN
// example), national exclusions, coding edits, indications I and V(E), V(H), with the record in the prefetch.
import { randomUUID } from 'node:crypto';
import type { Condition, FhirResource, MedicationRequest, Observation, QuestionnaireResponse } from 'fhir/r4';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import type { Action, Card } from '../src/cds/types.js';
import type { AssertionRecord } from '../src/store/types.js';
import { testApp } from './support/app.js';
import { HCPCS, hookBody, minimalPrefetch, pumpOrder, searchset } from './support/requests.js';

const SIGN = '/cds-services/pumpcheck-order-sign';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const t = testApp();
afterAll(() => t.close());

function drugOrder(id: string, code: string, display: string, extra: Partial<MedicationRequest> = {}): MedicationRequest {
  return {
    resourceType: 'MedicationRequest', id, status: 'draft', intent: 'order',
    medicationCodeableConcept: { coding: [{ system: HCPCS, code, display }] },
    subject: { reference: 'Patient/pt-1' }, authoredOn: '2026-04-01T10:12:00Z', requester: { reference: 'PractitionerRole/pr-1' },
    ...extra,
  };
}
const condition = (id: string, code: string, display: string): Condition => ({
  resourceType: 'Condition', id, subject: { reference: 'Patient/pt-1' },
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  code: { coding: [{ system: ICD10, code, display }] }, onsetDateTime: '2024-01-01',
});
const mpap = (id: string, value: number, note?: string): Observation => ({
  resourceType: 'Observation', id, status: 'final', subject: { reference: 'Patient/pt-1' },
  code: { coding: [{ system: 'http://loinc.org', code: '8414-5', display: 'Pulmonary artery Mean blood pressure' }] },
  effectiveDateTime: '2026-02-10', valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  ...(note ? { note: [{ text: note }] } : {}),
});
function answers(items: Record<string, boolean>): QuestionnaireResponse {
  return {
    resourceType: 'QuestionnaireResponse', id: `qr-${randomUUID().slice(0, 8)}`, status: 'completed', authored: '2026-03-30T09:00:00Z',
    questionnaire: 'http://pumpcheck.example.org/fhir/Questionnaire/external-pump-documentation', subject: { reference: 'Patient/pt-1' },
    item: Object.entries(items).map(([linkId, v]) => ({ linkId, answer: [{ valueBoolean: v }] })),
  };
}
const V_SETS = { 'v-home-parenteral': true, 'v-pump-necessary': true, 'v-infusion-8h-or-more': true, 'v-prolonged-advantage': true };

interface Call { status: number; cards: Card[]; actions: Action[]; records: AssertionRecord[] }
async function sign(orders: FhirResource[], record: { conditions?: FhirResource[]; observations?: FhirResource[]; qr?: FhirResource[] } = {}): Promise<Call> {
  const prefetch = minimalPrefetch();
  if (record.conditions) prefetch.conditions = searchset(record.conditions);
  if (record.observations) prefetch.observations = searchset(record.observations);
  if (record.qr) prefetch.questionnaireResponses = searchset(record.qr);
  const body = hookBody({ orders, prefetch });
  const res = await request(t.app).post(SIGN).send(body);
  return { status: res.status, cards: res.body.cards ?? [], actions: res.body.systemActions ?? [], records: t.assertionSink.records.filter((r) => r.hookInstance === body.hookInstance) };
}
const rec = (c: Call, ref: string) => {
  const r = c.records.find((x) => x.orderRef === ref);
  expect(r, `assertion for ${ref} (have ${c.records.map((x) => x.orderRef).join(', ')})`).toBeDefined();
  return r!;
};
const dump = (c: Call) => JSON.stringify({ records: c.records.map((r) => [r.orderRef, r.outcome, r.unmetCriteria, r.undocumentedCriteria, r.policies?.map((p) => p.id)]), cards: c.cards.map((x) => [x.indicator, x.summary, (x.suggestions ?? []).map((s) => s.label)]) }, null, 1);

describe('Medicare external pumps over HTTP', () => {
  it('probe', async () => {
    const c = await sign([pumpOrder('dr-1', 'E0779')], { conditions: [condition('c-te', 'Z86.718', 'Personal history of other venous thrombosis and embolism')] });
    console.log(dump(c));
  });
});
