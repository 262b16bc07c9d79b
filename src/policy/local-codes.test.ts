// The deployment's local-code map (policies/local-codes.json, issue 15 D3): laboratory-local codes join a value set at
// start; a map naming an unknown value set, or malformed, stops the start with the file and the JSON pointer.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyOfPolicies, policyLoadProblems } from '../../test/support/policy-dir.js';
import { allFacts } from './facts/index.js';
import { loadPolicySet } from './loader.js';

function withMap(map: unknown | undefined): string {
  const dir = copyOfPolicies('pumpcheck-local-codes-');
  const file = path.join(dir, 'local-codes.json');
  if (map === undefined) rmSync(file, { force: true });
  else writeFileSync(file, JSON.stringify(map));
  return dir;
}

const problemsOf = policyLoadProblems;

describe('local-code map', () => {
  const entry = { system: 'https://lab.test/codes', code: 'ZNT8', valueSet: ['znt8-antibodies', 'beta-cell-autoantibodies-full'] };

  it('adds each local code to its value sets (and so to the prefetch queries)', () => {
    const set = loadPolicySet(withMap({ codes: [entry] }), { facts: allFacts });
    for (const vs of entry.valueSet) expect(set.valueSets.contains(vs, { system: entry.system, code: 'ZNT8' })).toBe(true);
    expect(set.valueSets.contains('znt8-antibodies', { system: 'http://loinc.org', code: '76651-9' })).toBe(true);
    expect(set.valueSets.contains('gad65-antibodies', { system: entry.system, code: 'ZNT8' })).toBe(false);
  });

  it('is optional', () => {
    expect(() => loadPolicySet(withMap(undefined), { facts: allFacts })).not.toThrow();
  });

  it('an unknown value set or a malformed entry stops the start', () => {
    const [p] = problemsOf(withMap({ codes: [{ ...entry, valueSet: 'znt8-antibodiez' }] }));
    expect(p!.message).toBe('unknown value set "znt8-antibodiez"');
    expect(p!.pointer).toBe('/codes/0/valueSet');
    expect(problemsOf(withMap({ codes: [{ system: 'x', valueSet: 'znt8-antibodies' }] })).length).toBeGreaterThan(0);
  });
});
