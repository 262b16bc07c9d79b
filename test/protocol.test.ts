// CDS Hooks 2.0 protocol conformance of the real app: discovery, service calls, refusals, CORS, feedback, health.
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { validateCdsResponse, validateDiscovery } from '../src/cds/schemas.js';
import { buildPrefetchTemplates, MAX_TEMPLATE_LENGTH, toDiscoveryPrefetch } from '../src/fhir/prefetch.js';
import { allFacts } from '../src/policy/facts/index.js';
import { loadPolicySet } from '../src/policy/loader.js';
import { deriveDataRequirements } from '../src/policy/requirements.js';
import { testApp } from './support/app.js';
import { hookBody, minimalPrefetch, nonPumpOrder, pumpOrder } from './support/requests.js';

const t = testApp({ BODY_LIMIT_BYTES: '200000', CORS_ORIGINS: 'https://sandbox.cds-hooks.org' });
afterAll(() => t.close());
const SIGN = '/cds-services/pumpcheck-order-sign';
const SELECT = '/cds-services/pumpcheck-order-select';

function expectOutcome(body: any, status: string | RegExp, expression?: string) {
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0].severity).toMatch(/error|fatal/);
  expect(body.issue[0].details.text).toMatch(status);
  if (expression) expect(body.issue[0].expression).toContain(expression);
}

describe('discovery', () => {
  it('lists one order-select and one order-sign service that validate against the discovery schema', async () => {
    const res = await request(t.app).get('/cds-services').expect(200).expect('content-type', /json/);
    expect(validateDiscovery(res.body)).toEqual([]);
    const hooks = res.body.services.map((s: any) => [s.hook, s.id]);
    expect(hooks).toEqual([
      ['order-select', 'pumpcheck-order-select'],
      ['order-sign', 'pumpcheck-order-sign'],
    ]);
    for (const s of res.body.services) {
      expect(s.title).toBeTruthy();
      expect(s.usageRequirements).toMatch(/fhirServer/);
      expect(s.extension['davinci-crd.version']).toEqual(['2.2']);
      expect(s.extension['davinci-crd.configuration-options'].map((o: any) => o.code)).toEqual(['coverage-info', 'guideline', 'max-cards']);
    }
  });

  it('asks only for CDS Hooks 2.0 prefetch tokens', async () => {
    const res = await request(t.app).get('/cds-services').expect(200);
    for (const service of res.body.services) {
      for (const template of Object.values(service.prefetch as Record<string, string>)) {
        for (const token of template.match(/\{\{[^}]*\}\}/g) ?? []) {
          expect(['{{context.patientId}}', '{{context.userId}}', '{{context.encounterId}}', '{{userPractitionerId}}', '{{userPractitionerRoleId}}']).toContain(token);
        }
        expect(template.length).toBeLessThanOrEqual(MAX_TEMPLATE_LENGTH);
      }
    }
  });

  it('asks for exactly what the loaded policies and the order model read (derived, not a fixed list)', async () => {
    const res = await request(t.app).get('/cds-services').expect(200);
    const policySet = loadPolicySet(t.config.policyDir, { facts: allFacts });
    const requirements = deriveDataRequirements(policySet);
    const expected = toDiscoveryPrefetch(buildPrefetchTemplates(requirements, policySet.valueSets));
    for (const service of res.body.services) expect(service.prefetch).toEqual(expected);
    const prefetch = res.body.services[1].prefetch as Record<string, string>;
    expect(prefetch.patient).toBe('Patient/{{context.patientId}}');
    expect(prefetch.coverage).toBe('Coverage?patient={{context.patientId}}&status=active');

    // Every type a criterion reads is asked for, as the template's type or as an _include target …
    const templates = Object.values(prefetch);
    const asked = (type: string) =>
      templates.some((tp) => tp.startsWith(`${type}?`) || tp.startsWith(`${type}/`)) ||
      templates.some((tp) => new RegExp(`_include=[A-Za-z]+:${type === 'Medication' ? 'medication' : type === 'Specimen' ? 'specimen' : 'device'}\\b`).test(tp));
    for (const r of requirements) expect(asked(r.type), `${r.type} for ${r.purpose.join(', ')}`).toBe(true);
    for (const type of ['DeviceUseStatement', 'ServiceRequest', 'MedicationRequest', 'Encounter', 'Device', 'QuestionnaireResponse']) expect(asked(type), type).toBe(true);
    for (const type of ['Specimen', 'Medication', 'Device']) expect(asked(type), `${type} (included)`).toBe(true);
    // … and every code of a value set a criterion restricts a type by is in one of that type's templates, unless the
    // type is asked for whole.
    for (const r of requirements) {
      const ofType = templates.filter((tp) => tp.startsWith(`${r.type}?`));
      if (ofType.some((tp) => !/&(code|type|component-code)=/.test(tp))) continue;
      for (const id of r.valueSets ?? []) {
        for (const c of policySet.valueSets.codings(id)) {
          expect(ofType.some((tp) => tp.includes(`${c.system}|${c.code}`)), `${id} ${c.code} (${r.purpose[0]})`).toBe(true);
        }
      }
    }
    // The untimed C-peptide comes with its Specimen (fasting status), the other labs without.
    const specimenKey = Object.entries(prefetch).find(([, tp]) => tp.includes('_include=Observation:specimen'));
    expect(specimenKey?.[1]).toContain('http://loinc.org|1986-9');
    expect(prefetch.observations).toContain('http://loinc.org|13037-7');
    expect(prefetch.observations).toContain('http://loinc.org|4548-4');
    // The implantable-pump contraindication reads the patient's allergies to the pump drug (known only at evaluation):
    // one unrestricted AllergyIntolerance search (issue 10, NCD 280.14 B.2.e).
    expect(templates.filter((tp) => tp.startsWith('AllergyIntolerance'))).toEqual(['AllergyIntolerance?patient={{context.patientId}}']);
  });

  it('names every resource type it reads in usageRequirements', async () => {
    const res = await request(t.app).get('/cds-services').expect(200);
    for (const type of ['Patient', 'Coverage', 'Observation', 'DeviceUseStatement', 'Specimen', 'Medication', 'ServiceRequest']) {
      expect(res.body.services[0].usageRequirements).toContain(type);
    }
  });
});

describe('service calls', () => {
  it('answers 200 {cards: []} without fetching anything when no order is an infusion pump', async () => {
    const res = await request(t.app).post(SIGN).send(hookBody({ orders: [nonPumpOrder('mr-1')] })).expect(200);
    expect(res.body).toEqual({ cards: [] });
  });

  it('evaluates a pump order from prefetch and returns a schema-valid response with coverage-information', async () => {
    const res = await request(t.app).post(SIGN).send(hookBody({ prefetch: minimalPrefetch() })).expect(200);
    expect(validateCdsResponse(res.body)).toEqual([]);
    expect(res.body.systemActions).toHaveLength(1);
    expect(res.body.systemActions[0].resource.id).toBe('dr-1');
  });

  it('shapes cards to CRD 2.0.1 by default and to 2.2 when the client requests it', async () => {
    const topics = async (extension?: Record<string, unknown>) => {
      const res = await request(t.app).post(SIGN).send(hookBody({ prefetch: minimalPrefetch(), ...(extension ? { extension } : {}) })).expect(200);
      return new Set(res.body.cards.map((c: { source: { topic: { system: string } } }) => c.source.topic.system));
    };
    expect(await topics()).toEqual(new Set(['http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp']));
    expect(await topics({ 'davinci-crd.requestedVersion': '2.2' })).toEqual(new Set(['http://terminology.hl7.org/CodeSystem/cdshooks-card-type']));
  });

  it('ignores unknown members, unknown context fields and unknown configuration options', async () => {
    const body = hookBody({ orders: [nonPumpOrder('mr-1')] }) as any;
    body.somethingNew = { x: 1 };
    body.context.futureField = 'x';
    body.extension = { 'davinci-crd.configuration': { 'no-such-option': true, 'max-cards': 'ten' }, 'org.example.other': 1 };
    await request(t.app).post(SIGN).send(body).expect(200);
  });

  it('404 with an OperationOutcome for an unknown service', async () => {
    const res = await request(t.app).post('/cds-services/nope').send(hookBody()).expect(404);
    expectOutcome(res.body, /Unknown CDS service "nope"/);
  });

  it('415 for a body that is not JSON', async () => {
    const res = await request(t.app).post(SIGN).set('content-type', 'text/plain').send('hello').expect(415);
    expectOutcome(res.body, /application\/json/);
  });

  it('400 for malformed JSON', async () => {
    const res = await request(t.app).post(SIGN).set('content-type', 'application/json').send('{"hook": ').expect(400);
    expectOutcome(res.body, /not valid JSON/);
  });

  it('413 for a body over the configured limit', async () => {
    const body = hookBody() as any;
    body.context.padding = 'x'.repeat(250_000);
    const res = await request(t.app).post(SIGN).send(body).expect(413);
    expectOutcome(res.body, /exceeds the limit of 200000 bytes/);
  });

  const refusals: [string, (b: any) => void, string][] = [
    ['missing hook', (b) => delete b.hook, 'hook'],
    ['missing hookInstance', (b) => delete b.hookInstance, 'hookInstance'],
    ['non-UUID hookInstance', (b) => (b.hookInstance = 'abc'), 'hookInstance'],
    ['missing context', (b) => delete b.context, 'context'],
    ['missing patientId', (b) => delete b.context.patientId, 'context.patientId'],
    ['userId that is not a reference', (b) => (b.context.userId = 'dr smith'), 'context.userId'],
    ['draftOrders that is not a Bundle', (b) => (b.context.draftOrders = { resourceType: 'List' }), 'context.draftOrders.resourceType'],
    ['a draft order without id', (b) => delete b.context.draftOrders.entry[0].resource.id, 'context.draftOrders.entry[0].resource.id'],
    ['fhirAuthorization without fhirServer', (b) => (b.fhirAuthorization = { access_token: 'a', token_type: 'Bearer', expires_in: 30, scope: 's', subject: 'x' }), 'fhirServer'],
    ['prefetch value that is not a resource', (b) => (b.prefetch = { patient: 'Patient/1' }), 'prefetch.patient'],
  ];
  it.each(refusals)('400 naming the field for %s', async (_name, mutate, field) => {
    const body = hookBody();
    mutate(body);
    const res = await request(t.app).post(SIGN).send(body).expect(400);
    expectOutcome(res.body, /Invalid CDS Hooks request/, field);
  });

  it('400 when the body hook does not match the service', async () => {
    const res = await request(t.app).post(SIGN).send(hookBody({ hook: 'order-select' })).expect(400);
    expectOutcome(res.body, /answers the order-sign hook, not order-select/, 'hook');
  });

  it('order-select: 400 without selections, and when a selection is not in draftOrders', async () => {
    const body = hookBody({ hook: 'order-select' }) as any;
    delete body.context.selections;
    let res = await request(t.app).post(SELECT).send(body).expect(400);
    expectOutcome(res.body, /Invalid/, 'context.selections');
    res = await request(t.app).post(SELECT).send(hookBody({ hook: 'order-select', selections: ['DeviceRequest/other'] })).expect(400);
    expectOutcome(res.body, /does not name an entry of draftOrders/, 'context.selections[0]');
  });

  it('412 when required data is neither prefetched nor fetchable (no fhirServer)', async () => {
    const res = await request(t.app).post(SIGN).send(hookBody({ orders: [pumpOrder('dr-1')] })).expect(412);
    expectOutcome(res.body, /patient|coverage/);
  });

  it('404 OperationOutcome for unknown routes', async () => {
    const res = await request(t.app).get('/nothing-here').expect(404);
    expectOutcome(res.body, /No route/);
  });
});

describe('CORS for browser sandboxes', () => {
  it.each(['/cds-services', SIGN, `${SIGN}/feedback`])('answers the preflight on %s for an allowed origin', async (path) => {
    const res = await request(t.app)
      .options(path)
      .set('Origin', 'https://sandbox.cds-hooks.org')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://sandbox.cds-hooks.org');
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect(res.headers['access-control-allow-headers']).toMatch(/Content-Type/);
    expect(res.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(res.headers.vary).toMatch(/Origin/);
  });

  it('does not grant other origins, and keeps the header on error responses', async () => {
    const denied = await request(t.app).options(SIGN).set('Origin', 'https://evil.example').expect(204);
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    const err = await request(t.app).post('/cds-services/nope').set('Origin', 'https://sandbox.cds-hooks.org').send({}).expect(404);
    expect(err.headers['access-control-allow-origin']).toBe('https://sandbox.cds-hooks.org');
  });
});

describe('feedback', () => {
  const FB = `${SIGN}/feedback`;
  it('stores valid feedback and answers 200', async () => {
    const res = await request(t.app)
      .post(FB)
      .send({
        feedback: [
          { card: '0f8b2c55-7a51-4c1e-a6b3-6a7f5e0d9c21', outcome: 'accepted', acceptedSuggestions: [{ id: '7d0b1f2e-2b7c-4a0e-9d6f-1c2b3a4d5e6f' }], outcomeTimestamp: '2026-04-01T10:14:03Z' },
          { card: '9368d37b-283f-44a0-93ea-547cebab93ed', outcome: 'overridden', overrideReason: { reason: { system: 'http://pumpcheck.example.org/CodeSystem/override-reason', code: 'abn-signed' } }, outcomeTimestamp: '2026-04-01T10:15:00Z' },
        ],
      })
      .expect(200);
    expect(res.body.stored).toBe(2);
    expect(t.feedbackStore.items.map((i) => i.item.outcome)).toEqual(['accepted', 'overridden']);
    expect(t.feedbackStore.items[0]!.serviceId).toBe('pumpcheck-order-sign');
  });

  const bad: [string, unknown, string][] = [
    ['accepted without acceptedSuggestions', { feedback: [{ card: 'c', outcome: 'accepted', outcomeTimestamp: '2026-04-01T10:14:03Z' }] }, 'feedback[0].acceptedSuggestions'],
    ['an unknown outcome', { feedback: [{ card: 'c', outcome: 'ignored', outcomeTimestamp: '2026-04-01T10:14:03Z' }] }, 'feedback[0].outcome'],
    ['a bad timestamp', { feedback: [{ card: 'c', outcome: 'overridden', outcomeTimestamp: 'yesterday' }] }, 'feedback[0].outcomeTimestamp'],
    ['an empty override reason', { feedback: [{ card: 'c', outcome: 'overridden', overrideReason: {}, outcomeTimestamp: '2026-04-01T10:14:03Z' }] }, 'feedback[0].overrideReason'],
    ['no feedback array', { card: 'c' }, 'feedback'],
  ];
  it.each(bad)('400 for %s', async (_n, body, field) => {
    const res = await request(t.app).post(FB).send(body as object).expect(400);
    expectOutcome(res.body, /Invalid feedback/, field);
  });

  it('404 for feedback to an unknown service', async () => {
    await request(t.app).post('/cds-services/nope/feedback').send({ feedback: [] }).expect(404);
  });
});

describe('operations', () => {
  it('healthz and readyz', async () => {
    await request(t.app).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(t.app).get('/readyz').expect(200);
    expect(ready.body.checks.policies).toBe(true);
  });

  it('sets a request id and does not advertise the framework', async () => {
    const res = await request(t.app).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
