// `npm run policies -- --report` and the case-file loader it shares with the runner: every policy criterion is listed
// with its kind, citation and case count; a broken case file stops it with the file, the JSON pointer and the line.
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport, formatReport, loadServicePolicySet } from '../scripts/policies.js';
import { PolicyLoadError } from '../src/policy/schemas.js';
import { policyCriteria } from './support/policy-criteria.js';
import { readPolicyCases } from './support/policy-cases.js';

const POLICY_SET = loadServicePolicySet({ NODE_ENV: 'test' });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A cases directory holding `files` (path under the directory → content). */
function casesDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pumpcheck-cases-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  return dir;
}

const order = { resourceType: 'DeviceRequest', id: 'dr-1', status: 'draft', intent: 'original-order' };
function aCase(criteria: Record<string, string> = { 'c-peptide': 'met' }, extra: Record<string, unknown> = {}) {
  return {
    title: 't',
    exercises: 'LCD L33794 IV A1',
    now: '2026-04-01T14:35:00Z',
    record: [{ resourceType: 'Patient', id: 'pt-1' }],
    draftOrders: [order],
    expected: { 'DeviceRequest/dr-1': { outcome: 'covered', criteria } },
    ...extra,
  };
}

function loadError(fn: () => unknown): PolicyLoadError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicyLoadError) return err;
    throw err;
  }
  throw new Error('expected a PolicyLoadError');
}

describe('the policy report', () => {
  it('lists every criterion of every loaded policy with its kind, citation and the committed cases that exercise it', () => {
    const report = buildReport(POLICY_SET);
    expect(report.policies.map((p) => p.id)).toEqual(POLICY_SET.policies.map((p) => p.id));
    for (const p of report.policies) {
      const loaded = POLICY_SET.policies.find((x) => x.id === p.id)!;
      expect(p.criteria.map((c) => c.id)).toEqual(policyCriteria(loaded).map((c) => c.id));
      expect(p.cases).toBe(readPolicyCases().filter((c) => c.policyId === p.id).length);
      for (const c of p.criteria) expect(c.citation, `${c.id} has a citation`).not.toBe('');
      expect(p.unexercised).toEqual(p.criteria.filter((c) => c.cases === 0).map((c) => c.id));
    }
    const csii = report.policies.find((p) => p.id === 'medicare-csii')!;
    expect(csii.criteria.find((c) => c.id === 'c-peptide')).toMatchObject({ kind: 'fact:fastingCPeptideInsulinopenia', leaf: true });
    expect(csii.criteria.find((c) => c.id === 'insulinopenia')).toMatchObject({ kind: 'anyOf', leaf: false });
    const text = formatReport(report);
    for (const c of csii.criteria) expect(text).toContain(c.id);
  });

  it('counts a case for the leaves its expectations name and for every group above them; flags the rest', () => {
    const dir = casesDir({
      'medicare-csii/a.json': aCase({ 'c-peptide': 'met' }),
      'medicare-csii/b.json': aCase({ 'c-peptide': 'not-met', 'antibody-gad65': 'not-met' }),
      'medicare-csii/README.md': '# notes',
    });
    const csii = buildReport(POLICY_SET, dir).policies.find((p) => p.id === 'medicare-csii')!;
    const count = (id: string) => csii.criteria.find((c) => c.id === id)!.cases;
    expect([count('c-peptide'), count('antibody-gad65'), count('autoantibody'), count('insulinopenia'), count('csii'), count('diagnosis'), count('clinical-pathway')]).toEqual([2, 1, 1, 2, 2, 0, 0]);
    expect(csii.unexercised).toContain('diagnosis');
    expect(csii.unexercised).not.toContain('insulinopenia');
    expect(formatReport(buildReport(POLICY_SET, dir))).toMatch(/criteria no case exercises: .*diagnosis/);
  });
});

describe('broken case files stop the runner and the report, naming the file', () => {
  it.each([
    ['a JSON syntax error', '{\n  "title": "t",\n  "now": \n}\n', /bad\.json: \/: JSON syntax error/],
    ['a missing property', aCase(undefined, { now: undefined }), /bad\.json: \/: missing required property "now" \(line 1\)/],
    ['a criterion status out of the vocabulary', aCase({ 'c-peptide': 'passed' }), /bad\.json: \/expected\/DeviceRequest~1dr-1\/criteria\/c-peptide: must be one of "met", "not-met", "not-documented" \(line \d+\)/],
    ['an expectation about an order that is not drafted', { ...aCase(), expected: { 'DeviceRequest/nope': { outcome: 'covered' } } }, /DeviceRequest\/nope is not one of the draft orders/],
    ['two Patients', aCase(undefined, { record: [{ resourceType: 'Patient', id: 'a' }, { resourceType: 'Patient', id: 'b' }] }), /exactly one Patient \(found 2\)/],
  ] as const)('%s', (_what, content, message) => {
    const dir = casesDir({ 'medicare-csii/bad.json': content, 'medicare-csii/good.json': aCase() });
    const err = loadError(() => readPolicyCases(dir));
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('good.json');
  });

  it.each([
    ['an unknown criterion id', aCase({ 'c-peptid': 'met' }), /no criterion "c-peptid"/],
    ['a group criterion', aCase({ insulinopenia: 'met' }), /"insulinopenia" is a group/],
  ] as const)('%s (checked against the loaded policies)', (_what, content, message) => {
    const dir = casesDir({ 'medicare-csii/bad.json': content });
    expect(loadError(() => buildReport(POLICY_SET, dir)).message).toMatch(message);
  });

  it('a case directory that names no loaded policy', () => {
    const dir = casesDir({ 'medicare-cssi/a.json': aCase() });
    expect(loadError(() => buildReport(POLICY_SET, dir)).message).toMatch(/no loaded policy has the id "medicare-cssi"/);
  });

  it('the command exits 1 on a broken case file and 0 with --json otherwise', async () => {
    const run = promisify(execFile);
    const tsx = path.join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const broken = casesDir({ 'medicare-csii/bad.json': aCase({ 'c-peptid': 'met' }) });
    const failed = await run(tsx, ['scripts/policies.ts', '--report', '--cases', broken]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/bad\.json: \/expected\/DeviceRequest~1dr-1\/criteria\/c-peptid: policy medicare-csii has no criterion "c-peptid" \(line \d+\)/);
    const ok = await run(tsx, ['scripts/policies.ts', '--report', '--json'], { maxBuffer: 10_000_000 });
    const json = JSON.parse(ok.stdout) as { policies: { id: string; criteria: { id: string; cases: number }[] }[] };
    expect(json.policies.map((p) => p.id)).toEqual(POLICY_SET.policies.map((p) => p.id));
  }, 120_000);
});
