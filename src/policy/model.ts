// The loaded (validated, compiled) form of a policy file. The engine evaluates these; nothing here does I/O.
import type { Remedy } from './types.js';

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
}

export type PolicyNode =
  | (NodeBase & { kind: 'allOf' | 'anyOf' | 'firstDocumented'; children: PolicyNode[] })
  | (NodeBase & { kind: 'not'; child: PolicyNode })
  | (NodeBase & { kind: 'fact'; citation: string; fact: string; params: Readonly<Record<string, unknown>> })
  | (NodeBase & {
      kind: 'fhirpath';
      citation: string;
      fhirpath: FhirPathSpec;
      compiled: { where?: FhirPathFn; metIf?: FhirPathFn; notMetIf?: FhirPathFn };
    });

export type ParameterValue = number | string | boolean;

export interface LoadedPolicy {
  id: string;
  title: string;
  version: string;
  payers: string[];
  citationShort: string;
  links: { label: string; url: string }[];
  questionnaire?: string;
  appliesTo: { orderValueSets: string[]; companionValueSets: string[] };
  /** Defaults from the file with deployment overrides applied. */
  parameters: Readonly<Record<string, ParameterValue>>;
  criteria: PolicyNode;
  /** Path of the file it was loaded from. */
  file: string;
}
