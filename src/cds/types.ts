// CDS Hooks 2.0 wire types (https://cds-hooks.hl7.org/2.0/). Only what pumpcheck reads or writes.
import type { Bundle, FhirResource, Resource } from 'fhir/r4';

export type HookName = 'order-select' | 'order-sign';

export interface FhirAuthorization {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  subject: string;
  patient?: string;
}

/** A prefetch value: a resource, a Bundle, an OperationOutcome (client error) or null ("no data"). */
export type PrefetchValue = FhirResource | null;

export interface CdsRequest {
  hook: string;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: FhirAuthorization;
  context: Record<string, unknown>;
  prefetch?: Record<string, PrefetchValue>;
  extension?: Record<string, unknown>;
}

/** Context of order-sign and order-select (hook library 1.x). */
export interface OrderContext {
  userId: string;
  patientId: string;
  encounterId?: string;
  /** order-select only: `Type/id` of the orders the clinician just selected. */
  selections?: string[];
  draftOrders: Bundle;
}

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface Source {
  label: string;
  url?: string;
  icon?: string;
  topic?: Coding;
}

export interface Action {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: Resource;
  resourceId?: string;
  extension?: Record<string, unknown>;
}

export interface Suggestion {
  label: string;
  uuid?: string;
  isRecommended?: boolean;
  actions?: Action[];
}

export interface Link {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
  autolaunchable?: boolean;
}

export interface Card {
  uuid?: string;
  summary: string;
  detail?: string;
  indicator: 'info' | 'warning' | 'critical';
  source: Source;
  suggestions?: Suggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: Link[];
  extension?: Record<string, unknown>;
}

export interface CdsResponse {
  cards: Card[];
  systemActions?: Action[];
}

export interface CdsServiceDefinition {
  hook: HookName;
  id: string;
  title: string;
  description: string;
  usageRequirements?: string;
  prefetch?: Record<string, string>;
  extension?: Record<string, unknown>;
}

export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: { id: string }[];
  overrideReason?: { reason?: Coding; userComment?: string };
  outcomeTimestamp: string;
}

export interface FeedbackRequest {
  feedback: FeedbackItem[];
}
