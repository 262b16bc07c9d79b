// `npm run demo`: the real service in-process (compose() with in-memory stores, loopback, ephemeral port) and a
// loopback FHIR R4 server holding every example patient (test/support/fhir-server.ts, a dev dependency — fine for a
// script run with tsx). For each clinical situation of test/fixtures/scenarios.ts it calls order-sign with prefetch,
// order-sign with no prefetch (the service fetches the record from the FHIR server with the bearer token) and
// order-select, and prints the cards in plain text. Exit status 0 when every call gives the expected outcome, 1 if not.
//
// `npm run demo -- --serve`: no calls; keeps the service on http://localhost:${PORT:-8080} and a browser-usable FHIR
// server (sandbox/fhir-server.ts) on http://localhost:8090/fhir (the fhirServer of
// examples/order-sign-fallback-criteria-met.json) until Ctrl-C.
// `npm run demo -- <slug> ...`: only those situations. After the situations, every policy test case of examples/cases/
// is posted and each order's outcome compared with the case; `npm run demo -- --cases [policy | policy/case …]` runs
// only those.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Extension } from 'fhir/r4';
import { compose } from '../src/compose.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { MemoryAssertionSink, MemoryFeedbackStore } from '../src/store/memory.js';
import type { Action, Card, CdsResponse } from '../src/cds/types.js';
import { startSandboxFhirServer } from '../sandbox/fhir-server.js';
import { startFhirServer, type TestFhirServer } from '../test/support/fhir-server.js';
import { caseExampleFiles, type CaseExample } from '../test/fixtures/case-examples.js';
import { DEMO_ACCESS_TOKEN, allScenarios, buildRequest, type Scenario } from '../test/fixtures/scenarios.js';

const COVERAGE_INFORMATION_URL = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

// ---------------------------------------------------------------------------------------------------------------------
// Service and FHIR server.

async function startService(port: number, host: string): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    // The loopback FHIR server shares this process and scans every seeded Observation per search (~2 s): give the
    // fallback queries room. A real EHR's FHIR server answers in milliseconds and the defaults apply.
    FHIR_QUERY_TIMEOUT_MS: '20000',
    FHIR_TOTAL_BUDGET_MS: '30000',
  });
  const composed = compose(config, silentLogger, { feedbackStore: new MemoryFeedbackStore(), assertionSink: new MemoryAssertionSink() }, {});
  const server = await new Promise<Server>((resolve) => {
    const s = composed.app.listen(port, host, () => resolve(s));
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        composed.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Calls and printing.

interface Result {
  label: string;
  status: number;
  ms: number;
  body?: CdsResponse;
  covered?: string;
  problems: string[];
}

async function post(serviceUrl: string, hook: 'order-sign' | 'order-select', body: unknown): Promise<{ status: number; body: unknown; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${serviceUrl}/cds-services/pumpcheck-${hook}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => undefined)) as unknown;
  return { status: res.status, body: json, ms: Math.round(performance.now() - started) };
}

function coverageInfo(body: CdsResponse, orderRef: string): Extension | undefined {
  const action = (body.systemActions ?? []).find((a) => `${a.resource?.resourceType}/${a.resource?.id}` === orderRef);
  return ((action?.resource as { extension?: Extension[] } | undefined)?.extension ?? []).find((e) => e.url === COVERAGE_INFORMATION_URL);
}

function subValues(ext: Extension | undefined, url: string): string[] {
  return (ext?.extension ?? [])
    .filter((e) => e.url === url)
    .map((e) => e.valueCode ?? e.valueString ?? e.valueDate ?? e.valueReference?.reference ?? e.valueCodeableConcept?.text ?? e.valueCanonical ?? e.valueCoding?.code ?? '');
}

function associated(card: Card): string[] {
  const ext = (card as { extension?: Record<string, unknown> }).extension?.['davinci-crd.associated-resource'] as { reference?: string }[] | undefined;
  return (ext ?? []).map((r) => r.reference ?? '');
}

/** Checks one response against the scenario's expectation; returns what is wrong (empty = as expected). */
function judge(s: Scenario, hook: 'order-sign' | 'order-select', status: number, body: CdsResponse | undefined): { covered?: string; problems: string[] } {
  const problems: string[] = [];
  if (status !== 200 || !body) return { problems: [`HTTP ${status}`] };
  const covered = subValues(coverageInfo(body, s.primaryOrderRef), 'covered')[0];
  if (covered !== s.expected.outcome) problems.push(`outcome ${covered ?? '(none)'} instead of ${s.expected.outcome}`);
  const mine = body.cards.filter((c) => c.source.topic?.code === 'coverage-info' && associated(c).includes(s.primaryOrderRef));
  if (hook === 'order-select') {
    if (mine.length !== 1 || mine[0]!.indicator !== 'info') problems.push('order-select: expected one info card for the order');
    if (body.cards.some((c) => c.indicator !== 'info')) problems.push('order-select: a card is louder than info');
  } else if (s.expected.cardIndicator) {
    if (mine[0]?.indicator !== s.expected.cardIndicator) problems.push(`card ${mine[0]?.indicator ?? '(none)'} instead of ${s.expected.cardIndicator}`);
    else if (s.expected.summaryIncludes && !mine[0]!.summary.includes(s.expected.summaryIncludes)) problems.push(`summary does not mention "${s.expected.summaryIncludes}"`);
  } else if (mine.length > 0) {
    problems.push(`unexpected ${mine[0]!.indicator} card on a covered order`);
  }
  return { ...(covered ? { covered } : {}), problems };
}

/** Card markdown as plain text: no emphasis, links as their label, escapes removed. */
function plain(markdown: string): string {
  return markdown
    .replace(/\[([^\]]*)\]\(<[^>]*>\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*/g, '')
    .replace(/(^|\s)_\((.*?)\)_/g, '$1($2)')
    .replace(/\\([\\`*_[\]<>|~#])/g, '$1');
}

function printCard(card: Card, withDetail: boolean, indent: string): void {
  out(`${indent}[${card.indicator.toUpperCase()}] ${card.summary}`);
  out(`${indent}    source: ${card.source.label}${card.source.topic ? ` (${card.source.topic.code})` : ''}${associated(card).length ? ` · about ${associated(card).join(', ')}` : ''}`);
  for (const sg of card.suggestions ?? []) {
    const actions = (sg.actions ?? []).map((a) => `${a.type} ${a.resource ? `${a.resource.resourceType}` : (a.resourceId ?? '')}`).join(' + ');
    out(`${indent}    suggestion${sg.isRecommended ? ' (recommended)' : ''}: ${sg.label}  [${actions}]`);
  }
  for (const l of card.links ?? []) out(`${indent}    link (${l.type}): ${l.label}`);
  if (card.overrideReasons?.length) out(`${indent}    override reasons: ${card.overrideReasons.map((r) => r.display ?? r.code).join(' | ')}`);
  if (withDetail && card.detail) {
    for (const line of plain(card.detail).split('\n')) if (line.trim()) out(`${indent}    │ ${line}`);
  }
}

function printCoverage(actions: Action[] | undefined, indent: string): void {
  for (const a of actions ?? []) {
    const ext = ((a.resource as { extension?: Extension[] } | undefined)?.extension ?? []).find((e) => e.url === COVERAGE_INFORMATION_URL);
    if (!ext) continue;
    const v = (url: string) => subValues(ext, url).join(',') || '—';
    out(`${indent}coverage-information on ${a.resource?.resourceType}/${a.resource?.id}: covered=${v('covered')} pa-needed=${v('pa-needed')} doc-needed=${v('doc-needed')} info-needed=${v('info-needed')} coverage=${v('coverage')} date=${v('date')}`);
    const reason = subValues(ext, 'reason')[0];
    if (reason) out(`${indent}    reason: ${reason}`);
  }
}

async function runScenario(s: Scenario, n: number, total: number, serviceUrl: string, fhir: TestFhirServer): Promise<Result[]> {
  out('━'.repeat(118));
  out(`${n}/${total}  ${s.slug} — ${s.title}`);
  const e = s.expected;
  out(`      patient ${s.patientId}; orders: ${s.draftOrders.map((o) => `${o.resourceType}/${o.id}`).join(', ')}`);
  out(`      expected: ${e.outcome}${e.cardIndicator ? `, ${e.cardIndicator} card` : ', no card on order-sign'}${e.unmet?.length ? `; unmet ${e.unmet.join(', ')}` : ''}${e.undocumented?.length ? `; not documented ${e.undocumented.join(', ')}` : ''}`);
  const calls: { label: string; hook: 'order-sign' | 'order-select'; body: unknown }[] = [
    { label: 'order-sign, with prefetch', hook: 'order-sign', body: buildRequest(s) },
    { label: 'order-sign, no prefetch (FHIR server)', hook: 'order-sign', body: buildRequest(s, { mode: 'fallback', fhirServer: fhir.url, accessToken: DEMO_ACCESS_TOKEN }) },
    { label: 'order-select, with prefetch', hook: 'order-select', body: buildRequest(s, { hook: 'order-select' }) },
  ];
  const results: Result[] = [];
  for (const c of calls) {
    const r = await post(serviceUrl, c.hook, c.body);
    const body = r.status === 200 ? (r.body as CdsResponse) : undefined;
    const verdict = judge(s, c.hook, r.status, body);
    results.push({ label: c.label, status: r.status, ms: r.ms, ...(body ? { body } : {}), ...verdict });
  }
  out();
  for (const r of results) {
    const mark = r.problems.length === 0 ? 'ok' : `MISMATCH: ${r.problems.join('; ')}`;
    out(`      ${r.label.padEnd(40)} HTTP ${r.status}  ${String(r.ms).padStart(5)} ms  covered=${(r.covered ?? '—').padEnd(11)} ${mark}`);
  }
  const [signP, signF, select] = results;
  const same = JSON.stringify(signP?.body?.cards.map((c) => [c.indicator, c.summary])) === JSON.stringify(signF?.body?.cards.map((c) => [c.indicator, c.summary]));
  out(`      prefetch and FHIR-server paths give ${same ? 'the same cards' : 'DIFFERENT cards'}`);
  if (!same && signF) signF.problems.push('cards differ from the prefetch path');

  if (signP?.body) {
    out();
    out('      order-sign cards:');
    if (signP.body.cards.length === 0) out('        (none — nothing interrupts the clinician)');
    signP.body.cards.forEach((card, i) => printCard(card, i === 0 && card.indicator !== 'info', '        '));
    printCoverage(signP.body.systemActions, '      ');
  }
  if (select?.body) {
    out();
    out('      order-select cards:');
    for (const card of select.body.cards) printCard(card, false, '        ');
    printCoverage(select.body.systemActions, '      ');
  }
  out();
  return results;
}

// ---------------------------------------------------------------------------------------------------------------------
// The policy test cases (examples/cases/): every order of every case gets the case's outcome.

const COVERED_FOR_OUTCOME: Record<string, string[]> = { covered: ['covered'], 'not-covered': ['not-covered'], conditional: ['conditional'], indeterminate: ['conditional'] };

async function runCase(c: CaseExample, serviceUrl: string): Promise<{ problems: string[]; summary: string; ms: number }> {
  const r = await post(serviceUrl, c.hook, c.body);
  if (r.status !== 200) return { problems: [`HTTP ${r.status}`], summary: '', ms: r.ms };
  const body = r.body as CdsResponse;
  const problems: string[] = [];
  for (const [ref, e] of Object.entries(c.expected)) {
    const covered = subValues(coverageInfo(body, ref), 'covered')[0];
    const ok = e.outcome === 'no-policy' ? covered === undefined : (COVERED_FOR_OUTCOME[e.outcome] ?? [e.outcome]).includes(covered ?? '');
    if (!ok) problems.push(`${ref}: ${covered ?? '(no coverage-information)'} instead of ${e.outcome}`);
  }
  const decisive = body.cards.find((card) => card.indicator !== 'info') ?? body.cards[0];
  return { problems, summary: decisive ? `[${decisive.indicator}] ${decisive.summary}` : '(no card)', ms: r.ms };
}

async function runCases(serviceUrl: string, filter: string[]): Promise<number> {
  const cases = caseExampleFiles().filter((c) => filter.length === 0 || filter.some((f) => c.policyId === f || `${c.policyId}/${c.name}` === f));
  out('━'.repeat(118));
  out(`Policy test cases (examples/cases/): ${cases.length}`);
  let failures = 0;
  let policy = '';
  for (const c of cases) {
    if (c.policyId !== policy) {
      policy = c.policyId;
      out();
      out(policy);
    }
    const r = await runCase(c, serviceUrl);
    if (r.problems.length) failures++;
    out(`  ${r.problems.length ? 'MISMATCH' : 'ok      '} ${c.name.padEnd(48)} ${String(r.ms).padStart(5)} ms  ${r.summary.slice(0, 150)}`);
    for (const p of r.problems) out(`           ${p}`);
  }
  out();
  out(failures === 0 ? `All ${cases.length} policy cases as expected.` : `${failures} of ${cases.length} policy cases NOT as expected.`);
  return failures;
}

// ---------------------------------------------------------------------------------------------------------------------

async function serve(): Promise<void> {
  // The sandbox's FHIR server: usable from a browser (CORS, /metadata, open mode, form-encoded _search, bare-id
  // reference searches) and by the service; it accepts the examples' placeholder token like any other.
  const scenarios = allScenarios();
  const fhir = await startSandboxFhirServer({ port: 8090, host: '127.0.0.1', resources: scenarios.flatMap((s) => s.patientResources) });
  const service = await startService(Number(process.env.PORT ?? 8080), '127.0.0.1');
  out(`pumpcheck demo service: ${service.url}/cds-services`);
  out(`FHIR server (every example patient; open, CORS, /metadata): ${fhir.url} (also http://localhost:8090/fhir)`);
  out(`Try: curl -s -X POST ${service.url}/cds-services/pumpcheck-order-sign -H 'Content-Type: application/json' --data @examples/order-sign-fallback-criteria-met.json`);
  out(`Sandbox page (dates shifted to today, signed JWTs): npm run sandbox`);
  out('Ctrl-C to stop.');
  const stop = async () => {
    await service.close();
    await fhir.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function main(): Promise<number> {
  const started = performance.now();
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const all = allScenarios();
  // `npm run demo -- --cases [policy or policy/case …]`: only the policy test cases.
  if (process.argv.includes('--cases')) {
    const service = await startService(0, '127.0.0.1');
    try {
      return (await runCases(service.url, args)) === 0 ? 0 : 1;
    } finally {
      await service.close();
    }
  }
  const wanted = args;
  const unknown = wanted.filter((w) => !all.some((s) => s.slug === w));
  if (unknown.length) {
    process.stderr.write(`unknown situation(s): ${unknown.join(', ')}; known: ${all.map((s) => s.slug).join(', ')}\n`);
    return 2;
  }
  const scenarios = wanted.length ? all.filter((s) => wanted.includes(s.slug)) : all;
  const fhir = await startFhirServer({ token: DEMO_ACCESS_TOKEN, resources: all.flatMap((s) => s.patientResources) });
  const service = await startService(0, '127.0.0.1');
  out(`pumpcheck demo — service ${service.url}, FHIR server ${fhir.url} (${all.reduce((n, s) => n + s.patientResources.length, 0)} resources, ${all.length} patients)`);
  out('Every order is dated 2026-04-01; every patient is synthetic. Cards are printed as the EHR would receive them.');
  const summary: { s: Scenario; results: Result[] }[] = [];
  try {
    for (const [i, s] of scenarios.entries()) summary.push({ s, results: await runScenario(s, i + 1, scenarios.length, service.url, fhir) });
  } finally {
    await service.close();
    await fhir.close();
  }

  out('━'.repeat(118));
  out(`${'situation'.padEnd(32)} ${'expected'.padEnd(12)} ${'sign/prefetch'.padEnd(14)} ${'sign/FHIR'.padEnd(14)} ${'select'.padEnd(14)} result`);
  let failures = 0;
  for (const { s, results } of summary) {
    const ok = results.every((r) => r.problems.length === 0);
    if (!ok) failures++;
    out(`${s.slug.padEnd(32)} ${s.expected.outcome.padEnd(12)} ${results.map((r) => (r.covered ?? `HTTP ${r.status}`).padEnd(14)).join(' ')} ${ok ? 'ok' : 'MISMATCH'}`);
  }
  out();
  out(failures === 0 ? `All ${summary.length} situations as expected (${summary.length * 3} calls).` : `${failures} of ${summary.length} situations NOT as expected.`);
  // Then every policy test case (unless only some situations were asked for).
  let caseFailures = 0;
  if (wanted.length === 0) {
    const caseService = await startService(0, '127.0.0.1');
    try {
      caseFailures = await runCases(caseService.url, []);
    } finally {
      await caseService.close();
    }
  }
  out(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return failures === 0 && caseFailures === 0 ? 0 : 1;
}

if (process.argv.includes('--serve')) {
  serve().catch((err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
