// Issue 13, process level: the service as deployed (src/main.ts under tsx, cluster primary + worker).
//   F1  — 10,000 draft orders against a small heap: answered 400, the process stays up (it used to die of OOM).
//   F10 — a stalled request body is cut off within about a second of REQUEST_TIMEOUT_MS (it used to be held ~70 s).
//   Supervision — with one worker, a killed worker is replaced and the service answers again.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.js';
import { hookBody, minimalPrefetch, pumpOrder } from './support/requests.js';

interface Svc {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

const running: Svc[] = [];
const dataDirs: string[] = [];

function start(env: Record<string, string>, nodeArgs: string[] = []): Svc {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-sup-'));
  dataDirs.push(dataDir);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const svc = { child, output: () => out, exited };
  running.push(svc);
  return svc;
}

async function waitFor<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Log lines with "pumpcheck listening", parsed. */
const listening = (svc: Svc) =>
  svc
    .output()
    .split('\n')
    .filter((l) => l.includes('pumpcheck listening'))
    .map((l) => JSON.parse(l) as { port: number; pid: number });

afterAll(async () => {
  for (const svc of running.splice(0)) {
    svc.child.kill('SIGTERM');
    const killer = setTimeout(() => svc.child.kill('SIGKILL'), 5000);
    await svc.exited;
    clearTimeout(killer);
  }
});
afterAll(() => {
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

// One service for all three cases: starting one (PGlite's first boot) is the slow part on a loaded machine.
const STARTUP_MS = 240_000;
let svc: Svc;
let base: string;

describe('the service as a supervised process', () => {
  beforeAll(async () => {
    svc = start({ REQUEST_TIMEOUT_MS: '2000', WEB_CONCURRENCY: '1' }, ['--max-old-space-size=192']);
    const { port } = (await waitFor(() => listening(svc)[0], STARTUP_MS, 'start'))!;
    base = `http://127.0.0.1:${port}`;
  }, STARTUP_MS + 10_000);

  it('F1: answers 10,000 draft orders with 400 on a 192 MB heap and stays up', async () => {
    const orders = Array.from({ length: 10_000 }, (_, i) => pumpOrder(`dr-${i}`));
    const res = await fetch(`${base}/cds-services/pumpcheck-order-sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hookBody({ orders, prefetch: minimalPrefetch() })),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).issue[0].details.text).toMatch(/limit is 100 draft orders/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(svc.output()).not.toMatch(/heap limit|worker exited/);
  }, 120_000);

  it('F10: cuts off a stalled request body within a second or so of REQUEST_TIMEOUT_MS', async () => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const started = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (d) => (answer += d));
    socket.write('POST /cds-services/pumpcheck-order-sign HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"hook":');
    const held = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 15_000))]);
    socket.destroy();
    expect(held).toBeGreaterThanOrEqual(1900);
    expect(held).toBeLessThan(4500);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 60_000);

  it('restarts a killed worker (one worker) and answers again', async () => {
    const first = listening(svc)[0]!;
    expect(first.pid).not.toBe(svc.child.pid); // a worker, under a supervising primary
    process.kill(first.pid, 'SIGKILL');
    const second = (await waitFor(() => listening(svc)[1], STARTUP_MS, 'the replacement worker'))!;
    expect(svc.output()).toMatch(/worker exited; starting a replacement/);
    expect(second.pid).not.toBe(first.pid);
    expect((await fetch(`http://127.0.0.1:${second.port}/healthz`)).status).toBe(200);
  }, STARTUP_MS + 10_000);
});
