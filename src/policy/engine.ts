// The coverage engine: three-valued evaluation of a policy's criteria tree (DESIGN §3), the leaves that decide a
// non-met result, and the per-order determination (coverage → payer → policies → outcome). Pure: no I/O and no clock
// (the request time is passed in); a failing leaf becomes "not documented" with its reason, never a crashed request.
import type { Coverage, Resource } from 'fhir/r4';
import type { PatientRecord } from '../fhir/record.js';
import type { LoadedPolicy, PolicySet } from './loader.js';
import type { FhirPathFn, PolicyNode } from './model.js';
import { payerDisplay, type PayerConfig } from './payers.js';
import type {
  CriterionResult,
  Determination,
  Evidence,
  FactContext,
  FactDefinition,
  FactFunction,
  InfusionOrder,
  LeafOutcome,
  PolicySummary,
  Remedy,
  TriState,
} from './types.js';
import { selectInValueSet, ValueSetStore } from './valuesets.js';
import { resolveAnchor, type AnchorSpec } from './anchors.js';
import { describeValue, resourceDate } from './kinds/common.js';
import { KINDS } from './kinds/index.js';
import type { KindContext } from './kinds/types.js';
import type { CrdSemantics, LoadedPolicy as Policy } from './model.js';

export { describeValue, resourceDate };

// ---------------------------------------------------------------------------------------------------------------------
// Combinators (DESIGN §3).

/** not-met if any child is not-met, else not-documented if any is, else met (an empty allOf is met). */
export function allOfStatus(statuses: readonly TriState[]): TriState {
  if (statuses.includes('not-met')) return 'not-met';
  if (statuses.includes('not-documented')) return 'not-documented';
  return 'met';
}

/** met if any child is met, else not-documented if any is, else not-met. */
export function anyOfStatus(statuses: readonly TriState[]): TriState {
  if (statuses.includes('met')) return 'met';
  if (statuses.includes('not-documented')) return 'not-documented';
  return 'not-met';
}

/** Swaps met and not-met; what is not documented stays not documented. */
export function notStatus(status: TriState): TriState {
  return status === 'met' ? 'not-met' : status === 'not-met' ? 'met' : 'not-documented';
}

/** The first documented child decides: structured data (listed first) wins over an attestation. */
export function firstDocumentedStatus(statuses: readonly TriState[]): TriState {
  return statuses.find((s) => s !== 'not-documented') ?? 'not-documented';
}

// ---------------------------------------------------------------------------------------------------------------------
// Evaluation.

export interface EvaluationContext extends FactContext {
  facts: Readonly<Record<string, FactDefinition | FactFunction>>;
  /** FHIRPath environment: the policy parameters plus %asOf (YYYY-MM-DD). */
  env: Readonly<Record<string, unknown>>;
  /** Named dates and situations of the policy being evaluated. */
  anchors?: Readonly<Record<string, AnchorSpec>>;
  definitions?: Readonly<Record<string, PolicyNode>>;
}

const EMPTY_FILTERS: ReadonlyMap<string, FhirPathFn> = new Map();

/** The engine's anchor / definition services, bound to one policy evaluation (memoised in ctx.memo). */
function bind(ctx: EvaluationContext): EvaluationContext {
  if (ctx.anchor && ctx.definition) return ctx;
  const bound: EvaluationContext = { ...ctx };
  (bound as unknown as { filters: ReadonlyMap<string, FhirPathFn> }).filters = EMPTY_FILTERS; // set per kind leaf (runKind)
  const kctx = bound as unknown as KindContext;
  bound.definition = (name) => {
    const key = `definition:${name}`;
    const hit = bound.memo.get(key) as { status: TriState; evidence: Evidence[] } | undefined;
    if (hit) return hit;
    const node = bound.definitions?.[name];
    if (!node) throw new Error(`unknown definition "${name}"`);
    bound.memo.set(key, { status: 'not-documented', evidence: [] }); // a definition that refers to itself
    const r = evaluateCriteria(node, bound);
    const out = { status: r.status, evidence: collectEvidence(r) };
    bound.memo.set(key, out);
    return out;
  };
  // Anchors are resolved without any leaf's filters: one context for that, made on first use.
  let anchorCtx: KindContext | undefined;
  bound.anchor = (name) => resolveAnchor((anchorCtx ??= { ...kctx, filters: EMPTY_FILTERS }), name, bound.anchors ?? {});
  return bound;
}

/** The evidence that makes a definition met, each item saying which part of it (e.g. "already on an insulin pump"). */
function collectEvidence(r: CriterionResult): Evidence[] {
  if (r.status !== 'met' || r.op === 'leaf' || r.op === 'not') {
    const what = r.text.charAt(0).toLowerCase() + r.text.slice(1);
    return r.evidence.map((e) => ({ ...e, note: e.note ? `${what} (${e.note})` : what }));
  }
  const met = (r.children ?? []).filter((c) => c.status === 'met');
  return met.flatMap(collectEvidence).slice(0, 3);
}

const TRI_STATES = new Set<TriState>(['met', 'not-met', 'not-documented']);

const lowerFirstWord = (t: string): string => (/^[A-Z][a-z]/.test(t) ? t[0]!.toLowerCase() + t.slice(1) : t).replace(/\.$/, '');

/**
 * A result object for `node`, always built with the same fields in the same order: the engine makes one per node per
 * order, and V8 handles objects of one shape far faster than objects spread from a conditionally shaped head (the
 * spreads were a quarter of the engine's time at 50 resources).
 */
function resultOf(node: PolicyNode, op: CriterionResult['op'], status: TriState, evidence: Evidence[], children?: CriterionResult[]): CriterionResult {
  const r: CriterionResult = { id: node.id, text: node.text, citation: node.citation ?? '', op, status, evidence };
  if (children) r.children = children;
  if (node.label) r.label = node.label;
  return r;
}

export function evaluateCriteria(node: PolicyNode, ctxIn: EvaluationContext): CriterionResult {
  const ctx = bind(ctxIn);
  if (node.onlyIf) {
    let applies: { status: TriState; evidence: Evidence[] };
    try {
      applies = ctx.definition!(node.onlyIf);
    } catch {
      const r = resultOf(node, 'leaf', 'not-documented', []);
      r.reason = UNEVALUABLE;
      return r;
    }
    if (applies.status !== 'met') {
      // The definition's own words ("patient already on an insulin pump"), never its id.
      const r = resultOf(node, 'leaf', node.otherwise ?? 'met', [
        { reference: ctx.order.ref, value: ctx.order.label, note: `not applicable: applies only when ${lowerFirstWord(ctx.definitions?.[node.onlyIf]?.text ?? 'its condition is met')}` },
      ]);
      r.finding = { kind: 'engine', code: 'not-applicable', values: { definition: node.onlyIf } };
      return r;
    }
  }
  switch (node.kind) {
    case 'allOf':
    case 'anyOf':
    case 'firstDocumented': {
      const children = node.children.map((c) => evaluateCriteria(c, ctx));
      const statuses = children.map((c) => c.status);
      const status =
        node.kind === 'allOf' ? allOfStatus(statuses) : node.kind === 'anyOf' ? anyOfStatus(statuses) : firstDocumentedStatus(statuses);
      const result = resultOf(node, node.kind, status, [], children);
      if (node.kind === 'firstDocumented' && status !== 'not-documented') {
        const decided = children.find((c) => c.status !== 'not-documented')!;
        result.reason = `decided by: ${decided.text}`;
      }
      if (status !== 'met' && node.collapseIf && definitionMet(ctx, node.collapseIf)) result.collapsed = true;
      if (status !== 'met' && node.remedies) setRemedies(result, node.remedies, ctx);
      return result;
    }
    case 'not': {
      const child = evaluateCriteria(node.child, ctx);
      const status = notStatus(child.status);
      const result = resultOf(node, 'not', status, child.evidence, [child]);
      if (child.reason) result.reason = child.reason;
      if (status !== 'met') {
        const remedies = node.remedies ?? declaredRemedies(node.child);
        if (remedies.length > 0) setRemedies(result, remedies, ctx);
      }
      return result;
    }
    case 'kind':
    case 'fact':
    case 'fhirpath': {
      let out: LeafOutcome;
      try {
        out = node.kind === 'kind' ? runKind(node, ctx) : node.kind === 'fact' ? runFact(node.fact, node.params, ctx, node.absent) : evaluateFhirPathLeaf(node, ctx);
      } catch {
        // An exception here is malformed record data or a bug, never something the clinician can act on: a plain
        // reason, no JavaScript error text ("… is not iterable") on a card or in the assertion.
        out = { status: 'not-documented', evidence: [], reason: UNEVALUABLE, finding: { kind: node.kind === 'kind' ? node.kindName : node.kind, code: 'error' } };
      }
      if (node.onlyIf && out.status !== 'met') {
        // Why the leaf applies (e.g. "patient already on an insulin pump: continued coverage").
        out = { ...out, evidence: [...out.evidence, ...ctx.definition!(node.onlyIf).evidence.slice(0, 1)] };
      }
      const result = resultOf(node, 'leaf', out.status, out.evidence.map(plainEvidence));
      if (out.reason) result.reason = plainText(out.reason) ?? UNEVALUABLE;
      if (out.finding) result.finding = out.finding;
      if (out.retest && out.status !== 'met') result.retest = true;
      if (out.status !== 'met' && node.remedies) setRemedies(result, node.remedies, ctx);
      if (out.status === 'met' && node.review) result.review = node.review;
      return result;
    }
  }
}

function definitionMet(ctx: EvaluationContext, name: string): boolean {
  try {
    return ctx.definition!(name).status === 'met';
  } catch {
    return false;
  }
}

/** The declared remedies that fit this result (RemedyFilter): by the leaf's finding code and the named situations. */
function setRemedies(result: CriterionResult, remedies: readonly Remedy[], ctx: EvaluationContext): void {
  const code = result.finding?.code;
  const fit = remedies.filter(
    (r) =>
      (!r.onlyForFindings || (code !== undefined && r.onlyForFindings.includes(code))) &&
      (!r.notForFindings || code === undefined || !r.notForFindings.includes(code)) &&
      (!r.unlessDefinition || !definitionMet(ctx, r.unlessDefinition)),
  );
  // The result carries the remedies only (the filters are policy authoring, not something the cards act on).
  if (fit.length > 0) result.remedies = fit.map(({ onlyForFindings: _o, notForFindings: _n, unlessDefinition: _u, ...r }) => r as Remedy);
}

function runFact(name: string, params: Readonly<Record<string, unknown>>, ctx: EvaluationContext, absent?: TriState): LeafOutcome {
  const def = ctx.facts[name];
  const fn = typeof def === 'function' ? def : def?.evaluate;
  if (typeof fn !== 'function') throw new Error(`unknown fact "${name}"`);
  const out = fn(ctx, params);
  if (!out || !TRI_STATES.has(out.status)) throw new Error(`fact "${name}" returned no valid status`);
  return {
    status: absent && out.status === 'not-documented' && out.evidence.length === 0 ? absent : out.status,
    evidence: Array.isArray(out.evidence) ? out.evidence : [],
    ...(out.reason ? { reason: out.reason } : {}),
    ...(out.retest ? { retest: true } : {}),
    ...(out.finding ? { finding: out.finding } : {}),
  };
}

// h13, defence in depth for untrusted record data: a fact that formats a value the record sent in the wrong shape
// (`valueQuantity: 5`, `unit: {}`) can produce "undefined", "NaN" or "[object Object]" in its text. Such text never
// reaches a clinician's card: a reason becomes the plain UNEVALUABLE text, an evidence field is left out.
const JS_ARTEFACT = /\bundefined\b|\bNaN\b|\[object Object\]/;

function plainText(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  // The regular expression only where one of its words occurs at all (nearly never).
  return (text.includes('undefined') || text.includes('NaN') || text.includes('[object')) && JS_ARTEFACT.test(text) ? undefined : text;
}

function plainEvidence(e: Evidence): Evidence {
  if (typeof e !== 'object' || e === null) return {};
  const out: Evidence = {};
  for (const key of ['reference', 'date', 'value', 'threshold', 'note'] as const) {
    const v = plainText(e[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** A kind leaf: the kind's structured finding; an empty candidate set takes the leaf's `absent`. */
function runKind(node: Extract<PolicyNode, { kind: 'kind' }>, ctx: EvaluationContext): LeafOutcome {
  const kind = KINDS[node.kindName];
  if (!kind) throw new Error(`unknown kind "${node.kindName}"`);
  // The leaf's candidate filters are set on the bound context for the duration of the call (restored after, so a
  // definition evaluated inside the kind sees its own and the caller its own again): a copy of the whole context per
  // leaf was the largest part of the engine's own time.
  const holder = ctx as unknown as { filters: ReadonlyMap<string, FhirPathFn> };
  const outer = holder.filters;
  holder.filters = node.filters;
  let out;
  try {
    out = kind.evaluate(ctx as unknown as KindContext, node.params as never);
  } finally {
    holder.filters = outer;
  }
  if (!out || !TRI_STATES.has(out.status)) throw new Error(`kind "${node.kindName}" returned no valid status`);
  let status = out.status;
  if (out.empty && node.absent) status = node.absent;
  const finding = { ...out.finding };
  if (status === 'not-documented') {
    const gaps = kind.dataRequirements(node.params as never, '').map((r) => ctx.record.gapFor(r.type)).filter((g): g is NonNullable<typeof g> => !!g);
    if (gaps.length > 0) finding.values = { ...finding.values, gap: gaps.map((g) => `${g.resourceType}: ${g.reason}`).join('; ') };
  }
  return { status, evidence: out.evidence, finding, ...(out.retest ? { retest: true } : {}) };
}

function errorMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0]!.slice(0, 300);
}

/** The reason shown when a criterion or an order could not be evaluated: never the JavaScript error text. */
export const UNEVALUABLE = 'could not be evaluated from the record as sent (unexpected or malformed data)';

/**
 * Remedies declared anywhere under a node. A `not` fails exactly when its child is met — and met leaves carry no
 * remedies in their results — so they are read from the policy, not from the evaluation.
 */
function declaredRemedies(node: PolicyNode): Remedy[] {
  const out: Remedy[] = [];
  const seen = new Set<string>();
  const walk = (n: PolicyNode): void => {
    for (const remedy of n.remedies ?? []) {
      const key = JSON.stringify(remedy);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(remedy);
      }
    }
    if (n.kind === 'not') walk(n.child);
    else if (n.kind === 'allOf' || n.kind === 'anyOf' || n.kind === 'firstDocumented') n.children.forEach(walk);
  };
  walk(node);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// FHIRPath leaves: select candidates through the record index, then run the compiled expressions on those only.

/** FHIRPath singleton evaluation: {true} or a single non-boolean item is true; empty or {false} is false. */
function truthy(result: unknown[]): boolean {
  if (result.length === 0) return false;
  if (result.length > 1) throw new Error('expression returned more than one value where a boolean was expected');
  return result[0] !== false;
}

function evaluateFhirPathLeaf(node: Extract<PolicyNode, { kind: 'fhirpath' }>, ctx: EvaluationContext): LeafOutcome {
  const spec = node.fhirpath;
  const env = ctx.env as Record<string, unknown>;
  const run = (fn: FhirPathFn, r: Resource) => truthy(fn(r, env));
  let candidates: Resource[] = spec.valueSet
    ? selectInValueSet(ctx.record, spec.resourceType, ctx.valueSets, spec.valueSet)
    : ctx.record.all(spec.resourceType);
  const { where, metIf, notMetIf } = node.compiled;
  if (where) candidates = candidates.filter((r) => run(where, r));
  const met = metIf ? candidates.filter((r) => run(metIf, r)) : candidates;
  if (met.length > 0) return { status: 'met', evidence: evidenceOf(met) };
  if (notMetIf) {
    const notMet = candidates.filter((r) => run(notMetIf, r));
    if (notMet.length > 0) return { status: 'not-met', evidence: evidenceOf(notMet) };
  }
  const title = spec.valueSet && ctx.valueSets instanceof ValueSetStore ? ctx.valueSets.title(spec.valueSet) : spec.valueSet;
  const what = spec.valueSet ? `${spec.resourceType} in "${title}"` : spec.resourceType;
  let reason =
    candidates.length === 0
      ? `no ${what} in the record`
      : `${candidates.length} ${what} in the record, none of which shows this criterion`;
  const gap = ctx.record.gapFor(spec.resourceType);
  if (gap) reason += `; this part of the record (${gap.resourceType}) could not be read: ${gap.reason}`;
  return { status: 'not-documented', evidence: evidenceOf(candidates), reason };
}

const MAX_EVIDENCE = 5;

function evidenceOf(resources: Resource[]): Evidence[] {
  const items = resources.map((r) => ({ r, date: resourceDate(r) }));
  items.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
  const out: Evidence[] = items.slice(0, MAX_EVIDENCE).map(({ r, date }) => {
    const e: Evidence = {};
    if (r.id) e.reference = `${r.resourceType}/${r.id}`;
    if (date) e.date = date;
    const value = describeValue(r);
    if (value) e.value = value;
    return e;
  });
  if (items.length > MAX_EVIDENCE) out.push({ note: `${items.length - MAX_EVIDENCE} more not shown` });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Decisive leaves.

/**
 * The leaves that explain a non-met result: descend into the non-met children of allOf / firstDocumented and into
 * every child of a non-met anyOf. A `not` node is reported as a unit (its text states the requirement; the child
 * states the opposite). Split by status, in tree order, each criterion once.
 */
export function decisiveLeaves(result: CriterionResult | undefined): { unmet: CriterionResult[]; undocumented: CriterionResult[] } {
  const unmet: CriterionResult[] = [];
  const undocumented: CriterionResult[] = [];
  const seen = new Set<CriterionResult>();
  const push = (r: CriterionResult): void => {
    if (seen.has(r)) return;
    seen.add(r);
    if (r.status === 'not-met') unmet.push(r);
    else if (r.status === 'not-documented') undocumented.push(r);
  };
  const walk = (r: CriterionResult): void => {
    if (r.status === 'met') return;
    // A leaf that does not apply here (onlyIf with `otherwise`) is never a gap: it only keeps an alternative closed.
    if (r.finding?.kind === 'engine' && r.finding.code === 'not-applicable') return;
    if (r.collapsed || r.op === 'leaf' || r.op === 'not' || !r.children || r.children.length === 0) {
      push(r);
      return;
    }
    if (r.op === 'firstDocumented' && r.status !== 'not-documented') {
      // Decided by the first documented source (e.g. the attestation said "no"): the undocumented sources before it
      // are not gaps — more documentation elsewhere would not change the answer.
      const decider = r.children.find((c) => c.status !== 'not-documented');
      if (decider) walk(decider);
      return;
    }
    for (const c of r.children) if (c.status !== 'met') walk(c);
  };
  if (result) walk(result);
  return { unmet, undocumented };
}

/**
 * Met leaves with a `review` text that the met result rests on: every met child of an allOf, the deciding child of a
 * firstDocumented, and the child of an anyOf only when it is the one met alternative (another met alternative would
 * carry the result without it).
 */
export function reviewLeaves(result: CriterionResult | undefined): CriterionResult[] {
  const out: CriterionResult[] = [];
  const walk = (r: CriterionResult): void => {
    if (r.status !== 'met' || r.finding?.code === 'not-applicable') return;
    if (r.review) out.push(r);
    const met = (r.children ?? []).filter((c) => c.status === 'met');
    if (r.op === 'allOf') met.forEach(walk);
    else if (r.op === 'firstDocumented' || (r.op === 'anyOf' && met.length === 1)) {
      if (met[0]) walk(met[0]);
    }
  };
  if (result) walk(result);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Determination.

/** YYYY-MM-DD the order is evaluated against: its authoredOn date, else the day of the request (UTC). */
export function evaluationDate(order: Pick<InfusionOrder, 'authoredOn'>, requestTime: Date): string {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(order.authoredOn?.trim() ?? '');
  if (m && !Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) return m[1]!;
  return requestTime.toISOString().slice(0, 10);
}

export interface CoverageSelection {
  coverage?: Coverage;
  coverageRef?: string;
  payer?: PayerConfig;
  /** When no payer was chosen: why. */
  outcome?: 'no-policy' | 'indeterminate';
  message?: string;
}

function dateOnly(s: string | undefined): string | undefined {
  const m = /^(\d{4}(-\d{2}(-\d{2})?)?)/.exec(s?.trim() ?? '');
  return m ? m[1] : undefined;
}

/** Active on the evaluation date: status active (or absent) and the period, when given, includes that date. */
export function isActiveCoverage(c: Coverage, asOf: string): boolean {
  if (c.status !== undefined && c.status !== 'active') return false;
  const start = dateOnly(c.period?.start);
  const end = dateOnly(c.period?.end);
  if (start && start > asOf) return false;
  // A partial end date (YYYY-MM) covers the whole month: compare on the common prefix.
  if (end && end < asOf.slice(0, end.length)) return false;
  return true;
}

function refOf(c: Coverage): string | undefined {
  return c.id ? `Coverage/${c.id}` : undefined;
}

/**
 * Which Coverage (and so which payer) the order is judged under: the Coverage the order names when the record has
 * it, else the single active Coverage that matches a configured payer. Several candidates: the one whose payer has a
 * policy for this order; still several payers ⇒ no policy, naming the ambiguity (the order's insurance resolves it).
 */
export function selectCoverage(order: InfusionOrder, record: PatientRecord, policySet: PolicySet, asOf: string): CoverageSelection {
  const hasPolicy = (payer: PayerConfig) => policySet.policiesFor(order, payer.id).length > 0;
  const withRef = (c: Coverage): { coverageRef?: string } => {
    const ref = refOf(c);
    return ref ? { coverageRef: ref } : {};
  };

  const named = order.insurance
    .map((ref) => record.resolve<Coverage>(ref))
    .filter((c): c is Coverage => !!c && c.resourceType === 'Coverage');
  if (named.length > 0) {
    const matched = named.map((c) => ({ c, m: policySet.matchPayer(c, record) }));
    const pick = matched.find((x) => x.m && hasPolicy(x.m.payer)) ?? matched.find((x) => x.m);
    if (pick?.m) return { coverage: pick.c, ...withRef(pick.c), payer: pick.m.payer };
    const c = named[0]!;
    return { coverage: c, ...withRef(c), outcome: 'no-policy', message: `No coverage policy is configured for payer ${payerDisplay(c, record)}` };
  }

  const all = record.all<Coverage>('Coverage');
  const gap = record.gapFor('Coverage');
  const active = all.filter((c) => isActiveCoverage(c, asOf));
  if (active.length === 0) {
    if (gap) return { outcome: 'indeterminate', message: `The patient's coverage could not be read: ${gap.reason}` };
    return { outcome: 'no-policy', message: `No active Coverage was found for the patient on ${asOf}` };
  }
  const matched = active
    .map((c) => ({ c, m: policySet.matchPayer(c, record) }))
    .filter((x): x is { c: Coverage; m: NonNullable<typeof x.m> } => !!x.m);
  if (matched.length === 0) {
    const names = [...new Set(active.map((c) => payerDisplay(c, record)))].join(', ');
    return {
      ...(active.length === 1 ? { coverage: active[0]!, ...withRef(active[0]!) } : {}),
      outcome: 'no-policy',
      message: `No coverage policy is configured for payer ${names}`,
    };
  }
  if (matched.length === 1) return { coverage: matched[0]!.c, ...withRef(matched[0]!.c), payer: matched[0]!.m.payer };

  const withPolicy = matched.filter((x) => hasPolicy(x.m.payer));
  const describe = (list: typeof matched) => list.map((x) => `${x.m.payer.label} (${refOf(x.c) ?? 'Coverage without id'})`).join(', ');
  if (withPolicy.length === 0) {
    return {
      outcome: 'no-policy',
      message: `No coverage policy for ${order.label} is configured for the patient's payers: ${describe(matched)}`,
    };
  }
  const payerIds = new Set(withPolicy.map((x) => x.m.payer.id));
  if (payerIds.size > 1) {
    return {
      outcome: 'no-policy',
      message: `Several active Coverages match payers with a policy for this order — ${describe(withPolicy)}; the order's insurance must name the one to use`,
    };
  }
  // Same payer twice (e.g. Medicare Part A and Part B records): the strongest match, then record order.
  const best = withPolicy.reduce((a, b) => (b.m.score > a.m.score ? b : a));
  return { coverage: best.c, ...withRef(best.c), payer: best.m.payer };
}

export function policySummary(policy: LoadedPolicy, payer: PayerConfig): PolicySummary {
  return {
    id: policy.id,
    title: policy.title,
    version: policy.version,
    // The payer and its own document: "UnitedHealthcare Medicare Advantage — MCS051.01 / NCD 280.14 / LCD L33794".
    sourceLabel:
      payer.document && !policy.citationShort.includes(payer.document)
        ? `${payer.label} — ${payer.document} / ${policy.citationShort}`
        : `${payer.label} — ${policy.citationShort}`,
    payerLabel: payer.label,
    links: policy.links,
    ...(policy.questionnaire ? { questionnaireId: policy.questionnaire } : {}),
    ...(payer.liabilityNotice ? { liabilityNotice: payer.liabilityNotice } : {}),
    ...(policy.billingNote ? { billingNote: `${policy.billingNote.text} (${policy.billingNote.citation})` } : {}),
  };
}

/** CRD semantics of several policies on one order: the most demanding wins (DESIGN: one determination per order). */
export function combineCrd(list: CrdSemantics[]): CrdSemantics {
  const PA = ['no-auth', 'satisfied', 'conditional', 'performpa', 'auth-needed'] as const;
  const DOC = ['no-doc', 'patient', 'admin', 'conditional', 'clinical'] as const;
  const out: CrdSemantics = {};
  for (const c of list) {
    if (c.paNeeded && (!out.paNeeded || PA.indexOf(c.paNeeded) > PA.indexOf(out.paNeeded))) out.paNeeded = c.paNeeded;
    if (c.docNeeded && (!out.docNeeded || DOC.indexOf(c.docNeeded) > DOC.indexOf(out.docNeeded))) out.docNeeded = c.docNeeded;
    for (const p of c.docPurpose ?? []) if (!(out.docPurpose ??= []).includes(p)) out.docPurpose.push(p);
  }
  // A policy that asserts nothing about prior authorisation must not be outvoted into "no-auth" by another.
  if (out.paNeeded === 'no-auth' && list.some((c) => !c.paNeeded)) delete out.paNeeded;
  return out;
}

/** A context with the policy's parameters, anchors, definitions and questionnaire (tests and the engine). */
export function bindPolicy(ctx: EvaluationContext, policy: Policy): EvaluationContext {
  return bind({
    ...ctx,
    anchors: policy.anchors,
    definitions: policy.definitions,
    ...(policy.questionnaire ? { questionnaire: policy.questionnaire } : {}),
  });
}

function evaluatePolicy(policy: Policy, order: InfusionOrder, record: PatientRecord, policySet: PolicySet, asOf: string, coverageRef: string | undefined): CriterionResult {
  const ctx: EvaluationContext = {
    record,
    order,
    coverageRef,
    asOf: new Date(`${asOf}T00:00:00Z`),
    valueSets: policySet.valueSets,
    parameters: policy.parameters,
    memo: new Map(),
    facts: policySet.facts,
    env: { ...policy.parameters, asOf },
    anchors: policy.anchors,
    definitions: policy.definitions,
    ...(policy.questionnaire ? { questionnaire: policy.questionnaire } : {}),
  };
  return evaluateCriteria(policy.criteria, ctx);
}

/**
 * The determination for one order: every policy that applies to it (coverage criteria, coding edits, exclusions) is
 * evaluated into one root, so the order gets one card set, one coverage-information and one stored assertion.
 * Returned as a one-element list (or a single "no policy" / "indeterminate" entry).
 * `requestTime` stands in for the order date when the order has no authoredOn; nothing reads the clock.
 */
export function determine(order: InfusionOrder, record: PatientRecord, policySet: PolicySet, opts: { requestTime: Date }): Determination[] {
  const asOf = evaluationDate(order, opts.requestTime);
  const selection = selectCoverage(order, record, policySet, asOf);
  const base = { order, asOf, unmet: [] as CriterionResult[], undocumented: [] as CriterionResult[] };
  const coverage = selection.coverageRef ? { coverageRef: selection.coverageRef } : {};
  if (!selection.payer) {
    return [{ ...base, ...coverage, outcome: selection.outcome ?? 'no-policy', message: selection.message ?? 'No coverage policy applies' }];
  }
  const payer = selection.payer;
  // An order the payer's documents send to a policy that is not supplied is not judged at all (not even by the
  // payer's coding edits, which could otherwise make it look "covered").
  const referred = payer.notSupplied?.find((n) => n.orderValueSets.some((vs) => policySet.valueSets.containsAny(vs, order.codings)));
  if (referred) {
    const message =
      `${payer.label} refers ${order.label} to its ${referred.document} — policy not supplied, so the order was not checked` +
      (referred.citation ? ` (${referred.citation})` : '');
    return [{ ...base, ...coverage, outcome: 'no-policy', message }];
  }
  const found = policySet.policiesFor(order, payer.id);
  if (found.length === 0) {
    return [{ ...base, ...coverage, outcome: 'no-policy', message: `No coverage policy for ${order.label} is configured for payer ${payer.label}` }];
  }
  // Coverage policies first (the primary summary), then edits, then exclusions; file order within a role.
  const rank = { coverage: 0, edit: 1, exclusion: 2 } as const;
  const policies = [...found].sort((a, b) => rank[a.role] - rank[b.role]);
  const summaries = policies.map((p) => policySummary(p, payer));
  const summary = summaries[0]!;
  const parameters = Object.fromEntries(policies.map((p) => [p.id, { ...p.parameters }]));
  const crd = combineCrd(policies.map((p) => ({ ...p.crd, ...(payer.crd?.[p.id] ?? payer.crd?.['*'] ?? {}) })));
  const shared = { ...base, ...coverage, policy: summary, policies: summaries, parameters, crd };
  try {
    // The combined root lists exclusions first, then coding edits, then coverage criteria: an exclusion that applies
    // (home heparin, a disposable pump) is the decisive problem whatever else is missing, and a wrong code comes before
    // the documentation that would not fix it. The primary summary stays the coverage policy's.
    const decisiveOrder = { exclusion: 0, edit: 1, coverage: 2 } as const;
    const roots = [...policies].sort((a, b) => decisiveOrder[a.role] - decisiveOrder[b.role]).map((p) => evaluatePolicy(p, order, record, policySet, asOf, coverage.coverageRef));
    const root: CriterionResult =
      roots.length === 1
        ? roots[0]!
        : {
            id: 'all-policies',
            text: `Every policy that applies: ${policies.map((p) => p.title).join('; ')}`,
            citation: policies.map((p) => p.citationShort).join('; '),
            op: 'allOf',
            status: allOfStatus(roots.map((r) => r.status)),
            evidence: [],
            children: roots,
          };
    const { unmet, undocumented } = decisiveLeaves(root);
    const outcome = root.status === 'met' ? 'covered' : root.status === 'not-met' ? 'not-covered' : 'conditional';
    const review = reviewLeaves(root);
    return [{ ...shared, outcome, root, unmet, undocumented, ...(review.length ? { review } : {}) } satisfies Determination];
  } catch {
    return [{ ...shared, outcome: 'indeterminate', message: 'The coverage criteria could not be evaluated: the record as sent holds unexpected or malformed data.' } satisfies Determination];
  }
}
