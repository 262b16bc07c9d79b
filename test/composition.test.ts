// Issue 8 item 4 over HTTP: two overlapping policies on one order (the CSII coverage policy and a coding edit that
// includes a shared fragment) give ONE determination: one coverage-information update per order, one stored
// assertion naming both policies and versions with their effective parameters.
import { cpSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { COVERAGE_INFORMATION_URL } from '../cards/coverage-information.js';
import { projectRoot } from '../src/config.js';
import type { Action } from '../src/cds/types.js';
import { testApp } from './support/app.js';
import { buildRequest, scenarioBySlug } from './fixtures/scenarios.js';

const SIGN = '/cds-services/pumpcheck-order-sign';

function policyDirWithEdit(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pumpcheck-compose-'));
  cpSync(path.join(projectRoot, 'policies'), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}tests`) });
  mkdirSync(path.join(dir, 'fragments'), { recursive: true });
  writeFileSync(
    path.join(dir, 'fragments', 'pump-supply-coding.fragment.json'),
    JSON.stringify({
      id: 'pump-supply-coding',
      title: 'External infusion pump supplies: association table',
      criteria: {
        id: 'supply-association',
        text: 'Supplies are billed with the pump they belong to',
        citation: 'A52507 (Coding guidelines)',
        kind: 'order',
        params: { check: 'pairing', table: [{ supplies: 'csii-supplies', onlyWith: 'csii-pump-code' }, { supplies: 'non-insulin-pump-supplies', neverWith: 'csii-pump-code' }] },
      },
    }),
  );
  writeFileSync(
    path.join(dir, 'medicare-pump-coding-edit.policy.json'),
    JSON.stringify({
      id: 'medicare-pump-coding-edit',
      title: 'External infusion pump coding edit — Medicare',
      version: '2026.1.0',
      role: 'edit',
      payers: ['medicare'],
      citationShort: 'A52507',
      appliesTo: { orderValueSets: ['csii-orders'] },
      parameters: { maxPumps: { value: 1, citation: 'A52507', note: 'test parameter recorded with the assertion' } },
      criteria: { id: 'edit', text: 'Coding edits', allOf: [{ include: 'pump-supply-coding' }] },
    }),
  );
  return dir;
}

const t = testApp({ POLICY_DIR: policyDirWithEdit() });
afterAll(() => t.close());

function updatesFor(actions: Action[] | undefined, ref: string): Action[] {
  return (actions ?? []).filter((a) => a.type === 'update' && `${a.resource?.resourceType}/${a.resource?.id}` === ref);
}

describe('one determination per order and Coverage', () => {
  it('a coverage policy and a coding edit on the same order: one coverage-information and one assertion', async () => {
    const s = scenarioBySlug('criteria-met');
    const body = buildRequest(s, { hookInstance: 'b6f7e4d6-2f7a-4a36-9f5c-3f7e1f0f0a01' });
    const res = await request(t.app).post(SIGN).send(body).expect(200);
    const pumpRef = s.primaryOrderRef;
    const updates = updatesFor(res.body.systemActions, pumpRef);
    expect(updates).toHaveLength(1);
    const exts = ((updates[0]!.resource as { extension?: { url: string; extension?: { url: string; valueCode?: string }[] }[] }).extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION_URL);
    expect(exts).toHaveLength(1);
    expect(exts[0]!.extension!.find((e) => e.url === 'covered')?.valueCode).toBe('covered');
    // Every system action is about a distinct order.
    const refs = (res.body.systemActions as Action[]).map((a) => `${a.resource?.resourceType}/${a.resource?.id}`);
    expect(new Set(refs).size).toBe(refs.length);

    const records = t.assertionSink.records.filter((r) => r.hookInstance === 'b6f7e4d6-2f7a-4a36-9f5c-3f7e1f0f0a01' && r.orderRef === pumpRef);
    expect(records).toHaveLength(1);
    expect(records[0]!.policyId).toBe('medicare-csii');
    expect(records[0]!.policies).toEqual([
      { id: 'medicare-csii', version: expect.any(String) },
      { id: 'medicare-pump-coding-edit', version: '2026.1.0' },
    ]);
    expect(records[0]!.parameters?.['medicare-pump-coding-edit']).toEqual({ maxPumps: 1 });
    expect(records[0]!.parameters?.['medicare-csii']?.cPeptideRatioMax).toBe(1.1);
  });

  it('the edit failing makes the one determination not covered (no second, conflicting update)', async () => {
    const s = scenarioBySlug('criteria-met');
    const wrongSupply = {
      resourceType: 'DeviceRequest',
      id: 'dr-extra-k0552',
      status: 'draft',
      intent: 'order',
      subject: { reference: `Patient/${s.patientId}` },
      codeCodeableConcept: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'K0552' }] },
    };
    const body = buildRequest(s, { hookInstance: 'b6f7e4d6-2f7a-4a36-9f5c-3f7e1f0f0a02', extraOrders: [wrongSupply as never] });
    const res = await request(t.app).post(SIGN).send(body).expect(200);
    const updates = updatesFor(res.body.systemActions, s.primaryOrderRef);
    expect(updates).toHaveLength(1);
    const ext = ((updates[0]!.resource as { extension?: { url: string; extension?: { url: string; valueCode?: string }[] }[] }).extension ?? []).find((e) => e.url === COVERAGE_INFORMATION_URL)!;
    expect(ext.extension!.find((e) => e.url === 'covered')?.valueCode).toBe('not-covered');
  });
});
