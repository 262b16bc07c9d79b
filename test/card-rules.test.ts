// The card rules of issue 12, checked on the cards of EVERY policy test case (policies/tests/**), rendered over HTTP
// by the real app exactly as an EHR receives them. Generic over whatever cases and policies exist: a new policy's
// wording is held to the same rules the day its first case lands.
//
// Each case is sent with its own hook, and also with the other hook (order-select cards say what an order will need;
// order-sign cards what is missing), and once more to an app that also shows covered orders and a SMART form card, so
// every card kind the service can send is read. Per card, a clinician must never see:
//   - a summary over 139 characters, or one cut mid-phrase ("…" at the end, a dangling "(+1 more…");
//   - a detail that runs on (> 1,500 characters) or that does not lead with the gap and what to do (the checklist
//     comes after; met items are one count line, never ticked: no ✓ anywhere, so not-applicable checks cannot look met);
//   - internal identifiers: `[a-z]+-[a-z]+:` ids, value-set ids, questionnaire/linkIds, criterion or policy ids;
//   - raw HL7 timing codes (ACM, ACD, ACV, PCV, HS, WAKE …) or markdown escapes (`\>`, `\_`);
//   - an invitation to the documentation form for a question the record already answers "no" (never re-prompt an
//     attestation);
//   - "undefined", "NaN", "null", "[object Object]".
import { randomUUID } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { QuestionnaireResponse, QuestionnaireResponseItem, Resource } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Card } from '../src/cds/types.js';
import { loadConfig, projectRoot } from '../src/config.js';
import { allFacts } from '../src/policy/facts/index.js';
import { loadPolicySet } from '../src/policy/loader.js';
import { testApp, type TestApp } from './support/app.js';
import { createEhrSigner, type EhrSigner } from './support/ehr-jwt.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { policyCriteria } from './support/policy-criteria.js';
import { readPolicyCases, type PolicyCase } from './support/policy-cases.js';
import { prefetchFromDiscovery } from './support/prefetch.js';

const FHIR_TOKEN = 'card-rules-fhir-token';
const EHR_BASE = 'https://ehr.example.org/fhir';
const DETAIL_MAX = 1500;

const CASES = readPolicyCases();
const POLICY_SET = loadPolicySet(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }).policyDir, { facts: allFacts });

// ---------------------------------------------------------------------------------------------------------------
// Internal identifiers a clinician must never read: every id the policy data defines that looks like an id.

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonFiles(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : [],
  );
}

function linkIds(items: { linkId?: string; item?: unknown[] }[] | undefined, out: Set<string>): void {
  for (const i of items ?? []) {
    if (i.linkId) out.add(i.linkId);
    linkIds(i.item as never, out);
  }
}

/** Ids with a hyphen or digit (a plain word such as "education" can be both an id and clinical English). */
const INTERNAL_IDS: string[] = (() => {
  const ids = new Set<string>();
  const policiesDir = path.join(projectRoot, 'policies');
  for (const f of jsonFiles(path.join(policiesDir, 'valuesets'))) {
    const vs = JSON.parse(readFileSync(f, 'utf8')) as { id?: string };
    ids.add(vs.id ?? path.basename(f, '.json'));
  }
  for (const f of jsonFiles(path.join(policiesDir, 'questionnaires'))) {
    const q = JSON.parse(readFileSync(f, 'utf8')) as { id?: string; item?: never[] };
    if (q.id) ids.add(q.id);
    linkIds(q.item, ids);
  }
  for (const p of POLICY_SET.policies) {
    ids.add(p.id);
    for (const c of policyCriteria(p)) ids.add(c.id);
  }
  // An id the policy itself uses as words ("self-adjustment") is English, not a leak.
  const prose = jsonFiles(policiesDir)
    .filter((f) => !f.includes(`${path.sep}tests${path.sep}`))
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/"(?:text|label|title)"\s*:\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]))
    .join(' ')
    .toLowerCase();
  return [...ids].filter((id) => /^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/.test(id) && !new RegExp(`(?<![\\w-])${id}(?![\\w-])`).test(prose));
})();

const ID_LIKE = /\b[a-z]+(?:-[a-z0-9]+)+:/;
/** HL7 v3 TimingEvent codes (Timing.repeat.when) as they would leak from an order's dosage. */
const TIMING_CODES = /(?<![\w-])(?:ACM|ACD|ACV|PCM|PCD|PCV|HS|WAKE|ICM|ICV|CM|CD|CV|AC|PC|MORN|AFT|EVE|NIGHT|PHS)\b(?:\s*,\s*[A-Z]{2,5})*/;
const MARKDOWN_ESCAPE = /\\[\\`*_{}[\]()<>#+\-.!|~]/;
const BROKEN_VALUES = /\bundefined\b|\bNaN\b|\[object Object\]|\bnull\b/;

/** Clinician-visible text without URLs (a URL may legitimately carry an id). */
function visible(text: string): string {
  return text
    .replace(/\]\(<[^>]*>\)/g, ']')
    .replace(/\]\([^)]*\)/g, ']')
    .replace(/https?:\/\/\S+/g, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Questions the record already answers "no".

function answeredNo(record: Resource[]): { linkId: string; text: string }[] {
  const texts = new Map<string, string>();
  for (const f of jsonFiles(path.join(projectRoot, 'policies', 'questionnaires'))) {
    const walk = (items: { linkId: string; text?: string; item?: never[] }[] | undefined): void => {
      for (const i of items ?? []) {
        if (i.text) texts.set(i.linkId, i.text);
        walk(i.item);
      }
    };
    walk((JSON.parse(readFileSync(f, 'utf8')) as { item?: never[] }).item);
  }
  const out: { linkId: string; text: string }[] = [];
  const walk = (items: QuestionnaireResponseItem[] | undefined): void => {
    for (const i of items ?? []) {
      if ((i.answer ?? []).some((a) => a.valueBoolean === false)) out.push({ linkId: i.linkId, text: texts.get(i.linkId) ?? i.linkId });
      walk(i.item);
    }
  };
  for (const r of record) if (r.resourceType === 'QuestionnaireResponse') walk((r as QuestionnaireResponse).item);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

/** Every problem a clinician would see on one card (empty = fine). */
export function cardProblems(card: Card, c: PolicyCase): string[] {
  const p: string[] = [];
  const summary = card.summary ?? '';
  const detail = card.detail ?? '';
  if (summary.length === 0 || summary.length > 139) p.push(`summary is ${summary.length} characters`);
  if (/…\)?$/.test(summary) || /\(\+[^)]*…/.test(summary)) p.push(`summary cut mid-phrase: ${summary}`);
  if (/[\\*_`]/.test(summary)) p.push(`markdown in the plain-text summary: ${summary}`);
  if (detail.length > DETAIL_MAX) p.push(`detail is ${detail.length} characters (> ${DETAIL_MAX})`);
  if (detail.includes('✓')) p.push('detail ticks met items (✓): met requirements are one count line, not-applicable ones are not shown');

  const texts: [string, string][] = [
    ['summary', summary],
    ['detail', visible(detail)],
    ...(card.suggestions ?? []).flatMap((s, i): [string, string][] => [
      [`suggestions[${i}].label`, s.label],
      ...(s.actions ?? []).map((a, j): [string, string] => [`suggestions[${i}].actions[${j}].description`, a.description ?? '']),
    ]),
    ...(card.links ?? []).map((l, i): [string, string] => [`links[${i}].label`, l.label]),
    ...(card.overrideReasons ?? []).map((r, i): [string, string] => [`overrideReasons[${i}].display`, r.display ?? '']),
  ];
  for (const [where, text] of texts) {
    const id = ID_LIKE.exec(text);
    if (id) p.push(`${where}: internal id "${id[0]}"`);
    for (const internal of INTERNAL_IDS) {
      if (new RegExp(`(?<![\\w-])${internal}(?![\\w-])`).test(text)) p.push(`${where}: internal id "${internal}"`);
    }
    const timing = TIMING_CODES.exec(text);
    if (timing) p.push(`${where}: raw timing code "${timing[0]}"`);
    const escape = MARKDOWN_ESCAPE.exec(text);
    if (escape) p.push(`${where}: markdown escape "${escape[0]}"`);
    const broken = BROKEN_VALUES.exec(text);
    if (broken) p.push(`${where}: "${broken[0]}"`);
  }

  // Coverage finding cards: the first thing after the order's name is the gap and what to do, not the checklist.
  if (card.source.topic?.code === 'coverage-info' && card.indicator !== 'info') {
    const paragraphs = detail.split(/\n\n+/);
    const lead = paragraphs.slice(0, 2).join('\n\n');
    if (/^\s*- /m.test(lead)) p.push('detail leads with a checklist instead of what is missing and what to do');
  }

  // Never re-prompt a question the record answers "no".
  for (const no of answeredNo(c.record)) {
    for (const line of detail.split('\n')) {
      const mentions = line.includes(no.text) || /answer(?:ed|s)? ["“]no["”]/i.test(line);
      if (mentions && /\]\(|documentation form|\battest (?:in|on|it)\b|complete the|fill in/i.test(line)) p.push(`re-prompts "${no.text}", already answered no: ${line}`);
    }
  }
  return p;
}

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
    const problems = rendered.flatMap(({ how, card }) => cardProblems(card, c).map((p) => `[${how}] ${card.summary}\n    ${p}`));
    if (process.env.CARD_DUMP) {
      for (const { how, card } of rendered) appendFileSync(process.env.CARD_DUMP, `\n===== ${c.name} [${how}] ${card.indicator} (${card.detail?.length})\n${card.summary}\n---\n${card.detail}\n`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

describe('the card-rules check itself', () => {
  const c = { record: [] } as unknown as PolicyCase;
  const base = (over: Partial<Card>): Card =>
    ({ summary: 'Insulin pump E0784: fasting C-peptide not documented', indicator: 'warning', detail: '**DeviceRequest dr-1**\n\nOrder the test.', source: { label: 'x', topic: { system: 's', code: 'coverage-info' } }, ...over }) as Card;
  it('accepts a clean card and catches each kind of leak', () => {
    expect(cardProblems(base({}), c)).toEqual([]);
    expect(cardProblems(base({ summary: 'x'.repeat(140) }), c).join()).toMatch(/140 characters/);
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
