// The service as a process (src/main.ts under tsx): starts on defaults, answers, writes logs without PHI or tokens,
// stops cleanly on SIGTERM; refuses to start in production without trusted issuers.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childPids } from '../bench/proc.js';
import { projectRoot } from '../src/config.js';
import { copyOfPolicies } from './support/policy-dir.js';
import { hookBody, minimalPrefetch } from './support/requests.js';

function start(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Command lines of a process's children (Linux /proc). */
function workerCommandLines(pid: number): string[] {
  return childPids(pid).map((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' '));
}

async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out waiting for the service');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-main-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('src/main.ts', () => {
  // Under tsx the embedded database's worker thread loads its own TypeScript (twice on a fresh DATA_DIR: the thread that
  // unpacks the template hands over to a fresh one): seconds on a busy shared machine, hence the timeout.
  it('starts on the embedded defaults, serves a hook, logs no PHI, and stops on SIGTERM', { timeout: 60_000 }, async () => {
    const svc = start({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'debug' });
    try {
      await waitFor(() => /pumpcheck listening/.test(svc.output()), 30_000);
      const line = svc.output().split('\n').find((l) => l.includes('pumpcheck listening'))!;
      const port = JSON.parse(line).port as number;
      expect(svc.output()).toMatch(/AUTHENTICATION DISABLED/);
      // The worker runs with the young generation the primary gives it (WORKER_SEMI_SPACE_MB, default 32).
      if (process.platform === 'linux') expect(workerCommandLines(svc.child.pid!).join(' ')).toContain('--max-semi-space-size=32');

      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const prefetch = minimalPrefetch();
      (prefetch.patient as { name?: unknown }).name = [{ family: 'Zzyzxtestfamily', given: ['Quentinaria'] }];
      const body = hookBody({ prefetch, fhirServer: 'http://127.0.0.1:9/fhir', accessToken: 'secret-access-token-xyz' });
      const res = await fetch(`${base}/cds-services/pumpcheck-order-sign`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-main-test' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      await waitFor(() => /"status":200/.test(svc.output()), 5_000);

      svc.child.kill('SIGTERM');
      expect(await svc.exited).toBe(0);
      const logs = svc.output();
      expect(logs).toMatch(/"msg":"stopped"/);
      // One structured line per request with id, service, hookInstance, status and duration.
      const requestLine = logs.split('\n').find((l) => l.includes('"requestId":"req-main-test"') && l.includes('"msg":"request"'))!;
      expect(JSON.parse(requestLine)).toMatchObject({ serviceId: 'pumpcheck-order-sign', hookInstance: body.hookInstance, status: 200 });
      for (const phi of ['Zzyzxtestfamily', 'Quentinaria', '1955-03-02', 'secret-access-token-xyz', 'female']) expect(logs).not.toContain(phi);
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  it('refuses to start in production without trusted issuers, naming the variable', async () => {
    const svc = start({ NODE_ENV: 'production', PATIENT_HASH_SECRET: 'x'.repeat(32), DATA_DIR: dataDir });
    expect(await svc.exited).toBe(78);
    expect(svc.output()).toMatch(/CDS_TRUSTED_ISSUERS/);
  });

  it('stops (EX_CONFIG), not restarts forever, when a policy file has a typo', { timeout: 60_000 }, async () => {
    const policyDir = copyOfPolicies('pumpcheck-main-policies-');
    try {
      const file = path.join(policyDir, 'medicare-csii.policy.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"valueSet": "diabetes-dx"', '"valueSet": "diabetes-dxx"'));
      const svc = start({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, POLICY_DIR: policyDir });
      const code = await Promise.race([svc.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 45_000))]);
      svc.child.kill('SIGKILL');
      expect(code).toBe(78);
      expect(svc.output()).toMatch(/unknown value set "diabetes-dxx"/);
      expect(svc.output()).not.toMatch(/starting a replacement/);
    } finally {
      rmSync(policyDir, { recursive: true, force: true });
    }
  });
});
