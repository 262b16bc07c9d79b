// The card rules of issue 12, checked on the cards of EVERY policy test case (policies/tests/**), rendered over HTTP
// by the real app exactly as an EHR receives them. Generic over whatever cases and policies exist: a new policy's
// wording is held to the same rules the day its first case lands.
//
// Each case is sent with its own hook, and also with the other hook (order-select cards say what an order will need;
// order-sign cards what is missing), and once more to an app that also shows covered orders and a SMART form card, so
// every card kind the service can send is read. Per card, a clinician must never see:
//   - a summary over 139 characters, or one cut mid-phrase ("…" at the end, a dangling "(+1 more…");
//   - a detail that runs on (> 2,000 characters; 9 in 10 under 1,500) or that does not lead with the gap and what to do (the checklist
//     comes after; met items are one count line, never ticked: no ✓ anywhere, so not-applicable checks cannot look met);
//   - internal identifiers: `[a-z]+-[a-z]+:` ids, value-set ids, questionnaire/linkIds, criterion or policy ids;
//   - raw HL7 timing codes (ACM, ACD, ACV, PCV, HS, WAKE …) or markdown escapes (`\>`, `\_`);
//   - an invitation to the documentation form for a question the record already answers "no" (never re-prompt an
//     attestation);
//   - "undefined", "NaN", "null", "[object Object]".
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Card } from '../src/cds/types.js';
import { testApp, type TestApp } from './support/app.js';
import { cardProblems, DETAIL_TYPICAL, INTERNAL_IDS } from './support/card-rules.js';
import { createEhrSigner, type EhrSigner } from './support/ehr-jwt.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { readPolicyCases, type PolicyCase } from './support/policy-cases.js';
import { prefetchFromDiscovery } from './support/prefetch.js';

const FHIR_TOKEN = 'card-rules-fhir-token';
const EHR_BASE = 'https://ehr.example.org/fhir';

const CASES = readPolicyCases();

// ---------------------------------------------------------------------------------------------------------------

const refOf = (r: { resourceType: string; id?: string }) => `${r.resourceType}/${r.id}`;

let signer: EhrSigner;
let plain: TestApp;
let everything: TestApp;

beforeAll(async () => {
  signer = await createEhrSigner();
  const env = { ...signer.env, FHIR_QUERY_TIMEOUT_MS: '15000', FHIR_TOTAL_BUDGET_MS: '25000' };
  plain = testApp(env);
  everything = testApp({ ...env, CARD_INFO_WHEN_COVERED: 'true', SMART_APP_URL: 'https://forms.example.org/launch' });
});
afterAll(() => {
  plain?.close();
  everything?.close();
});

async function cardsFor(t: TestApp, c: PolicyCase, hook: 'order-select' | 'order-sign', fhir: TestFhirServer): Promise<Card[]> {
  const path = `/cds-services/pumpcheck-${hook}`;
  const context: Record<string, unknown> = {
    userId: c.userId,
    patientId: c.patientId,
    ...(hook === 'order-select' ? { selections: c.hook === 'order-select' && c.selections ? c.selections : c.draftOrders.map(refOf) } : {}),
    draftOrders: {
      resourceType: 'Bundle',
      type: 'collection',
      entry: c.draftOrders.map((r) => ({ fullUrl: `${EHR_BASE}/${refOf(r)}`, resource: r })),
    },
  };
  const discoveryAuthorization = await signer.authorization('/cds-services');
  const hookAuthorization = await signer.authorization(path);
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(c.now), shouldAdvanceTime: true });
  try {
    const prefetch = await prefetchFromDiscovery(t.app, fhir.url, context, {
      serviceId: `pumpcheck-${hook}`,
      accessToken: FHIR_TOKEN,
      allPages: true,
      discoveryAuthorization,
    });
    const res = await request(t.app).post(path).set('Authorization', hookAuthorization).send({ hook, hookInstance: randomUUID(), context, prefetch });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    return res.body.cards as Card[];
  } finally {
    vi.useRealTimers();
  }
}

/** Length of every order card's detail, over all cases. */
const detailLengths: number[] = [];

describe.each(CASES.map((c) => [`${c.policyId}/${c.name}`, c] as const))('%s', (_label, c) => {
  const rendered: { how: string; card: Card }[] = [];
  let fhir: TestFhirServer;

  beforeAll(async () => {
    fhir = await startFhirServer({ token: FHIR_TOKEN, resources: c.record });
    const other = c.hook === 'order-sign' ? 'order-select' : 'order-sign';
    for (const [how, t, hook] of [
      [c.hook, plain, c.hook],
      [other, plain, other],
      [`${c.hook}, covered and SMART cards on`, everything, c.hook],
    ] as const) {
      for (const card of await cardsFor(t, c, hook, fhir)) rendered.push({ how, card });
    }
  }, 120_000);
  afterAll(async () => {
    await fhir?.close();
  });

  it(`${c.title}: every card follows the card rules`, () => {
    for (const { card } of rendered) if (card.source.topic?.code === 'coverage-info' && card.detail) detailLengths.push(card.detail.length);
    const problems = rendered.flatMap(({ how, card }) => cardProblems(card, c).map((p) => `[${how}] ${card.summary}\n    ${p}`));
    if (process.env.CARD_DUMP) {
      for (const { how, card } of rendered) appendFileSync(process.env.CARD_DUMP, `\n===== ${c.name} [${how}] ${card.indicator} (${card.detail?.length})\n${card.summary}\n---\n${card.detail}\n`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

describe('over every case', () => {
  it(`order card details are typically under ${DETAIL_TYPICAL} characters (at least 9 in 10)`, () => {
    const long = detailLengths.filter((n) => n > DETAIL_TYPICAL);
    expect(detailLengths.length).toBeGreaterThan(0);
    expect(long.length / detailLengths.length, `over ${DETAIL_TYPICAL}: ${long.join(', ')} of ${detailLengths.length}`).toBeLessThanOrEqual(0.1);
  });
});

describe('the card-rules check itself', () => {
  const c = { record: [] } as unknown as PolicyCase;
  const base = (over: Partial<Card>): Card =>
    ({ summary: 'Insulin pump E0784: fasting C-peptide not documented', indicator: 'warning', detail: '**DeviceRequest dr-1**\n\nOrder the test.', source: { label: 'x', topic: { system: 's', code: 'coverage-info' } }, ...over }) as Card;
  it('accepts a clean card and catches each kind of leak', () => {
    expect(cardProblems(base({}), c)).toEqual([]);
    expect(cardProblems(base({ summary: 'x'.repeat(140) }), c).join()).toMatch(/140 characters/);
    expect(cardProblems(base({ detail: 'x '.repeat(1001) }), c).join()).toMatch(/2002 characters/);
    expect(cardProblems(base({ summary: 'Insulin pump E0784: so the 200%…' }), c).join()).toMatch(/mid-phrase/);
    expect(cardProblems(base({ detail: 'practitioner-csii-team: yes' }), c).join()).toMatch(/internal id/);
    expect(cardProblems(base({ detail: 'take when ACM, ACD, ACV' }), c).join()).toMatch(/timing code/);
    expect(cardProblems(base({ detail: 'eGFR \\> 50' }), c).join()).toMatch(/escape/);
    expect(cardProblems(base({ detail: '- ✓ visit within 3 months' }), c).join()).toMatch(/✓/);
    expect(cardProblems(base({ detail: 'value undefined' }), c).join()).toMatch(/undefined/);
    expect(cardProblems(base({ detail: '**Order**\n\n- ? C-peptide\n- ? education' }), c).join()).toMatch(/leads with a checklist/);
    if (INTERNAL_IDS.length > 0) expect(cardProblems(base({ detail: `in ${INTERNAL_IDS[0]}` }), c).join()).toMatch(/internal id/);
  });
});
