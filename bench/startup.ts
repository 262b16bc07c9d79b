// `npm run bench -- --startup` — start-up time and idle memory of the real service (issue 14), from the built dist/.
//   (a) first start on a fresh DATA_DIR (the template is unpacked) → time to /readyz 200;
//   (b) later starts on the same DATA_DIR (3 runs; median and max);
//   (c) resident memory (VmRSS, /proc) of the supervising primary and of its worker, ~5 s after ready and again after
//       rounds of 200 order-sign requests (ES384 JWT each, 500-resource record) followed by 10 s idle; the worker's V8
//       heap and external memory from its own /metrics (prom-client default metrics).
// Writes bench/results/startup.{json,md}. Memory figures are hardly affected by other load on the machine; start-up
// times are (the load average is recorded next to every figure).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childPids, cpuMsOf, descendantPids, freePort, procMemory, ROOT, startChild, type Child } from './proc.js';
import { buildRecord, hookBody } from './records.js';
import { createIdentity, presign, type BenchIdentity } from './tokens.js';

export interface StartupOptions {
  /** Later starts on the same DATA_DIR (default 3). */
  laterStarts: number;
  /** Rounds of `requestsPerRound` requests after the last later start (default 3). */
  rounds: number;
  requestsPerRound: number;
  /** Idle time before memory samples after ready (first sample, then the steady one), seconds. */
  idleAfterReadySeconds: number;
  steadyAfterReadySeconds: number;
  idleAfterLoadSeconds: number;
  /** Extra node flags and environment for the service (experiments; named in the report). */
  nodeFlags: string[];
  serviceEnv: Record<string, string>;
  /** Wall time of the build the caller ran before (npm start's prestart step), ms. */
  buildMs?: number;
}

interface ProcMem {
  pid: number;
  rssMiB: number;
  /** Peak RSS (VmHWM). */
  hwmMiB: number;
  threads: number;
}

interface MemSample {
  label: string;
  loadAverage: number[];
  primary?: ProcMem;
  worker?: ProcMem;
  /** From the worker's /metrics (one worker: the aggregate is its own). */
  heap?: { usedMiB?: number; totalMiB?: number; externalMiB?: number };
}

interface StartRun {
  /** `npm`: a later start through `npm start` (its prestart's up-to-date check and npm itself included). */
  kind: 'first' | 'later' | 'npm';
  readyMs: number;
  /** CPU time (user + system, all threads) the primary and its worker used until ready: unaffected by other load. */
  cpuMs: number;
  loadAverage: number[];
  /** How the data directory came to be, from the worker's log ("existing", "template", "initdb"). */
  initialised?: string;
}

const SERVICE_ID = 'pumpcheck-order-sign';
const METRICS_TOKEN = randomBytes(16).toString('hex');
const MiB = 2 ** 20;
const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadAverage = () => os.loadavg().map(r2);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function procMem(pid: number): ProcMem | undefined {
  const m = procMemory(pid);
  return m && { pid, rssMiB: r1(m.rssKb / 1024), hwmMiB: r1(m.hwmKb / 1024), threads: m.threads };
}

async function metricsText(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

function metricOf(text: string | undefined, name: string): number | undefined {
  if (!text) return undefined;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function sample(child: Child, label: string): Promise<MemSample> {
  const primaryPid = child.proc.pid!;
  const workerPid = childPids(primaryPid)[0];
  const text = await metricsText(child.port);
  const mib = (name: string) => {
    const v = metricOf(text, name);
    return v === undefined ? undefined : r1(v / MiB);
  };
  // Read /proc after the scrape, so the scrape's own allocation is included rather than racing it.
  return {
    label,
    loadAverage: loadAverage(),
    primary: procMem(primaryPid),
    ...(workerPid ? { worker: procMem(workerPid) } : {}),
    heap: {
      usedMiB: mib('nodejs_heap_size_used_bytes'),
      totalMiB: mib('nodejs_heap_size_total_bytes'),
      externalMiB: mib('nodejs_external_memory_bytes'),
    },
  };
}

interface Service {
  child: Child;
  readyMs: number;
  cpuMs: number;
}

async function start(o: StartupOptions, identity: BenchIdentity, dataDir: string, tmp: string, label: string, viaNpm = false): Promise<Service> {
  const port = await freePort();
  const t = performance.now();
  const child = await startChild({
    name: `service (${label})`,
    // `npm start`: its prestart (the build, up to date here: a check of the inputs) and npm's own start-up included.
    ...(viaNpm ? { command: 'npm', args: ['start', '--silent'] } : { args: [...o.nodeFlags, path.join(ROOT, 'dist', 'src', 'main.js')] }),
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      CDS_TRUSTED_ISSUERS: identity.trustedIssuers,
      PATIENT_HASH_SECRET: randomBytes(24).toString('hex'),
      WEB_CONCURRENCY: '1',
      METRICS_TOKEN,
      DATA_DIR: dataDir,
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      FHIR_SERVER_ALLOWLIST: 'http://127.0.0.1:*',
      ...o.serviceEnv,
    },
    port,
    readyPath: '/readyz',
    logFile: path.join(tmp, `service-${label}.log`),
    readyTimeoutMs: 120_000,
    pollMs: 20,
  });
  const readyMs = performance.now() - t;
  return { child, readyMs, cpuMs: cpuMsOf([child.proc.pid!, ...descendantPids(child.proc.pid!)]) };
}

/** How the worker said the data directory was opened (its "store ready"/thread log line), if it said. */
function initialisedFrom(logFile: string): string | undefined {
  const text = readFileSync(logFile, 'utf8');
  return /"initialised":"(\w+)"/.exec(text)?.[1];
}

/** `n` order-sign requests, 4 at a time; returns how many answered 200. */
async function load(child: Child, identity: BenchIdentity, body: Buffer, n: number): Promise<{ ok: number; other: Record<string, number>; seconds: number }> {
  const url = `http://127.0.0.1:${child.port}/cds-services/${SERVICE_ID}`;
  const tokens = await presign(identity, url, n, 2);
  const other: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < tokens.length) {
        const token = tokens[next++]!;
        try {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body, signal: AbortSignal.timeout(60_000) });
          await res.arrayBuffer();
          if (res.status === 200) ok++;
          else other[res.status] = (other[res.status] ?? 0) + 1;
        } catch (err) {
          const k = (err as Error).name;
          other[k] = (other[k] ?? 0) + 1;
        }
      }
    }),
  );
  return { ok, other, seconds: (performance.now() - t) / 1000 };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export async function startupBench(o: StartupOptions, log: (s: string) => void): Promise<void> {
  const began = performance.now();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-startup-'));
  const dataDir = path.join(tmp, 'data');
  const identity = createIdentity();
  const body = Buffer.from(JSON.stringify(hookBody(buildRecord(500), 'order-sign')));
  const starts: StartRun[] = [];
  const samples: MemSample[] = [];
  const loads: { label: string; ok: number; other: Record<string, number>; seconds: number }[] = [];
  const showSample = (s: MemSample) =>
    log(
      `  ${s.label}: worker ${s.worker?.rssMiB ?? '?'} MiB (peak ${s.worker?.hwmMiB ?? '?'}), primary ${s.primary?.rssMiB ?? '?'} MiB; ` +
        `V8 heap ${s.heap?.usedMiB ?? '?'}/${s.heap?.totalMiB ?? '?'} MiB, external ${s.heap?.externalMiB ?? '?'} MiB; load ${s.loadAverage.join(' / ')}`,
    );
  let current: Child | undefined;
  /** Two samples after ready: soon (as a health check would see it) and once the service has settled. */
  const idleSamples = async (what: string) => {
    await sleep(o.idleAfterReadySeconds * 1000);
    samples.push(await sample(current!, `${what}, ${o.idleAfterReadySeconds} s after ready`));
    showSample(samples.at(-1)!);
    await sleep((o.steadyAfterReadySeconds - o.idleAfterReadySeconds) * 1000);
    samples.push(await sample(current!, `${what}, ${o.steadyAfterReadySeconds} s after ready`));
    showSample(samples.at(-1)!);
  };
  try {
    log(`first start on a fresh DATA_DIR ...`);
    let svc = await start(o, identity, dataDir, tmp, 'first');
    current = svc.child;
    starts.push({ kind: 'first', readyMs: svc.readyMs, cpuMs: svc.cpuMs, loadAverage: loadAverage(), initialised: initialisedFrom(svc.child.logFile) });
    log(`  ready in ${Math.round(svc.readyMs)} ms, ${Math.round(svc.cpuMs)} ms CPU (${starts[0]!.initialised ?? '?'})`);
    await idleSamples('first start');
    await svc.child.stop();
    current = undefined;

    for (let i = 1; i <= o.laterStarts; i++) {
      log(`later start ${i}/${o.laterStarts} ...`);
      svc = await start(o, identity, dataDir, tmp, `later-${i}`);
      current = svc.child;
      starts.push({ kind: 'later', readyMs: svc.readyMs, cpuMs: svc.cpuMs, loadAverage: loadAverage(), initialised: initialisedFrom(svc.child.logFile) });
      log(`  ready in ${Math.round(svc.readyMs)} ms, ${Math.round(svc.cpuMs)} ms CPU`);
      await idleSamples(`later start ${i}`);
      if (i < o.laterStarts) {
        await svc.child.stop();
        current = undefined;
        continue;
      }
      for (let round = 1; round <= o.rounds; round++) {
        const l = await load(svc.child, identity, body, o.requestsPerRound);
        loads.push({ label: `round ${round}`, ...l });
        log(`  round ${round}: ${l.ok}/${o.requestsPerRound} answered 200 in ${r1(l.seconds)} s${Object.keys(l.other).length ? ` (other: ${JSON.stringify(l.other)})` : ''}`);
        await sleep(o.idleAfterLoadSeconds * 1000);
        samples.push(await sample(svc.child, `after ${round * o.requestsPerRound} requests + ${o.idleAfterLoadSeconds} s idle`));
        showSample(samples.at(-1)!);
      }
      await svc.child.stop();
      current = undefined;
    }
    log('later start through npm start ...');
    svc = await start(o, identity, dataDir, tmp, 'npm-start', true);
    current = svc.child;
    starts.push({ kind: 'npm', readyMs: svc.readyMs, cpuMs: svc.cpuMs, loadAverage: loadAverage(), initialised: initialisedFrom(svc.child.logFile) });
    log(`  ready in ${Math.round(svc.readyMs)} ms, ${Math.round(svc.cpuMs)} ms CPU`);
    await svc.child.stop();
    current = undefined;
  } finally {
    await current?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  const first = starts.find((s) => s.kind === 'first')!;
  const later = starts.filter((s) => s.kind === 'later').map((s) => s.readyMs);
  const idleAfterLater = samples.filter((s) => s.label.startsWith('later start')).map((s) => s.worker?.rssMiB ?? NaN);
  const afterLoad = samples.filter((s) => s.label.startsWith('after '));
  // Settled samples: the steady one after each start and every one after load (the first seconds after ready are shown
  // too, but start-up garbage is still being collected then).
  const settled = samples.filter((s) => s.label.endsWith(`${o.steadyAfterReadySeconds} s after ready`) || s.label.startsWith('after '));
  const rss = (xs: MemSample[]) => xs.map((s) => s.worker?.rssMiB ?? NaN);
  const failed = loads.reduce((n, l) => n + (o.requestsPerRound - l.ok), 0);
  const laterCpu = starts.filter((s) => s.kind === 'later').map((s) => s.cpuMs);
  const npmStart = starts.find((s) => s.kind === 'npm')!;
  const targets = [
    { name: 'first start on a fresh DATA_DIR, to /readyz (node dist; + build)', value: `${r1(first.readyMs / 1000)} s, ${r1(first.cpuMs / 1000)} s CPU${o.buildMs !== undefined ? ` (+ ${r1(o.buildMs / 1000)} s build = ${r1((first.readyMs + o.buildMs) / 1000)} s)` : ''}`, target: '< 10 s', pass: first.readyMs + (o.buildMs ?? 0) < 10_000 },
    { name: 'later start, to /readyz (median / max of runs)', value: `${r1(median(later) / 1000)} / ${r1(Math.max(...later) / 1000)} s; CPU median ${r1(median(laterCpu) / 1000)} s`, target: '< 2 s', pass: Math.max(...later) < 2_000 },
    { name: 'later `npm start` (build up to date), to /readyz', value: `${r1(npmStart.readyMs / 1000)} s, ${r1(npmStart.cpuMs / 1000)} s CPU (npm, its prestart check and the service)`, target: '< 2 s', pass: npmStart.readyMs < 2_000 },
    { name: 'worker RSS, idle, settled (every start and every round)', value: `${r1(Math.min(...rss(settled)))}–${r1(Math.max(...rss(settled)))} MiB`, target: '< 250 MiB', pass: Math.max(...rss(settled)) < 250 },
    { name: `worker RSS, ${o.idleAfterReadySeconds} s after ready`, value: `${r1(Math.min(...rss(samples.filter((s) => !settled.includes(s)))))}–${r1(Math.max(...rss(samples.filter((s) => !settled.includes(s)))))} MiB`, target: '< 250 MiB', pass: Math.max(...rss(samples.filter((s) => !settled.includes(s)))) < 250 },
    {
      name: 'worker RSS flat under load rounds (last − first after-load sample)',
      value: afterLoad.length > 1 ? `${r1((afterLoad.at(-1)!.worker?.rssMiB ?? NaN) - (afterLoad[0]!.worker?.rssMiB ?? NaN))} MiB` : 'n/a',
      target: '≤ 10 MiB',
      pass: afterLoad.length > 1 && (afterLoad.at(-1)!.worker?.rssMiB ?? Infinity) - (afterLoad[0]!.worker?.rssMiB ?? 0) <= 10,
    },
    { name: 'requests answered 200', value: `${loads.reduce((n, l) => n + l.ok, 0)} of ${o.rounds * o.requestsPerRound}`, target: 'all', pass: failed === 0 },
  ];
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', totalMemGiB: r1(os.totalmem() / 2 ** 30), node: process.version, commit: git(['rev-parse', '--short', 'HEAD']), dirty: (git(['status', '--porcelain']) ?? '').length > 0 },
    config: { nodeFlags: o.nodeFlags, serviceEnv: Object.fromEntries(Object.entries(o.serviceEnv).map(([k, v]) => [k, /URL|SECRET|TOKEN/.test(k) ? '…' : v])), laterStarts: o.laterStarts, rounds: o.rounds, requestsPerRound: o.requestsPerRound, record: '500 resources, order-sign' },
    buildMs: o.buildMs === undefined ? undefined : Math.round(o.buildMs),
    starts: starts.map((s) => ({ ...s, readyMs: Math.round(s.readyMs), cpuMs: Math.round(s.cpuMs) })),
    laterReadyMs: { median: Math.round(median(later)), max: Math.round(Math.max(...later)) },
    idleWorkerRssAfterLaterStartsMiB: idleAfterLater,
    samples,
    loads,
    targets,
    runtimeSeconds: Math.round((performance.now() - began) / 1000),
  };
  const md: string[] = [];
  md.push(`### Start-up and idle memory — ${out.date}`);
  md.push('');
  md.push(
    `${out.machine.cpuModel}, ${out.machine.cpus} cores, ${out.machine.totalMemGiB} GiB, Node ${out.machine.node}, commit ${out.machine.commit ?? '?'}${out.machine.dirty ? ' (uncommitted changes)' : ''}. ` +
      `\`node ${o.nodeFlags.length ? `${o.nodeFlags.join(' ')} ` : ''}dist/src/main.js\`, NODE_ENV=production, WEB_CONCURRENCY=1, embedded PGlite in a fresh temp DATA_DIR, JWT auth on` +
      (Object.keys(out.config.serviceEnv).length ? `; environment overridden: ${Object.entries(out.config.serviceEnv).map(([k, v]) => `${k}=${v}`).join(', ')}` : '') +
      '.',
  );
  md.push('');
  md.push('| start | to /readyz | CPU until ready (primary + worker, all threads) | data directory | load average (1 / 5 / 15 min) |');
  md.push('|---|---:|---:|---|---|');
  if (o.buildMs !== undefined) md.push(`| \`npm run build\` from scratch (npm start's prestart on a fresh clone; later, an up-to-date check) | ${r1(o.buildMs / 1000)} s | | | |`);
  for (const s of out.starts) md.push(`| ${s.kind === 'npm' ? 'later, `npm start`' : s.kind} | ${r1(s.readyMs / 1000)} s | ${r1(s.cpuMs / 1000)} s | ${s.initialised ?? '?'} | ${s.loadAverage.join(' / ')} |`);
  md.push('');
  md.push(`Later starts: median ${r1(out.laterReadyMs.median / 1000)} s, max ${r1(out.laterReadyMs.max / 1000)} s.`);
  md.push('');
  md.push('| when | worker RSS (peak) | primary RSS (peak) | worker V8 heap used / total | worker external | threads (worker) | load average |');
  md.push('|---|---:|---:|---:|---:|---:|---|');
  for (const s of samples) {
    md.push(
      `| ${s.label} | ${s.worker?.rssMiB ?? '?'} (${s.worker?.hwmMiB ?? '?'}) MiB | ${s.primary?.rssMiB ?? '?'} (${s.primary?.hwmMiB ?? '?'}) MiB | ${s.heap?.usedMiB ?? '?'} / ${s.heap?.totalMiB ?? '?'} MiB | ${s.heap?.externalMiB ?? '?'} MiB | ${s.worker?.threads ?? '?'} | ${s.loadAverage.join(' / ')} |`,
    );
  }
  md.push('');
  md.push(`Load rounds: ${loads.map((l) => `${l.ok}/${o.requestsPerRound} in ${r1(l.seconds)} s`).join('; ')} (500-resource order-sign, 4 at a time, one ES384 JWT each).`);
  md.push('');
  md.push('Targets:');
  md.push('');
  for (const t of targets) md.push(`- ${t.pass ? '✅' : '❌'} ${t.name}: ${t.value} (target ${t.target})`);
  md.push('');
  md.push(`Run took ${out.runtimeSeconds} s.`);
  const outDir = path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'startup.json'), `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(path.join(outDir, 'startup.md'), `${md.join('\n')}\n`);
  log('');
  log(md.join('\n'));
  log('\nwritten: bench/results/startup.json, bench/results/startup.md');
}
