// The coverage engine's vocabulary. Pure data: no I/O, no HTTP, no card wording.
import type { Resource } from 'fhir/r4';

/** DESIGN §3: met, not met (the record contradicts it), or not documented (nothing in the record). */
export type TriState = 'met' | 'not-met' | 'not-documented';

/** One piece of evidence behind a leaf: what was looked at, and what was concluded from it. */
export interface Evidence {
  /** `Type/id` of the resource that decided the leaf, when there is one. */
  reference?: string;
  /** Effective / authored date of that resource (YYYY-MM-DD or full dateTime). */
  date?: string;
  /** Human-readable value as recorded, e.g. "1.5 ng/mL". */
  value?: string;
  /** Threshold applied, e.g. "≤ 110% of lower limit 0.8 ng/mL". */
  threshold?: string;
  /** Anything else a reviewer needs, e.g. "ratio 188%", "unit mmol/mol converted to 7.4 %". */
  note?: string;
}

/** What could fix a gap, declared on the leaf in the policy file; the cards turn it into suggestions. */
export type Remedy = RemedyFilter &
  (
    | { type: 'order-lab'; code: { system: string; code: string; display: string }[]; label: string }
    | { type: 'questionnaire'; linkId: string }
    | { type: 'change-order-code'; to: { system: string; code: string; display: string } }
    | { type: 'remove-order' }
  );

/**
 * When a declared remedy fits the gap (applied by the engine; the result carries only the remedies that fit):
 * `onlyForFindings` / `notForFindings` match the leaf's finding code (a renal path missing creatinine clearance wants
 * that lab, not a repeat C-peptide); `unlessDefinition` drops it when the named definition is met (no lab today for a
 * value that had to be documented before the pump).
 */
export interface RemedyFilter {
  onlyForFindings?: string[];
  notForFindings?: string[];
  unlessDefinition?: string;
}

export interface CriterionResult {
  id: string;
  text: string;
  /** Short name for card summaries (from the policy file), e.g. "fasting C-peptide". */
  label?: string;
  citation: string;
  /** `firstDocumented`: the first child that is documented decides (structured data before an attestation). */
  op: 'allOf' | 'anyOf' | 'not' | 'firstDocumented' | 'leaf';
  status: TriState;
  evidence: Evidence[];
  /** Why the status, in a short sentence (especially for not-documented: what is missing). */
  reason?: string;
  children?: CriterionResult[];
  remedies?: Remedy[];
  /** See LeafOutcome.retest. */
  retest?: boolean;
  /** A group reported as one gap (the node's `collapseIf` situation holds): the cards name it, not its leaves. */
  collapsed?: boolean;
  /** Met, but to be reviewed (the node's `review` text): see Determination.review. */
  review?: string;
  /** Structured result of a kind leaf (cards/ words it); absent on combinators and legacy facts. */
  finding?: import('./kinds/types.js').Finding;
}

/** A draft order the service recognised as in scope: the order model lives in src/orders/ (DESIGN's PumpOrder). */
export type { InfusionOrder, PumpOrder } from '../orders/types.js';
import type { InfusionOrder } from '../orders/types.js';

export interface PolicySummary {
  id: string;
  title: string;
  version: string;
  /** Who the clinician will recognise as the source, e.g. "Medicare — NCD 280.14 / LCD L33794". */
  sourceLabel: string;
  payerLabel: string;
  links: { label: string; url: string }[];
  /** Id of the documentation Questionnaire this policy uses, if any. */
  questionnaireId?: string;
  /** The payer's note on the patient's financial responsibility, shown on not-covered cards (payers.json). */
  liabilityNotice?: string;
  /** Where claims go, with its citation (e.g. "Billed to the A/B MAC, not the DME MAC (CMS MLN …)"). */
  billingNote?: string;
}

export type Outcome = 'covered' | 'not-covered' | 'conditional' | 'no-policy' | 'indeterminate';

export interface Determination {
  order: InfusionOrder;
  /** Absent when no policy applies (unknown payer, unsupported order). The first coverage policy when several apply. */
  policy?: PolicySummary;
  /** Every policy evaluated into this determination's root (one determination per order and Coverage). */
  policies?: PolicySummary[];
  /** Effective parameters per policy id (overrides included), recorded with the assertion. */
  parameters?: Record<string, Record<string, number | string | boolean>>;
  /** CRD semantics of the applying policies, combined (payer × policy), for coverage-information. */
  crd?: import('./model.js').CrdSemantics;
  /** `Coverage/id` the assertion is about (DeviceRequest.insurance, else the single active matching Coverage). */
  coverageRef?: string;
  outcome: Outcome;
  root?: CriterionResult;
  /** Leaves that decide the outcome (see `decisiveLeaves`), split by status. */
  unmet: CriterionResult[];
  undocumented: CriterionResult[];
  /** Met criteria with a `review` text that alone decide their alternative (e.g. an IAA drawn on insulin). */
  review?: CriterionResult[];
  /** Date everything was evaluated against (the order's authoredOn, else the request time). */
  asOf: string;
  /** Plain explanation when there is no root (no policy for this payer, evaluation failed, ...). */
  message?: string;
}

/** Everything a fact function may look at. */
export interface FactContext {
  record: import('../fhir/record.js').PatientRecord;
  order: InfusionOrder;
  /** `Coverage/id` the engine chose for this order (so criteria about enrollment use the same Coverage). */
  coverageRef?: string;
  asOf: Date;
  valueSets: ValueSetRegistry;
  /** Policy parameters (thresholds), after deployment overrides. */
  parameters: Readonly<Record<string, number | string | boolean>>;
  /** Memo shared by the leaves of one evaluation (so e.g. the C-peptide search runs once). */
  memo: Map<string, unknown>;
  /** Named dates (policy anchors); always provided by the engine. */
  anchor?: (name: string) => import('./kinds/types.js').AnchorValue;
  definition?: (name: string) => { status: TriState; evidence: Evidence[] };
  questionnaire?: string;
}

export interface LeafOutcome {
  status: TriState;
  evidence: Evidence[];
  reason?: string;
  /**
   * Not met, but a new test could change it (e.g. a C-peptide made invalid by a same-draw glucose > 225 mg/dL): the
   * cards then offer the leaf's lab remedies, which they otherwise offer only for what is not documented.
   */
  retest?: boolean;
  finding?: import('./kinds/types.js').Finding;
}

export type FactFunction = (ctx: FactContext, params: Readonly<Record<string, unknown>>) => LeafOutcome;

/** A bespoke fact with the same contract as a kind: params schema (x-ref annotated), data requirements. */
export interface FactDefinition {
  evaluate: FactFunction;
  paramsSchema: Record<string, unknown>;
  dataRequirements(params: Readonly<Record<string, unknown>>): Omit<import('./kinds/types.js').DataRequirement, 'purpose'>[];
}

export interface ValueSetRegistry {
  /** Codings of a value set (for PatientRecord.byCodes). */
  codings(valueSetId: string): { system: string; code: string }[];
  /** Whether a coding belongs to the value set (handles ICD-10 prefix groups such as E08–E13). */
  contains(valueSetId: string, coding: { system?: string; code?: string }): boolean;
  has(valueSetId: string): boolean;
  /** Every loaded value set id (e.g. to build the Observation prefetch from the LOINC codes the rules use). */
  ids(): string[];
}

export type { Resource };
