// Policy test cases as data (policies/tests/<policyId>/<case>.json): reading and validating them. Shared by the generic
// runner (test/policy-cases.test.ts) and the policy report (scripts/policies.ts). A broken case file is never skipped:
// every problem names the file, the JSON pointer and the line.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { projectRoot } from '../../src/config.js';
import { PolicyLoadError, Problems, ptr, readDataFile, type LoadProblem } from '../../src/policy/schemas.js';

export type CaseOutcome = 'covered' | 'not-covered' | 'conditional' | 'no-policy' | 'indeterminate';
export type CaseCriterionStatus = 'met' | 'not-met' | 'not-documented';

export interface OrderExpectation {
  outcome: CaseOutcome;
  criteria?: Record<string, CaseCriterionStatus>;
  /** null: no coverage card for the order. */
  card?: null | { indicator?: 'info' | 'warning' | 'critical'; summaryIncludes?: string[] };
}

export interface PolicyCase {
  /** Absolute path of the case file. */
  file: string;
  /** The directory name under policies/tests/: the policy the case is about. */
  policyId: string;
  /** File name without `.json`. */
  name: string;
  title: string;
  exercises: string;
  now: string;
  hook: 'order-sign' | 'order-select';
  selections?: string[];
  userId: string;
  /** context.encounterId, when the order is placed in an encounter of the record. */
  encounterId?: string;
  record: Resource[];
  draftOrders: Resource[];
  expected: Record<string, OrderExpectation>;
  /** Id of the record's one Patient. */
  patientId: string;
}

export const POLICY_TESTS_DIR = path.join(projectRoot, 'policies', 'tests');
const SCHEMA_FILE = path.join(projectRoot, 'policies', 'schema', 'policy-case.schema.json');

let validator: ValidateFunction | undefined;
function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
    addFormats(ajv);
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>);
  }
  return validator;
}

function ajvMessage(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  if (err.keyword === 'additionalProperties') return `unknown property "${String(p.additionalProperty)}"`;
  if (err.keyword === 'required') return `missing required property "${String(p.missingProperty)}"`;
  if (err.keyword === 'enum') return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return err.message ?? err.keyword;
}

const refOf = (r: Resource) => `${r.resourceType}/${r.id}`;

/** Checks a parsed case file; adds problems and returns the case when it is usable. */
export function checkCase(data: unknown, file: string, policyId: string, problems: Problems): PolicyCase | undefined {
  const v = validate();
  if (!v(data)) {
    const seen = new Set<string>();
    for (const err of v.errors ?? []) {
      // oneOf/if wrappers repeat the errors of their branches.
      if (err.keyword === 'oneOf' || err.keyword === 'if') continue;
      const key = `${err.instancePath}|${ajvMessage(err)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.add(file, err.instancePath, ajvMessage(err));
    }
    return undefined;
  }
  const raw = data as Omit<PolicyCase, 'file' | 'policyId' | 'name' | 'patientId' | 'hook' | 'userId'> & { hook?: PolicyCase['hook']; userId?: string };
  const before = problems.list.length;
  const patients = raw.record.map((r, i) => [r, i] as const).filter(([r]) => r.resourceType === 'Patient');
  if (patients.length !== 1) problems.add(file, '/record', `the record must hold exactly one Patient (found ${patients.length})`);
  const seenRefs = new Map<string, string>();
  const uniq = (list: Resource[], key: 'record' | 'draftOrders') =>
    list.forEach((r, i) => {
      const prev = seenRefs.get(refOf(r));
      if (prev) problems.add(file, ptr(key, i, 'id'), `${refOf(r)} appears twice (also at ${prev})`);
      else seenRefs.set(refOf(r), ptr(key, i));
    });
  uniq(raw.record, 'record');
  uniq(raw.draftOrders, 'draftOrders');
  const orderRefs = new Set(raw.draftOrders.map(refOf));
  for (const ref of Object.keys(raw.expected)) {
    if (!orderRefs.has(ref)) problems.add(file, ptr('expected', ref), `${ref} is not one of the draft orders`);
  }
  const hook = raw.hook ?? 'order-sign';
  if (raw.selections && hook !== 'order-select') problems.add(file, '/selections', 'selections are only for the order-select hook');
  (raw.selections ?? []).forEach((s, i) => {
    if (!orderRefs.has(s)) problems.add(file, ptr('selections', i), `${s} is not one of the draft orders`);
  });
  if (problems.list.length > before) return undefined;
  const { $schema: _schema, ...rest } = raw as typeof raw & { $schema?: string };
  return {
    ...rest,
    hook,
    userId: raw.userId ?? 'PractitionerRole/pr-1',
    file,
    policyId,
    name: path.basename(file, '.json'),
    patientId: patients[0]![0].id!,
  };
}

/**
 * Every case under `dir` (default policies/tests/), sorted by policy and name. Each sub-directory is a policy id and
 * holds `*.json` case files; README files are allowed anywhere. Anything else is a problem. Throws PolicyLoadError
 * listing every problem of every file.
 */
export function readPolicyCases(dir: string = POLICY_TESTS_DIR): PolicyCase[] {
  const problems = new Problems();
  const cases: PolicyCase[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return [];
  }
  for (const entry of entries) {
    const full = path.join(dir, entry);
    if (/^readme(\.md)?$/i.test(entry)) continue;
    if (!statSync(full).isDirectory()) {
      problems.add(full, '', 'case files go in policies/tests/<policyId>/<case>.json');
      continue;
    }
    for (const f of readdirSync(full).sort()) {
      const file = path.join(full, f);
      if (/^readme(\.md)?$/i.test(f)) continue;
      if (!f.endsWith('.json') || !statSync(file).isFile()) {
        problems.add(file, '', 'not a case file (expected <case>.json)');
        continue;
      }
      const data = readDataFile(file, problems);
      if (data === undefined) continue;
      const c = checkCase(data, file, entry, problems);
      if (c) cases.push(c);
    }
  }
  problems.throwIfAny();
  return cases;
}

/** What the cross-check needs to know of a loaded policy. */
export interface PolicyIndex {
  id: string;
  criterionIds: ReadonlySet<string>;
  /** Criteria the audit record names: leaves and `not` nodes (an allOf / anyOf group's status is not stored). */
  leafIds: ReadonlySet<string>;
}

/** Problems of cases that name a policy or criterion the loaded policy set does not have, or a group criterion. */
export function crossCheckCases(cases: readonly PolicyCase[], policies: readonly PolicyIndex[]): LoadProblem[] {
  const problems = new Problems();
  const byId = new Map(policies.map((p) => [p.id, p]));
  for (const c of cases) {
    problems.source(c.file, readFileSync(c.file, 'utf8'));
    const policy = byId.get(c.policyId);
    if (!policy) {
      problems.add(c.file, '', `policies/tests/${c.policyId}/: no loaded policy has the id "${c.policyId}"`);
      continue;
    }
    for (const [ref, e] of Object.entries(c.expected)) {
      for (const id of Object.keys(e.criteria ?? {})) {
        if (!policy.criterionIds.has(id)) problems.add(c.file, ptr('expected', ref, 'criteria', id), `policy ${policy.id} has no criterion "${id}"`);
        else if (!policy.leafIds.has(id)) {
          problems.add(c.file, ptr('expected', ref, 'criteria', id), `"${id}" is a group of policy ${policy.id}: name its leaf criteria (the audit record lists leaves)`);
        }
      }
    }
  }
  return problems.list;
}

export { PolicyLoadError };
