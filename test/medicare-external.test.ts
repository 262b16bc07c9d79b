// Medicare external infusion pumps (issue 9) end to end over HTTP against the real app: the general rules (MLN
// example), national exclusions, coding edits, indications I and V(E), V(H), with the record in the prefetch.
import { randomUUID } from 'node:crypto';
import type { Condition, FhirResource, MedicationRequest, Observation, QuestionnaireResponse } from 'fhir/r4';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { COVERAGE_INFORMATION_URL } from '../cards/coverage-information.js';
import type { Action, Card } from '../src/cds/types.js';
import type { AssertionRecord } from '../src/store/types.js';
import { testApp } from './support/app.js';
import { cardProblems } from './support/card-rules.js';
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
  // Issue 12: every card these policies send follows the card rules (no ids, whole-phrase summaries, …).
  const cardRuleProblems = ((res.body.cards ?? []) as Card[]).flatMap((c) => cardProblems(c, { record: record.qr ?? [] }).map((p) => `${c.summary}: ${p}`));
  expect(cardRuleProblems).toEqual([]);
  return { status: res.status, cards: res.body.cards ?? [], actions: res.body.systemActions ?? [], records: t.assertionSink.records.filter((r) => r.hookInstance === body.hookInstance) };
}
const rec = (c: Call, ref: string) => {
  const r = c.records.find((x) => x.orderRef === ref);
  expect(r, `assertion for ${ref} (have ${c.records.map((x) => x.orderRef).join(', ')})`).toBeDefined();
  return r!;
};
const dump = (c: Call) => JSON.stringify({ records: c.records.map((r) => [r.orderRef, r.outcome, r.unmetCriteria.join(' '), r.undocumentedCriteria.join(' '), r.policies?.map((p) => p.id).join(' ')]), cards: c.cards.map((x) => [x.indicator, x.summary, (x.suggestions ?? []).map((s) => s.label).join(' | ')]) });

const PAH_RECORD = {
  conditions: [condition('c-pah', 'I27.0', 'Primary pulmonary hypertension')],
  observations: [mpap('o-mpap', 42)],
  qr: [answers({ ...V_SETS, 'vE-symptoms': true, 'vE-ccb': true })],
};
const epoprostenol = () => drugOrder('mr-epo', 'J1325', 'Injection, epoprostenol, 0.5 mg');
const cases: Record<string, () => Promise<Call>> = {
  mln: () => sign([pumpOrder('dr-1', 'E0779')], { conditions: [condition('c-te', 'Z86.718', 'Personal history of venous thrombosis')] }),
  heparin: () => sign([pumpOrder('dr-1', 'E0781'), drugOrder('mr-hep', 'J1644', 'Injection, heparin sodium, per 1000 units')], { conditions: [condition('c-te', 'I26.99', 'Pulmonary embolism')] }),
  vanco: () => sign([pumpOrder('dr-1', 'E0781'), drugOrder('mr-van', 'J3370', 'Injection, vancomycin HCl, 500 mg')]),
  a4305: () => sign([pumpOrder('dr-1', 'A4305')]),
  e1399: () => sign([pumpOrder('dr-1', 'E1399', { codeCodeableConcept: { coding: [{ system: HCPCS, code: 'E1399' }], text: 'Infusion controller' } })]),
  poleAmb: () => sign([pumpOrder('dr-1', 'E0781'), pumpOrder('dr-pole', 'E0776'), drugOrder('mr-def', 'J0895', 'Injection, deferoxamine mesylate, 500 mg')], { conditions: [condition('c-io', 'E83.111', 'Hemochromatosis due to repeated red blood cell transfusions')] }),
  poleStat: () => sign([pumpOrder('dr-1', 'E0791'), pumpOrder('dr-pole', 'E0776'), drugOrder('mr-def', 'J0895', 'Injection, deferoxamine mesylate, 500 mg')], { conditions: [condition('c-io', 'E83.111', 'Hemochromatosis due to repeated red blood cell transfusions')] }),
  epoK0455: () => sign([pumpOrder('dr-1', 'K0455'), epoprostenol()], PAH_RECORD),
  epoE0781: () => sign([pumpOrder('dr-1', 'E0781'), epoprostenol()], PAH_RECORD),
  epoMpap25: () => sign([pumpOrder('dr-1', 'K0455'), epoprostenol()], { ...PAH_RECORD, observations: [mpap('o-mpap', 25)] }),
  epoExertion31: () => sign([pumpOrder('dr-1', 'K0455'), epoprostenol()], { ...PAH_RECORD, observations: [mpap('o-mpap', 22), mpap('o-mpap-ex', 31, 'with exercise')] }),
  epoNoMpap: () => sign([pumpOrder('dr-1', 'K0455'), epoprostenol()], { ...PAH_RECORD, observations: [] }),
  hizentra: () => sign([pumpOrder('dr-1', 'E0779'), drugOrder('mr-ig', 'J1559', 'Injection, immune globulin (Hizentra), 100 mg')], { conditions: [condition('c-pid', 'D80.0', 'Hereditary hypogammaglobulinemia')], qr: [answers({ ...V_SETS, 'vH-home-necessary': true })] }),
  hyqvia: () => sign([pumpOrder('dr-1', 'E0779'), drugOrder('mr-ig', 'J1575', 'Injection, immune globulin/hyaluronidase (HyQvia), 100 mg')], { conditions: [condition('c-pid', 'D80.0', 'Hereditary hypogammaglobulinemia')], qr: [answers({ ...V_SETS, 'vH-home-necessary': true })] }),
  deferoxamine: () => sign([pumpOrder('dr-1', 'E0779'), drugOrder('mr-def', 'J0895', 'Injection, deferoxamine mesylate, 500 mg')], { conditions: [condition('c-io', 'E83.111', 'Hemochromatosis due to repeated red blood cell transfusions')] }),
  deferoxamineNoDx: () => sign([pumpOrder('dr-1', 'E0779'), drugOrder('mr-def', 'J0895', 'Injection, deferoxamine mesylate, 500 mg')]),
  deferoxamineAlone: () => sign([drugOrder('mr-def', 'J0895', 'Injection, deferoxamine mesylate, 500 mg')], { conditions: [condition('c-io', 'E83.111', 'Hemochromatosis')] }),
};

/** The coverage-information `covered` code of every order the response updates (pump, drug, supplies). */
function coveredCodes(c: Call): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of c.actions) {
    const r = a.resource as { resourceType?: string; id?: string; extension?: { url: string; extension?: { url: string; valueCode?: string }[] }[] } | undefined;
    const codes = (r?.extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION_URL).map((e) => e.extension?.find((x) => x.url === 'covered')?.valueCode ?? '?');
    out[`${r?.resourceType}/${r?.id}`] = codes;
  }
  return out;
}
function decisive(c: Call): Card {
  const card = c.cards.find((x) => x.indicator !== 'info');
  expect(card, dump(c)).toBeDefined();
  return card!;
}

describe('Medicare external pumps over HTTP (issue 9)', () => {
  it('MLN improper-payment example: E0779, thromboembolic history, no drug → documentation missing: covered indication and drug', async () => {
    const c = await cases.mln!();
    expect(c.status).toBe(200);
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('conditional');
    expect(r.undocumentedCriteria).toContain('ext-covered-indication-and-drug');
    expect(r.policies?.map((p) => p.id)).toContain('medicare-external-general');
    expect(decisive(c).summary).toMatch(/covered indication and drug/);
    expect(c.cards.some((x) => /no coverage policy/i.test(x.summary))).toBe(false);
  });

  it('home heparin by external pump → not covered, named in the summary, remove suggested', async () => {
    const c = await cases.heparin!();
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('not-covered');
    expect(r.unmetCriteria).toContain('excl-heparin-home-external');
    const card = decisive(c);
    expect(card.summary).toMatch(/heparin by home infusion pump/i);
    expect((card.suggestions ?? []).map((s) => s.label).join(' ')).toMatch(/Remove/);
    // Today the pipeline gives the pump the determination; a drug ordered with it is judged on the pump's criteria.
    expect(coveredCodes(c)['DeviceRequest/dr-1']).toEqual(['not-covered']);
    for (const v of Object.values(coveredCodes(c))) expect(v).toEqual(['not-covered']);
  });

  it('vancomycin by DME pump → not covered with a remove suggestion', async () => {
    const c = await cases.vanco!();
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('not-covered');
    expect(r.unmetCriteria).toEqual(['excl-vancomycin-dme-pump']);
    expect(decisive(c).summary).toMatch(/vancomycin/i);
    expect((decisive(c).suggestions ?? []).map((s) => s.label).join(' ')).toMatch(/Remove/);
  });

  it('A4305 disposable pump is recognised as a pump order → not covered', async () => {
    const c = await cases.a4305!();
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('not-covered');
    expect(r.unmetCriteria).toEqual(['excl-disposable-elastomeric']);
  });

  it('E1399 described as an infusion controller → not covered; E1399 with no description → documentation needed', async () => {
    const c = await cases.e1399!();
    expect(rec(c, 'DeviceRequest/dr-1').outcome, dump(c)).toBe('not-covered');
    const bare = await sign([pumpOrder('dr-1', 'E1399')]);
    expect(rec(bare, 'DeviceRequest/dr-1').outcome, dump(bare)).toBe('conditional');
    // E1399 is in the general rules' scope too: an undescribed item is never covered without its drug and indication.
    expect(rec(bare, 'DeviceRequest/dr-1').undocumentedCriteria).toEqual(['excl-infusion-controller', 'ext-covered-indication-and-drug']);
  });

  it('IV pole E0776 with an ambulatory pump E0781 → not covered; with the stationary pump E0791 → covered', async () => {
    const amb = await cases.poleAmb!();
    expect(rec(amb, 'DeviceRequest/dr-1').outcome, dump(amb)).toBe('not-covered');
    expect(rec(amb, 'DeviceRequest/dr-1').unmetCriteria).toEqual(['edit-iv-pole-stationary-only']);
    const stat = await cases.poleStat!();
    expect(rec(stat, 'DeviceRequest/dr-1').outcome, dump(stat)).toBe('covered');
    expect(stat.cards.filter((x) => x.indicator !== 'info')).toEqual([]);
  });

  it('epoprostenol on K0455 with the PAH criteria and mean PA pressure 42 mm Hg at rest → covered', async () => {
    const c = await cases.epoK0455!();
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('covered');
    // The exclusion policies look at every external-pump order (they are what catches heparin or vancomycin).
    expect(r.policies?.map((p) => p.id).sort()).toEqual(['medicare-excl-heparin-home', 'medicare-excl-vancomycin', 'medicare-external-coding-edits', 'medicare-external-general', 'medicare-v-e-pah-prostacyclin']);
    for (const v of Object.values(coveredCodes(c))) expect(v).toEqual(['covered']);
  });

  it('epoprostenol on E0781 → not covered with a change-code suggestion to K0455', async () => {
    const c = await cases.epoE0781!();
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('not-covered');
    expect(r.unmetCriteria).toEqual(['vE-pump-k0455-only']);
    const labels = (decisive(c).suggestions ?? []).map((s) => s.label).join(' | ');
    expect(labels).toMatch(/Change the order code to K0455/);
  });

  it('mean PA pressure thresholds: 25 at rest is not > 25 (not covered); 22 at rest with 31 on exertion → covered; none → conditional', async () => {
    const at = await cases.epoMpap25!();
    expect(rec(at, 'DeviceRequest/dr-1').outcome, dump(at)).toBe('not-covered');
    expect(rec(at, 'DeviceRequest/dr-1').unmetCriteria).toContain('vE-mpap-rest');
    const ex = await cases.epoExertion31!();
    expect(rec(ex, 'DeviceRequest/dr-1').outcome, dump(ex)).toBe('covered');
    const none = await cases.epoNoMpap!();
    expect(rec(none, 'DeviceRequest/dr-1').outcome, dump(none)).toBe('conditional');
    expect(rec(none, 'DeviceRequest/dr-1').undocumentedCriteria).toEqual(['vE-mpap-rest']);
  });

  it('SCIg: Hizentra (J1559) on E0779 → covered; HyQvia (J1575) on E0779 → not covered, change code to E0781', async () => {
    const hz = await cases.hizentra!();
    expect(rec(hz, 'DeviceRequest/dr-1').outcome, dump(hz)).toBe('covered');
    const hq = await cases.hyqvia!();
    const r = rec(hq, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(hq)).toBe('not-covered');
    expect(r.unmetCriteria).toContain('vH-pair-e0779-drug');
    expect((decisive(hq).suggestions ?? []).map((s) => s.label).join(' | ')).toMatch(/Change the order code to E0781/);
  });

  it('deferoxamine for iron overload on E0779 → covered; without an iron diagnosis → documentation needed (conditional)', async () => {
    const ok = await cases.deferoxamine!();
    expect(rec(ok, 'DeviceRequest/dr-1').outcome, dump(ok)).toBe('covered');
    const nodx = await cases.deferoxamineNoDx!();
    const r = rec(nodx, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(nodx)).toBe('conditional');
    expect(r.undocumentedCriteria).toContain('ind1-iron-overload');
    expect(decisive(nodx).summary).toMatch(/iron overload/);
  });

  it('deferoxamine ordered with no pump and none on record → the drug is not payable without a covered pump (not covered)', async () => {
    const c = await cases.deferoxamineAlone!();
    const r = rec(c, 'MedicationRequest/mr-def');
    expect(r.outcome, dump(c)).toBe('not-covered');
    expect(r.unmetCriteria).toContain('ext-pump-on-record');
  });

  it('a drug on no indication list (meperidine J2175, excluded from situation B) → individual consideration by the DME MAC, never covered', async () => {
    for (const [code, display] of [['J2175', 'Injection, meperidine HCl, per 100 mg']] as const) {
      const c = await sign([pumpOrder('dr-1', 'E0779'), drugOrder('mr-x', code, display)], { conditions: [condition('c-ca', 'C50.911', 'Malignant neoplasm of right female breast')] });
      const r = rec(c, 'DeviceRequest/dr-1');
      expect(r.outcome, dump(c)).toBe('conditional');
      expect(r.undocumentedCriteria).toEqual(['ext-other-uses-individual-consideration']);
      expect(decisive(c).summary).toMatch(/individual consideration by the DME MAC/);
    }
  });

  it('every line of the order set carries the pump\'s coverage-information: a text-only drug and the supplies too, each with its own billing code and assertion id', async () => {
    const orders = [
      pumpOrder('dr-1', 'E0779', { basedOn: [{ reference: 'MedicationRequest/mr-m' }], groupIdentifier: { value: 'pain-set' } }),
      { resourceType: 'MedicationRequest', id: 'mr-m', status: 'draft', intent: 'order', subject: { reference: 'Patient/pt-1' }, groupIdentifier: { value: 'pain-set' }, medicationCodeableConcept: { text: 'Morphine sulfate 1 mg/mL in NS, continuous infusion' } } as MedicationRequest,
      pumpOrder('dr-sup', 'A4221', { groupIdentifier: { value: 'pain-set' } }),
    ];
    const c = await sign(orders as FhirResource[]);
    // No cancer diagnosis: indication III is judged (never "covered" by the general rules alone).
    const r = rec(c, 'DeviceRequest/dr-1');
    expect(r.outcome, dump(c)).toBe('conditional');
    expect(r.policies?.map((p) => p.id)).toContain('medicare-ind3-morphine-cancer-pain');
    expect(coveredCodes(c)).toEqual({ 'DeviceRequest/dr-1': ['conditional'], 'MedicationRequest/mr-m': ['conditional'], 'DeviceRequest/dr-sup': ['conditional'] });
    const sub = (ref: string, url: string) =>
      c.actions
        .filter((a) => `${a.resource?.resourceType}/${a.resource?.id}` === ref)
        .flatMap((a) => ((a.resource as { extension?: { url: string; extension?: { url: string; valueString?: string; valueCoding?: { code?: string } }[] }[] }).extension ?? []))
        .filter((e) => e.url === COVERAGE_INFORMATION_URL)
        .flatMap((e) => (e.extension ?? []).filter((x) => x.url === url));
    expect(sub('DeviceRequest/dr-sup', 'billingCode').map((x) => x.valueCoding?.code)).toEqual(['A4221']);
    expect(sub('MedicationRequest/mr-m', 'billingCode')).toEqual([]);
    const ids = ['DeviceRequest/dr-1', 'MedicationRequest/mr-m', 'DeviceRequest/dr-sup'].map((ref) => sub(ref, 'coverage-assertion-id')[0]?.valueString);
    expect(new Set(ids).size).toBe(3);
    // Each line's assertion is stored, with the pump's determination.
    expect(rec(c, 'MedicationRequest/mr-m').outcome).toBe('conditional');
  });

  it('situation D: milrinone with Stage D heart failure and the attested conditions → covered; without the GDMT answer → conditional', async () => {
    const all = { ...V_SETS, 'vD-gdmt': true, 'vD-bridge-or-palliative': true, 'vD-cardiologist-evaluation': true, 'vD-improvement-at-discharge': true };
    const orders = [pumpOrder('dr-1', 'E0781'), drugOrder('mr-mil', 'J2260', 'Injection, milrinone lactate, 5 mg')];
    const hf = [condition('c-hf', 'I50.84', 'End stage heart failure')];
    const ok = await sign(orders, { conditions: hf, qr: [answers(all)] });
    expect(rec(ok, 'DeviceRequest/dr-1').outcome, dump(ok)).toBe('covered');
    const { 'vD-gdmt': _omit, ...partial } = all;
    const gap = await sign(orders, { conditions: hf, qr: [answers(partial)] });
    expect(rec(gap, 'DeviceRequest/dr-1').outcome, dump(gap)).toBe('conditional');
    expect(rec(gap, 'DeviceRequest/dr-1').undocumentedCriteria).toEqual(['vD-symptomatic-despite-gdmt']);
  });

  it('criteria sets 1 and 2: infusion under 8 hours (set 1 answered no) is covered only through set 2', async () => {
    const orders = [pumpOrder('dr-1', 'E0781'), drugOrder('mr-mil', 'J2260', 'Injection, milrinone lactate, 5 mg')];
    const base = { 'v-home-parenteral': true, 'v-pump-necessary': true, 'v-infusion-8h-or-more': false, 'v-prolonged-advantage': true, 'vD-gdmt': true, 'vD-bridge-or-palliative': true, 'vD-cardiologist-evaluation': true, 'vD-improvement-at-discharge': true };
    const hf = [condition('c-hf', 'I50.84', 'End stage heart failure')];
    const noSet2 = await sign(orders, { conditions: hf, qr: [answers(base)] });
    expect(rec(noSet2, 'DeviceRequest/dr-1').outcome, dump(noSet2)).toBe('conditional');
    const set2 = await sign(orders, { conditions: hf, qr: [answers({ ...base, 'v-no-office-return': true, 'v-controlled-rate-toxicity': true })] });
    expect(rec(set2, 'DeviceRequest/dr-1').outcome, dump(set2)).toBe('covered');
    const set2no = await sign(orders, { conditions: hf, qr: [answers({ ...base, 'v-no-office-return': false, 'v-controlled-rate-toxicity': true })] });
    expect(rec(set2no, 'DeviceRequest/dr-1').outcome, dump(set2no)).toBe('not-covered');
  });
});
