// The one generic runner for policy test cases (policies/tests/<policyId>/<case>.json). Every case runs over HTTP
// against the real app, with a signed client JWT, in two modes:
//   prefetch — the prefetch an EHR would send: the discovery document's templates executed against a loopback FHIR
//              server seeded with the case's record (only the keys discovery asks for);
//   fallback — no prefetch; fhirServer is that loopback server, behind a bearer token.
// Both modes must give the case's expected result. The outcome and the criterion statuses are read from the audit
// record the service stores (GET /coverage-assertions/{id} with ADMIN_TOKEN; the store behind the admin route is the
// in-memory assertion sink, because an embedded PGlite store takes up to a minute to open on a loaded machine): its
// unmetCriteria / undocumentedCriteria are the gaps that decided the outcome, so an expected `not-met` must be among the
// unmet ones, `not-documented` among the undocumented ones, and `met` in neither. The coverage-information `covered`
// code on the order's system action must agree with the stored outcome; the decisive card is checked when the case
// names one. A case file that does not validate fails this file at load, naming the file, the JSON pointer and line.
import { randomUUID } from 'node:crypto';
import type { Extension } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COVERAGE_INFORMATION_URL } from '../cards/coverage-information.js';
import { validateCdsResponse } from '../src/cds/schemas.js';
import type { Action, Card } from '../src/cds/types.js';
import { loadConfig } from '../src/config.js';
import { adminRouter } from '../src/http/admin.js';
import { silentLogger } from '../src/logger.js';
import { allFacts } from '../src/policy/facts/index.js';
import { loadPolicySet } from '../src/policy/loader.js';
import type { Store, StoredAssertion } from '../src/store/index.js';
import { MemoryAssertionSink, MemoryFeedbackStore } from '../src/store/memory.js';
import { testApp, type TestApp } from './support/app.js';
import { createEhrSigner, type EhrSigner } from './support/ehr-jwt.js';
import { prefetchFromDiscovery } from './support/prefetch.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { policyCriteria } from './support/policy-criteria.js';
import { crossCheckCases, PolicyLoadError, readPolicyCases, type PolicyCase } from './support/policy-cases.js';

const ADMIN_TOKEN = 'policy-cases-admin-token-0123';
const FHIR_TOKEN = 'policy-cases-fhir-token';
const EHR_BASE = 'https://ehr.example.org/fhir';
type Mode = 'prefetch' | 'fallback';
const MODES: Mode[] = ['prefetch', 'fallback'];

// Loaded at collection time: a broken case file, or one naming a policy or criterion that does not exist, fails here.
const CASES = readPolicyCases();
const POLICY_SET = loadPolicySet(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }).policyDir, { facts: allFacts });
const crossProblems = crossCheckCases(
  CASES,
  POLICY_SET.policies.map((p) => {
    const criteria = policyCriteria(p);
    return { id: p.id, criterionIds: new Set(criteria.map((c) => c.id)), leafIds: new Set(criteria.filter((c) => c.reported).map((c) => c.id)) };
  }),
);
if (crossProblems.length > 0) throw new PolicyLoadError(crossProblems);

/** The admin route's store contract over the in-memory sink the hook path records into. */
function memoryStore(sink: MemoryAssertionSink): Pick<Store, 'getAssertion' | 'overrideAnalytics'> {
  return {
    getAssertion: async (id) => {
      const found = sink.records.find((r) => r.id === id);
      return found ? { ...structuredClone(found), storedAt: found.createdAt, feedback: [] } : undefined;
    },
    overrideAnalytics: async () => ({ rows: [], criteria: [], byOutcome: [], byPractitioner: [], bySite: [], sharedCards: [] }) as never,
  };
}

let signer: EhrSigner;
let t: TestApp;

beforeAll(async () => {
  signer = await createEhrSigner();
  const assertionSink = new MemoryAssertionSink();
  t = testApp(
    // Generous FHIR budgets: the loopback server shares two cores with the rest of the suite.
    { ...signer.env, ADMIN_TOKEN, FHIR_QUERY_TIMEOUT_MS: '15000', FHIR_TOTAL_BUDGET_MS: '25000' },
    { feedbackStore: new MemoryFeedbackStore(), assertionSink, adminRouter: adminRouter({ store: memoryStore(assertionSink), adminToken: ADMIN_TOKEN, logger: silentLogger }) },
  );
});
afterAll(() => {
  t?.close();
});

interface OrderResult {
  /** Stored outcome; 'no-policy' when the order got a coverage card but no coverage-information; undefined: nothing. */
  outcome?: string;
  covered?: string;
  /** coverage-information `date`: the request day. */
  date?: string;
  stored?: StoredAssertion;
  cards: Card[];
}

interface CaseRun {
  status: number;
  body: { cards: Card[]; systemActions?: Action[] };
  orders: Map<string, OrderResult>;
  /** Requests the service itself sent to the FHIR server during the call. */
  serviceFhirRequests: number;
}

const refOf = (r: { resourceType: string; id?: string }) => `${r.resourceType}/${r.id}`;

function associated(card: Card): string[] {
  const ext = (card as { extension?: Record<string, unknown> }).extension?.['davinci-crd.associated-resource'] as { reference?: string }[] | undefined;
  return (ext ?? []).map((r) => r.reference ?? '');
}

function hookContext(c: PolicyCase): Record<string, unknown> {
  return {
    userId: c.userId,
    patientId: c.patientId,
    ...(c.encounterId ? { encounterId: c.encounterId } : {}),
    ...(c.hook === 'order-select' ? { selections: c.selections ?? c.draftOrders.map(refOf) } : {}),
    draftOrders: {
      resourceType: 'Bundle',
      type: 'collection',
      entry: c.draftOrders.map((r) => ({ fullUrl: `${EHR_BASE}/${refOf(r)}`, resource: r })),
    },
  };
}

async function runCase(c: PolicyCase, mode: Mode, fhir: TestFhirServer): Promise<CaseRun> {
  const path = `/cds-services/pumpcheck-${c.hook}`;
  const context = hookContext(c);
  // Signed on the real clock: the JWT verifier keeps the clock it started with (a token is checked against real time).
  const discoveryAuthorization = await signer.authorization('/cds-services');
  const hookAuthorization = await signer.authorization(path);
  // The service's clock is the case's request time for the whole call (only Date is faked; timers and I/O are real).
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(c.now), shouldAdvanceTime: true });
  try {
    const body: Record<string, unknown> = { hook: c.hook, hookInstance: randomUUID(), context };
    if (mode === 'prefetch') {
      body.prefetch = await prefetchFromDiscovery(t.app, fhir.url, context, {
        serviceId: `pumpcheck-${c.hook}`,
        accessToken: FHIR_TOKEN,
        allPages: true,
        discoveryAuthorization,
      });
    } else {
      body.fhirServer = fhir.url;
      body.fhirAuthorization = { access_token: FHIR_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'pumpcheck', patient: c.patientId };
    }
    const before = fhir.requests.length;
    const res = await request(t.app).post(path).set('Authorization', hookAuthorization).send(body);
    const serviceFhirRequests = fhir.requests.length - before;

    const orders = new Map<string, OrderResult>();
    const cards = (res.body?.cards ?? []) as Card[];
    for (const order of c.draftOrders) {
      const ref = refOf(order);
      const mine = cards.filter((card) => card.source.topic?.code === 'coverage-info' && associated(card).includes(ref));
      const actions = ((res.body?.systemActions ?? []) as Action[]).filter((a) => a.resource && refOf(a.resource) === ref);
      const ext = actions
        .flatMap((a) => ((a.resource as { extension?: Extension[] }).extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION_URL))
        .at(0);
      const sub = (url: string) => ext?.extension?.find((e) => e.url === url);
      const assertionId = sub('coverage-assertion-id')?.valueString;
      let stored: StoredAssertion | undefined;
      if (assertionId) {
        const got = await request(t.app).get(`/coverage-assertions/${encodeURIComponent(assertionId)}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
        expect(got.status, `${ref}: stored assertion ${assertionId}`).toBe(200);
        stored = got.body as StoredAssertion;
      }
      const outcome = stored?.outcome ?? (!ext && mine.length > 0 ? 'no-policy' : undefined);
      orders.set(ref, { outcome, covered: sub('covered')?.valueCode, date: sub('date')?.valueDate, stored, cards: mine });
    }
    return { status: res.status, body: res.body, orders, serviceFhirRequests };
  } finally {
    vi.useRealTimers();
  }
}

/** What the run shows for one order, in the vocabulary of the case file. */
function statusOf(r: OrderResult, id: string): string {
  if (!r.stored) return 'no assertion';
  const unmet = r.stored.unmetCriteria.includes(id);
  const undocumented = r.stored.undocumentedCriteria.includes(id);
  if (unmet && undocumented) return 'both unmet and undocumented';
  return unmet ? 'not-met' : undocumented ? 'not-documented' : 'met';
}

/** Covered codes that agree with a stored outcome (2.0.1 has no `indeterminate`: conditional + a reason). */
const COVERED_FOR: Record<string, string[]> = {
  covered: ['covered'],
  'not-covered': ['not-covered'],
  conditional: ['conditional'],
  indeterminate: ['indeterminate', 'conditional'],
};

describe.each(CASES.map((c) => [`${c.policyId}/${c.name}`, c] as const))('%s', (_label, c) => {
  const runs: Partial<Record<Mode, CaseRun>> = {};
  let fhir: TestFhirServer;

  beforeAll(async () => {
    fhir = await startFhirServer({ token: FHIR_TOKEN, resources: c.record });
    runs.prefetch = await runCase(c, 'prefetch', fhir);
    runs.fallback = await runCase(c, 'fallback', fhir);
  }, 120_000);
  afterAll(async () => {
    await fhir?.close();
  });

  for (const mode of MODES) it(`${c.title} — ${mode}`, () => {
    const run = runs[mode]!;
    expect(run.status, JSON.stringify(run.body).slice(0, 500)).toBe(200);
    expect(validateCdsResponse(run.body)).toEqual([]);
    if (mode === 'prefetch') expect(run.serviceFhirRequests, 'no FHIR query when everything was prefetched').toBe(0);
    else expect(run.serviceFhirRequests, 'the record came from the FHIR server').toBeGreaterThan(0);

    for (const [ref, e] of Object.entries(c.expected)) {
      const r = run.orders.get(ref)!;
      expect(r.outcome, `${ref}: outcome`).toBe(e.outcome);
      if (r.stored) {
        expect(COVERED_FOR[r.stored.outcome] ?? [], `${ref}: coverage-information covered = ${r.covered}`).toContain(r.covered);
        // Every policy that judged the order is listed (exclusions and coding edits ride along); the case's is one.
        expect(r.stored.policies?.map((p) => p.id) ?? [r.stored.policyId]).toContain(c.policyId);
        // The service ran on the case's clock.
        expect(r.date, `${ref}: coverage-information date`).toBe(c.now.slice(0, 10));
      }
      for (const [id, status] of Object.entries(e.criteria ?? {})) expect(statusOf(r, id), `${ref}: criterion ${id}`).toBe(status);
      if (e.card === null) expect(r.cards.map((card) => card.summary), `${ref}: no coverage card`).toEqual([]);
      else if (e.card) {
        const decisive = r.cards[0];
        expect(decisive, `${ref}: a coverage card`).toBeDefined();
        if (e.card.indicator) expect(decisive!.indicator, `${ref}: card indicator`).toBe(e.card.indicator);
        for (const s of e.card.summaryIncludes ?? []) expect(decisive!.summary, `${ref}: card summary`).toContain(s);
      }
    }
  });

  it('gives the same determinations and cards in both modes', () => {
    const summary = (run: CaseRun) =>
      [...run.orders].map(([ref, r]) => [ref, r.outcome, r.covered, r.stored?.unmetCriteria, r.stored?.undocumentedCriteria, r.cards.map((card) => [card.indicator, card.summary])]);
    expect(summary(runs.fallback!)).toEqual(summary(runs.prefetch!));
  });
});

describe('policy cases', () => {
  it('every loaded policy has at least one case', () => {
    const withCases = new Set(CASES.map((c) => c.policyId));
    expect(POLICY_SET.policies.map((p) => p.id).filter((id) => !withCases.has(id))).toEqual([]);
  });
});
