// Payer selection is explicit (DESIGN §3): a Coverage is matched against the payers configured in policies/payers.json
// by Coverage.payor (reference, identifier, display / Organization.name), Coverage.type and Coverage.class. Nothing
// matches ⇒ the caller says "no policy configured for this payer"; there is never a silent Medicare default.
import type { Coverage, Identifier, Organization, Reference } from 'fhir/r4';
import { canonicalSystem, type PatientRecord } from '../fhir/record.js';

export interface PayerMatchers {
  payorReferences?: string[];
  payorIdentifiers?: { system: string; value: string }[];
  payorDisplayPattern?: string;
  typeCodings?: { system: string; code: string; display?: string }[];
  classPlanPattern?: string;
}

export interface PayerConfig {
  id: string;
  label: string;
  description?: string;
  /** Policies written for this payer id apply to this payer too (e.g. an MA plan following Medicare NCD/LCDs). */
  followsPayer?: string;
  source?: string;
  /** Shown on not-covered cards: what the patient's financial responsibility is and how it is recorded (e.g. an ABN). */
  liabilityNotice?: string;
  /** Short name of the payer's own document (e.g. "MCS051.01"): named on cards beside the policies it follows. */
  document?: string;
  match: PayerMatchers;
  /** When given, one of these matchers must recognise the Coverage as well (e.g. the plan is Medicare Advantage). */
  require?: PayerMatchers;
  exclude?: PayerMatchers;
  /**
   * Orders the payer's documents send to another policy of the payer that is not supplied (e.g. Northwood's insulin-pump
   * policy): such an order is "no policy", and the message names the document, never a guess from another payer.
   */
  notSupplied?: { orderValueSets: string[]; document: string; citation?: string }[];
  /** CRD semantics per policy id ('*' = every policy of this payer), overriding the policy's own `crd`. */
  crd?: Record<string, import('./model.js').CrdSemantics>;
}

/** Matchers with their regular expressions compiled once at load time. */
export interface CompiledPayer {
  config: PayerConfig;
  match: CompiledMatchers;
  require?: CompiledMatchers;
  exclude?: CompiledMatchers;
}

interface CompiledMatchers {
  refs: Set<string>;
  identifiers: Set<string>;
  display?: RegExp;
  types: Set<string>;
  plan?: RegExp;
}

export function compileMatchers(m: PayerMatchers): CompiledMatchers {
  return {
    refs: new Set((m.payorReferences ?? []).map((r) => r.trim())),
    identifiers: new Set((m.payorIdentifiers ?? []).map((i) => `${canonicalSystem(i.system)}|${i.value.trim()}`)),
    ...(m.payorDisplayPattern ? { display: new RegExp(m.payorDisplayPattern, 'i') } : {}),
    types: new Set((m.typeCodings ?? []).map((c) => `${canonicalSystem(c.system)}|${c.code.trim()}`)),
    ...(m.classPlanPattern ? { plan: new RegExp(m.classPlanPattern, 'i') } : {}),
  };
}

export function compilePayer(config: PayerConfig): CompiledPayer {
  return {
    config,
    match: compileMatchers(config.match),
    ...(config.require ? { require: compileMatchers(config.require) } : {}),
    ...(config.exclude ? { exclude: compileMatchers(config.exclude) } : {}),
  };
}

/** What a Coverage says about its payer, read once (payor references resolved against the record). */
export interface CoverageFacts {
  refs: string[];
  identifiers: string[];
  displays: string[];
  types: string[];
  plans: string[];
}

function localRef(ref: string | undefined): string | undefined {
  if (!ref) return undefined;
  const m = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(ref.trim());
  return m ? m[1] : undefined;
}

function identifierKeys(ids: (Identifier | undefined)[]): string[] {
  const out: string[] = [];
  for (const i of ids) if (i?.value) out.push(`${canonicalSystem(i.system)}|${i.value.trim()}`);
  return out;
}

export function coverageFacts(coverage: Coverage, record: PatientRecord): CoverageFacts {
  const facts: CoverageFacts = { refs: [], identifiers: [], displays: [], types: [], plans: [] };
  for (const payor of (coverage.payor ?? []) as Reference[]) {
    const ref = localRef(payor.reference);
    if (ref) facts.refs.push(ref);
    facts.identifiers.push(...identifierKeys([payor.identifier]));
    if (payor.display?.trim()) facts.displays.push(payor.display.trim());
    const org = ref ? record.resolve<Organization>(ref) : undefined;
    if (org && (org.resourceType === 'Organization')) {
      if (org.name?.trim()) facts.displays.push(org.name.trim());
      for (const alias of org.alias ?? []) if (alias.trim()) facts.displays.push(alias.trim());
      facts.identifiers.push(...identifierKeys(org.identifier ?? []));
    }
  }
  for (const c of coverage.type?.coding ?? []) if (c.code) facts.types.push(`${canonicalSystem(c.system)}|${c.code.trim()}`);
  if (coverage.type?.text?.trim()) facts.plans.push(coverage.type.text.trim());
  for (const cls of coverage.class ?? []) {
    if (cls.name?.trim()) facts.plans.push(cls.name.trim());
    if (cls.value?.trim()) facts.plans.push(cls.value.trim());
  }
  return facts;
}

/** An identifier or reference hit outweighs every name, type and plan hit together (identifier first). */
const IDENTITY_WEIGHT = 10;

/** Number of matcher kinds that hit, identifiers and references weighted (0 = no match). */
function score(m: CompiledMatchers, f: CoverageFacts): number {
  let n = 0;
  if (f.refs.some((r) => m.refs.has(r))) n += IDENTITY_WEIGHT;
  if (f.identifiers.some((i) => m.identifiers.has(i))) n += IDENTITY_WEIGHT;
  if (m.display && f.displays.some((d) => m.display!.test(d))) n++;
  if (f.types.some((t) => m.types.has(t))) n++;
  if (m.plan && f.plans.some((p) => m.plan!.test(p))) n++;
  return n;
}

export interface PayerMatch {
  payer: PayerConfig;
  score: number;
}

/**
 * The configured payer a Coverage belongs to: identifier (or payor reference) first, then the highest number of
 * matching matcher kinds (name, type, plan), ties broken by file order; a payer with `require` matchers is chosen only
 * when one of them also hits (the payor is Northwood *and* the plan is Medicare Advantage); a payer any of whose
 * `exclude` matchers hits is never chosen (a Medicare Advantage plan is not Medicare FFS).
 */
export function matchPayer(coverage: Coverage, record: PatientRecord, payers: readonly CompiledPayer[]): PayerMatch | undefined {
  const facts = coverageFacts(coverage, record);
  let best: PayerMatch | undefined;
  for (const p of payers) {
    if (p.exclude && score(p.exclude, facts) > 0) continue;
    if (p.require && score(p.require, facts) === 0) continue;
    const s = score(p.match, facts);
    if (s > 0 && (!best || s > best.score)) best = { payer: p.config, score: s };
  }
  return best;
}

/** How the payer reads to a person: payor display or Organization name, plus the plan name when there is one. */
export function payerDisplay(coverage: Coverage, record: PatientRecord): string {
  const facts = coverageFacts(coverage, record);
  const name = facts.displays[0] ?? facts.refs[0] ?? (coverage.id ? `of Coverage/${coverage.id}` : 'unknown');
  const plan = (coverage.class ?? []).map((c) => c.name?.trim()).find((n) => n && n !== name);
  return plan ? `${name} (plan "${plan}")` : name;
}
