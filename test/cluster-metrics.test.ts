// GET /metrics with WEB_CONCURRENCY=2: whichever worker a scrape reaches, it reads the totals of both workers
// (aggregated by the primary), and Node's default process metrics keep their standard names.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.js';
import { dropSchema } from '../src/store/db.js';
import { POSTGRES_URL } from './store-support.js';
import { hookBody, minimalPrefetch } from './support/requests.js';
import { freePort } from '../bench/proc.js';

const schema = `metrics_${process.pid}_${Date.now().toString(36)}`;
const N = 7;

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

/** The service from source with `workers` workers on the test schema; `listening(n)` waits for n workers. */
async function startService(workers: number) {
  const port = await freePort();
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', WEB_CONCURRENCY: String(workers), DATABASE_URL: url.toString(), LOG_LEVEL: 'info' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const until = Date.now() + 90_000;
  const listening = async (n: number) => {
    while ((out.match(/pumpcheck listening/g) ?? []).length < n) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`service did not start:\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { child, base: `http://127.0.0.1:${port}`, output: () => out, listening };
}

describe('metrics across cluster workers', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    const c = new pg.Client({ connectionString: POSTGRES_URL });
    await c.connect();
    await c.query(`create schema "${schema}"`);
    await c.end();
  });
  afterAll(() => dropSchema(POSTGRES_URL, schema));

  it('two successive scrapes after N requests both read N, with standard process metric names', async () => {
    const { child, base, output, listening } = await startService(2);
    try {
      await listening(2);
      for (let i = 0; i < N; i++) {
        // A new connection per request, so the requests spread over both workers.
        const res = await fetch(`${base}/cds-services/pumpcheck-order-sign`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify(hookBody({ prefetch: minimalPrefetch() })),
        });
        expect(res.status).toBe(200);
      }
      const reads: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${base}/metrics`, { headers: { connection: 'close' } });
        expect(res.status).toBe(200);
        const text = await res.text();
        reads.push(sample(text, 'pumpcheck_hook_requests_total', 'service="pumpcheck-order-sign",status="200"') ?? NaN);
        expect(text).toMatch(/^process_cpu_seconds_total \d/m);
        expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
        expect(text).not.toMatch(/^pumpcheck_process_/m);
      }
      expect(reads).toEqual([N, N, N, N]);
      // Both workers served requests (otherwise the test would prove nothing about aggregation).
      const workersSeen = new Set([...output().matchAll(/"worker":(\d+)[^\n]*"serviceId":"pumpcheck-order-sign"/g)].map((m) => m[1]));
      expect(workersSeen.size).toBe(2);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('a scrape right after the worker listens is answered (held while the primary loads its aggregation)', async () => {
    const { child, base, listening } = await startService(1);
    try {
      await listening(1);
      const res = await fetch(`${base}/metrics`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^process_cpu_seconds_total \d/m);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
