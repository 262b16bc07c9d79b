// One bounded load run with autocannon on loopback: fixed duration, fixed connections (or a fixed overall rate), the
// same pre-serialised body every request and a fresh Authorization header per request (setupRequest). Latency is
// recorded per response here (autocannon's own histogram has 1 ms resolution and no p95).
import os from 'node:os';
import autocannon, { type Result } from 'autocannon';
import { percentile } from './engine.js';
import { cpuMsOf, machineBusyMs } from './proc.js';

export interface LoadOptions {
  port: number;
  path: string;
  body: Buffer;
  connections: number;
  durationSeconds: number;
  /** A bearer token per request. */
  token: () => string;
  /** Requests/s over all connections (soak); unlimited when absent. */
  overallRate?: number;
  timeoutSeconds?: number;
  /** Server processes whose CPU time is accounted to this run. */
  serverPids?: number[];
  /** Awaited after the load, before the closing CPU sample: deferred work (queued store writes) belongs to the run. */
  settle?: () => Promise<void>;
}

export interface LoadResult {
  durationSeconds: number;
  connections: number;
  requests: number;
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: { mean: number; p50: number; p95: number; p99: number; max: number };
  /**
   * CPU accounting over the run (ms): the server processes, this load generator, and everything else on the machine
   * (other tenants' work makes throughput noisy; CPU per request is not affected by it).
   */
  cpu: { serverMs: number; generatorMs: number; foreignMs: number; serverMsPerRequest: number; foreignShare: number };
  /** Raw latencies (ms), for merging runs; not written to the results. */
  samples?: number[];
}

/** Several slices of one case (interleaved with the floor's) as one result. */
export function mergeLoads(parts: LoadResult[]): LoadResult {
  const samples = parts.flatMap((p) => p.samples ?? []).sort((a, b) => a - b);
  const sum = (f: (p: LoadResult) => number) => parts.reduce((a, p) => a + f(p), 0);
  const statusCodes: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v;
  const durationSeconds = sum((p) => p.durationSeconds);
  const requests = sum((p) => p.requests);
  const serverMs = sum((p) => p.cpu.serverMs);
  const generatorMs = sum((p) => p.cpu.generatorMs);
  const foreignMs = sum((p) => p.cpu.foreignMs);
  return {
    durationSeconds,
    connections: parts[0]?.connections ?? 0,
    requests,
    rps: requests / durationSeconds,
    ok: sum((p) => p.ok),
    non2xx: sum((p) => p.non2xx),
    errors: sum((p) => p.errors),
    timeouts: sum((p) => p.timeouts),
    statusCodes,
    latencyMs: latencySummary(samples),
    cpu: { serverMs, generatorMs, foreignMs, serverMsPerRequest: serverMs / Math.max(1, requests), foreignShare: sum((p) => p.cpu.foreignShare * p.durationSeconds) / durationSeconds },
    samples,
  };
}

const cpuCount = () => Math.max(1, os.cpus().length);

function latencySummary(sorted: number[]): LoadResult['latencyMs'] {
  const n = sorted.length;
  return {
    mean: n ? sorted.reduce((a, b) => a + b, 0) / n : NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : NaN,
  };
}

export function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (!/^\/[\w\-./]*$/.test(o.path)) throw new Error(`bad path ${o.path}`);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const serverPids = o.serverPids ?? [];
  const server0 = cpuMsOf(serverPids);
  const gen0 = process.cpuUsage();
  const busy0 = machineBusyMs();
  const wall0 = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${o.port}`,
        connections: o.connections,
        duration: o.durationSeconds,
        timeout: o.timeoutSeconds ?? 30,
        ...(o.overallRate ? { overallRate: o.overallRate } : {}),
        requests: [
          {
            method: 'POST',
            path: o.path,
            headers: { 'content-type': 'application/json' },
            body: o.body,
            setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${o.token()}` } }),
          },
        ],
      },
      (err, result) => {
        if (err) {
          reject(err);
          return;
        }
        void (o.settle ?? (async () => undefined))().then(() => finish(result), reject);
      },
    );
    const finish = (result: Result) => {
        const wallSeconds = (performance.now() - wall0) / 1000;
        const sorted = latencies.sort((a, b) => a - b);
        const n = sorted.length;
        const ok = Object.entries(statusCodes)
          .filter(([s]) => s.startsWith('2'))
          .reduce((a, [, c]) => a + c, 0);
        const serverMs = cpuMsOf(serverPids) - server0;
        const g = process.cpuUsage(gen0);
        const generatorMs = (g.user + g.system) / 1000;
        const foreignMs = Math.max(0, machineBusyMs() - busy0 - serverMs - generatorMs);
        resolve({
          durationSeconds: result.duration,
          connections: o.connections,
          requests: n,
          rps: n / result.duration,
          ok,
          non2xx: n - ok,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
          latencyMs: latencySummary(sorted),
          cpu: { serverMs, generatorMs, foreignMs, serverMsPerRequest: serverMs / Math.max(1, n), foreignShare: foreignMs / (wallSeconds * 1000 * cpuCount()) },
          samples: sorted,
        });
    };
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    });
  });
}
