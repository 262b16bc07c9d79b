// The contract every criterion kind (and every bespoke fact) keeps: a JSON Schema for its params, the names it refers
// to (collected from the schema's `x-ref` annotations while the params are validated), the data it reads, and an
// evaluation that returns a structured finding — never clinician prose (cards/ words it).
import type { Resource } from 'fhir/r4';
import type { FhirPathFn } from '../model.js';
import type { Evidence, FactContext, TriState } from '../types.js';

/** What a criterion reads from the record (interfaces.md; prefetch templates and fallback queries are derived from it). */
export interface DataRequirement {
  /** FHIR resource type read, e.g. 'Observation', 'DeviceUseStatement', 'QuestionnaireResponse'. */
  type: string;
  /** Value set ids whose codings restrict the search; absent = every resource of the type for the patient. */
  valueSets?: string[];
  /** Search parameter carrying those codes (default 'code'; 'type' for Device/Encounter, 'component-code' ...). */
  codeParam?: string;
  /** `_include` values wanted with the search, e.g. 'Observation:specimen', 'MedicationRequest:medication'. */
  include?: string[];
  /** Who needs it: "<policyId>#<criterionId> (<kind>)". */
  purpose: string[];
}

/** Kinds of names a params schema can mark with `"x-ref"`; the loader resolves every one. */
export type RefKind = 'valueSet' | 'linkId' | 'anchor' | 'definition' | 'questionnaire' | 'fhirpath' | 'parameter' | 'parameter:number' | 'parameter:boolean' | 'parameter:string';

export interface CollectedRef {
  kind: RefKind;
  value: string;
  /** JSON pointer relative to the leaf's params, e.g. `/window/anchor`. */
  pointer: string;
}

/**
 * A structured result: `code` names what was found (per kind: 'meets', 'fails', 'none', ...); `values` the numbers and
 * codes read (raw and normalised), the threshold applied; `window` the dates compared against. cards/ renders it.
 */
export interface Finding {
  kind: string;
  code: string;
  values?: Record<string, string | number | boolean>;
  window?: { from?: string; to?: string; anchor?: string; anchorText?: string };
  resources?: string[];
}

export interface KindOutcome {
  status: TriState;
  /** True when nothing was found at all: the engine then applies the leaf's `absent`. */
  empty?: boolean;
  finding: Finding;
  evidence: Evidence[];
  retest?: boolean;
}

/** A date a window is relative to, resolved per order (src/policy/anchors.ts). */
export interface AnchorValue {
  name: string;
  text: string;
  /** YYYY-MM-DD, absent when not documented. */
  day?: string;
  /** Whether the order date itself was taken (an initial order). */
  isOrderDate: boolean;
  /** The day regimens are read (the day before when `dayBefore`, except for the order date). */
  regimenDay?: string;
  evidence: Evidence[];
  missing?: string;
}

export interface KindContext extends FactContext {
  /** Resolved `"%name"` values are already substituted in params; compiled FHIRPath by params pointer. */
  filters: ReadonlyMap<string, FhirPathFn>;
  /** FHIRPath environment (policy parameters, %asOf). */
  env: Readonly<Record<string, unknown>>;
  anchor(name: string): AnchorValue;
  /** Whether a named definition is met for this order (memoised), with its evidence. */
  definition(name: string): { status: TriState; evidence: Evidence[] };
  /** The questionnaire the policy publishes (default for attestations). */
  questionnaire?: string;
}

export interface CriterionKind<P = Record<string, unknown>> {
  name: string;
  /** JSON Schema (draft 2020-12) of `params`; `x-ref` marks names the loader resolves. */
  paramsSchema: Record<string, unknown>;
  dataRequirements(params: P, purpose: string): Omit<DataRequirement, 'purpose'>[];
  /** Anchors the kind reads implicitly (e.g. the window's default anchor), beyond those named in params. */
  evaluate(ctx: KindContext, params: P): KindOutcome;
}

export type { Resource };
