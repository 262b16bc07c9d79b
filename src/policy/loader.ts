// Start-up loading of the policy directory: value sets, questionnaires, payers, the order catalogue and the policies
// themselves. Everything is validated against the JSON Schemas in policies/schema/, every FHIRPath expression is
// compiled once, and every name a policy uses (fact, value set, questionnaire, item, payer, parameter) must exist.
// Any problem stops the start with the file, the JSON path and the line (PolicyLoadError).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Coding, Coverage, Questionnaire, QuestionnaireItem } from 'fhir/r4';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { canonicalSystem, type PatientRecord } from '../fhir/record.js';
import { HCPCS } from '../fhir/systems.js';
import { drugCodings } from '../orders/types.js';
import { anchorReferences, anchorRequirements, BUILTIN_ANCHORS, type AnchorSpec } from './anchors.js';
import { KINDS } from './kinds/index.js';
import { checkParams } from './kinds/schema.js';
import type { DataRequirement, RefKind } from './kinds/types.js';
import type { CrdSemantics, FhirPathFn, FhirPathSpec, LoadedPolicy, ParameterInfo, ParameterValue, PolicyNode, PolicyRole } from './model.js';
import { buildOrderCatalogue, loadOrderCatalogue, type OrderCatalogue } from './orders.js';
import { compilePayer, matchPayer, type CompiledPayer, type PayerConfig, type PayerMatch } from './payers.js';
import { PolicyLoadError, Problems, ptr, readDataFile, validateAgainst } from './schemas.js';
import type { FactDefinition, FactFunction, InfusionOrder, Remedy, TriState } from './types.js';
import { applyLocalCodes, looseCode, readValueSets, type ValueSetStore } from './valuesets.js';

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
  facts: Readonly<Record<string, FactDefinition>>;
  /** Shared criteria fragments by id (policies/fragments/). */
  fragments: ReadonlyMap<string, { id: string; title: string; file: string }>;
  /** What every loaded criterion reads (merged over the policies), for prefetch templates and fallback queries. */
  dataRequirements: readonly DataRequirement[];
  /** policies/orders.json when present (also available through loadOrderCatalogue). */
  orderCatalogue?: OrderCatalogue;
  payer(id: string): PayerConfig | undefined;
  /** The configured payer a Coverage belongs to, if any (exclusions applied). */
  matchPayer(coverage: Coverage, record: PatientRecord): PayerMatch | undefined;
  /** Policies of this payer (or of the payer it follows) whose scope includes the order. */
  policiesFor(order: InfusionOrder, payerId: string): LoadedPolicy[];
}

export interface LoadPolicyOptions {
  /** Bespoke facts by name: a definition (params schema, data requirements), or a bare function (any params). */
  facts: Readonly<Record<string, FactDefinition | FactFunction>>;
  /** policy id → parameter → value (from POLICY_OVERRIDES_FILE; see readParameterOverrides). */
  parameterOverrides?: ParameterOverrides;
  /** Name shown for the overrides in error messages (the file it came from). */
  overridesSource?: string;
}

const POLICY_FILE = /\.policy\.(json|ya?ml)$/i;
const FRAGMENT_FILE = /\.fragment\.(json|ya?ml)$/i;
/** Folders of the policy directory that hold other files than policies. */
const NOT_POLICY_DIRS = new Set(['valuesets', 'questionnaires', 'schema', 'fragments', 'tests', 'node_modules']);

const PARAM_REF = '^%[A-Za-z][A-Za-z0-9_]*$';
/** Bare fact functions declare nothing: their top-level "%name" params are still resolved. */
const LEGACY_FACT_SCHEMA = {
  type: 'object',
  additionalProperties: { oneOf: [{ type: 'string', pattern: PARAM_REF, 'x-ref': 'parameter' }, { not: { type: 'string', pattern: PARAM_REF } }] },
};

function factDefinitions(facts: LoadPolicyOptions['facts']): Record<string, FactDefinition> {
  const out: Record<string, FactDefinition> = {};
  for (const [name, f] of Object.entries(facts)) {
    out[name] = typeof f === 'function' ? { evaluate: f, paramsSchema: LEGACY_FACT_SCHEMA, dataRequirements: () => [] } : f;
  }
  return out;
}

/** Variables fhirpath.js defines itself; everything else must be a policy parameter or %asOf. */
const BUILTIN_VARIABLES = new Set(['ucum', 'sct', 'loinc', 'resource', 'rootResource', 'context', 'factory']);
/** Wall-clock functions: an evaluation must be relative to the order date, never to when the code runs. */
const WALL_CLOCK_FUNCTIONS = new Set(['now', 'today', 'timeOfDay']);

export function loadPolicySet(dir: string, opts: LoadPolicyOptions): PolicySet {
  const problems = new Problems();
  const valueSets = readValueSets(path.join(dir, 'valuesets'), problems);
  applyLocalCodes(path.join(dir, 'local-codes.json'), valueSets, problems);
  const questionnaires = readQuestionnaires(path.join(dir, 'questionnaires'), problems);
  const payers = readPayers(path.join(dir, 'payers.json'), problems);
  const payerIds = new Set(payers.map((p) => p.config.id));
  payers.forEach((p, i) =>
    p.config.notSupplied?.forEach((n, j) =>
      n.orderValueSets.forEach((vs, k) => {
        if (!valueSets.has(vs)) problems.add(path.join(dir, 'payers.json'), ptr('payers', i, 'notSupplied', j, 'orderValueSets', k), `unknown value set "${vs}"`);
      }),
    ),
  );

  const facts = factDefinitions(opts.facts);
  const fragments = readFragments(path.join(dir, 'fragments'), problems);
  const policies: LoadedPolicy[] = [];
  const policyFiles = listFilesDeep(dir, POLICY_FILE);
  const policyOrigin = new Map<string, string>();
  for (const file of policyFiles) {
    const data = readDataFile(file, problems);
    if (data === undefined || !validateAgainst('policy', data, file, problems)) continue;
    const policy = compilePolicy(data as RawPolicy, file, { problems, valueSets, questionnaires, payerIds, facts, fragments });
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
  for (const p of policies) finalizeParams(p);

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
  const index = policyIndex(policies, valueSets);
  return {
    dir,
    policies,
    payers: payers.map((p) => p.config),
    valueSets,
    questionnaires,
    facts,
    fragments: new Map([...fragments.values()].map((f) => [f.id, { id: f.id, title: f.title, file: f.file }])),
    dataRequirements: mergeRequirements(policies.flatMap((p) => p.dataRequirements)),
    ...(orderCatalogue ? { orderCatalogue } : {}),
    payer: (id) => byId.get(id)?.config,
    matchPayer: (coverage, record) => matchPayer(coverage, record, payers),
    policiesFor: (order, payerId) => {
      const ids = payerLineage(payerId, byId);
      return index.candidates(order).filter((p) => p.payers.some((x) => ids.has(x)) && orderInScope(p, order, valueSets));
    },
  };
}

/**
 * Policies indexed by the codes of their scope value sets, so choosing the policies of an order looks at the order's
 * own codes (and its companions'), not at every policy. Value sets with code prefixes cannot be enumerated: policies
 * using them are always candidates (then checked exactly by orderInScope).
 */
function policyIndex(policies: LoadedPolicy[], valueSets: ValueSetStore): { candidates(order: InfusionOrder): LoadedPolicy[] } {
  const byCode = new Map<string, Set<LoadedPolicy>>();
  const always = new Set<LoadedPolicy>();
  for (const p of policies) {
    for (const vs of [...p.appliesTo.orderValueSets, ...p.appliesTo.companionValueSets]) {
      if (valueSets.hasPrefixes(vs)) always.add(p);
      for (const c of valueSets.codings(vs)) {
        const key = `${canonicalSystem(c.system)}|${looseCode(c.code)}`;
        let set = byCode.get(key);
        if (!set) byCode.set(key, (set = new Set()));
        set.add(p);
      }
    }
  }
  return {
    candidates(order) {
      const found = new Set<LoadedPolicy>(always);
      const codings = [
        ...order.codings,
        ...(order.hcpcs ? [{ system: HCPCS, code: order.hcpcs }] : []),
        ...order.companions.flatMap((c) => [...c.codings, ...(c.hcpcs ? [{ system: HCPCS, code: c.hcpcs }] : [])]),
        ...drugCodings(order.drug),
      ];
      for (const c of codings) for (const p of byCode.get(`${canonicalSystem(c.system)}|${looseCode(c.code ?? '')}`) ?? []) found.add(p);
      // Keep file order (deterministic composition).
      return policies.filter((p) => found.has(p));
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
  const { notWithValueSets, drugValueSets } = policy.appliesTo;
  // notWithValueSets: never in scope when the order or an order of its set is coded in one of these (an implantable
  // pump's order set is not judged by the external-pump policies).
  if (notWithValueSets?.length) {
    const items = [{ codings: order.codings, hcpcs: order.hcpcs }, ...order.companions];
    if (items.some((i) => notWithValueSets.some((vs) => valueSets.containsAny(vs, withHcpcs(i))))) return false;
  }
  if (!baseScope(policy, order, valueSets)) return false;
  // drugValueSets narrows: the order's identified drug (companion, own fields or record) must be in one of them.
  if (drugValueSets?.length) {
    const drug = drugCodings(order.drug);
    return drug.length > 0 && drugValueSets.some((vs) => valueSets.containsAny(vs, drug));
  }
  return true;
}

function withHcpcs(i: { codings: readonly Coding[]; hcpcs?: string | undefined }): Coding[] {
  return [...i.codings, ...(i.hcpcs ? [{ system: HCPCS, code: i.hcpcs }] : [])];
}

function baseScope(policy: LoadedPolicy, order: InfusionOrder, valueSets: ValueSetStore): boolean {
  // The identified drug counts as well as the codes ordered: a drug order named only in text ("Morphine sulfate 1 mg/mL
  // in NS") is the drug it names, and a pump's drug (from a companion order, the order's own fields or the record) is
  // a companion — so a drug on an indication list always brings that indication's policy (never the general rules alone).
  const drug = drugCodings(order.drug);
  const own = order.role === 'drug' ? [...order.codings, ...drug] : order.codings;
  if (policy.appliesTo.orderValueSets.some((vs) => valueSets.containsAny(vs, own))) return true;
  const companionSets = policy.appliesTo.companionValueSets;
  if (companionSets.length === 0) return false;
  const companions =
    order.role === 'pump' ? order.companions : order.role === 'drug' ? order.companions.filter((c) => c.role === 'pump') : [];
  if (companions.some((c) => companionSets.some((vs) => valueSets.containsAny(vs, c.codings)))) return true;
  return order.role === 'pump' && drug.length > 0 && companionSets.some((vs) => valueSets.containsAny(vs, drug));
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

/** Policy files anywhere under the directory (one folder per payer), except the data folders. */
function listFilesDeep(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) {
        if (depth < 4 && !(depth === 0 && NOT_POLICY_DIRS.has(e.name)) && !e.name.startsWith('.')) walk(path.join(d, e.name), depth + 1);
      } else if (pattern.test(e.name)) out.push(path.join(d, e.name));
    }
  };
  walk(dir, 0);
  return out;
}

function readFragments(dir: string, problems: Problems): Map<string, RawFragment> {
  const out = new Map<string, RawFragment>();
  for (const file of listFiles(dir, FRAGMENT_FILE)) {
    const data = readDataFile(file, problems);
    if (data === undefined || !validateAgainst('fragment', data, file, problems)) continue;
    const f = { ...(data as Omit<RawFragment, 'file'>), file };
    const first = out.get(f.id);
    if (first) {
      problems.add(file, '/id', `duplicate fragment id "${f.id}" (also in ${path.basename(first.file)})`);
      continue;
    }
    out.set(f.id, f);
  }
  return out;
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

/** Every linkId of a questionnaire, nested items included. */
export function questionnaireLinkIds(q: Questionnaire): Set<string> {
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
    for (const part of ['match', 'require', 'exclude'] as const) {
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
  onlyIf?: string;
  otherwise?: TriState;
  collapseIf?: string;
  review?: string;
  absent?: TriState;
  allOf?: RawNode[];
  anyOf?: RawNode[];
  firstDocumented?: RawNode[];
  not?: RawNode;
  fact?: string;
  kind?: string;
  include?: string;
  params?: Record<string, unknown>;
  fhirpath?: FhirPathSpec;
}

type RawParameter = ParameterValue | { value: ParameterValue; unit?: string; citation?: string; note?: string; enum?: ParameterValue[] };

interface RawPolicy {
  id: string;
  title: string;
  version: string;
  role?: PolicyRole;
  payers: string[];
  citationShort: string;
  links?: { label: string; url: string }[];
  questionnaire?: string;
  appliesTo: { orderValueSets?: string[]; companionValueSets?: string[]; drugValueSets?: string[]; notWithValueSets?: string[] };
  billingNote?: { text: string; citation: string };
  crd?: CrdSemantics;
  parameters?: Record<string, RawParameter>;
  anchors?: Record<string, AnchorSpec>;
  definitions?: Record<string, RawNode>;
  criteria: RawNode;
}

export interface RawFragment {
  id: string;
  title: string;
  parameters?: Record<string, RawParameter>;
  anchors?: Record<string, AnchorSpec>;
  definitions?: Record<string, RawNode>;
  criteria: RawNode;
  file: string;
}

interface CompileEnv {
  problems: Problems;
  valueSets: ValueSetStore;
  questionnaires: Map<string, Questionnaire>;
  payerIds: Set<string>;
  facts: Record<string, FactDefinition>;
  fragments: Map<string, RawFragment>;
}

function splitParameter(raw: RawParameter, source: ParameterInfo['source']): ParameterInfo {
  if (raw !== null && typeof raw === 'object') {
    return { value: raw.value, source, ...(raw.unit ? { unit: raw.unit } : {}), ...(raw.citation ? { citation: raw.citation } : {}), ...(raw.note ? { note: raw.note } : {}) };
  }
  return { value: raw, source };
}

/** Fragments included (transitively) by a criteria tree, in first-seen order; cycles are reported. */
function collectFragments(node: RawNode, env: CompileEnv, file: string, at: string, stack: string[], out: RawFragment[]): void {
  if (node.include !== undefined) {
    const f = env.fragments.get(node.include);
    if (!f) {
      env.problems.add(file, `${at}/include`, `unknown fragment "${node.include}" (not in fragments/)`);
      return;
    }
    if (stack.includes(f.id)) {
      env.problems.add(file, `${at}/include`, `fragment "${f.id}" includes itself (${[...stack, f.id].join(' → ')})`);
      return;
    }
    if (!out.includes(f)) out.push(f);
    collectFragments(f.criteria, env, f.file, '/criteria', [...stack, f.id], out);
    for (const [name, d] of Object.entries(f.definitions ?? {})) collectFragments(d, env, f.file, ptr('definitions', name), [...stack, f.id], out);
    return;
  }
  for (const k of ['allOf', 'anyOf', 'firstDocumented'] as const) node[k]?.forEach((c, i) => collectFragments(c, env, file, `${at}/${k}/${i}`, stack, out));
  if (node.not) collectFragments(node.not, env, file, `${at}/not`, stack, out);
}

function compilePolicy(raw: RawPolicy, file: string, env: CompileEnv): LoadedPolicy | undefined {
  const { problems } = env;
  const before = problems.list.length;
  raw.payers.forEach((p, i) => {
    if (!env.payerIds.has(p)) problems.add(file, ptr('payers', i), `unknown payer "${p}" (not in payers.json)`);
  });
  for (const kind of ['orderValueSets', 'companionValueSets', 'drugValueSets', 'notWithValueSets'] as const) {
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

  // Fragments contribute parameters, anchors and definitions; the policy's own win.
  const fragments: RawFragment[] = [];
  collectFragments(raw.criteria, env, file, '/criteria', [], fragments);
  for (const [name, d] of Object.entries(raw.definitions ?? {})) collectFragments(d, env, file, ptr('definitions', name), [], fragments);
  const parameterInfo: Record<string, ParameterInfo> = {};
  const anchors: Record<string, AnchorSpec> = {};
  const anchorOrigin: Record<string, { file: string; at: string }> = {};
  const rawDefinitions: Record<string, { node: RawNode; file: string; at: string }> = {};
  for (const f of fragments) {
    for (const [k, v] of Object.entries(f.parameters ?? {})) parameterInfo[k] = splitParameter(v, 'fragment');
    for (const [k, v] of Object.entries(f.anchors ?? {})) {
      anchors[k] = v;
      anchorOrigin[k] = { file: f.file, at: ptr('anchors', k) };
    }
    for (const [k, v] of Object.entries(f.definitions ?? {})) rawDefinitions[k] = { node: v, file: f.file, at: ptr('definitions', k) };
  }
  for (const [k, v] of Object.entries(raw.parameters ?? {})) parameterInfo[k] = splitParameter(v, 'policy');
  for (const [k, v] of Object.entries(raw.anchors ?? {})) {
    anchors[k] = v;
    anchorOrigin[k] = { file, at: ptr('anchors', k) };
  }
  for (const [k, v] of Object.entries(raw.definitions ?? {})) rawDefinitions[k] = { node: v, file, at: ptr('definitions', k) };
  const parameters: Record<string, ParameterValue> = Object.fromEntries(Object.entries(parameterInfo).map(([k, v]) => [k, v.value]));

  const names: PolicyNames = {
    anchors: new Set([...Object.keys(BUILTIN_ANCHORS), ...Object.keys(anchors)]),
    definitions: new Set(Object.keys(rawDefinitions)),
    parameters,
  };
  const variables = new Set([...Object.keys(parameters), 'asOf', 'anchor']);
  const requirements: DataRequirement[] = [];
  const nodeEnv: NodeEnv = { ...env, file, ids: new Map(), variables, linkIds, questionnaire: raw.questionnaire, names, requirements, policyId: raw.id };

  // Anchors: every name they use must resolve; cycles stop the start.
  for (const [name, spec] of Object.entries(anchors)) {
    const origin = anchorOrigin[name]!;
    for (const ref of anchorReferences(spec)) resolveRef(ref.kind, ref.value, origin.file, `${origin.at}${ref.pointer}`, nodeEnv, undefined);
    for (const req of anchorRequirements(spec)) requirements.push({ ...req, purpose: [`${raw.id}@${name} (anchor)`] });
    spec.firstOf.forEach((step, i) => {
      for (const s of step.source ? [step.source] : (step.earliest ?? step.latest ?? [])) {
        const m = typeof s.coverageStart === 'object' ? s.coverageStart.match : undefined;
        for (const pattern of [m?.classPattern, m?.payorPattern]) {
          if (pattern === undefined) continue;
          try {
            new RegExp(pattern, 'i');
          } catch (err) {
            problems.add(origin.file, `${origin.at}/firstOf/${i}`, `invalid coverageStart pattern: ${(err as Error).message}`);
          }
        }
      }
    });
  }
  const cycle = anchorCycle(anchors);
  if (cycle) problems.add(anchorOrigin[cycle[0]!]!.file, anchorOrigin[cycle[0]!]!.at, `anchors refer to each other in a cycle: ${cycle.join(' → ')}`);

  const definitions: Record<string, PolicyNode> = {};
  for (const [name, d] of Object.entries(rawDefinitions)) {
    const node = compileNode(d.node, d.at, { ...nodeEnv, file: d.file });
    if (node) definitions[name] = node;
  }
  const criteria = compileNode(raw.criteria, '/criteria', nodeEnv);
  if (problems.list.length > before || !criteria) return undefined;
  return {
    id: raw.id,
    title: raw.title,
    version: raw.version,
    role: raw.role ?? 'coverage',
    payers: raw.payers,
    citationShort: raw.citationShort,
    links: raw.links ?? [],
    ...(raw.questionnaire !== undefined ? { questionnaire: raw.questionnaire } : {}),
    appliesTo: {
      orderValueSets: raw.appliesTo.orderValueSets ?? [],
      companionValueSets: raw.appliesTo.companionValueSets ?? [],
      ...(raw.appliesTo.drugValueSets?.length ? { drugValueSets: raw.appliesTo.drugValueSets } : {}),
      ...(raw.appliesTo.notWithValueSets?.length ? { notWithValueSets: raw.appliesTo.notWithValueSets } : {}),
    },
    ...(raw.billingNote ? { billingNote: raw.billingNote } : {}),
    crd: raw.crd ?? {},
    parameters,
    parameterInfo,
    anchors,
    definitions,
    fragments: fragments.map((f) => f.id),
    dataRequirements: mergeRequirements(requirements),
    criteria,
    file,
  };
}

function anchorCycle(anchors: Record<string, AnchorSpec>): string[] | undefined {
  const refs = (name: string) => anchorReferences(anchors[name]!).filter((r) => r.kind === 'anchor').map((r) => r.value);
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
    if (!anchors[name]) return undefined;
    for (const next of refs(name)) {
      const c = visit(next, [...path, name]);
      if (c) return c;
    }
    return undefined;
  };
  for (const name of Object.keys(anchors)) {
    const c = visit(name, []);
    if (c) return c;
  }
  return undefined;
}

/** One requirement per type + code parameter + includes, value sets and purposes united. */
export function mergeRequirements(list: DataRequirement[]): DataRequirement[] {
  const byKey = new Map<string, DataRequirement>();
  const all = new Map<string, DataRequirement>();
  for (const r of list) {
    const key = `${r.type}|${r.codeParam ?? ''}|${r.valueSets ? 'coded' : 'all'}`;
    const hit = byKey.get(key);
    if (!hit) {
      byKey.set(key, { type: r.type, ...(r.valueSets ? { valueSets: [...r.valueSets] } : {}), ...(r.codeParam ? { codeParam: r.codeParam } : {}), ...(r.include ? { include: [...r.include] } : {}), purpose: [...r.purpose] });
      continue;
    }
    for (const v of r.valueSets ?? []) if (!hit.valueSets!.includes(v)) hit.valueSets!.push(v);
    for (const v of r.include ?? []) if (!(hit.include ??= []).includes(v)) hit.include.push(v);
    for (const v of r.purpose) if (!hit.purpose.includes(v)) hit.purpose.push(v);
  }
  // A type read unrestricted makes the coded search of the same type redundant.
  for (const r of byKey.values()) {
    const whole = [...byKey.values()].find((x) => x !== r && x.type === r.type && !x.valueSets && r.valueSets);
    if (whole) {
      for (const v of r.purpose) if (!whole.purpose.includes(v)) whole.purpose.push(v);
      for (const v of r.include ?? []) if (!(whole.include ??= []).includes(v)) whole.include.push(v);
      continue;
    }
    all.set(`${r.type}|${r.codeParam ?? ''}|${r.valueSets ? 'coded' : 'all'}`, r);
  }
  return [...all.values()].sort((a, b) => a.type.localeCompare(b.type) || (a.codeParam ?? '').localeCompare(b.codeParam ?? ''));
}

interface PolicyNames {
  anchors: Set<string>;
  definitions: Set<string>;
  parameters: Record<string, ParameterValue>;
}

interface NodeEnv extends CompileEnv {
  file: string;
  ids: Map<string, string>;
  variables: Set<string>;
  linkIds: Set<string> | undefined;
  questionnaire: string | undefined;
  names: PolicyNames;
  requirements: DataRequirement[];
  policyId: string;
}

/** Resolve one referenced name; returns a compiled FHIRPath function for `fhirpath` refs. */
function resolveRef(kind: RefKind, value: string, file: string, at: string, env: NodeEnv, questionnaire: string | undefined): FhirPathFn | undefined {
  const { problems } = env;
  switch (kind) {
    case 'valueSet':
      if (!env.valueSets.has(value)) problems.add(file, at, `unknown value set "${value}"`);
      return undefined;
    case 'anchor':
      if (!env.names.anchors.has(value)) problems.add(file, at, `unknown anchor "${value}" (known: ${[...env.names.anchors].join(', ')})`);
      return undefined;
    case 'definition':
      if (!env.names.definitions.has(value)) problems.add(file, at, `unknown definition "${value}" (known: ${[...env.names.definitions].join(', ') || 'none'})`);
      return undefined;
    case 'questionnaire':
      if (!env.questionnaires.has(value)) problems.add(file, at, `unknown questionnaire "${value}" (not in questionnaires/)`);
      return undefined;
    case 'linkId': {
      const qid = questionnaire ?? env.questionnaire;
      if (!qid) {
        problems.add(file, at, 'a linkId in a policy without a "questionnaire"');
        return undefined;
      }
      const q = env.questionnaires.get(qid);
      if (q && !questionnaireLinkIds(q).has(value)) problems.add(file, at, `unknown linkId "${value}" in questionnaire "${qid}"`);
      return undefined;
    }
    case 'fhirpath':
      return compileExpression(value, at, { ...env, file });
    default: {
      // parameter / parameter:<type>
      const name = value.slice(1);
      if (!Object.prototype.hasOwnProperty.call(env.names.parameters, name)) {
        problems.add(file, at, `unknown policy parameter "${name}"`);
        return undefined;
      }
      const want = kind.split(':')[1];
      const got = typeof env.names.parameters[name];
      if (want && got !== want) problems.add(file, at, `policy parameter "${name}" is a ${got}; a ${want} is expected here`);
      return undefined;
    }
  }
}

function compileNode(raw: RawNode, at: string, env: NodeEnv): PolicyNode | undefined {
  const { problems, file } = env;
  if (raw.include !== undefined) {
    const f = env.fragments.get(raw.include);
    if (!f) return undefined; // reported by collectFragments
    return compileNode(f.criteria, '/criteria', { ...env, file: f.file });
  }
  const first = env.ids.get(raw.id);
  if (first) problems.add(file, `${at}/id`, `duplicate criterion id "${raw.id}" (also at ${first.startsWith(`${file}#`) ? first.slice(file.length + 1) : path.basename(first)})`);
  else env.ids.set(raw.id, `${file}#${at}`);
  (raw.remedies ?? []).forEach((r, i) => {
    if (r.type !== 'questionnaire') return;
    if (!env.questionnaire) problems.add(file, `${at}/remedies/${i}`, 'questionnaire remedy in a policy without a "questionnaire"');
    else if (env.linkIds && !env.linkIds.has(r.linkId)) {
      problems.add(file, `${at}/remedies/${i}/linkId`, `unknown linkId "${r.linkId}" in questionnaire "${env.questionnaire}"`);
    }
  });
  if (raw.onlyIf !== undefined) resolveRef('definition', raw.onlyIf, file, `${at}/onlyIf`, env, undefined);
  if (raw.collapseIf !== undefined) resolveRef('definition', raw.collapseIf, file, `${at}/collapseIf`, env, undefined);
  (raw.remedies ?? []).forEach((r, i) => {
    if (r.unlessDefinition !== undefined) resolveRef('definition', r.unlessDefinition, file, `${at}/remedies/${i}/unlessDefinition`, env, undefined);
  });
  const base = {
    id: raw.id,
    text: raw.text,
    pointer: at,
    ...(raw.label !== undefined ? { label: raw.label } : {}),
    ...(raw.citation !== undefined ? { citation: raw.citation } : {}),
    ...(raw.remedies !== undefined ? { remedies: raw.remedies } : {}),
    ...(raw.onlyIf !== undefined ? { onlyIf: raw.onlyIf } : {}),
    ...(raw.otherwise !== undefined ? { otherwise: raw.otherwise } : {}),
    ...(raw.collapseIf !== undefined ? { collapseIf: raw.collapseIf } : {}),
    ...(raw.review !== undefined ? { review: raw.review } : {}),
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
  if (raw.kind !== undefined || raw.fact !== undefined) {
    const isKind = raw.kind !== undefined;
    const def = isKind ? KINDS[raw.kind!] : Object.prototype.hasOwnProperty.call(env.facts, raw.fact!) ? env.facts[raw.fact!] : undefined;
    if (!def) {
      problems.add(file, `${at}/${isKind ? 'kind' : 'fact'}`, isKind ? `unknown kind "${raw.kind}" (known: ${Object.keys(KINDS).join(', ')})` : `unknown fact "${raw.fact}"`);
      return undefined;
    }
    const rawParams = raw.params ?? {};
    const check = checkParams(def.paramsSchema, rawParams);
    for (const e of check.errors) problems.add(file, `${at}/params${e.pointer}`, e.message);
    if (!check.ok) return undefined;
    const questionnaire = typeof rawParams.questionnaire === 'string' ? rawParams.questionnaire : undefined;
    const filters = new Map<string, FhirPathFn>();
    const paramRefs: { pointer: string; name: string }[] = [];
    let ok = true;
    for (const ref of check.refs) {
      const before = problems.list.length;
      const fn = resolveRef(ref.kind, ref.value, file, `${at}/params${ref.pointer}`, env, questionnaire);
      if (problems.list.length > before) ok = false;
      if (fn) filters.set(ref.pointer, fn);
      if (ref.kind.startsWith('parameter')) paramRefs.push({ pointer: ref.pointer, name: ref.value.slice(1) });
    }
    if (!ok) return undefined;
    const name = isKind ? raw.kind! : raw.fact!;
    const purpose = `${env.policyId}#${raw.id} (${isKind ? name : `fact ${name}`})`;
    const resolved = substitute(rawParams, paramRefs, env.names.parameters);
    for (const req of def.dataRequirements(resolved as never, purpose)) env.requirements.push({ ...req, purpose: [purpose] });
    if (isKind && raw.kind === 'attestation') env.requirements.push({ type: 'QuestionnaireResponse', purpose: [purpose] });
    const leaf = { ...base, citation, rawParams, params: resolved, paramRefs, ...(raw.absent ? { absent: raw.absent } : {}) };
    return isKind ? { ...leaf, kind: 'kind', kindName: raw.kind!, filters } : { ...leaf, kind: 'fact', fact: raw.fact! };
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
    const purpose = `${env.policyId}#${raw.id} (fhirpath)`;
    env.requirements.push({ type: spec.resourceType, ...(spec.valueSet ? { valueSets: [spec.valueSet] } : {}), purpose: [purpose] });
    return ok ? { ...base, citation, kind: 'fhirpath', fhirpath: spec, compiled } : undefined;
  }
  problems.add(file, at, 'a criterion needs allOf, anyOf, not, firstDocumented, kind, fact, fhirpath or include');
  return undefined;
}

/** A copy of params with every "%name" at the given pointers replaced by the parameter's value. */
export function substitute(params: Readonly<Record<string, unknown>>, refs: { pointer: string; name: string }[], values: Readonly<Record<string, ParameterValue>>): Readonly<Record<string, unknown>> {
  if (refs.length === 0) return params;
  const copy = structuredClone(params) as Record<string, unknown>;
  for (const { pointer, name } of refs) {
    const segs = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let at: any = copy;
    for (const s of segs.slice(0, -1)) at = at?.[s];
    if (at && typeof at === 'object') at[segs[segs.length - 1]!] = values[name];
  }
  return copy;
}

/** After deployment overrides: substitute the effective parameter values into every leaf's params. */
function finalizeParams(policy: LoadedPolicy): void {
  const walk = (n: PolicyNode): void => {
    if (n.kind === 'kind' || n.kind === 'fact') (n as { params: unknown }).params = substitute(n.rawParams, n.paramRefs, policy.parameters);
    else if (n.kind === 'not') walk(n.child);
    else if (n.kind === 'allOf' || n.kind === 'anyOf' || n.kind === 'firstDocumented') n.children.forEach(walk);
  };
  walk(policy.criteria);
  Object.values(policy.definitions).forEach(walk);
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
      policy.parameterInfo = { ...policy.parameterInfo, [name]: { ...policy.parameterInfo[name]!, value, source: 'override' } };
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
