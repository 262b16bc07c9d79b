// `npm run bench` — the benchmark of issue 5. Builds the production output, starts the real service from dist/ with
// NODE_ENV=production and authentication on (a benchmark ES384 issuer), and loads it with autocannon on loopback next
// to a floor server fed the same bodies; times the engine in-process and the FHIR fallback path; compares
// WEB_CONCURRENCY=1 and 2. Writes bench/results/latest.{json,md} and prints the tables.
//   npm run bench                  full run (default 10 s per load case) → bench/results/latest.{json,md}
//   npm run bench -- --quick       smoke run (3 s per case, fewer cases; < 2 minutes) → bench/results/quick.{json,md}
//   npm run bench -- --soak        5 minutes at 70% of peak on the 500-resource order-sign case; heap after GC
// Options: --duration=S  --connections=N  --profile (service child under --cpu-prof; top self-time in the report)
//          --only=SIZE/HOOK[,SIZE/HOOK] (just these HTTP cases: no engine, fallback or WEB_CONCURRENCY part; with
//          --profile, a focused profile)  --soak-seconds=S (soak length, default 300)
//          --warmup=S (unrecorded load before each HTTP case: the service S s, default 15; the floor at most 5 s;
//          2 s with --quick)
//          --engine-only (the in-process engine tables only: the insulin record and every pump family; < 2 minutes)
//   npm run bench -- --startup    start-up time (fresh and later DATA_DIR) and idle RSS of primary and worker, before
//                                 and after rounds of requests → bench/results/startup.{json,md} (bench/startup.ts; ≈ 1.5 min;
//                                 --later-starts=N (3) --rounds=N (3) for shorter experiments)
// Everything listens on and talks to 127.0.0.1 only; every load loop is bounded by a duration.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { engineDeps, ordersEvaluated, percentile, systemActionsExpected, timeEngine, type EngineTiming } from './engine.js';
import { FAMILIES } from './families.js';
import { mergeLoads, runLoad, type LoadResult } from './load.js';
import { cpuMsOf, freePort, killAllChildren, portFree, procMemory, machineBusyMs, ROOT, startChild, type Child } from './proc.js';
import { topSelfTime } from './profile-top.js';
import { startupBench } from './startup.js';
import { buildRecord, hookBody, SIZES, type BenchRecord, type HookKind } from './records.js';
import { BENCH_ISSUER, createIdentity, measureSignCost, presign, signToken, TokenSource, type BenchIdentity } from './tokens.js';

// ---------------------------------------------------------------------------------------------------------------------
// Options

interface Args {
  quick: boolean;
  /** --engine-only: the in-process engine parts only (insulin record and every pump family); no HTTP. */
  engineOnly?: boolean;
  /** --startup: start-up times and idle memory (bench/startup.ts); no throughput. */
  startup?: boolean;
  /** --later-starts=N, --rounds=N: the start-up mode's later starts (3) and rounds of 200 requests (3). */
  laterStarts: number;
  rounds: number;
  soak: boolean;
  profile: boolean;
  duration: number;
  connections: number;
  soakSeconds: number;
  /** Soak warm-up before the first heap sample (default: token lifetime + clock skew + 5 s = 95 s). */
  soakWarmupSeconds: number;
  only?: { size: number; hook: HookKind }[];
  /** Extra node flags for the service and the floor alike (e.g. --max-semi-space-size=64). */
  nodeFlags: string[];
  /** Extra environment for the service only (experiments: e.g. LOG_LEVEL=warn, DATABASE_URL=…); shown in the report. */
  serviceEnv: Record<string, string>;
  /** Unrecorded load before each HTTP case's measured slices, per server (JIT warm-up), seconds. */
  warmupSeconds: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, soak: false, profile: false, duration: 10, connections: 10, soakSeconds: 300, soakWarmupSeconds: 95, nodeFlags: [], serviceEnv: {}, warmupSeconds: 15, laterStarts: 3, rounds: 3 };
  let durationSet = false;
  let warmupSet = false;
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, '').split('=') as [string, string | undefined];
    if (k === 'quick') a.quick = true;
    else if (k === 'engine-only') a.engineOnly = true;
    else if (k === 'startup') a.startup = true;
    else if (k === 'later-starts' && v) a.laterStarts = Number(v);
    else if (k === 'rounds' && v) a.rounds = Number(v);
    else if (k === 'soak') a.soak = true;
    else if (k === 'profile') a.profile = true;
    else if (k === 'duration' && v) ((a.duration = Number(v)), (durationSet = true));
    else if (k === 'connections' && v) a.connections = Number(v);
    else if (k === 'warmup' && v !== undefined) ((a.warmupSeconds = Number(v)), (warmupSet = true));
    else if (k === 'soak-seconds' && v) a.soakSeconds = Number(v);
    else if (k === 'soak-warmup' && v) a.soakWarmupSeconds = Number(v);
    else if (k === 'node-flags' && v !== undefined) {
      a.nodeFlags = arg.slice('--node-flags='.length).split(/\s+/).filter(Boolean);
      if (a.nodeFlags.some((f) => !/^--[a-z0-9-]+(=[\w.-]+)?$/.test(f))) throw new Error('--node-flags: only --flag or --flag=value');
    }
    else if (k === 'service-env' && v !== undefined) {
      for (const pair of arg.slice('--service-env='.length).split(',').filter(Boolean)) {
        const eq = pair.indexOf('=');
        if (eq <= 0 || !/^[A-Z][A-Z0-9_]*$/.test(pair.slice(0, eq))) throw new Error('--service-env: KEY=VALUE[,KEY=VALUE]');
        a.serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    }
    else if (k === 'only' && v) {
      a.only = v.split(',').map((c) => {
        const [size, hook] = c.split('/');
        if (!SIZES.includes(Number(size) as (typeof SIZES)[number]) || (hook !== 'order-sign' && hook !== 'order-select')) throw new Error(`--only: bad case ${c}`);
        return { size: Number(size), hook };
      });
    }
    else throw new Error(`unknown option ${arg}`);
  }
  if (a.quick && !durationSet) a.duration = 3;
  if (a.quick && !warmupSet) a.warmupSeconds = 2;
  if (!Number.isFinite(a.warmupSeconds) || a.warmupSeconds < 0 || a.warmupSeconds > 600) throw new Error('--warmup must be 0–600 seconds');
  for (const [k, v] of Object.entries({ duration: a.duration, connections: a.connections, soakSeconds: a.soakSeconds, laterStarts: a.laterStarts, rounds: a.rounds })) {
    if (!Number.isFinite(v) || v <= 0 || v > 3600) throw new Error(`--${k} must be a positive number of at most 3600`);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------------------------------
// Constants of the run

/** The 20,000-resource prefetch is ≈ 17 MB; the default 5 MiB limit would answer 413 (reported, not hidden). */
const BODY_LIMIT_BYTES = 64 * 1024 * 1024;
/** The floor's warm-up is capped: its handful of functions are optimised after a few hundred requests. */
const FLOOR_WARMUP_MAX_SECONDS = 5;
const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
const SERVICE_ID: Record<HookKind, string> = { 'order-sign': 'pumpcheck-order-sign', 'order-select': 'pumpcheck-order-select' };
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (s: string) => process.stdout.write(`${s}\n`);
const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;

// ---------------------------------------------------------------------------------------------------------------------
// Processes

interface Env {
  identity: BenchIdentity;
  /** Orders the service evaluates per request, by hook (as hooks/pipeline.ts decides; same for every record). */
  orders: Record<HookKind, number>;
  /** coverage-information system actions (= stored assertions) per response, by hook. */
  actions: Record<HookKind, number>;
  tmp: string;
  args: Args;
  profileDir?: string;
}

type Store = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string; schema: string };

async function startService(env: Env, o: { workers: number; store: Store; heapProbePort?: number; label: string; publicBaseUrl?: string }): Promise<Child> {
  const port = await freePort();
  const nodeArgs: string[] = [...env.args.nodeFlags];
  if (env.profileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${env.profileDir}`);
  if (o.heapProbePort) nodeArgs.push('--expose-gc', '--require', path.join(ROOT, 'bench', 'heap-probe.cjs'));
  const childEnv: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    CDS_TRUSTED_ISSUERS: env.identity.trustedIssuers,
    PATIENT_HASH_SECRET: randomBytes(24).toString('hex'),
    WEB_CONCURRENCY: String(o.workers),
    METRICS_TOKEN,
    ...(o.store.kind === 'pglite' ? { DATA_DIR: o.store.dataDir } : { DATABASE_URL: o.store.url }),
    // Production mode takes the JWT audience from configuration only: the URL the load generator calls.
    PUBLIC_BASE_URL: o.publicBaseUrl ?? `http://127.0.0.1:${port}`,
    // Production names its FHIR servers: here the loopback test server of the fallback cases.
    FHIR_SERVER_ALLOWLIST: 'http://127.0.0.1:*',
    ...(o.heapProbePort ? { BENCH_HEAP_PROBE: '1', BENCH_HEAP_PROBE_PORT: String(o.heapProbePort) } : {}),
    ...env.args.serviceEnv,
  };
  return startChild({
    name: `service (${o.label})`,
    args: [...nodeArgs, path.join(ROOT, 'dist', 'src', 'main.js')],
    env: childEnv,
    port,
    readyPath: '/readyz',
    logFile: path.join(env.tmp, `service-${o.label}.log`),
  });
}

async function startFloor(env: Env): Promise<Child> {
  const port = await freePort();
  return startChild({
    name: 'floor',
    args: [...env.args.nodeFlags, '--import', 'tsx', path.join(ROOT, 'bench', 'floor.ts')],
    env: { BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES), FLOOR_ISSUER: BENCH_ISSUER, FLOOR_JWKS: JSON.stringify(env.identity.jwks) },
    port,
    readyPath: '/healthz',
    logFile: path.join(env.tmp, 'floor.log'),
  });
}

const METRICS_TOKEN = randomBytes(16).toString('hex');

/** A number from the service's Prometheus text (one worker's, in cluster mode). */
async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the service has written every queued assertion (store queue depth 0 on several scrapes in a row, so
 * every worker was seen), so that deferred work counts for the run that caused it and not against the next one.
 */
async function settled(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  while (Date.now() < deadline && zeros < 6) {
    const depth = await metric(port, 'pumpcheck_store_queue_depth');
    zeros = depth === 0 ? zeros + 1 : 0;
    if (zeros < 6) await new Promise((r) => setTimeout(r, 50));
  }
}

const serviceUrl = (port: number, hook: HookKind) => `http://127.0.0.1:${port}/cds-services/${SERVICE_ID[hook]}`;

// ---------------------------------------------------------------------------------------------------------------------
// Correctness of what is loaded: a benchmark of 401s is worthless.

interface Check {
  ok: boolean;
  status: number;
  detail: string;
}

async function post(url: string, body: Buffer, token?: string): Promise<{ status: number; json: unknown; ms: number }> {
  const t = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  const ms = performance.now() - t;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, ms };
}

const COVERAGE_INFORMATION = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

/** 200, one coverage-information `update` per evaluated order, each `covered = conditional` (the records' design). */
function checkServiceResponse(status: number, json: unknown, expected: number): Check {
  if (status !== 200) return { ok: false, status, detail: `HTTP ${status}: ${JSON.stringify(json).slice(0, 300)}` };
  const res = json as { cards?: unknown[]; systemActions?: { type?: string; resource?: { extension?: { url?: string; extension?: { url?: string; valueCode?: string }[] }[] } }[] };
  const actions = res.systemActions ?? [];
  const covered = actions.map((a) => a.resource?.extension?.find((e) => e.url === COVERAGE_INFORMATION)?.extension?.find((e) => e.url === 'covered')?.valueCode);
  const ok = actions.length === expected && actions.every((a) => a.type === 'update') && covered.every((c) => c === 'conditional') && Array.isArray(res.cards) && res.cards.length > 0;
  return { ok, status, detail: `${res.cards?.length ?? 0} cards, systemActions covered=[${covered.join(',')}] (expected ${expected} × conditional)` };
}

async function verifyService(env: Env, port: number, hook: HookKind, body: Buffer): Promise<Check> {
  const url = serviceUrl(port, hook);
  const r = await post(url, body, signToken(env.identity, url));
  return checkServiceResponse(r.status, r.json, env.actions[hook]);
}

async function verifyFloor(env: Env, port: number, hook: HookKind, body: Buffer): Promise<Check> {
  const url = serviceUrl(port, hook);
  // The floor must refuse what the service refuses: no token, then a valid one.
  const refused = await post(url, body);
  if (refused.status !== 401) return { ok: false, status: refused.status, detail: 'floor accepted a request without a token' };
  const r = await post(url, body, signToken(env.identity, url));
  const ok = r.status === 200 && Array.isArray((r.json as { cards?: unknown }).cards);
  return { ok, status: r.status, detail: ok ? 'fixed response' : JSON.stringify(r.json).slice(0, 200) };
}

// ---------------------------------------------------------------------------------------------------------------------
// Load cases

interface HttpCase {
  size: number;
  hook: HookKind;
  bodyBytes: number;
  service?: LoadResult;
  floor?: LoadResult;
  serviceCheck: Check;
  floorCheck?: Check;
  tokens?: { presigned: number; signedInLoop: number; presignSeconds: number };
  throughputRatio?: number;
  p99Ratio?: number;
  /** Floor CPU per request ÷ service CPU per request: the throughput ratio a quiet machine would show. */
  cpuRatio?: number;
}

/** Tokens for one service run: enough for the estimated throughput, signed before the clock starts. */
async function tokenPool(env: Env, port: number, hook: HookKind, body: Buffer, workers: number, ceilingRps: number, seconds: number): Promise<{ source: TokenSource; presignSeconds: number }> {
  const url = serviceUrl(port, hook);
  // Sequential warm requests give the per-request service time; under 10 connections the service keeps its cores
  // busy, so a few times that rate (capped by the floor's throughput) bounds what the run can use.
  const lat: number[] = [];
  for (let i = 0; i < 12; i++) lat.push((await post(url, body, signToken(env.identity, url))).ms);
  const l = percentile(lat.sort((a, b) => a - b), 50);
  const estimate = Math.min(ceilingRps * 1.15, (4 * workers * 1000) / Math.max(0.2, l));
  // Half again as many as the estimate: a pool that runs dry makes the load generator sign in the loop (0.6 ms each).
  const count = Math.ceil(estimate * seconds * 1.5) + 500;
  const t = performance.now();
  const pool = await presign(env.identity, url, count, 2, Math.max(120, seconds + 60));
  return { source: new TokenSource(env.identity, url, pool), presignSeconds: (performance.now() - t) / 1000 };
}


/**
 * Waits (bounded) for the machine to be quiet: other tenants' CPU use below 30% of the machine over 1 s windows.
 * Returns the share seen last; the run goes ahead after `maxSeconds` whatever it is (and reports it).
 */
async function quietMachine(ours: number[], maxSeconds: number): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  let share = 0;
  do {
    const busy0 = machineBusyMs();
    const ours0 = cpuMsOf(ours) + process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const ours1 = cpuMsOf(ours) + process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000;
    share = Math.max(0, machineBusyMs() - busy0 - (ours1 - ours0)) / (1000 * os.cpus().length);
    if (share < 0.3) return share;
  } while (Date.now() < deadline);
  log(`  (machine busy with other work: ${Math.round(share * 100)}% of the CPU; going ahead)`);
  return share;
}

/** The coverage-information reason texts of a response (they name every unmet / undocumented criterion). */
function reasons(json: unknown): string[] {
  const res = json as { systemActions?: { resource?: { extension?: { url?: string; extension?: { url?: string; valueCodeableConcept?: { text?: string } }[] }[] } }[] };
  return (res.systemActions ?? []).map((a) => a.resource?.extension?.find((e) => e.url === COVERAGE_INFORMATION)?.extension?.find((e) => e.url === 'reason')?.valueCodeableConcept?.text ?? '');
}

async function httpCase(env: Env, service: Child, floor: Child | undefined, rec: BenchRecord, hook: HookKind, body: Buffer, workers = 1): Promise<HttpCase> {
  const c: HttpCase = { size: rec.size, hook, bodyBytes: body.length, serviceCheck: await verifyService(env, service.port, hook, body) };
  if (!c.serviceCheck.ok) {
    log(`  ✗ ${rec.size} ${hook}: service answered ${c.serviceCheck.detail} — not loaded`);
    return c;
  }
  const connections = env.args.connections;
  const path_ = `/cds-services/${SERVICE_ID[hook]}`;
  // Floor and service alternate in slices (F S F S in a full run) so a change in the machine's other load during the
  // case hits both alike.
  const rounds = env.args.quick ? 1 : 2;
  const slice = env.args.duration / rounds;
  const floorParts: LoadResult[] = [];
  const serviceParts: LoadResult[] = [];
  let source: TokenSource | undefined;
  let floorSource: TokenSource | undefined;
  let presignSeconds = 0;
  if (floor) {
    c.floorCheck = await verifyFloor(env, floor.port, hook, body);
    if (!c.floorCheck.ok) log(`  ✗ floor ${rec.size} ${hook}: ${c.floorCheck.detail}`);
  }
  // Steady state, not JIT warm-up: before the measured slices each server runs the same load unrecorded — the
  // service for `warmup` seconds, the floor (a few functions, warm after a handful of requests) for at most 5. Without
  // it the first cases measured V8 still optimising the service's code: ≈ 900 background compilations over the first
  // ~1,500 requests, 1.7 ms of CPU per request on V8's threads at 50 resources; CPU per request keeps falling until
  // ~4,000 requests (5.6 → 4.4 ms between 4,000 and 8,000 requests of warm-up, per-thread /proc measurements of this round).
  const warmup = env.args.warmupSeconds;
  for (let round = 0; round < rounds; round++) {
    await quietMachine([...service.pids(), ...(floor?.pids() ?? [])], env.args.quick ? 3 : 15);
    if (floor && c.floorCheck?.ok) {
      // Fresh tokens for the floor too (it verifies each one): a pool sized like the service's.
      floorSource ??= (await tokenPool(env, floor.port, hook, body, 1, 20_000, env.args.duration + warmup)).source;
      const fs_ = floorSource;
      if (round === 0 && warmup > 0) await runLoad({ port: floor.port, path: path_, body, connections, durationSeconds: Math.min(FLOOR_WARMUP_MAX_SECONDS, warmup), token: () => fs_.take(), serverPids: floor.pids() });
      floorParts.push(await runLoad({ port: floor.port, path: path_, body, connections, durationSeconds: slice, token: () => fs_.take(), serverPids: floor.pids() }));
    }
    if (!source) {
      const ceiling = floorParts[0]?.rps ?? 20_000;
      ({ source, presignSeconds } = await tokenPool(env, service.port, hook, body, workers, ceiling, env.args.duration + warmup));
    }
    const src = source;
    if (round === 0 && warmup > 0) await runLoad({ port: service.port, path: path_, body, connections, durationSeconds: warmup, token: () => src.take(), serverPids: service.pids(), settle: () => settled(service.port) });
    serviceParts.push(await runLoad({ port: service.port, path: path_, body, connections, durationSeconds: slice, token: () => src.take(), serverPids: service.pids(), settle: () => settled(service.port) }));
  }
  c.service = mergeLoads(serviceParts);
  if (floorParts.length) c.floor = mergeLoads(floorParts);
  c.tokens = { presigned: source!.used - source!.signedInLoop, signedInLoop: source!.signedInLoop, presignSeconds: r1(presignSeconds) };
  if (c.floor) {
    c.throughputRatio = c.service.rps / c.floor.rps;
    c.p99Ratio = c.service.latencyMs.p99 / c.floor.latencyMs.p99;
    c.cpuRatio = c.floor.cpu.serverMsPerRequest / c.service.cpu.serverMsPerRequest;
  }
  const s = c.service;
  log(
    `  ${String(rec.size).padStart(6)} ${hook.padEnd(12)} service ${r1(s.rps)} req/s p99 ${r1(s.latencyMs.p99)} ms cpu ${fmtMs(s.cpu.serverMsPerRequest)} ms/req` +
      (c.floor ? ` | floor ${r1(c.floor.rps)} req/s p99 ${r1(c.floor.latencyMs.p99)} ms cpu ${fmtMs(c.floor.cpu.serverMsPerRequest)} ms/req | ratio ${r2(c.throughputRatio!)} / p99×${r2(c.p99Ratio!)}` : '') +
      ` | non-2xx ${s.non2xx} err ${s.errors + s.timeouts} | other load ${Math.round(100 * s.cpu.foreignShare)}% | in-loop signed ${source!.signedInLoop}`,
  );
  return c;
}

// ---------------------------------------------------------------------------------------------------------------------
// FHIR fallback: no prefetch, the service queries the loopback FHIR server itself.

interface FallbackResult {
  size: number;
  /** The loopback FHIR server alone: the service's Observation search, paged as the service pages it. */
  fhirServer: { observationPages: number; observations: number; observationSearchMs: number };
  /** Same coverage-information as with prefetch (every criterion evaluated on complete data)? */
  complete: boolean;
  check: Check;
  requests: number;
  latencyMs?: { p50: number; p95: number; max: number };
  /** First call (the only one when the answer was degraded). */
  firstMs: number;
}

async function startFhirChild(env: Env, rec: BenchRecord, token: string): Promise<{ child: Child; url: string }> {
  const seedFile = path.join(env.tmp, `seed-${rec.size}.json`);
  writeFileSync(seedFile, JSON.stringify(rec.resources));
  const child = await startChild({
    name: `fhir server ${rec.size}`,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'fhir-server.ts')],
    env: { FHIR_TOKEN: token, SEED_FILE: seedFile },
    port: await freePort(),
    readyPath: '/',
    logFile: path.join(env.tmp, `fhir-${rec.size}.log`),
  });
  const url = /fhir (http:\/\/127\.0\.0\.1:\d+\/fhir)/.exec(readFileSync(child.logFile, 'utf8'))?.[1];
  if (!url) throw new Error('FHIR server did not report its URL');
  return { child, url };
}

/** Times the Observation search the service runs (its URL, `_count`, next links) directly against the server. */
async function timeObservationSearch(fhirUrl: string, rec: BenchRecord, token: string): Promise<FallbackResult['fhirServer']> {
  const { queryUrl } = await import('../src/fhir/gather.js');
  const deps = engineDeps();
  const template = deps.templates.find((t) => t.key === 'observations')!;
  let next: string | undefined = `${fhirUrl}/${queryUrl(template, { patientId: rec.patientId }, rec.patientId, deps.config.fhir.pageSize)}`;
  let pages = 0;
  let observations = 0;
  const t = performance.now();
  while (next && pages < deps.config.fhir.maxPages) {
    const res = await fetch(next, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' }, signal: AbortSignal.timeout(120_000) });
    const bundle = (await res.json()) as { entry?: unknown[]; link?: { relation?: string; url?: string }[] };
    pages++;
    observations += bundle.entry?.length ?? 0;
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return { observationPages: pages, observations, observationSearchMs: performance.now() - t };
}

async function fallbackPath(env: Env, service: Child, records: BenchRecord[], perSize: Record<number, number>): Promise<FallbackResult[]> {
  const out: FallbackResult[] = [];
  const hook: HookKind = 'order-sign';
  const url = serviceUrl(service.port, hook);
  for (const rec of records) {
    const token = `bench-${randomBytes(8).toString('hex')}`;
    const { child, url: fhirUrl } = await startFhirChild(env, rec, token);
    try {
      const fhirServer = await timeObservationSearch(fhirUrl, rec, token);
      const expected = reasons((await post(url, Buffer.from(JSON.stringify(hookBody(rec, hook))), signToken(env.identity, url))).json);
      const body = Buffer.from(JSON.stringify(hookBody(rec, hook, { prefetch: false, fhirServer: fhirUrl, accessToken: token })));
      const judge = (r: { status: number; json: unknown }) => {
        const check = checkServiceResponse(r.status, r.json, env.actions[hook]);
        const got = reasons(r.json);
        const complete = check.ok && got.join('\n') === expected.join('\n');
        if (check.ok && !complete) check.detail = `answered, but on incomplete data: ${got.find((g, i) => g !== expected[i])?.slice(0, 240) ?? ''}`;
        return { check, complete };
      };
      const first = await post(url, body, signToken(env.identity, url));
      const { check, complete } = judge(first);
      const result: FallbackResult = { size: rec.size, fhirServer, complete, check, requests: 1, firstMs: first.ms };
      if (complete) {
        const lat: number[] = [first.ms];
        for (let i = 1; i < (perSize[rec.size] ?? 5); i++) {
          const r = await post(url, body, signToken(env.identity, url));
          const j = judge(r);
          if (!j.complete) {
            result.complete = false;
            result.check = j.check;
            break;
          }
          lat.push(r.ms);
        }
        lat.sort((a, b) => a - b);
        result.requests = lat.length;
        result.latencyMs = { p50: percentile(lat, 50), p95: percentile(lat, 95), max: lat[lat.length - 1]! };
      }
      log(
        `  fallback ${rec.size}: FHIR server alone ${Math.round(fhirServer.observationSearchMs)} ms for ${fhirServer.observations} Observations in ${fhirServer.observationPages} page(s); ` +
          (result.latencyMs ? `service p50 ${r1(result.latencyMs.p50)} ms, p95 ${r1(result.latencyMs.p95)} ms over ${result.requests} calls` : `service ${Math.round(first.ms)} ms: ${result.check.detail}`),
      );
      out.push(result);
    } finally {
      await child.stop();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// PostgreSQL (WEB_CONCURRENCY > 1: PGlite is one process only). The service has no schema variable, so the
// connection's search_path points at a schema made for this run and dropped after it.

async function createPgSchema(): Promise<{ url: string; schema: string } | { error: string }> {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`create schema "${schema}"`);
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    await client.end().catch(() => undefined);
  }
  const sep = PG_URL.includes('?') ? '&' : '?';
  return { url: `${PG_URL}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`, schema };
}

async function dropPgSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Report

function machine() {
  const cpus = os.cpus();
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    totalMemGiB: r1(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: (git(['status', '--porcelain']) ?? '').length > 0,
    loadAverageAtStart: os.loadavg().map(r2),
  };
}

interface Target {
  name: string;
  value: string;
  target: string;
  pass: boolean;
}

const fmtMs = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtMB = (b: number) => `${(b / 1e6).toFixed(b < 1e6 ? 2 : 1)} MB`;

function markdown(results: Results): string {
  const m = results.machine;
  const lines: string[] = [];
  lines.push(`### Benchmark ${results.mode} run — ${results.date}`);
  lines.push('');
  lines.push(`${m.cpuModel}, ${m.cpus} cores, ${m.totalMemGiB} GiB, ${m.os}, Node ${m.node}, commit ${m.commit ?? '?'}${m.dirty ? ' (uncommitted changes)' : ''}; load average at start ${m.loadAverageAtStart.join(' / ')}.`);
  lines.push(
    `Service: \`node ${results.config.nodeFlags.length ? `${results.config.nodeFlags.join(' ')} ` : ''}dist/src/main.js\`, NODE_ENV=production, ES384 JWT per request, LOG_LEVEL=info to a file, store ${results.config.store}, BODY_LIMIT_BYTES=${results.config.bodyLimitBytes} (both servers). ` +
      (Object.keys(results.config.serviceEnv ?? {}).length ? `Service environment overridden: ${Object.keys(results.config.serviceEnv!).map((k) => `${k}=${k.includes('URL') || k.includes('SECRET') ? '…' : results.config.serviceEnv![k]}`).join(', ')}. ` : '') +
      `autocannon on loopback, ${results.config.connections} connections, ${results.config.durationSeconds} s per case after unrecorded warm-up load (service ${results.config.warmupSeconds ?? 0} s, floor ${Math.min(FLOOR_WARMUP_MAX_SECONDS, results.config.warmupSeconds ?? 0)} s); tokens pre-signed (ES384 signing costs ${results.signing.msPerToken} ms in the generator).`,
  );
  const recs = results.records.map((r) => `${r.resources.toLocaleString('en-US')} (${r.smbgReadings.toLocaleString('en-US')} SMBG readings over ${r.historyDays.toLocaleString('en-US')} days, ${fmtMB(r.bodyBytes['order-sign'] ?? 0)})`);
  lines.push(`Records (seeded, one pump E0784 + supplies A4224 order; CSII policy evaluates to conditional: only the CSII-team attestation missing): ${recs.join('; ')}.`);
  const over = results.records.filter((r) => !r.fitsDefaultBodyLimit).map((r) => r.resources.toLocaleString('en-US'));
  if (over.length) lines.push(`With the default BODY_LIMIT_BYTES (5 MiB) the ${over.join(', ')}-resource request${over.length > 1 ? 's' : ''} would be refused with 413; both servers run with ${results.config.bodyLimitBytes / 2 ** 20} MiB here.`);
  lines.push('');
  lines.push('| resources | hook | body | service req/s | floor req/s | req/s ratio | CPU ms/req service / floor (ratio) | service p50 / p95 / p99 ms | floor p50 / p95 / p99 ms | p99 ratio | non-2xx / errors | other load |');
  lines.push('|---:|---|---:|---:|---:|---:|---|---|---|---:|---|---:|');
  for (const c of results.http) {
    const s = c.service;
    const f = c.floor;
    const lat = (x?: LoadResult) => (x ? `${fmtMs(x.latencyMs.p50)} / ${fmtMs(x.latencyMs.p95)} / ${fmtMs(x.latencyMs.p99)}` : '—');
    const cpu = s && f ? `${fmtMs(s.cpu.serverMsPerRequest)} / ${fmtMs(f.cpu.serverMsPerRequest)} (${r2(c.cpuRatio!)})` : s ? fmtMs(s.cpu.serverMsPerRequest) : '—';
    const other = s ? `${Math.round(100 * Math.max(s.cpu.foreignShare, f?.cpu.foreignShare ?? 0))}%` : '—';
    lines.push(
      `| ${c.size.toLocaleString('en-US')} | ${c.hook} | ${fmtMB(c.bodyBytes)} | ${s ? r1(s.rps) : `✗ ${c.serviceCheck.detail}`} | ${f ? r1(f.rps) : '—'} | ${c.throughputRatio !== undefined ? r2(c.throughputRatio) : '—'} | ${cpu} | ${lat(s)} | ${lat(f)} | ${c.p99Ratio !== undefined ? r2(c.p99Ratio) : '—'} | ${s ? `${s.non2xx} / ${s.errors + s.timeouts}` : '—'} | ${other} |`,
    );
  }
  lines.push('');
  lines.push('CPU ms/req: CPU time of the server process(es) per request (user + system, all threads) — unaffected by other load on the machine; its ratio is the throughput ratio a quiet machine would show. Other load: CPU used by processes outside the benchmark during the case, as a share of the machine.');
  lines.push('');
  lines.push('Engine alone (in-process: prefetch → indexed record, order recognition, determination, cards; no HTTP):');
  lines.push('');
  lines.push('| resources | hook | orders | median ms/order | p95 ms/order | stages (median ms): index / determine / cards | GC ms/request | iterations |');
  lines.push('|---:|---|---:|---:|---:|---|---:|---:|');
  for (const e of results.engine) {
    lines.push(
      `| ${e.size.toLocaleString('en-US')} | ${e.hook} | ${e.orders} | ${fmtMs(e.perOrderMedianMs)} | ${fmtMs(e.perOrderP95Ms)} | ${fmtMs(e.stages.gatherIndexMs)} / ${fmtMs(e.stages.determineMs)} / ${fmtMs(e.stages.cardsMs)} | ${fmtMs(e.gcMsPerRequest)} | ${e.iterations} |`,
    );
  }
  if (results.engineFamilies?.length) {
    lines.push('');
    lines.push('Engine per pump family (order-sign over the same record, every policy loaded; outcome = what the policies concluded):');
    lines.push('');
    lines.push('| resources | family | orders | median ms/order | p95 ms/order | stages (median ms): index / determine / cards | outcomes |');
    lines.push('|---:|---|---:|---:|---:|---|---|');
    for (const e of results.engineFamilies) {
      lines.push(
        `| ${e.size.toLocaleString('en-US')} | ${e.family} | ${e.orders} | ${fmtMs(e.perOrderMedianMs)} | ${fmtMs(e.perOrderP95Ms)} | ${fmtMs(e.stages.gatherIndexMs)} / ${fmtMs(e.stages.determineMs)} / ${fmtMs(e.stages.cardsMs)} | ${Object.values(e.outcomes ?? {}).join(', ')} |`,
      );
    }
  }
  for (const [hook, ratio] of Object.entries(results.engineRatio20kTo5k)) lines.push(`\n20,000 / 5,000 engine time per order (${hook}): **${r2(ratio)}**`);
  lines.push('');
  if (results.fallback.length) {
    lines.push('FHIR fallback (order-sign without prefetch: the service queries the loopback FHIR test server — Medplum in-memory, its own process — with the default FHIR_PAGE_SIZE 500 and 3 s budget; sequential calls):');
    lines.push('');
    lines.push('| resources | FHIR server alone: Observation search | service calls | service p50 / p95 / max ms | answer |');
    lines.push('|---:|---|---:|---|---|');
    for (const f of results.fallback) {
      const lat = f.latencyMs ? `${fmtMs(f.latencyMs.p50)} / ${fmtMs(f.latencyMs.p95)} / ${fmtMs(f.latencyMs.max)}` : `${fmtMs(f.firstMs)} (one call)`;
      lines.push(
        `| ${f.size.toLocaleString('en-US')} | ${Math.round(f.fhirServer.observationSearchMs)} ms, ${f.fhirServer.observations} in ${f.fhirServer.observationPages} page(s) | ${f.requests} | ${lat} | ${f.complete ? 'complete (same as prefetch)' : f.check.detail} |`,
      );
    }
    lines.push('');
  }
  const wc = results.webConcurrency;
  if (wc) {
    lines.push(`WEB_CONCURRENCY (5,000 resources, order-sign, PostgreSQL store): ${wc.note}`);
    lines.push('');
    lines.push('| WEB_CONCURRENCY | worker processes seen | req/s | p50 / p95 / p99 ms | non-2xx / errors |');
    lines.push('|---:|---:|---:|---|---|');
    for (const r of wc.runs) {
      const s = r.result.service;
      lines.push(`| ${r.workers} | ${r.processes} | ${s ? r1(s.rps) : '✗'} | ${s ? `${fmtMs(s.latencyMs.p50)} / ${fmtMs(s.latencyMs.p95)} / ${fmtMs(s.latencyMs.p99)}` : r.result.serviceCheck.detail} | ${s ? `${s.non2xx} / ${s.errors + s.timeouts}` : '—'} |`);
    }
    if (wc.gain !== undefined) lines.push(`\nGain WEB_CONCURRENCY=2 over 1: **×${r2(wc.gain)}** (the load generator shares the 2 cores).`);
    lines.push('');
  }
  const so = results.scaleOut;
  if (so) {
    lines.push(`Scale-out (${so.size.toLocaleString('en-US')} resources, ${so.hook}): ${so.note}`);
    if (so.replicas && so.assertions && so.replay) {
      lines.push('');
      lines.push('| replica | req/s | p99 ms | 2xx | non-2xx / errors |');
      lines.push('|---|---:|---:|---:|---|');
      so.replicas.forEach((x, i) => lines.push(`| ${'AB'[i]} | ${x.rps} | ${fmtMs(x.p99Ms)} | ${x.ok} | ${x.non2xx} / ${x.errors} |`));
      lines.push(`| both | **${so.totalRps}** | | | |`);
      lines.push('');
      lines.push(`Assertions in PostgreSQL: ${so.assertions.stored} rows (${so.assertions.distinctIds} distinct ids) for ${so.assertions.expected} expected (every 200 × orders); dropped by the queues ${so.assertions.droppedByQueues}. Replay: ${so.replay.firstUseOk}/${so.replay.tokens} tokens accepted by A, then refused by B ${so.replay.replayRefusedOnOther}/${so.replay.tokens} and by A ${so.replay.replayRefusedOnSame}/${so.replay.tokens}.`);
    }
    lines.push('');
  }
  lines.push('Targets:');
  lines.push('');
  for (const t of results.targets) lines.push(`- ${t.pass ? '✅' : '❌'} ${t.name}: ${t.value} (target ${t.target})`);
  if (results.profile?.length) {
    lines.push('');
    lines.push('Service CPU profile, top self time:');
    lines.push('');
    for (const p of results.profile) lines.push(`- ${p.pct.toFixed(1)}% ${p.name} ${p.where}`);
  }
  lines.push('');
  lines.push(`Run took ${Math.round(results.runtimeSeconds)} s.`);
  return lines.join('\n');
}

interface Results {
  mode: 'full' | 'quick' | 'partial';
  date: string;
  machine: ReturnType<typeof machine> & { loadAverageAtEnd?: number[] };
  config: { durationSeconds: number; connections: number; bodyLimitBytes: number; defaultBodyLimitBytes: number; store: string; logLevel: string; nodeFlags: string[]; serviceEnv?: Record<string, string>; warmupSeconds?: number };
  signing: { msPerToken: number; strategy: string };
  records: { size: number; resources: number; smbgReadings: number; historyDays: number; bodyBytes: Record<string, number>; fitsDefaultBodyLimit: boolean }[];
  engine: EngineTiming[];
  /** The engine per pump family (bench/families.ts), order-sign. */
  engineFamilies: EngineTiming[];
  engineRatio20kTo5k: Record<string, number>;
  http: HttpCase[];
  fallback: FallbackResult[];
  /** Assertions the 1-worker service wrote / dropped over all HTTP cases. */
  store?: { written?: number; dropped?: number };
  webConcurrency?: { note: string; runs: { workers: number; processes: number; result: HttpCase }[]; gain?: number };
  scaleOut?: ScaleOut;
  targets: Target[];
  profile?: ReturnType<typeof topSelfTime>;
  runtimeSeconds: number;
}

function targetsOf(r: Results): Target[] {
  const t: Target[] = [];
  for (const c of r.http) {
    if (c.throughputRatio === undefined || c.p99Ratio === undefined || !c.service) {
      t.push({ name: `HTTP ${c.size} ${c.hook}`, value: c.serviceCheck.ok ? 'no floor comparison' : c.serviceCheck.detail, target: 'measured', pass: false });
      continue;
    }
    t.push({ name: `throughput ${c.size} ${c.hook}`, value: `${r2(c.throughputRatio)} of floor (CPU-cost ratio ${r2(c.cpuRatio ?? NaN)})`, target: '≥ 0.70', pass: c.throughputRatio >= 0.7 });
    t.push({ name: `p99 ${c.size} ${c.hook}`, value: `${r2(c.p99Ratio)} × floor p99`, target: '≤ 2.00', pass: c.p99Ratio <= 2 });
    if (c.service.non2xx + c.service.errors + c.service.timeouts > 0) {
      t.push({ name: `errors ${c.size} ${c.hook}`, value: `${c.service.non2xx} non-2xx, ${c.service.errors + c.service.timeouts} errors`, target: '0', pass: false });
    }
  }
  for (const e of r.engineFamilies ?? []) {
    if (e.size === 500) t.push({ name: `engine 500 ${e.family}`, value: `${fmtMs(e.perOrderMedianMs)} ms/order`, target: '< 2 ms', pass: e.perOrderMedianMs < 2 });
    if (e.size === 5000) t.push({ name: `engine 5,000 ${e.family}`, value: `${fmtMs(e.perOrderMedianMs)} ms/order`, target: '< 20 ms', pass: e.perOrderMedianMs < 20 });
  }
  for (const e of r.engine) {
    if (e.size === 500) t.push({ name: `engine 500 ${e.hook}`, value: `${fmtMs(e.perOrderMedianMs)} ms/order`, target: '< 2 ms', pass: e.perOrderMedianMs < 2 });
    if (e.size === 5000) t.push({ name: `engine 5,000 ${e.hook}`, value: `${fmtMs(e.perOrderMedianMs)} ms/order`, target: '< 20 ms', pass: e.perOrderMedianMs < 20 });
  }
  for (const [hook, ratio] of Object.entries(r.engineRatio20kTo5k)) t.push({ name: `engine 20,000/5,000 ${hook}`, value: r2(ratio).toString(), target: '≤ 4.5', pass: ratio <= 4.5 });
  const so = r.scaleOut;
  if (so?.assertions && so.replay) {
    const a = so.assertions;
    t.push({ name: 'scale-out assertions (2 processes, one PostgreSQL)', value: `${a.stored} stored, ${a.distinctIds} distinct, ${a.expected} expected`, target: 'stored = distinct = expected', pass: a.stored === a.expected && a.distinctIds === a.stored });
    t.push({ name: 'scale-out replay protection', value: `${so.replay.replayRefusedOnOther + so.replay.replayRefusedOnSame} of ${2 * so.replay.tokens} replays refused`, target: 'all', pass: so.replay.firstUseOk === so.replay.tokens && so.replay.replayRefusedOnOther === so.replay.tokens && so.replay.replayRefusedOnSame === so.replay.tokens });
  } else if (so) t.push({ name: 'scale-out', value: so.note, target: 'measured', pass: false });
  return t;
}

// ---------------------------------------------------------------------------------------------------------------------
// Scale-out: two service processes on one PostgreSQL (the compose topology without Docker), loaded at once.

interface ScaleOut {
  note: string;
  size: number;
  hook: HookKind;
  replicas?: { rps: number; p99Ms: number; ok: number; non2xx: number; errors: number }[];
  totalRps?: number;
  /** Every 200 response × orders evaluated = rows in `assertions`: no assertion lost, none duplicated. */
  assertions?: { expected: number; stored: number; distinctIds: number; droppedByQueues: number };
  /** Tokens accepted by replica A, then presented to B and to A again: every replay must be 401. */
  replay?: { tokens: number; firstUseOk: number; replayRefusedOnOther: number; replayRefusedOnSame: number };
}

async function scaleOut(env: Env, rec: BenchRecord, body: Buffer): Promise<ScaleOut> {
  const hook: HookKind = 'order-sign';
  const out: ScaleOut = { note: '', size: rec.size, hook };
  const schema = await createPgSchema();
  if ('error' in schema) return { ...out, note: `PostgreSQL unavailable (${schema.error}): not measured` };
  // Behind a proxy both replicas answer to one public URL: tokens carry it as aud, so a token is valid on either.
  const base = 'http://pumpcheck-scale-out.bench.invalid';
  const aud = `${base}/cds-services/${SERVICE_ID[hook]}`;
  const replicas: Child[] = [];
  try {
    for (const label of ['replica-a', 'replica-b']) {
      replicas.push(await startService(env, { workers: 1, store: { kind: 'postgres', url: schema.url, schema: schema.schema }, label, publicBaseUrl: base }));
    }
    const [a, b] = replicas as [Child, Child];
    let acceptedOutsideLoad = 0;
    for (const r of replicas) {
      const res = await post(serviceUrl(r.port, hook), body, signToken(env.identity, aud));
      const check = checkServiceResponse(res.status, res.json, env.actions[hook]);
      if (!check.ok) return { ...out, note: `replica answered ${check.detail}` };
      acceptedOutsideLoad++;
    }
    const seconds = env.args.duration;
    const pool = await presign(env.identity, aud, Math.ceil(800 * seconds) + 200, 2, Math.max(120, seconds + 60));
    const source = new TokenSource(env.identity, aud, pool);
    const half = Math.max(1, Math.floor(env.args.connections / 2));
    const path_ = `/cds-services/${SERVICE_ID[hook]}`;
    await quietMachine([...a.pids(), ...b.pids()], env.args.quick ? 3 : 15);
    const loads = await Promise.all(
      replicas.map((r) => runLoad({ port: r.port, path: path_, body, connections: half, durationSeconds: seconds, token: () => source.take(), serverPids: r.pids(), settle: () => settled(r.port) })),
    );
    out.replicas = loads.map((l) => ({ rps: r1(l.rps), p99Ms: r1(l.latencyMs.p99), ok: l.ok, non2xx: l.non2xx, errors: l.errors + l.timeouts }));
    out.totalRps = r1(loads.reduce((x, l) => x + l.rps, 0));

    // Replay across replicas.
    const replayTokens = await presign(env.identity, aud, 20);
    const replay = { tokens: replayTokens.length, firstUseOk: 0, replayRefusedOnOther: 0, replayRefusedOnSame: 0 };
    for (const t of replayTokens) {
      if ((await post(serviceUrl(a.port, hook), body, t)).status === 200) replay.firstUseOk++;
      if ((await post(serviceUrl(b.port, hook), body, t)).status === 401) replay.replayRefusedOnOther++;
      if ((await post(serviceUrl(a.port, hook), body, t)).status === 401) replay.replayRefusedOnSame++;
    }
    out.replay = replay;
    for (const r of replicas) await settled(r.port);
    const dropped = (await Promise.all(replicas.map((r) => metric(r.port, 'pumpcheck_store_dropped_total')))).reduce<number>((x, d) => x + (d ?? 0), 0);
    // autocannon stops counting at the end of the duration while up to one request per connection is still being
    // answered, so the service's own count of 200s (all its requests were order-sign) is the reference.
    const answered = await Promise.all(replicas.map((r) => metric(r.port, 'pumpcheck_hook_requests_total\{[^}]*status="200"[^}]*\}')));
    const okTotal = answered.every((x) => x !== undefined)
      ? answered.reduce<number>((x, n) => x + (n ?? 0), 0)
      : loads.reduce((x, l) => x + l.ok, 0) + acceptedOutsideLoad + replay.firstUseOk;
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      const q = await client.query<{ n: string; d: string }>(`select count(*) as n, count(distinct id) as d from "${schema.schema}".assertions`);
      out.assertions = { expected: okTotal * env.actions[hook], stored: Number(q.rows[0]?.n), distinctIds: Number(q.rows[0]?.d), droppedByQueues: dropped };
    } finally {
      await client.end().catch(() => undefined);
    }
    out.note = `2 processes (WEB_CONCURRENCY=1 each) on PostgreSQL ${PG_URL.replace(/\/\/[^@]*@/, '//')} schema ${schema.schema} (dropped afterwards); ${half} connections each, ${seconds} s, at once`;
    log(`  scale-out: ${out.totalRps} req/s total (${out.replicas.map((x) => x.rps).join(' + ')}), assertions ${out.assertions.stored}/${out.assertions.expected}, replays refused ${replay.replayRefusedOnOther}/${replay.tokens} on the other replica`);
    return out;
  } finally {
    for (const r of replicas) await r.stop();
    await dropPgSchema(schema.schema).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Main runs

/** Builds dist/ (as `npm start`'s prestart does); returns the wall time, ms. */
function build(): number {
  log('building the production output (npm run build -- --force: from scratch, as on a fresh clone) ...');
  const t = performance.now();
  const r = spawnSync('npm', ['run', 'build', '--silent', '--', '--force'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
  return performance.now() - t;
}

function summariseProfiles(dir: string | undefined): ReturnType<typeof topSelfTime> | undefined {
  if (!dir) return undefined;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  // The largest profile is the process that did the work (the worker in cluster mode).
  const biggest = files.map((f) => path.join(dir, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0]!;
  log(`  CPU profile: ${biggest}`);
  return topSelfTime(JSON.parse(readFileSync(biggest, 'utf8')), 20);
}

async function benchmark(args: Args): Promise<void> {
  const started = performance.now();
  build();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-bench-'));
  const identity = createIdentity();
  const profileDir = args.profile ? path.join(ROOT, 'bench', 'results', 'profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const deps = engineDeps();
  const probe = buildRecord(50);
  const env: Env = {
    identity,
    tmp,
    args,
    orders: { 'order-sign': ordersEvaluated(probe, 'order-sign', deps), 'order-select': ordersEvaluated(probe, 'order-select', deps) },
    actions: { 'order-sign': await systemActionsExpected(probe, 'order-sign', deps), 'order-select': await systemActionsExpected(probe, 'order-select', deps) },
    ...(profileDir ? { profileDir } : {}),
  };
  const hooks: HookKind[] = ['order-sign', 'order-select'];
  const cases: { size: number; hook: HookKind }[] = args.only
    ? args.only
    : args.quick
    ? [...SIZES.map((size) => ({ size, hook: 'order-sign' as HookKind })), { size: 500, hook: 'order-select' }]
    : SIZES.flatMap((size) => hooks.map((hook) => ({ size, hook })));

  log('generating records ...');
  const records = new Map<number, BenchRecord>(SIZES.map((s) => [s, buildRecord(s)]));
  const bodies = new Map<string, Buffer>();
  for (const rec of records.values()) for (const hook of hooks) bodies.set(`${rec.size}/${hook}`, Buffer.from(JSON.stringify(hookBody(rec, hook))));
  const bodyOf = (size: number, hook: HookKind) => bodies.get(`${size}/${hook}`)!;

  const results: Results = {
    mode: args.only ? 'partial' : args.quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    machine: machine(),
    config: { durationSeconds: args.duration, connections: args.connections, bodyLimitBytes: BODY_LIMIT_BYTES, defaultBodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES, store: 'PGlite (embedded, temp DATA_DIR)', logLevel: 'info', nodeFlags: args.nodeFlags, serviceEnv: args.serviceEnv, warmupSeconds: args.warmupSeconds },
    signing: { msPerToken: r2(measureSignCost(identity)), strategy: 'pre-signed pool per case on 2 worker threads (unique jti, aud = exact URL); in-loop signing only if the pool runs dry (counted)' },
    records: [...records.values()].map((r) => ({
      size: r.size,
      resources: r.resources.length,
      smbgReadings: r.smbgReadings,
      historyDays: r.historyDays,
      bodyBytes: Object.fromEntries(hooks.map((h) => [h, bodyOf(r.size, h).length])),
      fitsDefaultBodyLimit: bodyOf(r.size, 'order-sign').length <= DEFAULT_BODY_LIMIT_BYTES,
    })),
    engine: [],
    engineFamilies: [],
    engineRatio20kTo5k: {},
    http: [],
    fallback: [],
    targets: [],
    runtimeSeconds: 0,
  };

  log('engine alone (in-process) ...');
  const engineCases = args.only ? [] : args.quick ? cases : SIZES.flatMap((size) => hooks.map((hook) => ({ size, hook })));
  for (const { size, hook } of engineCases) {
    const e = await timeEngine(records.get(size)!, hook, deps, {
      expectedOrders: env.orders[hook],
      warmup: args.quick ? 5 : 20,
      minIterations: args.quick ? 10 : 30,
      maxIterations: 20_000,
      minSeconds: args.quick ? 1 : 3,
      copies: 2,
    });
    results.engine.push(e);
    log(`  ${String(size).padStart(6)} ${hook.padEnd(12)} ${fmtMs(e.perOrderMedianMs)} ms/order median, ${fmtMs(e.perOrderP95Ms)} p95 (${e.iterations} iterations, GC ${fmtMs(e.gcMsPerRequest)} ms/request)`);
  }
  // Every pump family over the same records (order-sign), every policy loaded.
  log('engine per pump family (order-sign, every policy loaded) ...');
  const familySizes = args.only ? [] : args.quick ? [500, 5_000] : [...SIZES];
  for (const size of familySizes) {
    for (const f of FAMILIES.filter((x) => x.id !== 'insulin')) {
      const e = await timeEngine(records.get(size)!, 'order-sign', deps, {
        expectedOrders: 0,
        family: f.id,
        warmup: args.quick ? 5 : 10,
        minIterations: args.quick ? 10 : 20,
        maxIterations: 20_000,
        minSeconds: args.quick ? 0.5 : 1.5,
        copies: 2,
      });
      results.engineFamilies.push(e);
      log(`  ${String(size).padStart(6)} ${f.id.padEnd(18)} ${fmtMs(e.perOrderMedianMs)} ms/order median (${e.orders} orders: ${Object.values(e.outcomes ?? {}).join(', ')})`);
    }
  }
  for (const f of FAMILIES.filter((x) => x.id !== 'insulin')) {
    const a = results.engineFamilies.find((e) => e.size === 20_000 && e.family === f.id);
    const b = results.engineFamilies.find((e) => e.size === 5_000 && e.family === f.id);
    if (a && b) results.engineRatio20kTo5k[`order-sign ${f.id}`] = a.perOrderMedianMs / b.perOrderMedianMs;
  }
  for (const hook of hooks) {
    const a = results.engine.find((e) => e.size === 20_000 && e.hook === hook);
    const b = results.engine.find((e) => e.size === 5_000 && e.hook === hook);
    if (a && b) results.engineRatio20kTo5k[hook] = a.perOrderMedianMs / b.perOrderMedianMs;
  }

  if (args.engineOnly) {
    results.mode = 'partial';
    return finish(results, started);
  }
  const children: Child[] = [];
  try {
    log('starting the floor and the service (1 worker, PGlite) ...');
    const floor = await startFloor(env);
    children.push(floor);
    const service = await startService(env, { workers: 1, store: { kind: 'pglite', dataDir: path.join(tmp, 'data') }, label: 'w1-pglite' });
    children.push(service);

    log(`HTTP load (${args.connections} connections, ${args.duration} s per case):`);
    for (const { size, hook } of cases) results.http.push(await httpCase(env, service, floor, records.get(size)!, hook, bodyOf(size, hook)));
    results.store = { written: await metric(service.port, 'pumpcheck_store_written_total'), dropped: await metric(service.port, 'pumpcheck_store_dropped_total') };
    log(`  assertions stored ${results.store.written ?? '?'}, dropped ${results.store.dropped ?? '?'}`);

    if (!args.only) {
      log('FHIR fallback path ...');
      const fallbackRecords = args.quick ? [records.get(500)!] : [records.get(500)!, records.get(5000)!];
      results.fallback = await fallbackPath(env, service, fallbackRecords, args.quick ? { 500: 5 } : { 500: 30, 5000: 15 });
    }

    await service.stop();
    await floor.stop();
    children.length = 0;
    results.profile = summariseProfiles(profileDir);
    if (args.only) return finish(results, started);

    log('WEB_CONCURRENCY=1 vs 2 (5,000 resources, order-sign, PostgreSQL) ...');
    const schema = await createPgSchema();
    if ('error' in schema) {
      results.webConcurrency = { note: `PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')} unavailable (${schema.error}): not measured`, runs: [] };
    } else {
      try {
        const runs: { workers: number; processes: number; result: HttpCase }[] = [];
        for (const workers of [1, 2]) {
          const s = await startService(env, { workers, store: { kind: 'postgres', url: schema.url, schema: schema.schema }, label: `w${workers}-postgres` });
          children.push(s);
          const processes = Math.max(1, s.workers.length);
          runs.push({ workers, processes, result: await httpCase(env, s, undefined, records.get(5000)!, 'order-sign', bodyOf(5000, 'order-sign'), workers) });
          await s.stop();
          children.length = 0;
        }
        const [one, two] = runs;
        const clustered = (two?.processes ?? 1) >= 2;
        results.webConcurrency = {
          note: clustered
            ? `schema ${schema.schema} (dropped afterwards); with WEB_CONCURRENCY=2 the primary forked ${two!.processes} workers`
            : 'WEB_CONCURRENCY=2 started no worker processes (cluster mode not in src/main.ts yet): both rows are one process',
          runs,
          ...(one?.result.service && two?.result.service ? { gain: two.result.service.rps / one.result.service.rps } : {}),
        };
      } finally {
        await dropPgSchema(schema.schema).catch((err: Error) => log(`  (could not drop schema ${schema.schema}: ${err.message})`));
      }
    }
    log('scale-out: two service processes on one PostgreSQL (500 resources, order-sign) ...');
    results.scaleOut = await scaleOut(env, records.get(500)!, bodyOf(500, 'order-sign'));
  } finally {
    for (const c of children) await c.stop();
    // A partial run keeps the service logs for inspection.
    if (args.only) log(`service and floor logs kept in ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }

  finish(results, started);
}

function finish(results: Results, started: number): void {
  results.targets = targetsOf(results);
  results.machine.loadAverageAtEnd = os.loadavg().map(r2);
  results.runtimeSeconds = (performance.now() - started) / 1000;
  const outDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  // Only a full run replaces the published results (latest.*); quick and partial runs write their own files.
  const name = results.mode === 'full' ? 'latest' : results.mode;
  writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(results, (k, v) => (k === 'samples' ? undefined : v), 2)}\n`);
  const md = markdown(results);
  writeFileSync(path.join(outDir, `${name}.md`), `${md}\n`);
  log('');
  log(md);
  log(`\nwritten: bench/results/${name}.json, bench/results/${name}.md`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Soak

/** The heap of the service's first worker after a full GC: its probe listens on the base port + the worker id (1). */
async function heapUsed(basePort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${basePort + 1}/heap`, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`heap probe answered ${res.status}`);
  return ((await res.json()) as { heapUsed: number }).heapUsed;
}

/** Resident set size of processes, bytes (0 for a process that is gone or off Linux). */
function rssOf(pids: number[]): number {
  return pids.reduce((total, pid) => total + (procMemory(pid)?.rssKb || 0) * 1024, 0);
}

async function soak(args: Args): Promise<void> {
  const started = performance.now();
  build();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-soak-'));
  const identity = createIdentity();
  const rec = buildRecord(500);
  const deps = engineDeps();
  const env: Env = {
    identity,
    tmp,
    args,
    orders: { 'order-sign': ordersEvaluated(rec, 'order-sign', deps), 'order-select': ordersEvaluated(rec, 'order-select', deps) },
    actions: { 'order-sign': await systemActionsExpected(rec, 'order-sign', deps), 'order-select': await systemActionsExpected(rec, 'order-select', deps) },
  };
  const hook: HookKind = 'order-sign';
  const body = Buffer.from(JSON.stringify(hookBody(rec, hook)));
  // The probe's base port (the primary's) and the next one (worker 1's) must both be free.
  let probePort = await freePort();
  while (!(await portFree(probePort + 1))) probePort = await freePort();
  const service = await startService(env, { workers: 1, store: { kind: 'pglite', dataDir: path.join(tmp, 'data') }, heapProbePort: probePort, label: 'soak' });
  const path_ = `/cds-services/${SERVICE_ID[hook]}`;
  const url = serviceUrl(service.port, hook);
  try {
    const check = await verifyService(env, service.port, hook, body);
    if (!check.ok) throw new Error(`service answered ${check.detail}`);
    const peakSeconds = Math.min(10, args.duration);
    log(`peak throughput (${peakSeconds} s, ${args.connections} connections) ...`);
    const { source } = await tokenPool(env, service.port, hook, body, 1, 20_000, peakSeconds + 3);
    // 3 s unmeasured first (JIT warm-up), then the peak on a quiet machine if it can be had.
    await runLoad({ port: service.port, path: path_, body, connections: args.connections, durationSeconds: 3, token: () => source.take() });
    await quietMachine(service.pids(), 15);
    const peak = await runLoad({ port: service.port, path: path_, body, connections: args.connections, durationSeconds: peakSeconds, token: () => source.take(), serverPids: service.pids() });
    const rate = Math.max(1, Math.round(0.7 * peak.rps));
    log(`  peak ${r1(peak.rps)} req/s → soak at ${rate} req/s`);
    // Fresh short-lived tokens signed in the loop (affordable at a fixed rate): the service's jti replay memory then
    // reaches its steady size (lifetime + clock skew) during the warm-up, before the first heap sample.
    const lifetime = 30;
    const warmSeconds = args.soakWarmupSeconds;
    const fresh = () => signToken(identity, url, lifetime);
    log(`warm-up ${warmSeconds} s at ${rate} req/s ...`);
    const warm = await runLoad({ port: service.port, path: path_, body, connections: args.connections, durationSeconds: warmSeconds, token: fresh, overallRate: rate, serverPids: service.pids(), settle: () => settled(service.port) });
    await new Promise((r) => setTimeout(r, 2000));
    const heapStart = await heapUsed(probePort);
    // Resident memory of the service's processes (the worker and its primary), right after the same forced GC.
    const rssStart = rssOf(service.pids());
    log(`  heap after GC at start: ${r1(heapStart / 2 ** 20)} MiB, RSS ${r1(rssStart / 2 ** 20)} MiB; soak ${args.soakSeconds} s ...`);
    let rssMax = rssStart;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssOf(service.pids()))), 5000);
    let run: Awaited<ReturnType<typeof runLoad>>;
    try {
      run = await runLoad({ port: service.port, path: path_, body, connections: args.connections, durationSeconds: args.soakSeconds, token: fresh, overallRate: rate, serverPids: service.pids(), settle: () => settled(service.port) });
    } finally {
      clearInterval(sampler);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const store = { written: await metric(service.port, 'pumpcheck_store_written_total'), dropped: await metric(service.port, 'pumpcheck_store_dropped_total') };
    const heapEnd = await heapUsed(probePort);
    const rssEnd = rssOf(service.pids());
    const rssChange = (rssEnd - rssStart) / rssStart;
    const change = (heapEnd - heapStart) / heapStart;
    const errors = run.non2xx + run.errors + run.timeouts + warm.non2xx + warm.errors + warm.timeouts;
    const out = {
      date: new Date().toISOString(),
      machine: machine(),
      case: { size: 500, hook, connections: args.connections },
      peakRps: r1(peak.rps),
      rate,
      warmup: { seconds: warmSeconds, ...warm },
      soak: run,
      heap: { startBytes: heapStart, endBytes: heapEnd, change: r2(change * 100) / 100 },
      rss: { startBytes: rssStart, endBytes: rssEnd, maxBytes: rssMax, change: r2(rssChange * 100) / 100 },
      store,
      targets: [
        { name: 'soak errors', value: String(errors), target: '0', pass: errors === 0 },
        { name: 'assertions dropped by the store queue', value: String(store.dropped ?? '?'), target: '0', pass: store.dropped === 0 },
        { name: 'heap after GC, end vs start', value: `${(change * 100).toFixed(1)}%`, target: 'within ±10%', pass: Math.abs(change) <= 0.1 },
        { name: 'RSS (primary + worker) after GC, end vs start', value: `${(rssChange * 100).toFixed(1)}%`, target: 'within ±10%', pass: Math.abs(rssChange) <= 0.1 },
      ],
      runtimeSeconds: (performance.now() - started) / 1000,
    };
    const md = [
      `### Soak — ${out.date}`,
      '',
      `${out.machine.cpuModel}, ${out.machine.cpus} cores, Node ${out.machine.node}, commit ${out.machine.commit ?? '?'}. 500 resources, order-sign, ${args.connections} connections; peak ${out.peakRps} req/s, soak at ${rate} req/s (70%) for ${args.soakSeconds} s after a ${warmSeconds} s warm-up.`,
      '',
      '| achieved req/s | p50 / p95 / p99 ms | non-2xx | errors | heap after GC start → end | RSS start → end (max) | assertions stored / dropped | other load |',
      '|---:|---|---:|---:|---|---|---|---:|',
      `| ${r1(run.rps)} | ${fmtMs(run.latencyMs.p50)} / ${fmtMs(run.latencyMs.p95)} / ${fmtMs(run.latencyMs.p99)} | ${run.non2xx} | ${run.errors + run.timeouts} | ${r1(heapStart / 2 ** 20)} → ${r1(heapEnd / 2 ** 20)} MiB (${(change * 100).toFixed(1)}%) | ${r1(rssStart / 2 ** 20)} → ${r1(rssEnd / 2 ** 20)} MiB (${r1(rssMax / 2 ** 20)}; ${(rssChange * 100).toFixed(1)}%) | ${store.written ?? '?'} / ${store.dropped ?? '?'} | ${Math.round(100 * run.cpu.foreignShare)}% |`,
      '',
      ...out.targets.map((t) => `- ${t.pass ? '✅' : '❌'} ${t.name}: ${t.value} (target ${t.target})`),
    ].join('\n');
    const outDir = path.join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'soak.json'), `${JSON.stringify(out, (k, v) => (k === 'samples' ? undefined : v), 2)}\n`);
    writeFileSync(path.join(outDir, 'soak.md'), `${md}\n`);
    log('');
    log(md);
    log('\nwritten: bench/results/soak.json, bench/results/soak.md');
  } finally {
    await service.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2));
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}
const startup = async (a: Args) => {
  const buildMs = build();
  await startupBench({ laterStarts: a.laterStarts, rounds: a.rounds, requestsPerRound: 200, idleAfterReadySeconds: 5, steadyAfterReadySeconds: 20, idleAfterLoadSeconds: 20, nodeFlags: a.nodeFlags, serviceEnv: a.serviceEnv, buildMs }, log);
};
(args.startup ? startup(args) : args.soak ? soak(args) : benchmark(args)).catch((err: Error) => {
  killAllChildren();
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
