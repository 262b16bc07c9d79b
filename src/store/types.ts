// Persistence contracts. The hook path only ever calls `AssertionSink.record` (synchronous, never throws, never
// waits on the database); the feedback route awaits `FeedbackStore.saveFeedback` and answers 503 if it throws
// `StoreUnavailableError`.
import type { FeedbackItem } from '../cds/types.js';

/** One coverage assertion: what the service told the EHR about one order. No PHI. */
export interface AssertionRecord {
  /** The `coverage-assertion-id` sent in coverage-information. */
  id: string;
  createdAt: string;
  serviceId: string;
  hook: string;
  hookInstance: string;
  /** `DeviceRequest/id` of the draft order. */
  orderRef: string;
  pumpCode?: string;
  policyId?: string;
  policyVersion?: string;
  /** Every policy evaluated into this one assertion (coverage, edits, exclusions), with its version. */
  policies?: { id: string; version: string }[];
  /** Effective parameters per policy id (deployment overrides included): which threshold decided. */
  parameters?: Record<string, Record<string, number | string | boolean>>;
  outcome: string;
  unmetCriteria: string[];
  undocumentedCriteria: string[];
  /** Cards emitted for this order, with the criteria each card speaks for (for override analytics). */
  cards: {
    uuid: string;
    indicator: string;
    criteria: string[];
    suggestionUuids: string[];
    /** finding: the order's own card (override analytics); reference / smart: shared cards (default finding). */
    kind?: 'finding' | 'reference' | 'smart';
  }[];
  /** Keyed hash (HMAC-SHA256 with PATIENT_HASH_SECRET) of the patient id, to link repeat orders without storing ids. */
  patientHash: string;
  /** Keyed hash of the ordering practitioner reference (analytics by practitioner without storing who). */
  practitionerHash?: string;
  /** Ordering site: an Organization reference (encounter service provider or the PractitionerRole's organization). */
  site?: string;
}

export interface AssertionSink {
  /** Queue for asynchronous storage. Must return immediately and never throw. */
  record(assertion: AssertionRecord): void;
}

/**
 * jti replay memory shared by every process of the service (workers, replicas). `claim` is atomic: of two processes
 * claiming the same key, one gets 'first'. 'unavailable' means the database could not answer in time; the caller
 * then relies on its own per-process memory rather than refusing or waiting.
 */
export interface SharedReplayGuard {
  claim(key: string, forgetAtSeconds: number): Promise<'first' | 'replay' | 'unavailable'>;
}

export class StoreUnavailableError extends Error {
  constructor(message = 'Storage unavailable') {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** Feedback the database cannot take as given (the route answers 400, not 503). */
export class InvalidFeedbackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFeedbackError';
  }
}

export interface FeedbackStore {
  /** Commit every item (idempotent for duplicate deliveries) before resolving; throws StoreUnavailableError. */
  saveFeedback(serviceId: string, items: FeedbackItem[]): Promise<{ stored: number; duplicates: number; orphans: number }>;
}
