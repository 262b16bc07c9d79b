// The loaded (validated, compiled) form of a policy file. The engine evaluates these; nothing here does I/O.
import type { AnchorSpec } from './anchors.js';
import type { DataRequirement } from './kinds/types.js';
import type { Remedy, TriState } from './types.js';

/** A compiled FHIRPath expression: (resource, environment) → result collection. */
export type FhirPathFn = (resource: unknown, env: Record<string, unknown>) => unknown[];

export interface FhirPathSpec {
  resourceType: string;
  valueSet?: string;
  where?: string;
  metIf?: string;
  notMetIf?: string;
}

interface NodeBase {
  id: string;
  text: string;
  /** A few words naming the criterion in card summaries ("fasting C-peptide"); derived from `text` when absent. */
  label?: string;
  citation?: string;
  remedies?: Remedy[];
  /** JSON pointer of the node in its file (for messages). */
  pointer: string;
  /** Applies only when this named definition is met; otherwise met as not applicable. */
  onlyIf?: string;
  /** Status when `onlyIf` is not met (default met); never listed as a gap (finding not-applicable). */
  otherwise?: TriState;
  /** When this named definition is met, the group is reported as one gap with its own remedies, not its leaves. */
  collapseIf?: string;
  /** Met and alone deciding its alternative ⇒ the covered order is flagged for review with this text. */
  review?: string;
}

/** A leaf whose params were validated against a schema: `params` has every "%name" replaced by the parameter value. */
interface ParamsLeaf {
  citation: string;
  rawParams: Readonly<Record<string, unknown>>;
  params: Readonly<Record<string, unknown>>;
  /** Params pointers holding "%name" references, substituted after deployment overrides. */
  paramRefs: { pointer: string; name: string }[];
  /** What an empty candidate set means (default: the kind's own status, not-documented). */
  absent?: TriState;
}

export type PolicyNode =
  | (NodeBase & { kind: 'allOf' | 'anyOf' | 'firstDocumented'; children: PolicyNode[] })
  | (NodeBase & { kind: 'not'; child: PolicyNode })
  | (NodeBase & ParamsLeaf & { kind: 'fact'; fact: string })
  | (NodeBase & ParamsLeaf & { kind: 'kind'; kindName: string; filters: ReadonlyMap<string, FhirPathFn> })
  | (NodeBase & {
      kind: 'fhirpath';
      citation: string;
      fhirpath: FhirPathSpec;
      compiled: { where?: FhirPathFn; metIf?: FhirPathFn; notMetIf?: FhirPathFn };
    });

export type ParameterValue = number | string | boolean;

/** A parameter's metadata from the policy file (value, unit, citation, note) — recorded with every assertion. */
export interface ParameterInfo {
  value: ParameterValue;
  unit?: string;
  citation?: string;
  note?: string;
  /** Where the effective value came from. */
  source: 'policy' | 'fragment' | 'override';
}

export type PolicyRole = 'coverage' | 'edit' | 'exclusion';

/** Da Vinci CRD semantics the payer's documents support for this policy (absent ⇒ not asserted). */
export interface CrdSemantics {
  paNeeded?: 'no-auth' | 'auth-needed' | 'satisfied' | 'performpa' | 'conditional';
  docNeeded?: 'clinical' | 'admin' | 'patient' | 'conditional' | 'no-doc';
  docPurpose?: ('withpa' | 'withclaim' | 'withorder' | 'retain-doc' | 'OTH')[];
}

export interface LoadedPolicy {
  id: string;
  title: string;
  version: string;
  payers: string[];
  citationShort: string;
  links: { label: string; url: string }[];
  questionnaire?: string;
  appliesTo: {
    orderValueSets: string[];
    companionValueSets: string[];
    /** When given: in scope only when the order's identified drug is in one of these. */
    drugValueSets?: string[];
    /** Never in scope when the order or an order of its set is coded in one of these. */
    notWithValueSets?: string[];
  };
  /** Where claims for these orders go (e.g. which contractor), said on every card and coverage-information. */
  billingNote?: { text: string; citation: string };
  /** Defaults from the file with deployment overrides applied. */
  parameters: Readonly<Record<string, ParameterValue>>;
  /** Metadata of each parameter (unit, citation, note, where the value came from). */
  parameterInfo: Readonly<Record<string, ParameterInfo>>;
  role: PolicyRole;
  crd: CrdSemantics;
  anchors: Readonly<Record<string, AnchorSpec>>;
  definitions: Readonly<Record<string, PolicyNode>>;
  /** Fragment ids included (directly or not). */
  fragments: string[];
  /** What the criteria read (per kind / fact declaration), for prefetch and fallback. */
  dataRequirements: DataRequirement[];
  criteria: PolicyNode;
  /** Path of the file it was loaded from. */
  file: string;
}
