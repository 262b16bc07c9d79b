// `npm run policies -- --report [--json] [--cases <dir>]`: the policy set as the service loads it (POLICY_DIR,
// POLICY_OVERRIDES_FILE, the same facts), every policy and criterion with its kind and citation, and how many policy
// test cases (policies/tests/<policyId>/*.json) exercise it. Criteria no case exercises are flagged.
//
// The rule: a case exercises a leaf criterion when one of its order expectations names the criterion (under
// `expected.<order>.criteria`); a group criterion is exercised when any criterion below it is. The count is static —
// read from the case files, nothing is evaluated — so the report needs no network, no database and no clock, and a
// case counts only for what it actually asserts (test/policy-cases.test.ts checks each of those assertions over HTTP).
//
// Exit status: 1 when a policy file or a case file is broken (every problem printed with file, JSON pointer and line),
// 0 otherwise — unexercised criteria are reported, not fatal.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.js';
import { allFacts } from '../src/policy/facts/index.js';
import { loadPolicySet, readParameterOverrides, type PolicySet } from '../src/policy/loader.js';
import { formatProblem, PolicyLoadError } from '../src/policy/schemas.js';
import { crossCheckCases, POLICY_TESTS_DIR, readPolicyCases, type PolicyCase } from '../test/support/policy-cases.js';
import { policyCriteria, type CriterionInfo } from '../test/support/policy-criteria.js';

export interface CriterionReport extends CriterionInfo {
  /** Number of cases that exercise the criterion (see the rule above). */
  cases: number;
}

export interface PolicyReport {
  id: string;
  title: string;
  version: string;
  file: string;
  cases: number;
  criteria: CriterionReport[];
  unexercised: string[];
}

export interface Report {
  policyDir: string;
  casesDir: string;
  policies: PolicyReport[];
  /** Cases whose directory names no loaded policy would have failed the cross-check; kept for completeness. */
  totalCases: number;
}

/** Loads the policy set with the service's own options (compose.ts). */
export function loadServicePolicySet(env: NodeJS.ProcessEnv = process.env): PolicySet {
  const config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'silent' });
  const overridesFile = env.POLICY_OVERRIDES_FILE || undefined;
  return loadPolicySet(config.policyDir, {
    facts: allFacts,
    parameterOverrides: overridesFile ? readParameterOverrides(overridesFile) : undefined,
    overridesSource: overridesFile,
  });
}

/** Leaf ids each case names, per policy. */
function namedCriteria(c: PolicyCase): Set<string> {
  return new Set(Object.values(c.expected).flatMap((e) => Object.keys(e.criteria ?? {})));
}

export function buildReport(policySet: PolicySet, casesDir: string = POLICY_TESTS_DIR): Report {
  const cases = readPolicyCases(casesDir);
  const walked = new Map(policySet.policies.map((p) => [p.id, policyCriteria(p)] as const));
  const problems = crossCheckCases(
    cases,
    policySet.policies.map((p) => {
      const criteria = walked.get(p.id)!;
      return { id: p.id, criterionIds: new Set(criteria.map((c) => c.id)), leafIds: new Set(criteria.filter((c) => c.reported).map((c) => c.id)) };
    }),
  );
  if (problems.length > 0) throw new PolicyLoadError(problems);

  const policies = policySet.policies.map((p): PolicyReport => {
    const criteria = walked.get(p.id)!;
    // A `not` node is the unit the audit record names: naming it exercises the criteria below it.
    const under = new Map<string, string[]>();
    criteria.forEach((c, i) => {
      if (c.kind !== 'not') return;
      const below: string[] = [];
      for (let j = i + 1; j < criteria.length && criteria[j]!.depth > c.depth; j++) below.push(criteria[j]!.id);
      under.set(c.id, below);
    });
    const mine = cases
      .filter((c) => c.policyId === p.id)
      .map(namedCriteria)
      .map((named) => new Set([...named, ...[...named].flatMap((id) => under.get(id) ?? [])]));
    const counted: CriterionReport[] = criteria.map((c, i) => {
      // The criteria below a group follow it, depth first, until the next node at its depth or above.
      const below = new Set<string>([c.id]);
      for (let j = i + 1; j < criteria.length && criteria[j]!.depth > c.depth; j++) below.add(criteria[j]!.id);
      return { ...c, cases: mine.filter((named) => [...below].some((id) => named.has(id))).length };
    });
    return {
      id: p.id,
      title: p.title,
      version: p.version,
      file: p.file,
      cases: mine.length,
      criteria: counted,
      unexercised: counted.filter((c) => c.cases === 0).map((c) => c.id),
    };
  });
  return { policyDir: policySet.dir, casesDir, policies, totalCases: cases.length };
}

export function formatReport(r: Report): string {
  const rel = (f: string) => path.relative(process.cwd(), f) || f;
  const lines: string[] = [`Policies in ${rel(r.policyDir)}; cases in ${rel(r.casesDir)} (${r.totalCases})`, ''];
  for (const p of r.policies) {
    lines.push(`${p.id} ${p.version} — ${p.title}`, `  ${rel(p.file)}; ${p.cases} case(s)`, '');
    const idWidth = Math.max(...p.criteria.map((c) => c.depth * 2 + c.id.length), 9);
    const kindWidth = Math.max(...p.criteria.map((c) => c.kind.length), 4);
    lines.push(`  ${'criterion'.padEnd(idWidth)}  ${'kind'.padEnd(kindWidth)}  cases  citation`);
    for (const c of p.criteria) {
      const id = `${'  '.repeat(c.depth)}${c.id}`.padEnd(idWidth);
      const count = (c.cases === 0 ? '0 !' : String(c.cases)).padStart(5);
      lines.push(`  ${id}  ${c.kind.padEnd(kindWidth)}  ${count}  ${c.citation}`);
    }
    lines.push('');
    if (p.unexercised.length > 0) lines.push(`  ! ${p.unexercised.length} criteria no case exercises: ${p.unexercised.join(', ')}`, '');
    else lines.push('  every criterion is exercised by at least one case', '');
  }
  return lines.join('\n');
}

function main(argv: string[]): number {
  const json = argv.includes('--json');
  if (!argv.includes('--report') && !json) {
    process.stderr.write('usage: npm run policies -- --report [--json] [--cases <dir>]\n');
    return 2;
  }
  const i = argv.indexOf('--cases');
  const casesDir = i >= 0 && argv[i + 1] ? path.resolve(argv[i + 1]!) : POLICY_TESTS_DIR;
  try {
    const report = buildReport(loadServicePolicySet(), casesDir);
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      process.stderr.write(`policy or case files are broken:\n${err.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
