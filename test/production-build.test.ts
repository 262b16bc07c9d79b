// The production build as `npm start` runs it: scripts/build.mjs bundles the service (entry, split chunks, the embedded
// database's worker thread), and `node <out>/src/main.js` must serve exactly what the source serves. Every other
// process-level test runs src/ under tsx; this one catches what only the bundle can break — a chunk or the PGlite
// worker not found next to the code that loads it, a package that cannot be bundled, a dynamic import (undici at the
// first fallback query, the primary's metrics aggregation) that fails at run time.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.js';
import { createEhrSigner, type EhrSigner } from './support/ehr-jwt.js';
import { startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { hookBody, medicareCoverage, minimalPrefetch, patient } from './support/requests.js';
import { freePort } from '../bench/proc.js';

const OUT = path.join('.test-build', `dist-${process.pid}`);
const METRICS_TOKEN = 'production-build-metrics-token';

/** Removes a test build, and .test-build/ itself once nothing else is in it. */
function removeBuild(out: string): void {
  rmSync(path.join(projectRoot, out), { recursive: true, force: true });
  const parent = path.join(projectRoot, path.dirname(out));
  if (existsSync(parent) && readdirSync(parent).length === 0) rmSync(parent, { recursive: true, force: true });
}

describe('the production build (npm run build → node dist/src/main.js)', { timeout: 180_000 }, () => {
  let child: ReturnType<typeof spawn>;
  let out = '';
  let exited: Promise<number | null>;
  let base: string;
  let ehr: EhrSigner;
  let fhir: TestFhirServer;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-dist-'));

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: projectRoot, env: { ...process.env, BUILD_OUTDIR: OUT } });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    ehr = await createEhrSigner({ publicBaseUrl: base });
    fhir = await startFhirServer({ resources: [patient('pt-1'), medicareCoverage('pt-1')] });
    child = spawn(process.execPath, [path.join(OUT, 'src', 'main.js')], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        WEB_CONCURRENCY: '1',
        PATIENT_HASH_SECRET: 'production-build-test-secret',
        METRICS_TOKEN,
        FHIR_SERVER_ALLOWLIST: 'http://127.0.0.1:*',
        ...ehr.env,
      },
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const until = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the built service exited:\n${out.slice(-3000)}`);
      const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > until) throw new Error(`the built service did not get ready:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await fhir?.close();
    removeBuild(OUT);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = async (service: string, body: unknown) =>
    fetch(`${base}/cds-services/${service}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: await ehr.authorization(`/cds-services/${service}`) },
      body: JSON.stringify(body),
    });

  it('is a bundle: one entry, split chunks and the database worker next to them, not one file per source file', () => {
    expect(existsSync(path.join(projectRoot, OUT, 'src', 'main.js'))).toBe(true);
    expect(existsSync(path.join(projectRoot, OUT, 'src', 'chunks', 'pglite-worker.js'))).toBe(true);
    expect(existsSync(path.join(projectRoot, OUT, 'src', 'policy', 'engine.js'))).toBe(false);
  });

  it('answers discovery and an order-sign call with prefetch, with a signed JWT', async () => {
    const discovery = await fetch(`${base}/cds-services`, { headers: { authorization: await ehr.authorization('/cds-services') } });
    expect(discovery.status).toBe(200);
    const services = ((await discovery.json()) as { services: { id: string }[] }).services.map((s) => s.id);
    expect(services).toEqual(expect.arrayContaining(['pumpcheck-order-sign', 'pumpcheck-order-select']));

    const res = await post('pumpcheck-order-sign', hookBody({ prefetch: minimalPrefetch() }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { cards: { summary: string }[]; systemActions?: { resource?: { extension?: { url: string }[] } }[] };
    expect(body.cards.length).toBeGreaterThan(0);
    const extensions = (body.systemActions ?? []).flatMap((a) => a.resource?.extension ?? []).map((e) => e.url);
    expect(extensions.some((u) => u.endsWith('ext-coverage-information'))).toBe(true);
  });

  it('fetches from the EHR FHIR server when nothing is prefetched (the lazily loaded HTTP client)', async () => {
    const before = fhir.requests.length;
    const res = await post('pumpcheck-order-sign', hookBody({ fhirServer: fhir.url }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { cards: unknown[] }).cards.length).toBeGreaterThan(0);
    expect(fhir.requests.length).toBeGreaterThan(before);
  });

  it('serves aggregated metrics from the primary and the documentation form page', async () => {
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^pumpcheck_hook_requests_total\{[^}]*status="200"[^}]*\} [1-9]/m);
    const form = await fetch(`${base}/forms/csii-documentation`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<form');
  });

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/"level":(50|60)/);
  });
});

describe('npm run build', () => {
  it('is not rebuilt when nothing it is built from changed (a later npm start), and is with --force', () => {
    const out = path.join('.test-build', `rebuild-${process.pid}`);
    const main = path.join(projectRoot, out, 'src', 'main.js');
    const run = (...args: string[]) => execFileSync(process.execPath, ['scripts/build.mjs', ...args], { cwd: projectRoot, env: { ...process.env, BUILD_OUTDIR: out } });
    try {
      run();
      const built = statSync(main).mtimeMs;
      run();
      expect(statSync(main).mtimeMs).toBe(built);
      run('--force');
      expect(statSync(main).mtimeMs).toBeGreaterThan(built);
    } finally {
      removeBuild(out);
    }
  });
});
