// Start-up loading of the policy directory: value sets, questionnaires, payers, the order catalogue and the policies
// themselves. Everything is validated against the JSON Schemas in policies/schema/, every FHIRPath expression is
// compiled once, and every name a policy uses (fact, value set, questionnaire, item, payer, parameter) must exist.
// Any problem stops the start with the file, the JSON path and the line (PolicyLoadError).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Coverage, Questionnaire, QuestionnaireItem } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { PatientRecord } from '../fhir/record.js';
import type { FhirPathFn, FhirPathSpec, LoadedPolicy, ParameterValue, PolicyNode } from './model.js';
import { buildOrderCatalogue, loadOrderCatalogue, type OrderCatalogue } from './orders.js';
import { compilePayer, matchPayer, type CompiledPayer, type PayerConfig, type PayerMatch } from './payers.js';
import { PolicyLoadError, Problems, ptr, readDataFile, validateAgainst } from './schemas.js';
import type { FactFunction, InfusionOrder, Remedy } from './types.js';
import { readValueSets, type ValueSetStore } from './valuesets.js';

export { PolicyLoadError } from './schemas.js';
export type { LoadedPolicy, PolicyNode } from './model.js';

export type ParameterOverrides = Record<string, Record<string, ParameterValue>>;

export interface PolicySet {
  /** The directory the set was loaded from. */
  dir: string;
  policies: LoadedPolicy[];
  payers: PayerConfig[];
  valueSets: ValueSetStore;
  /** Published documentation Questionnaires by id (served at /fhir/Questionnaire/{id}). */
  questionnaires: ReadonlyMap<string, Questionnaire>;
  facts: Readonly<Record<string, FactFunction>>;
  /** policies/orders.json when present (also available through loadOrderCatalogue). */
  orderCatalogue?: OrderCatalogue;
  payer(id: string): PayerConfig | undefined;
  /** The configured payer a Coverage belongs to, if any (exclusions applied). */
  matchPayer(coverage: Coverage, record: PatientRecord): PayerMatch | undefined;
  /** Policies of this payer (or of the payer it follows) whose scope includes the order. */
  policiesFor(order: InfusionOrder, payerId: string): LoadedPolicy[];
}

export interface LoadPolicyOptions {
  facts: Record<string, FactFunction>;
  /** policy id → parameter → value (from POLICY_OVERRIDES_FILE; see readParameterOverrides). */
  parameterOverrides?: ParameterOverrides;
  /** Name shown for the overrides in error messages (the file it came from). */
  overridesSource?: string;
}

const POLICY_FILE = /\.policy\.(json|ya?ml)$/i;

/** Variables fhirpath.js defines itself; everything else must be a policy parameter or %asOf. */
const BUILTIN_VARIABLES = new Set(['ucum', 'sct', 'loinc', 'resource', 'rootResource', 'context', 'factory']);
/** Wall-clock functions: an evaluation must be relative to the order date, never to when the code runs. */
const WALL_CLOCK_FUNCTIONS = new Set(['now', 'today', 'timeOfDay']);

export function loadPolicySet(dir: string, opts: LoadPolicyOptions): PolicySet {
  const problems = new Problems();
  const valueSets = readValueSets(path.join(dir, 'valuesets'), problems);
  const questionnaires = readQuestionnaires(path.join(dir, 'questionnaires'), problems);
  const payers = readPayers(path.join(dir, 'payers.json'), problems);
  const payerIds = new Set(payers.map((p) => p.config.id));

  const policies: LoadedPolicy[] = [];
  const policyFiles = listFiles(dir, POLICY_FILE);
  const policyOrigin = new Map<string, string>();
  for (const file of policyFiles) {
    const data = readDataFile(file, problems);
    if (data === undefined || !validateAgainst('policy', data, file, problems)) continue;
    const policy = compilePolicy(data as RawPolicy, file, { problems, valueSets, questionnaires, payerIds, facts: opts.facts });
    if (!policy) continue;
    const first = policyOrigin.get(policy.id);
    if (first) {
      problems.add(file, '/id', `duplicate policy id "${policy.id}" (also in ${path.basename(first)})`);
      continue;
    }
    policyOrigin.set(policy.id, file);
    policies.push(policy);
  }

  applyOverrides(policies, opts.parameterOverrides, opts.overridesSource ?? 'POLICY_OVERRIDES_FILE', problems);

  let orderCatalogue: OrderCatalogue | undefined;
  if (existsSync(path.join(dir, 'orders.json'))) {
    try {
      orderCatalogue = loadOrderCatalogue(dir);
    } catch (err) {
      if (err instanceof PolicyLoadError) problems.list.push(...err.problems);
      else throw err;
    }
  }
  problems.throwIfAny();

  const byId = new Map(payers.map((p) => [p.config.id, p] as const));
  return {
    dir,
    policies,
    payers: payers.map((p) => p.config),
    valueSets,
    questionnaires,
    facts: opts.facts,
    ...(orderCatalogue ? { orderCatalogue } : {}),
    payer: (id) => byId.get(id)?.config,
    matchPayer: (coverage, record) => matchPayer(coverage, record, payers),
    policiesFor: (order, payerId) => {
      const ids = payerLineage(payerId, byId);
      return policies.filter((p) => p.payers.some((x) => ids.has(x)) && orderInScope(p, order, valueSets));
    },
  };
}

/** A payer and every payer it follows (Medicare Advantage → Medicare). */
function payerLineage(payerId: string, byId: Map<string, CompiledPayer>): Set<string> {
  const ids = new Set<string>();
  let id: string | undefined = payerId;
  while (id && !ids.has(id)) {
    ids.add(id);
    id = byId.get(id)?.config.followsPayer;
  }
  return ids;
}

/**
 * In scope: one of the order's codings is in an orderValueSets set, or (pumps) a companion order / (drugs) a
 * companion pump has a coding in a companionValueSets set — an insulin pump ordered under a generic pump code is
 * still an insulin-pump order when insulin is ordered with it.
 */
export function orderInScope(policy: LoadedPolicy, order: InfusionOrder, valueSets: ValueSetStore): boolean {
  if (policy.appliesTo.orderValueSets.some((vs) => valueSets.containsAny(vs, order.codings))) return true;
  const companionSets = policy.appliesTo.companionValueSets;
  if (companionSets.length === 0) return false;
  const companions =
    order.role === 'pump' ? order.companions : order.role === 'drug' ? order.companions.filter((c) => c.role === 'pump') : [];
  return companions.some((c) => companionSets.some((vs) => valueSets.containsAny(vs, c.codings)));
}

// ---------------------------------------------------------------------------------------------------------------------
// Files.

function listFiles(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => pattern.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function readQuestionnaires(dir: string, problems: Problems): Map<string, Questionnaire> {
  const out = new Map<string, Questionnaire>();
  const origin = new Map<string, string>();
  for (const file of listFiles(dir, /\.json$/i)) {
    const data = readDataFile(file, problems);
    if (data === undefined || !validateAgainst('questionnaire', data, file, problems)) continue;
    const q = data as Questionnaire & { id: string };
    const seen = new Map<string, string>();
    const walk = (items: QuestionnaireItem[] | undefined, base: string): void => {
      (items ?? []).forEach((item, i) => {
        const at = `${base}/item/${i}`;
        const first = seen.get(item.linkId);
        if (first) problems.add(file, `${at}/linkId`, `duplicate linkId "${item.linkId}" (also at ${first})`);
        else seen.set(item.linkId, at);
        walk(item.item, at);
      });
    };
    walk(q.item, '');
    const firstFile = origin.get(q.id);
    if (firstFile) {
      problems.add(file, '/id', `duplicate Questionnaire id "${q.id}" (also in ${path.basename(firstFile)})`);
      continue;
    }
    origin.set(q.id, file);
    out.set(q.id, q);
  }
  return out;
}

function questionnaireLinkIds(q: Questionnaire): Set<string> {
  const ids = new Set<string>();
  const walk = (items: QuestionnaireItem[] | undefined): void => {
    for (const it of items ?? []) {
      ids.add(it.linkId);
      walk(it.item);
    }
  };
  walk(q.item);
  return ids;
}

function readPayers(file: string, problems: Problems): CompiledPayer[] {
  if (!existsSync(file)) {
    problems.add(file, '', 'missing: the payers file is required (payer selection is explicit, there is no default payer)');
    return [];
  }
  const data = readDataFile(file, problems);
  if (data === undefined || !validateAgainst('payers', data, file, problems)) return [];
  const configs = (data as { payers: PayerConfig[] }).payers;
  const ids = new Map<string, number>();
  configs.forEach((p, i) => {
    if (ids.has(p.id)) problems.add(file, ptr('payers', i, 'id'), `duplicate payer id "${p.id}"`);
    else ids.set(p.id, i);
  });
  const out: CompiledPayer[] = [];
  configs.forEach((p, i) => {
    if (p.followsPayer !== undefined && (!ids.has(p.followsPayer) || p.followsPayer === p.id)) {
      problems.add(file, ptr('payers', i, 'followsPayer'), `unknown payer "${p.followsPayer}"`);
    }
    let ok = true;
    for (const part of ['match', 'exclude'] as const) {
      for (const key of ['payorDisplayPattern', 'classPlanPattern'] as const) {
        const pattern = p[part]?.[key];
        if (pattern === undefined) continue;
        try {
          new RegExp(pattern, 'i');
        } catch (err) {
          ok = false;
          problems.add(file, ptr('payers', i, part, key), `invalid regular expression: ${(err as Error).message}`);
        }
      }
    }
    if (ok) out.push(compilePayer(p));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Policies.

interface RawNode {
  id: string;
  text: string;
  label?: string;
  citation?: string;
  remedies?: Remedy[];
  allOf?: RawNode[];
  anyOf?: RawNode[];
  firstDocumented?: RawNode[];
  not?: RawNode;
  fact?: string;
  params?: Record<string, unknown>;
  fhirpath?: FhirPathSpec;
}

interface RawPolicy {
  id: string;
  title: string;
  version: string;
  payers: string[];
  citationShort: string;
  links?: { label: string; url: string }[];
  questionnaire?: string;
  appliesTo: { orderValueSets?: string[]; companionValueSets?: string[] };
  parameters?: Record<string, ParameterValue>;
  criteria: RawNode;
}

interface CompileEnv {
  problems: Problems;
  valueSets: ValueSetStore;
  questionnaires: Map<string, Questionnaire>;
  payerIds: Set<string>;
  facts: Record<string, FactFunction>;
}

function compilePolicy(raw: RawPolicy, file: string, env: CompileEnv): LoadedPolicy | undefined {
  const { problems } = env;
  const before = problems.list.length;
  raw.payers.forEach((p, i) => {
    if (!env.payerIds.has(p)) problems.add(file, ptr('payers', i), `unknown payer "${p}" (not in payers.json)`);
  });
  for (const kind of ['orderValueSets', 'companionValueSets'] as const) {
    (raw.appliesTo[kind] ?? []).forEach((vs, i) => {
      if (!env.valueSets.has(vs)) problems.add(file, ptr('appliesTo', kind, i), `unknown value set "${vs}"`);
    });
  }
  let linkIds: Set<string> | undefined;
  if (raw.questionnaire !== undefined) {
    const q = env.questionnaires.get(raw.questionnaire);
    if (!q) problems.add(file, '/questionnaire', `unknown questionnaire "${raw.questionnaire}" (not in questionnaires/)`);
    else linkIds = questionnaireLinkIds(q);
  }
  const parameters = { ...(raw.parameters ?? {}) };
  const variables = new Set([...Object.keys(parameters), 'asOf']);
  const ids = new Map<string, string>();
  const criteria = compileNode(raw.criteria, '/criteria', { ...env, file, ids, variables, linkIds, questionnaire: raw.questionnaire });
  if (problems.list.length > before || !criteria) return undefined;
  return {
    id: raw.id,
    title: raw.title,
    version: raw.version,
    payers: raw.payers,
    citationShort: raw.citationShort,
    links: raw.links ?? [],
    ...(raw.questionnaire !== undefined ? { questionnaire: raw.questionnaire } : {}),
    appliesTo: { orderValueSets: raw.appliesTo.orderValueSets ?? [], companionValueSets: raw.appliesTo.companionValueSets ?? [] },
    parameters,
    criteria,
    file,
  };
}

interface NodeEnv extends CompileEnv {
  file: string;
  ids: Map<string, string>;
  variables: Set<string>;
  linkIds: Set<string> | undefined;
  questionnaire: string | undefined;
}

function compileNode(raw: RawNode, at: string, env: NodeEnv): PolicyNode | undefined {
  const { problems, file } = env;
  const first = env.ids.get(raw.id);
  if (first) problems.add(file, `${at}/id`, `duplicate criterion id "${raw.id}" (also at ${first})`);
  else env.ids.set(raw.id, at);
  (raw.remedies ?? []).forEach((r, i) => {
    if (r.type !== 'questionnaire') return;
    if (!env.questionnaire) problems.add(file, `${at}/remedies/${i}`, 'questionnaire remedy in a policy without a "questionnaire"');
    else if (env.linkIds && !env.linkIds.has(r.linkId)) {
      problems.add(file, `${at}/remedies/${i}/linkId`, `unknown linkId "${r.linkId}" in questionnaire "${env.questionnaire}"`);
    }
  });
  const base = {
    id: raw.id,
    text: raw.text,
    pointer: at,
    ...(raw.label !== undefined ? { label: raw.label } : {}),
    ...(raw.citation !== undefined ? { citation: raw.citation } : {}),
    ...(raw.remedies !== undefined ? { remedies: raw.remedies } : {}),
  };
  for (const kind of ['allOf', 'anyOf', 'firstDocumented'] as const) {
    const list = raw[kind];
    if (!list) continue;
    const children = list.map((c, i) => compileNode(c, `${at}/${kind}/${i}`, env));
    return children.every((c): c is PolicyNode => !!c) ? { ...base, kind, children } : undefined;
  }
  if (raw.not) {
    const child = compileNode(raw.not, `${at}/not`, env);
    return child ? { ...base, kind: 'not', child } : undefined;
  }
  const citation = raw.citation ?? '';
  if (raw.fact !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(env.facts, raw.fact) || typeof env.facts[raw.fact] !== 'function') {
      problems.add(file, `${at}/fact`, `unknown fact "${raw.fact}"`);
      return undefined;
    }
    checkParamReferences(raw.params ?? {}, `${at}/params`, env);
    return { ...base, citation, kind: 'fact', fact: raw.fact, params: raw.params ?? {} };
  }
  if (raw.fhirpath) {
    const spec = raw.fhirpath;
    let ok = true;
    if (!isResourceType(spec.resourceType)) {
      problems.add(file, `${at}/fhirpath/resourceType`, `unknown FHIR R4 resource type "${spec.resourceType}"`);
      ok = false;
    }
    if (spec.valueSet !== undefined && !env.valueSets.has(spec.valueSet)) {
      problems.add(file, `${at}/fhirpath/valueSet`, `unknown value set "${spec.valueSet}"`);
      ok = false;
    }
    const compiled: { where?: FhirPathFn; metIf?: FhirPathFn; notMetIf?: FhirPathFn } = {};
    for (const key of ['where', 'metIf', 'notMetIf'] as const) {
      const expr = spec[key];
      if (expr === undefined) continue;
      const fn = compileExpression(expr, `${at}/fhirpath/${key}`, env);
      if (fn) compiled[key] = fn;
      else ok = false;
    }
    return ok ? { ...base, citation, kind: 'fhirpath', fhirpath: spec, compiled } : undefined;
  }
  problems.add(file, at, 'a criterion needs allOf, anyOf, not, firstDocumented, fact or fhirpath');
  return undefined;
}

/** Fact params may name a policy parameter as "%name"; a typo there would only surface at evaluation time. */
function checkParamReferences(params: Record<string, unknown>, at: string, env: NodeEnv): void {
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'string' && /^%[A-Za-z][A-Za-z0-9_]*$/.test(v) && !env.variables.has(v.slice(1))) {
      env.problems.add(env.file, `${at}/${k}`, `unknown policy parameter "${v.slice(1)}"`);
    }
  }
}

function isResourceType(type: string): boolean {
  const parents = (r4 as unknown as { type2Parent: Record<string, string> }).type2Parent;
  let t: string | undefined = type;
  for (let i = 0; t && i < 5; i++) {
    if (t === 'DomainResource' || t === 'Resource') return type !== t;
    t = parents[t];
  }
  return false;
}

function compileExpression(expr: string, at: string, env: NodeEnv): FhirPathFn | undefined {
  let ast: unknown;
  try {
    ast = fhirpath.parse(expr);
  } catch (err) {
    env.problems.add(env.file, at, `FHIRPath syntax error: ${firstLine(err)}`);
    return undefined;
  }
  let ok = true;
  walkAst(ast, (node) => {
    if (node.type === 'FunctionInvocation' && typeof node.text === 'string' && WALL_CLOCK_FUNCTIONS.has(node.text)) {
      env.problems.add(env.file, at, `${node.text}() is not allowed: evaluations are relative to the order date — use %asOf (e.g. %asOf.toDate() - 6 months)`);
      ok = false;
    }
    if (node.type === 'ExternalConstantTerm' && typeof node.text === 'string') {
      const name = node.text.replace(/^%/, '').replace(/^[`'"]|[`'"]$/g, '');
      if (!env.variables.has(name) && !BUILTIN_VARIABLES.has(name)) {
        env.problems.add(env.file, at, `unknown variable %${name} (define it in "parameters", or use %asOf)`);
        ok = false;
      }
    }
  });
  if (!ok) return undefined;
  try {
    return fhirpath.compile(expr, r4, { resolveInternalTypes: true }) as unknown as FhirPathFn;
  } catch (err) {
    env.problems.add(env.file, at, `FHIRPath error: ${firstLine(err)}`);
    return undefined;
  }
}

interface AstNode {
  type?: string;
  text?: string;
  children?: AstNode[];
}

function walkAst(node: unknown, visit: (n: AstNode) => void): void {
  if (!node || typeof node !== 'object') return;
  const n = node as AstNode;
  visit(n);
  for (const c of n.children ?? []) walkAst(c, visit);
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

// ---------------------------------------------------------------------------------------------------------------------
// Deployment overrides.

function applyOverrides(policies: LoadedPolicy[], overrides: ParameterOverrides | undefined, source: string, problems: Problems): void {
  if (!overrides) return;
  const byId = new Map(policies.map((p) => [p.id, p] as const));
  for (const [policyId, params] of Object.entries(overrides)) {
    const policy = byId.get(policyId);
    if (!policy) {
      problems.add(source, ptr(policyId), `unknown policy "${policyId}"`);
      continue;
    }
    if (!params || typeof params !== 'object') {
      problems.add(source, ptr(policyId), 'must be an object of parameter values');
      continue;
    }
    const merged: Record<string, ParameterValue> = { ...policy.parameters };
    for (const [name, value] of Object.entries(params)) {
      if (!Object.prototype.hasOwnProperty.call(policy.parameters, name)) {
        problems.add(source, ptr(policyId, name), `unknown parameter "${name}" of policy "${policyId}" (known: ${Object.keys(policy.parameters).join(', ') || 'none'})`);
        continue;
      }
      const expected = typeof policy.parameters[name];
      if (typeof value !== expected) {
        problems.add(source, ptr(policyId, name), `must be a ${expected} like the policy's default (${JSON.stringify(policy.parameters[name])})`);
        continue;
      }
      merged[name] = value;
    }
    policy.parameters = merged;
  }
}

/** Read POLICY_OVERRIDES_FILE (JSON or YAML: `{ "<policy id>": { "<parameter>": value } }`), validated by schema. */
export function readParameterOverrides(file: string): ParameterOverrides {
  const problems = new Problems();
  const data = readDataFile(file, problems);
  if (data !== undefined) validateAgainst('overrides', data, file, problems);
  problems.throwIfAny();
  return data as ParameterOverrides;
}

/** For tools/tests: a catalogue from entries without a directory. */
export { buildOrderCatalogue };
