// The documentation questionnaires over HTTP: one canonical url each, served at /fhir/Questionnaire/{id}, searchable
// by url, described by /fhir/metadata; the form page a card links to; and the questionnaire logic the page runs.
import type { Questionnaire } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formLogic } from '../src/forms/logic.js';
import { buildRequest, scenarioBySlug } from './fixtures/scenarios.js';
import { testApp, type TestApp } from './support/app.js';

const CANONICAL = 'http://pumpcheck.example.org/fhir/Questionnaire/csii-documentation';
const COVERAGE_INFO = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

describe('documentation questionnaires and the form app', () => {
  let t: TestApp;
  beforeAll(() => {
    t = testApp({ SMART_APP_URL: 'https://cds.example.org/forms/launch' });
  });
  afterAll(() => t.close());

  it('serves a CapabilityStatement for what the service serves', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
    const q = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Questionnaire');
    expect(q.interaction.map((i: { code: string }) => i.code)).toEqual(['read', 'search-type']);
    expect(q.searchParam.map((p: { name: string }) => p.name)).toContain('url');
  });

  it('searches Questionnaires by canonical url (with or without |version) and refuses unknown parameters', async () => {
    const hit = await request(t.app).get('/fhir/Questionnaire').query({ url: CANONICAL });
    expect(hit.body.total).toBe(1);
    expect(hit.body.entry[0].resource).toMatchObject({ id: 'csii-documentation', url: CANONICAL });
    expect((await request(t.app).get('/fhir/Questionnaire').query({ url: `${CANONICAL}|1.0.0` })).body.total).toBe(1);
    expect((await request(t.app).get('/fhir/Questionnaire').query({ url: `${CANONICAL}|9.9` })).body.total).toBe(0);
    expect((await request(t.app).get('/fhir/Questionnaire').query({ url: 'http://example.org/other' })).body.total).toBe(0);
    expect((await request(t.app).get('/fhir/Questionnaire').query({ _id: 'csii-documentation' })).body.total).toBe(1);
    const bad = await request(t.app).get('/fhir/Questionnaire').query({ title: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['title']);
  });

  it('answers FHIR clients with JSON and sends browsers to the form', async () => {
    const json = await request(t.app).get('/fhir/Questionnaire/csii-documentation').set('Accept', 'application/fhir+json');
    expect(json.status).toBe(200);
    expect(json.body.url).toBe(CANONICAL);
    const browser = await request(t.app).get('/fhir/Questionnaire/csii-documentation').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(browser.status).toBe(303);
    expect(browser.headers.location).toBe('/forms/csii-documentation');
    expect((await request(t.app).get('/fhir/Questionnaire/nope')).status).toBe(404);
  });

  it('names the canonical url in coverage-information and links clinicians to the form page, not raw JSON', async () => {
    const s = scenarioBySlug('c-peptide-missing');
    const res = await request(t.app).post('/cds-services/pumpcheck-order-sign').send(buildRequest(s));
    expect(res.status).toBe(200);
    const action = res.body.systemActions.find((a: { resource: { id: string } }) => `DeviceRequest/${a.resource.id}` === s.primaryOrderRef);
    const ext = action.resource.extension.find((e: { url: string }) => e.url === COVERAGE_INFO);
    const questionnaire = ext.extension.find((e: { url: string }) => e.url === 'questionnaire');
    expect(questionnaire.valueCanonical).toBe(CANONICAL);
    const links = res.body.cards.flatMap((c: { links?: { url: string; type: string; appContext?: string }[] }) => c.links ?? []);
    const absolute = links.filter((l: { type: string }) => l.type === 'absolute').map((l: { url: string }) => l.url);
    expect(absolute.some((u: string) => u.endsWith('/forms/csii-documentation'))).toBe(true);
    expect(absolute.some((u: string) => u.includes('/fhir/Questionnaire/'))).toBe(false);
    const smart = links.find((l: { type: string }) => l.type === 'smart');
    expect(JSON.parse(smart.appContext).questionnaire).toBe(CANONICAL);
    expect(JSON.stringify(res.body.cards.map((c: { detail?: string }) => c.detail))).not.toContain('/fhir/Questionnaire/');
  });

  it('records the shared reference and SMART cards against each order they name (their feedback is not an orphan)', async () => {
    t.assertionSink.records.length = 0;
    const s = scenarioBySlug('c-peptide-missing');
    const res = await request(t.app).post('/cds-services/pumpcheck-order-sign').send(buildRequest(s));
    const assertion = t.assertionSink.records.find((a) => a.orderRef === s.primaryOrderRef)!;
    const kinds = assertion.cards.map((c) => c.kind);
    expect(kinds).toContain('finding');
    expect(kinds).toContain('reference');
    expect(kinds).toContain('smart');
    const shown = new Set(res.body.cards.map((c: { uuid: string }) => c.uuid));
    for (const c of assertion.cards) expect(shown.has(c.uuid)).toBe(true);
  });

  it('serves the form page: every item, the prefill rules from the value sets, strict script policy', async () => {
    const res = await request(t.app).get('/forms/csii-documentation');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(res.text).not.toMatch(/<script>(?!\s*$)/);
    for (const linkId of ['education-completed', 'education-date', 'mdi-self-adjustment', 'c2-recurring-hypoglycemia', 'practitioner-csii-team']) {
      expect(res.text).toContain(`data-link-id="${linkId}"`);
    }
    const prefill = JSON.parse(/<script type="application\/json" id="prefill">(.*?)<\/script>/s.exec(res.text)![1]!);
    expect(prefill).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ linkId: 'c2-recurring-hypoglycemia', resourceType: 'Condition', include: expect.arrayContaining([expect.objectContaining({ prefixes: expect.arrayContaining(['E10.64']) })]) }),
        expect.objectContaining({ linkId: 'education-completed', resourceType: 'Procedure' }),
      ]),
    );
    const bundle = await request(t.app).get('/forms/assets/fhir-client.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    expect(bundle.text).toContain('oauth2');
    expect((await request(t.app).get('/forms/launch')).text).toContain('FHIR.oauth2.authorize');
    expect((await request(t.app).get('/forms/unknown')).status).toBe(404);
  });
});

describe('form logic (the code the form page runs)', () => {
  const L = formLogic();
  const q: Questionnaire = {
    resourceType: 'Questionnaire',
    status: 'active',
    url: CANONICAL,
    version: '1.0.0',
    item: [
      {
        linkId: 'g',
        type: 'group',
        text: 'Group',
        item: [
          { linkId: 'done', type: 'boolean', text: 'Done?' },
          { linkId: 'when', type: 'date', text: 'When?', enableWhen: [{ question: 'done', operator: '=', answerBoolean: true }] },
        ],
      },
      { linkId: 'count', type: 'integer', text: 'How many?' },
      { linkId: 'empty', type: 'group', text: 'Nothing answered', item: [{ linkId: 'x', type: 'string', text: 'x' }] },
    ],
  };

  it('builds a completed response of the enabled, answered items with the canonical url', () => {
    const qr = L.buildResponse(structuredClone(q), { done: true, when: '2024-05-01', count: '4' }, { canonical: CANONICAL, subject: 'Patient/p1', authored: '2026-12-01T10:00:00Z' });
    expect(qr).toEqual({
      resourceType: 'QuestionnaireResponse',
      questionnaire: `${CANONICAL}|1.0.0`,
      status: 'completed',
      authored: '2026-12-01T10:00:00Z',
      subject: { reference: 'Patient/p1' },
      item: [
        { linkId: 'g', text: 'Group', item: [{ linkId: 'done', text: 'Done?', answer: [{ valueBoolean: true }] }, { linkId: 'when', text: 'When?', answer: [{ valueDate: '2024-05-01' }] }] },
        { linkId: 'count', text: 'How many?', answer: [{ valueInteger: 4 }] },
      ],
    });
    // enableWhen: the date is dropped once "done" is no.
    const no = L.buildResponse(structuredClone(q), { done: false, when: '2024-05-01' }, { canonical: CANONICAL, authored: '2026-12-01T10:00:00Z' });
    expect(no.item).toEqual([{ linkId: 'g', text: 'Group', item: [{ linkId: 'done', text: 'Done?', answer: [{ valueBoolean: false }] }] }]);
  });

  it('reads a previous response back as answers (the form shows them as answered)', () => {
    const qr = L.buildResponse(structuredClone(q), { done: true, when: '2024-05-01', count: 2 }, { canonical: CANONICAL, authored: 'x' });
    expect(L.answersFrom(qr)).toEqual({ done: true, when: '2024-05-01', count: 2 });
  });

  it('matches record codes like the value sets do (dots, case, http/https, prefixes)', () => {
    const include = [
      { system: 'http://hl7.org/fhir/sid/icd-10-cm', prefixes: ['E10.64'] },
      { system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', codes: ['G0108'] },
    ];
    expect(L.matches({ code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E10.649' }] } }, include)).toBe(true);
    expect(L.matches({ code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'e10649' }] } }, include)).toBe(true);
    expect(L.matches({ code: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'G0108' }] } }, include)).toBe(true);
    expect(L.matches({ code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E10.65' }] } }, include)).toBe(false);
    expect(L.matches({ code: { coding: [{ system: 'http://snomed.info/sct', code: 'E10.649' }] } }, include)).toBe(false);
  });
});
