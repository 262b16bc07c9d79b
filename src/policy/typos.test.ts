// Issue 8 "done when": every typo class stops the start with the file, the JSON pointer and the line — never a
// policy that loads and then reports a false "not documented". Each test mutates the real CSII policy.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyOfPolicies, policyLoadProblems } from '../../test/support/policy-dir.js';

const FILE = 'medicare-csii.policy.json';

/** A copy of policies/ whose CSII policy went through `edit` (a text replacement, so line numbers stay meaningful). */
function mutated(from: string, to: string): string {
  const dir = copyOfPolicies('pumpcheck-typo-');
  const text = readFileSync(path.join(dir, FILE), 'utf8');
  expect(text.includes(from), `the policy contains ${from}`).toBe(true);
  writeFileSync(path.join(dir, FILE), text.replace(from, to));
  return dir;
}

const problemsOf = policyLoadProblems;

function lineOf(dir: string, needle: string): number {
  const lines = readFileSync(path.join(dir, FILE), 'utf8').split('\n');
  return lines.findIndex((l) => l.includes(needle)) + 1;
}

describe('typos stop the start (file, JSON pointer, line)', () => {
  it('unknown value set', () => {
    const dir = mutated('"valueSet": "diabetes-dx"', '"valueSet": "diabetes-dxx"');
    const [p] = problemsOf(dir);
    expect(p).toMatchObject({ pointer: '/criteria/allOf/0/params/valueSet', message: 'unknown value set "diabetes-dxx"', line: lineOf(dir, 'diabetes-dxx') });
    expect(p!.file).toContain(FILE);
  });

  it('unknown questionnaire linkId', () => {
    const dir = mutated('"linkId": "practitioner-csii-team"\n', '"linkId": "practitioner-csii-teem"\n');
    const problems = problemsOf(dir);
    const p = problems.find((x) => x.message.includes('practitioner-csii-teem'))!;
    expect(p.message).toBe('unknown linkId "practitioner-csii-teem" in questionnaire "csii-documentation"');
    expect(p.pointer).toMatch(/^\/criteria(\/allOf\/\d+)+\/params\/linkId$/);
    expect(p.line).toBe(lineOf(dir, 'practitioner-csii-teem'));
  });

  it('unknown anchor', () => {
    const dir = mutated('"anchor": "medicare-enrollment"', '"anchor": "pump-initation"');
    const [p] = problemsOf(dir);
    expect(p!.message).toMatch(/^unknown anchor "pump-initation"/);
    expect(p!.pointer).toMatch(/\/params\/window\/anchor$/);
    expect(p!.line).toBe(lineOf(dir, 'pump-initation'));
  });

  it('unknown policy parameter (deleted from parameters, still used by a leaf)', () => {
    const dir = mutated('"smbgPerDayMin": {', '"smbgPerDayMinimum": {');
    const problems = problemsOf(dir);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.message).toBe('unknown policy parameter "smbgPerDayMin"');
      expect(p.pointer).toMatch(/\/params\/readingsPerDay\/min$/);
      expect(p.line).toBeGreaterThan(0);
    }
  });

  it('a kind parameter of the wrong type', () => {
    const dir = mutated('"minCount": "%hypoglycemiaEpisodesMin"', '"minCount": "two"');
    const [p] = problemsOf(dir);
    expect(p).toMatchObject({ message: 'must be a value of the expected type, or "%name" of a policy parameter', line: lineOf(dir, '"minCount": "two"') });
    expect(p!.pointer).toMatch(/\/params\/minCount$/);
  });

  it('a parameter reference of the wrong type (a string parameter where a number is expected)', () => {
    const dir = mutated('"minCount": "%hypoglycemiaEpisodesMin"', '"minCount": "%cPeptideSelection"');
    const [p] = problemsOf(dir);
    expect(p!.message).toBe('policy parameter "cPeptideSelection" is a string; a number is expected here');
  });

  it('an unknown kind parameter and an unknown kind', () => {
    let [p] = problemsOf(mutated('"orOrderReason": true', '"orOrderReasons": true'));
    expect(p).toMatchObject({ pointer: '/criteria/allOf/0/params', message: 'unknown parameter "orOrderReasons"' });
    [p] = problemsOf(mutated('"kind": "condition"', '"kind": "conditon"'));
    expect(p).toMatchObject({ pointer: '/criteria/allOf/0/kind' });
    expect(p!.message).toMatch(/^must be one of "condition", "observation"/);
  });

  it('unknown definition in onlyIf', () => {
    const [p] = problemsOf(mutated('"onlyIf": "continued-coverage"', '"onlyIf": "continued-coverag"'));
    expect(p!.message).toMatch(/^unknown definition "continued-coverag"/);
  });
});
