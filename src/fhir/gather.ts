// Gathers the patient record for one hook call, following CDS Hooks 2.0 prefetch semantics:
//   key present with data        → use it (and follow a prefetched Bundle's `next` link on fhirServer)
//   key present with null        → the client looked and found nothing: no query
//   key present with an OperationOutcome (or error outcome entries) / key absent → query fhirServer ourselves
// Missing keys are queried in parallel, each request with a timeout, the whole gathering within one budget.
// A required key that cannot be obtained is a 412 (the spec's rule); an optional one becomes a RecordGap so the
// engine says "could not be read" instead of "not documented".
import { setMaxListeners } from 'node:events';
import type { Bundle, BundleEntry, OperationOutcome, Reference, Resource } from 'fhir/r4';
import type { CdsRequest } from '../cds/types.js';
import type { Config } from '../config.js';
import { preconditionFailed } from '../http/errors.js';
import type { Logger } from '../logger.js';
import { createFhirClient, FhirQueryError, type FhirClient } from './client.js';
import { expandTemplate, PrefetchTokenError, type PrefetchTemplate } from './prefetch.js';
import { PatientRecord, type RecordGap } from './record.js';

/** `not-applicable`: the template's token has no value in this call (no encounterId): nothing to ask for, no gap. */
export type RecordSource = 'prefetch' | 'prefetch-null' | 'fetched' | 'failed' | 'not-applicable';

export interface GatherOptions {
  request: CdsRequest;
  /** `context.patientId`, already validated by the hook's context schema. */
  patientId: string;
  templates: readonly PrefetchTemplate[];
  fhir: Config['fhir'];
  logger: Logger;
  fetch?: typeof fetch;
  /** Epoch ms at which the hook request arrived: the budget counts from here (default: now). */
  requestTime?: number;
  /** Cancels the gathering (e.g. the client went away). */
  signal?: AbortSignal;
  /** Observer of each fallback query (metrics); must not throw. */
  onQuery?: (key: string, outcome: 'ok' | 'error', seconds: number, kind?: string) => void;
}

export interface GatheredRecord {
  record: PatientRecord;
  /** Per prefetch key, where its data came from. */
  sources: Record<string, RecordSource>;
  /** Same array as `record.gaps`. */
  gaps: RecordGap[];
  /** Wall time spent on FHIR queries (0 when everything was prefetched). */
  fetchMs: number;
  /** Content-free notes worth logging (skipped outcome entries, refused links). */
  warnings: string[];
}

type Pending = {
  template: PrefetchTemplate;
  /** How the prefetch failed to satisfy the key, for the 412 message. */
  why: string;
  /** Data that came with a prefetched Bundle carrying error outcomes: used if our own query is impossible. */
  fallback?: Resource[];
};

/** Raised by the budget timer; distinguishes "out of time" from the caller cancelling. */
class BudgetExceeded extends Error {}

export async function gatherRecord(options: GatherOptions): Promise<GatheredRecord> {
  const { request, patientId, templates, fhir, logger } = options;
  const prefetch: Record<string, unknown> = request.prefetch ?? {};
  const context: Record<string, unknown> = { ...request.context, patientId };
  const sources: Record<string, RecordSource> = {};
  const gaps: RecordGap[] = [];
  const warnings: string[] = [];
  const collected = new Map<string, Resource[]>();
  const pending: Pending[] = [];
  const continuations: { template: PrefetchTemplate; next: string }[] = [];

  for (const template of templates) {
    const { key } = template;
    if (!Object.hasOwn(prefetch, key) || prefetch[key] === undefined) {
      if (!applies(template, context)) {
        sources[key] = 'not-applicable';
        collected.set(key, []);
        continue;
      }
      pending.push({ template, why: 'was not prefetched' });
      continue;
    }
    const value = prefetch[key];
    if (value === null) {
      sources[key] = 'prefetch-null';
      collected.set(key, []);
      continue;
    }
    if (typeof value !== 'object' || Array.isArray(value) || typeof (value as Resource).resourceType !== 'string') {
      pending.push({ template, why: 'was prefetched in an unreadable form' });
      continue;
    }
    const resource = value as Resource;
    if (resource.resourceType === 'OperationOutcome') {
      pending.push({ template, why: 'was prefetched as an OperationOutcome' });
      continue;
    }
    if (resource.resourceType !== 'Bundle') {
      sources[key] = 'prefetch';
      collected.set(key, [resource]);
      continue;
    }
    const { data, outcomes, errorOutcome } = bundleContents(resource as Bundle);
    if (outcomes > 0) warnings.push(`${key}: ${outcomes} OperationOutcome entr${outcomes === 1 ? 'y' : 'ies'} in the prefetch skipped`);
    if (errorOutcome) {
      // The client hit an error filling this key, so the Bundle may be incomplete: query it ourselves if we can.
      pending.push({ template, why: 'was prefetched with errors', fallback: data });
      continue;
    }
    sources[key] = 'prefetch';
    collected.set(key, data);
    const next = (resource as Bundle).link?.find((l) => l?.relation === 'next')?.url;
    if (typeof next === 'string' && next) continuations.push({ template, next });
  }

  let fetchMs = 0;
  if (pending.length > 0 || continuations.length > 0) {
    const started = performance.now();
    await runQueries();
    fetchMs = Math.round(performance.now() - started);
  }

  async function runQueries(): Promise<void> {
    let client: FhirClient | undefined;
    let unavailable = 'the request has no fhirServer';
    if (typeof request.fhirServer === 'string' && request.fhirServer) {
      try {
        // Without fhirAuthorization the query goes out unauthenticated: open servers (the CDS Hooks sandbox's) need
        // no token, and a server that does answers 401, which is reported like any other failure.
        client = createFhirClient({
          baseUrl: request.fhirServer,
          accessToken: request.fhirAuthorization?.access_token,
          timeoutMs: fhir.queryTimeoutMs,
          logger,
          fetch: options.fetch,
          allowlist: fhir.serverAllowlist,
        });
      } catch (err) {
        // A malformed URL is the caller's own mistake and may be named; an egress refusal is told like any failure.
        unavailable = (err as FhirQueryError).kind === 'refused' ? 'the FHIR server could not be reached' : (err as Error).message;
        if ((err as FhirQueryError).kind === 'refused') logger.warn('fhirServer refused by the egress policy (FHIR_SERVER_ALLOWLIST)');
      }
    }

    const budget = new AbortController();
    const remaining = (options.requestTime ?? Date.now()) + fhir.totalBudgetMs - Date.now();
    const timer = setTimeout(() => budget.abort(new BudgetExceeded()), Math.max(0, remaining));
    const signal = options.signal ? AbortSignal.any([budget.signal, options.signal]) : budget.signal;
    // Every parallel query listens on the same signal (a few listeners each): not a leak.
    setMaxListeners(Math.max(10, 4 * (pending.length + continuations.length)), budget.signal, signal);
    // What the caller (412 body) and the cards are told. One text for every way the server failed — refused, silent,
    // timed out, HTTP 404/500, garbage, not allowed by the egress policy — so the answer is no oracle on which hosts
    // and ports exist behind the service (SSRF probing). The kind is logged and counted (metrics) for operators.
    const failureReason = (err: unknown): string => {
      if (!client) return unavailable;
      const kind =
        budget.signal.reason instanceof BudgetExceeded && (err instanceof BudgetExceeded || (err as FhirQueryError)?.kind === 'aborted')
          ? 'budget'
          : err instanceof FhirQueryError
            ? err.kind
            : 'error';
      logger.info({ kind }, 'fhir query failed');
      return 'the FHIR server could not be reached';
    };
    let firstRequiredFailure: RequiredFailure | undefined;

    const fetchKey = async (item: Pending): Promise<void> => {
      const { template } = item;
      const { key } = template;
      const started = performance.now();
      const observe = (outcome: 'ok' | 'error', kind?: string) => options.onQuery?.(key, outcome, (performance.now() - started) / 1000, kind);
      try {
        if (!client) throw new Error(unavailable);
        const url = queryUrl(template, context, patientId, fhir.pageSize);
        if (template.kind === 'read') {
          const resource = await abortable(client.read(url, { signal, key }), signal);
          collected.set(key, resource ? [resource] : []);
        } else {
          const result = await abortable(client.searchPages(url, { maxPages: fhir.maxPages, signal, key }), signal);
          collected.set(key, result.resources);
          for (const w of result.warnings) warnings.push(`${key}: ${w}`);
          if (result.truncated) gaps.push(truncationGap(template, result.resources.length));
        }
        sources[key] = 'fetched';
        observe('ok');
      } catch (err) {
        if (client) observe('error', err instanceof FhirQueryError ? err.kind : err instanceof BudgetExceeded ? 'budget' : 'error');
        const reason = failureReason(err);
        if (item.fallback && item.fallback.length > 0) {
          // Keep what the client did send; the gap tells the engine it may be incomplete.
          sources[key] = 'prefetch';
          collected.set(key, item.fallback);
          gaps.push({ key, resourceType: template.resourceType, reason: `prefetch reported errors and the FHIR query failed: ${reason}` });
          return;
        }
        sources[key] = 'failed';
        if (template.required) {
          firstRequiredFailure ??= { key, message: `Required data '${key}' ${item.why} and could not be fetched: ${reason}` };
          budget.abort(new Error('a required key failed')); // the call fails anyway: stop the other queries now
          return;
        }
        gaps.push({ key, resourceType: template.resourceType, reason: `${item.why} and the FHIR query failed: ${reason}` });
      }
    };

    const continueBundle = async ({ template, next }: { template: PrefetchTemplate; next: string }): Promise<void> => {
      const { key } = template;
      const have = collected.get(key) ?? [];
      try {
        if (!client) throw new Error(unavailable);
        if (fhir.maxPages <= 1) {
          gaps.push(truncationGap(template, have.length));
          return;
        }
        const result = await abortable(client.searchPages(next, { maxPages: fhir.maxPages - 1, signal, key }), signal);
        collected.set(key, [...have, ...result.resources]);
        for (const w of result.warnings) warnings.push(`${key}: ${w}`);
        if (result.truncated) gaps.push(truncationGap(template, have.length + result.resources.length));
      } catch (err) {
        gaps.push({
          key,
          resourceType: template.resourceType,
          reason: `the prefetched Bundle has more pages that could not be read: ${failureReason(err)}`,
        });
      }
    };

    try {
      await Promise.all([...pending.map(fetchKey), ...continuations.map(continueBundle)]);
    } finally {
      clearTimeout(timer);
      // The budget is over: close every socket to the FHIR server (a trickling server must not hold one open).
      await client?.close();
    }
    if (firstRequiredFailure) {
      logger.info({ key: firstRequiredFailure.key, sources }, 'required record data unavailable');
      throw preconditionFailed(firstRequiredFailure.message, [`prefetch.${firstRequiredFailure.key}`]);
    }
  }

  const resources: Resource[] = [];
  for (const template of templates) {
    const list = collected.get(template.key) ?? [];
    let ignored = 0;
    for (const r of list) {
      if (belongsToPatient(r, template.resourceType, patientId) || isIncluded(r, template, patientId)) resources.push(r);
      else ignored++;
    }
    if (ignored > 0) logger.warn({ key: template.key, ignored }, 'resources of another type or patient ignored');
  }
  // Template order, whatever order the parallel queries finished in.
  const ordered: Record<string, RecordSource> = {};
  for (const t of templates) if (sources[t.key]) ordered[t.key] = sources[t.key]!;
  const record = new PatientRecord(patientId, resources, gaps);
  logger.debug({ sources: ordered, gaps: gaps.map((g) => g.key), warnings: warnings.length, fetchMs, resources: record.size }, 'record gathered');
  return { record, sources: ordered, gaps, fetchMs, warnings };
}

interface RequiredFailure {
  key: string;
  message: string;
}

function truncationGap(template: PrefetchTemplate, count: number): RecordGap {
  return {
    key: template.key,
    resourceType: template.resourceType,
    reason: `only the first ${count} results were read (page cap reached); older or further data may exist`,
  };
}

/** A prefetched Bundle's data resources; OperationOutcome entries counted apart (errors make the key unsatisfied). */
function bundleContents(bundle: Bundle): { data: Resource[]; outcomes: number; errorOutcome: boolean } {
  const data: Resource[] = [];
  let outcomes = 0;
  let errorOutcome = false;
  for (const entry of (Array.isArray(bundle.entry) ? bundle.entry : []) as BundleEntry[]) {
    const resource = entry?.resource;
    if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') continue;
    if (resource.resourceType === 'OperationOutcome' || entry.search?.mode === 'outcome') {
      outcomes++;
      if (
        resource.resourceType === 'OperationOutcome' &&
        (resource as OperationOutcome).issue?.some((i) => i?.severity === 'error' || i?.severity === 'fatal')
      ) {
        errorOutcome = true;
      }
      continue;
    }
    data.push(resource);
  }
  return { data, outcomes, errorOutcome };
}

/**
 * The URL pumpcheck sends for a template: tokens expanded, bare patient ids in reference parameters written as
 * `Patient/<id>` (Medplum only matches that form; HAPI accepts both), `_count` added to searches without one.
 */
export function queryUrl(template: PrefetchTemplate, context: Record<string, unknown>, patientId: string, pageSize: number): string {
  let url = expandTemplate(template.template, context);
  if (template.kind !== 'search') return url;
  url = url.replace(/([?&](?:patient|subject|beneficiary)=)([^&]*)/g, (m, param: string, value: string) =>
    value === patientId ? `${param}Patient/${value}` : m,
  );
  if (!/[?&]_count=/.test(url)) url += `${url.includes('?') ? '&' : '?'}_count=${pageSize}`;
  return url;
}

/** Whether the template can be expanded for this call: a token without a value (no encounterId) means it cannot. */
function applies(template: PrefetchTemplate, context: Record<string, unknown>): boolean {
  try {
    expandTemplate(template.template, context);
    return true;
  } catch (err) {
    return !(err instanceof PrefetchTokenError && err.missingValue);
  }
}

/**
 * A resource the template's `_include`s bring (Specimen, Medication, Device): kept when of an included type and, if it
 * names a patient at all, this patient. Prefetch entries are accepted whether or not they say `search.mode = include`
 * (clients often leave it out).
 */
function isIncluded(resource: Resource, template: PrefetchTemplate, patientId: string): boolean {
  return (
    !!resource &&
    typeof resource.resourceType === 'string' &&
    resource.resourceType !== template.resourceType &&
    template.includedTypes.includes(resource.resourceType) &&
    (patientReference(resource) === undefined || belongsToPatient(resource, resource.resourceType, patientId))
  );
}

/** The element by which a resource names its patient, if it has one (a Medication or a stock Device has none). */
function patientReference(resource: Resource): unknown {
  const r = resource as any;
  const pick = PATIENT_REFERENCE[resource.resourceType];
  return pick ? pick(r) : (r.subject ?? r.patient);
}

/** Where each type points at its patient; types not listed are kept if they have no subject/patient at all. */
const PATIENT_REFERENCE: Record<string, (r: any) => Reference | undefined> = {
  Coverage: (r) => r.beneficiary,
  AllergyIntolerance: (r) => r.patient,
  Device: (r) => r.patient,
  Condition: (r) => r.subject,
  Observation: (r) => r.subject,
  Procedure: (r) => r.subject,
  Encounter: (r) => r.subject,
  MedicationStatement: (r) => r.subject,
  MedicationRequest: (r) => r.subject,
  MedicationAdministration: (r) => r.subject,
  QuestionnaireResponse: (r) => r.subject,
  DeviceRequest: (r) => r.subject,
  DeviceUseStatement: (r) => r.subject,
  ServiceRequest: (r) => r.subject,
  Specimen: (r) => r.subject,
};

/** Only the template's type, and only this patient's data: a misbehaving server or client must not mix patients. */
export function belongsToPatient(resource: Resource, resourceType: string, patientId: string): boolean {
  if (!resource || resource.resourceType !== resourceType) return false;
  if (resourceType === 'Patient') return resource.id === patientId;
  const r = resource as any;
  const pick = PATIENT_REFERENCE[resourceType];
  const ref: Reference | undefined = pick ? pick(r) : (r.subject ?? r.patient);
  if (!pick && ref === undefined) return true;
  let s = typeof ref?.reference === 'string' ? ref.reference : '';
  // Runs for every gathered resource: the regex only when there is a version to strip.
  if (s.includes('/_history/')) s = s.replace(/\/_history\/[^/]*$/, '');
  const tail = s.length - patientId.length;
  return (
    tail >= 8 &&
    s.endsWith(patientId) &&
    s.startsWith('Patient/', tail - 8) &&
    (tail === 8 || s.charCodeAt(tail - 9) === 47 /* / */)
  );
}

/** Rejects as soon as `signal` aborts, even if the underlying work (an injected fetch) ignores it. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
