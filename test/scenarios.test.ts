// Every clinical situation of issue 3 end to end over HTTP against the real app: order-sign with a complete prefetch
// and with no prefetch at all (the record fetched from a real FHIR R4 server on loopback with the request's token),
// the coverage-information system action, the decisive card, its suggestions; order-select; two pump orders at once.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Extension, Resource } from 'fhir/r4';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertOnlyCoverageInfoAdded, checkCoverageInformation } from '../cards/checks.js';
import { COVERAGE_INFORMATION_URL } from '../cards/coverage-information.js';
import { cardProblems } from './support/card-rules.js';
import { crdCardType } from './support/card-shapes.js';
import { criterionShortName } from '../cards/text.js';
import { validateCdsResponse } from '../src/cds/schemas.js';
import type { Action, Card } from '../src/cds/types.js';
import type { CriterionResult } from '../src/policy/types.js';
import type { AssertionRecord } from '../src/store/types.js';
import { testApp } from './support/app.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { allScenarios, buildRequest, type ExpectedSuggestion, RecordBuilder, type RequestOptions, type Scenario, scenarioBySlug } from './fixtures/scenarios.js';

const SIGN = '/cds-services/pumpcheck-order-sign';
const SELECT = '/cds-services/pumpcheck-order-select';
const TOKEN = 'scenario-suite-token';
const SCENARIOS = allScenarios();

// The loopback FHIR server runs in this process and answers `Observation?patient=` by scanning every Observation of
// every seeded patient (~2 s for the ~3,700 here), so the fallback budget is widened for this suite only; the default
// budget is exercised by test/fallback.test.ts.
const t = testApp({ FHIR_QUERY_TIMEOUT_MS: '15000', FHIR_TOTAL_BUDGET_MS: '25000' });
let fhir: TestFhirServer;

beforeAll(async () => {
  fhir = await startFhirServer({ token: TOKEN, resources: SCENARIOS.flatMap((s) => s.patientResources) });
});
afterAll(async () => {
  t.close();
  await fhir?.close();
});

// ---------------------------------------------------------------------------------------------------------------------
// Helpers.

interface PolicyNode {
  id: string;
  text: string;
  label?: string;
  citation?: string;
  [k: string]: unknown;
}
const POLICY = JSON.parse(readFileSync(new URL('../policies/medicare-csii.policy.json', import.meta.url), 'utf8')) as { criteria: PolicyNode };
const NODES = new Map<string, PolicyNode>();
(function index(n: PolicyNode): void {
  NODES.set(n.id, n);
  for (const k of ['allOf', 'anyOf', 'firstDocumented']) for (const c of (n[k] as PolicyNode[] | undefined) ?? []) index(c);
  if (n.not) index(n.not as PolicyNode);
})(POLICY.criteria);

/** How the coverage-information reason names a criterion (its short name, as cards/text.ts words it). */
function reasonName(id: string): string {
  const n = NODES.get(id);
  if (!n) throw new Error(`no criterion ${id} in the policy`);
  const c = { id, text: n.text, ...(n.label ? { label: n.label } : {}), citation: n.citation ?? '', op: 'leaf', status: 'not-met', evidence: [] };
  return criterionShortName(c as CriterionResult, 80);
}

interface Call {
  status: number;
  body: { cards: Card[]; systemActions?: Action[] };
  /** Assertion records of this call (one per evaluated order), from the in-memory store. */
  records: AssertionRecord[];
  /** UTC day before and after the call (the coverage-information date is the request day). */
  days: string[];
}

async function call(path: string, s: Scenario, opts: RequestOptions = {}): Promise<Call> {
  const hookInstance = randomUUID();
  const before = new Date().toISOString().slice(0, 10);
  const body = buildRequest(s, {
    ...opts,
    hookInstance,
    ...(opts.mode === 'fallback' ? { fhirServer: fhir.url, accessToken: TOKEN } : {}),
  });
  const res = await request(t.app).post(path).send(body);
  const after = new Date().toISOString().slice(0, 10);
  return { status: res.status, body: res.body, records: t.assertionSink.records.filter((r) => r.hookInstance === hookInstance), days: [before, after] };
}

const sign = (s: Scenario, mode: 'prefetch' | 'fallback', extra: Partial<RequestOptions> = {}) => call(SIGN, s, { hook: 'order-sign', mode, ...extra });

function associated(card: Card): string[] {
  const ext = (card as { extension?: Record<string, unknown> }).extension?.['davinci-crd.associated-resource'] as { reference?: string }[] | undefined;
  return (ext ?? []).map((r) => r.reference ?? '');
}

function cardsFor(c: Call, orderRef: string): Card[] {
  return c.body.cards.filter((card) => card.source.topic?.code === 'coverage-info' && associated(card).includes(orderRef));
}

function coverageAction(c: Call, orderRef: string): Action {
  const found = (c.body.systemActions ?? []).filter((a) => `${a.resource?.resourceType}/${a.resource?.id}` === orderRef);
  expect(found, `one coverage-information update for ${orderRef}`).toHaveLength(1);
  return found[0]!;
}

function coverageInfo(action: Action): Extension {
  const exts = ((action.resource as { extension?: Extension[] }).extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION_URL);
  expect(exts).toHaveLength(1);
  return exts[0]!;
}

function sub(ext: Extension, url: string): Extension[] {
  return (ext.extension ?? []).filter((e) => e.url === url);
}

function draftOf(s: Scenario, ref: string, extra: Resource[] = []): Resource {
  const r = [...s.draftOrders, ...extra].find((d) => `${d.resourceType}/${d.id}` === ref);
  if (!r) throw new Error(`no draft order ${ref}`);
  return r;
}

/** What each suggestion does, in the vocabulary of ScenarioExpectation.suggestions. */
function suggestionKinds(cards: Card[], s: Scenario): ExpectedSuggestion[] {
  const kinds = new Set<ExpectedSuggestion>();
  for (const sg of cards.flatMap((c) => c.suggestions ?? [])) {
    for (const a of sg.actions ?? []) {
      const r = a.resource as Record<string, any> | undefined;
      const codes = (r?.code?.coding ?? []).map((x: { code: string }) => x.code);
      if (a.type === 'create' && r?.resourceType === 'ServiceRequest') {
        expect(r.status).toBe('draft');
        expect(r.subject).toEqual({ reference: `Patient/${s.patientId}` });
        if (codes.includes('13037-7')) {
          // The C-peptide is only valid with a glucose drawn at the same time: both in one order.
          expect(codes).toContain('1558-6');
          kinds.add('order-c-peptide');
        } else if (['13926-1', '56718-0', '76651-9'].some((c) => codes.includes(c))) kinds.add('order-autoantibodies');
        else throw new Error(`unexpected lab suggestion ${codes.join(',')}`);
      } else if (a.type === 'update' && r?.resourceType === 'DeviceRequest') {
        expect(`DeviceRequest/${r.id}`).toBe(s.primaryOrderRef);
        expect(r.codeCodeableConcept.coding.map((x: { code: string }) => x.code)).toEqual(['E0784']);
        // Everything but the code stays as the clinician wrote it.
        const { codeCodeableConcept: _a, ...rest } = r;
        const { codeCodeableConcept: _b, ...orig } = draftOf(s, s.primaryOrderRef) as Record<string, any>;
        expect(rest).toEqual(orig);
        kinds.add('change-code-e0784');
      } else if (a.type === 'delete') {
        expect(a.resourceId).toBe(s.primaryOrderRef);
        kinds.add('remove-order');
      } else {
        throw new Error(`unexpected suggestion action ${a.type} ${r?.resourceType}`);
      }
    }
  }
  return [...kinds].sort();
}

/** Everything every order-sign response must satisfy, whatever the scenario. */
function checkResponseShape(c: Call, s: Scenario, hook: 'order-sign' | 'order-select'): void {
  expect(c.status).toBe(200);
  expect(validateCdsResponse(c.body)).toEqual([]);
  const ids: string[] = [];
  for (const action of c.body.systemActions ?? []) {
    expect(action.type).toBe('update');
    const ref = `${action.resource!.resourceType}/${action.resource!.id}`;
    // CRD resp-37: the full draft order, with only the coverage-information extension added.
    expect(() => assertOnlyCoverageInfoAdded(draftOf(s, ref), action.resource)).not.toThrow();
    const ext = coverageInfo(action);
    expect(checkCoverageInformation(ext, { crdVersion: '2.0.1', hook })).toEqual([]);
    ids.push(sub(ext, 'coverage-assertion-id')[0]!.valueString!);
  }
  expect(new Set(ids).size).toBe(ids.length);
  for (const card of c.body.cards) {
    expect(card.summary.length).toBeLessThanOrEqual(139);
    expect(crdCardType(card)).not.toMatch(/^mixed/);
    expect(card.indicator).not.toBe('critical');
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Every scenario, with prefetch and through the loopback FHIR server.

describe.each(SCENARIOS.map((s) => [s.slug, s] as const))('%s', (_slug, s) => {
  const e = s.expected;
  const calls: Partial<Record<'prefetch' | 'fallback', Call>> = {};

  beforeAll(async () => {
    calls.prefetch = await sign(s, 'prefetch');
    calls.fallback = await sign(s, 'fallback');
  });

  it('gives the expected outcome, identically with prefetch and through the FHIR server', () => {
    const [p, f] = [calls.prefetch!, calls.fallback!];
    for (const c of [p, f]) {
      expect(c.status).toBe(200);
      const primary = c.records.find((r) => r.orderRef === s.primaryOrderRef);
      expect(primary?.outcome).toBe(e.outcome);
      if (e.unmet) {
        expect(primary!.unmetCriteria[0]).toBe(e.unmet[0]);
        expect(primary!.unmetCriteria).toEqual(expect.arrayContaining(e.unmet));
      }
      if (e.outcome === 'covered') expect([primary!.unmetCriteria, primary!.undocumentedCriteria]).toEqual([[], []]);
      if (e.undocumented) expect(primary!.undocumentedCriteria).toEqual(expect.arrayContaining(e.undocumented));
    }
    const summary = (c: Call) => c.records.map((r) => [r.orderRef, r.outcome, r.unmetCriteria, r.undocumentedCriteria]);
    expect(summary(f)).toEqual(summary(p));
    const cardsOf = (c: Call) => c.body.cards.map((card) => [card.indicator, card.summary]);
    expect(cardsOf(f)).toEqual(cardsOf(p));
    // The fallback path really went to the FHIR server, with the bearer token.
    expect(fhir.requests.some((r) => r.url.includes(`Observation?patient=Patient/${s.patientId}`) && r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it.each(['prefetch', 'fallback'] as const)('%s: schema-valid response; coverage-information on the order and nothing else changed', (mode) => {
    const c = calls[mode]!;
    checkResponseShape(c, s, 'order-sign');
    const ext = coverageInfo(coverageAction(c, s.primaryOrderRef));
    const code = (url: string) => sub(ext, url).map((x) => x.valueCode);
    expect(code('covered')).toEqual([e.outcome]);
    expect(code('doc-needed')).toEqual(e.outcome === 'conditional' ? ['clinical'] : []);
    if (e.outcome === 'conditional') expect(sub(ext, 'questionnaire')[0]?.valueCanonical).toMatch(/\/fhir\/Questionnaire\/csii-documentation$/);
    // The Medicare documents say nothing about prior authorisation for E0784: nothing is asserted (issue 8 item 7).
    expect(code('pa-needed')).toEqual([]);
    expect(sub(ext, 'coverage')[0]?.valueReference?.reference).toBe(`Coverage/cov-${s.slug}`);
    expect(c.days).toContain(sub(ext, 'date')[0]?.valueDate);
    const hcpcs = (draftOf(s, s.primaryOrderRef) as unknown as { codeCodeableConcept: { coding: { code: string }[] } }).codeCodeableConcept.coding[0]!.code;
    expect(sub(ext, 'billingCode')[0]?.valueCoding?.code).toBe(hcpcs);
    const reason = sub(ext, 'reason')[0]?.valueCodeableConcept?.text ?? '';
    if (e.outcome === 'covered') expect(sub(ext, 'reason')).toEqual([]);
    else {
      expect(reason).toMatch(/^Medicare — NCD 280\.14 \/ LCD L33794: /);
      for (const id of [...(e.unmet ?? []), ...(e.undocumented ?? [])]) expect(reason, `reason names ${id}`).toContain(reasonName(id));
    }
    // The assertion id in the extension is the one stored for the order.
    const stored = c.records.find((r) => r.orderRef === s.primaryOrderRef);
    expect(sub(ext, 'coverage-assertion-id')[0]?.valueString).toBe(stored?.id);
  });

  it.each(['prefetch', 'fallback'] as const)('%s: the decisive card names the gap, cites the policy and offers the right actions', (mode) => {
    const c = calls[mode]!;
    const mine = cardsFor(c, s.primaryOrderRef);
    if (!e.cardIndicator) {
      expect(mine, 'no interrupting card when every criterion is met').toEqual([]);
      return;
    }
    expect(mine.length).toBeGreaterThanOrEqual(1);
    const decisive = mine[0]!;
    // Issue 12: every card of the example follows the card rules.
    expect(c.body.cards.flatMap((card) => cardProblems(card, { record: s.patientResources }).map((p) => `${card.summary}: ${p}`))).toEqual([]);
    expect(decisive.indicator).toBe(e.cardIndicator);
    expect(decisive.source.label).toBe('Medicare — NCD 280.14 / LCD L33794');
    expect(decisive.summary.length).toBeLessThanOrEqual(139);
    if (e.summaryIncludes) expect(decisive.summary).toContain(e.summaryIncludes);
    const detail = decisive.detail ?? '';
    expect(detail).toContain('NCD 280.14');
    expect(detail).toContain('L33794');
    expect(detail).toContain(e.outcome === 'not-covered' ? '**Not covered as ordered**' : '**Documentation missing**');
    // The checklist marks the gap, with its evidence.
    expect(detail).toMatch(e.outcome === 'not-covered' ? /^\s*- ✗ /m : /^\s*- \? /m);
    expect((decisive.overrideReasons ?? []).map((r) => r.code)).toEqual(expect.arrayContaining(['documented-elsewhere', 'abn-signed', 'clinical-judgement']));
    expect(suggestionKinds(mine, s)).toEqual([...(e.suggestions ?? [])].sort());
    // The policy texts and the documentation form are one click away.
    const reference = c.body.cards.find((card) => card.source.topic?.code === 'guideline');
    expect(reference?.links?.map((l) => l.url)).toEqual(expect.arrayContaining([expect.stringContaining('ncdid=223'), expect.stringContaining('lcdid=33794')]));
  });
});

describe('cards of the other draft orders', () => {
  it('the insulin ordered with a pump gets no "no coverage policy" card, and a fully covered order set gets no card at all', async () => {
    const problems: string[] = [];
    for (const s of SCENARIOS) {
      const c = await sign(s, 'prefetch');
      expect(c.status).toBe(200);
      for (const card of c.body.cards.filter((x) => /no coverage policy configured/i.test(x.summary))) problems.push(`${s.slug}: ${associated(card).join(',')}: ${card.summary}`);
      if (!s.expected.cardIndicator) for (const card of c.body.cards) problems.push(`${s.slug} (covered): ${card.indicator} card "${card.summary}"`);
    }
    expect([...new Set(problems)]).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// order-select: the quieter, earlier view.

describe('order-select', () => {
  it.each([
    ['criteria-met', 'covered'],
    ['c-peptide-missing', 'conditional'],
  ] as const)('%s: one info card for the selected pump order, no doc-needed clinical/admin', async (slug, covered) => {
    const s = scenarioBySlug(slug);
    const c = await call(SELECT, s, { hook: 'order-select', mode: 'prefetch' });
    checkResponseShape(c, s, 'order-select');
    expect(c.body.cards.length).toBeGreaterThan(0);
    expect(c.body.cards.every((card) => card.indicator === 'info')).toBe(true);
    const mine = cardsFor(c, s.primaryOrderRef);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detail).toContain('What this order will need');
    expect(mine[0]!.detail).toContain('NCD 280.14');
    // Only the selected order is evaluated (CRD hook-34).
    expect(c.records.map((r) => r.orderRef)).toEqual([s.primaryOrderRef]);
    const ext = coverageInfo(coverageAction(c, s.primaryOrderRef));
    expect(sub(ext, 'covered').map((x) => x.valueCode)).toEqual([covered]);
    expect(sub(ext, 'doc-needed').map((x) => x.valueCode)).not.toContain('clinical');
    expect(sub(ext, 'doc-needed').map((x) => x.valueCode)).not.toContain('admin');
    if (slug === 'criteria-met') expect(mine[0]!.summary).toMatch(/already on file/);
    else {
      expect(mine[0]!.summary).toMatch(/C-peptide/);
      expect(suggestionKinds(mine, s)).toEqual(['order-autoantibodies', 'order-c-peptide']);
    }
  });

  it('through the FHIR server gives the same card as with prefetch', async () => {
    const s = scenarioBySlug('c-peptide-missing');
    const p = await call(SELECT, s, { hook: 'order-select', mode: 'prefetch' });
    const f = await call(SELECT, s, { hook: 'order-select', mode: 'fallback' });
    expect(f.status).toBe(200);
    expect(f.body.cards.map((c) => [c.indicator, c.summary])).toEqual(p.body.cards.map((c) => [c.indicator, c.summary]));
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Several pump orders in one request.

describe('two pump orders in one request', () => {
  const met = scenarioBySlug('criteria-met');
  // The qualifying E0784 order and its insulin, without the supplies (whose pairing would involve both pumps).
  const base: Scenario = { ...met, draftOrders: met.draftOrders.filter((o) => (o as unknown as { codeCodeableConcept?: { coding: { code: string }[] } }).codeCodeableConcept?.coding[0]?.code !== 'A4224') };

  function secondPump(id: string, code: string, display: string): Resource {
    const first = structuredClone(base.draftOrders[0]!) as Record<string, any>;
    return { ...first, id, codeCodeableConcept: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code, display }] } } as unknown as Resource;
  }

  it('two E0784 orders: each gets its own coverage-information with its own assertion id', async () => {
    const second = secondPump('dr-criteria-met-2', 'E0784', 'External ambulatory infusion pump, insulin');
    const s: Scenario = { ...base, draftOrders: [...base.draftOrders, second] };
    const c = await sign(s, 'prefetch');
    checkResponseShape(c, s, 'order-sign');
    const ids = ['DeviceRequest/dr-criteria-met', 'DeviceRequest/dr-criteria-met-2'].map((ref) => {
      const ext = coverageInfo(coverageAction(c, ref));
      expect(sub(ext, 'covered')[0]?.valueCode).toBe('covered');
      return sub(ext, 'coverage-assertion-id')[0]?.valueString;
    });
    expect(new Set(ids).size).toBe(2);
  });

  it('an E0784 order and an implantable E0783 order are judged independently', async () => {
    const second = secondPump('dr-implantable', 'E0783', 'Infusion pump system, implantable, programmable (includes all components, e.g., pump, catheter, connectors)');
    const s: Scenario = { ...base, draftOrders: [...base.draftOrders, second] };
    const c = await sign(s, 'prefetch');
    checkResponseShape(c, s, 'order-sign');
    const outcome = (ref: string) => c.records.find((r) => r.orderRef === ref);
    expect(outcome('DeviceRequest/dr-implantable')?.outcome).toBe('not-covered');
    expect(outcome('DeviceRequest/dr-implantable')?.unmetCriteria).toEqual(['not-implantable']);
    // The implantable pump next to it says nothing about the external E0784 pump.
    expect(outcome('DeviceRequest/dr-criteria-met')?.outcome).toBe('covered');
    expect(sub(coverageInfo(coverageAction(c, 'DeviceRequest/dr-criteria-met')), 'covered')[0]?.valueCode).toBe('covered');
    expect(cardsFor(c, 'DeviceRequest/dr-criteria-met')).toEqual([]);
    const implantableCards = cardsFor(c, 'DeviceRequest/dr-implantable');
    expect(implantableCards[0]?.indicator).toBe('warning');
    // Nothing suggests deleting the covered E0784 order.
    const deletes = c.body.cards.flatMap((card) => card.suggestions ?? []).flatMap((sg) => sg.actions ?? []).filter((a) => a.type === 'delete');
    expect(deletes.map((a) => a.resourceId)).toEqual(['DeviceRequest/dr-implantable']);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// C1 reads the whole MDI period, not only the last 6 months.

describe('HbA1c during the MDI period', () => {
  it('an HbA1c of 8.4% from 6½ months ago counts when MDI has run for 2 years (criteria-met otherwise)', async () => {
    const met = scenarioBySlug('criteria-met');
    // Only the 2025-09-16 result (8.4%) is left: inside the MDI period (since 2024-03-01), before the last 6 months.
    const s: Scenario = { ...met, patientResources: met.patientResources.filter((r) => r.id !== 'criteria-met-a1c-2') };
    expect(s.patientResources.some((r) => r.id === 'criteria-met-a1c-1')).toBe(true);
    const c = await sign(s, 'prefetch');
    expect(c.status).toBe(200);
    const primary = c.records.find((r) => r.orderRef === s.primaryOrderRef);
    expect(primary?.undocumentedCriteria).not.toContain('c1-hba1c');
    expect(primary?.outcome).toBe('covered');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// A time-based gap is dated from the day the order was evaluated as of (its authoredOn), in the summary and the detail
// alike: not from the request day, nor the clock of the machine that answers.

describe('the day a too-short MDI will be met', () => {
  it('summary and detail name one date, counted from the order date 2026-04-01 whatever the day of the request', async () => {
    const s = scenarioBySlug('mdi-under-6-months');
    const c = await sign(s, 'prefetch');
    expect(c.status).toBe(200);
    const decisive = cardsFor(c, s.primaryOrderRef)[0]!;
    // 4 injections/day since 2025-12-15, and the policy asks for 6 months before the order: met from 2026-06-15.
    expect(decisive.summary).toContain('met from 2026-06-15');
    expect(decisive.detail).toContain('will be met from 2026-06-15.');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Continued coverage for a patient who qualified through the MDI pathway: the initial criteria are read as of pump
// initiation ("at least 6 months prior to initiation of the insulin pump"), not as of the refill date.

describe('continued coverage after the MDI pathway', () => {
  it('A4224 supplies for a patient on an E0784 pump since 2025-01-15 after 10 months of MDI, seen 12 days ago ⇒ covered', async () => {
    const met = scenarioBySlug('criteria-met');
    const subject = { reference: `Patient/${met.patientId}` };
    const record = met.patientResources.map((r) =>
      r.resourceType === 'MedicationStatement'
        ? ({ ...r, status: 'completed', effectivePeriod: { start: '2024-03-01', end: '2025-01-14' } } as Resource)
        : r,
    );
    // What qualified the patient at initiation: ~5 fingersticks/day in the 2 months before the pump, HbA1c 8.6% on MDI.
    const before = new RecordBuilder('criteria-met-pre-pump', met.patientId)
      .smbg('smbg', '2024-11-15', '2025-01-15', [5, 4, 6, 5, 5])
      .hba1c('a1c', 8.6, '2024-10-08');
    record.push(...(before.resources as Resource[]));
    record.push(
      { resourceType: 'Device', id: 'criteria-met-refill-pump', status: 'active', type: { coding: [{ system: 'http://snomed.info/sct', code: '69805005', display: 'Insulin pump' }] }, patient: subject } as Resource,
      { resourceType: 'Procedure', id: 'criteria-met-refill-pump-start', status: 'completed', code: { coding: [{ system: 'http://snomed.info/sct', code: '443263006', display: 'Insertion of insulin pump' }] }, subject, performedDateTime: '2025-01-15' } as Resource,
    );
    const supplies = { ...structuredClone(met.draftOrders[2]!), id: 'dr-refill' } as Resource;
    const s: Scenario = { ...met, patientResources: record, draftOrders: [supplies], primaryOrderRef: 'DeviceRequest/dr-refill' };
    const c = await sign(s, 'prefetch');
    expect(c.status).toBe(200);
    const primary = c.records.find((r) => r.orderRef === 'DeviceRequest/dr-refill');
    expect(primary?.unmetCriteria).toEqual([]);
    expect(primary?.outcome).toBe('covered');
  });
});
