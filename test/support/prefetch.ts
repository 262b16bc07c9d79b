// Building prefetch the way an EHR does: from the templates the service advertises in discovery. Two forms:
//   prefetchFromDiscovery — reads GET /cds-services from the app, expands every template against the hook context and
//     runs it against a real FHIR server (the loopback one), sending back what the server answered;
//   prefetchFromResources — the same templates evaluated in memory over a list of resources, for synchronous fixture
//     builders (scenarios, examples, bench), so no fixture keeps its own list of keys.
import type { Bundle, BundleEntry, FhirResource, Reference, Resource } from 'fhir/r4';
import type { Express } from 'express';
import request from 'supertest';
import { prefetchTemplatesFor } from '../../src/compose.js';
import { loadConfig } from '../../src/config.js';
import { expandTemplate, PrefetchTokenError, type PrefetchTemplate } from '../../src/fhir/prefetch.js';
import { PatientRecord } from '../../src/fhir/record.js';
import { allFacts } from '../../src/policy/facts/index.js';
import { loadPolicySet } from '../../src/policy/loader.js';

export type Prefetch = Record<string, FhirResource | null>;

export interface DiscoveryPrefetchOptions {
  /** Service id in discovery (default pumpcheck-order-sign). */
  serviceId?: string;
  /** Bearer token for the FHIR server, if it wants one. */
  accessToken?: string;
  /** Follow `next` links and return one Bundle with every page (default: the first page, as many EHRs send). */
  allPages?: boolean;
  /** Authorization header for GET /cds-services (a client JWT when the service requires one). */
  discoveryAuthorization?: string;
}

/**
 * Executes the discovery prefetch templates of `serviceId` against `fhirServerUrl` for `context` (the hook context:
 * patientId, userId, encounterId …), as a CDS client would: keys whose tokens have no value in the context are left out
 * (CDS Hooks: "MUST omit the prefetch key if relevant details cannot be provided"), a read that finds nothing is null,
 * a search is the searchset Bundle the server returned (with its `_include`d entries).
 */
export async function prefetchFromDiscovery(
  app: Express,
  fhirServerUrl: string,
  context: Record<string, unknown>,
  options: DiscoveryPrefetchOptions = {},
): Promise<Prefetch> {
  const serviceId = options.serviceId ?? 'pumpcheck-order-sign';
  let discoveryCall = request(app).get('/cds-services');
  if (options.discoveryAuthorization) discoveryCall = discoveryCall.set('Authorization', options.discoveryAuthorization);
  const discovery = await discoveryCall;
  if (discovery.status !== 200) throw new Error(`GET /cds-services answered ${discovery.status}`);
  const service = (discovery.body.services as { id: string; prefetch?: Record<string, string> }[]).find((s) => s.id === serviceId);
  if (!service) throw new Error(`no service ${serviceId} in discovery`);
  const headers: Record<string, string> = { Accept: 'application/fhir+json' };
  if (options.accessToken) headers.Authorization = `Bearer ${options.accessToken}`;
  const get = async (url: string): Promise<{ status: number; body: FhirResource | undefined }> => {
    const res = await fetch(url, { headers });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as FhirResource) : undefined };
  };
  const out: Prefetch = {};
  for (const [key, template] of Object.entries(service.prefetch ?? {})) {
    let relative: string;
    try {
      relative = expandTemplate(template, context);
    } catch (err) {
      if (err instanceof PrefetchTokenError) continue;
      throw err;
    }
    const { status, body } = await get(`${fhirServerUrl}/${relative}`);
    if (status === 404 || status === 410) {
      out[key] = null;
      continue;
    }
    if (status !== 200 || !body) throw new Error(`prefetch ${key}: FHIR server answered ${status}`);
    if (options.allPages && body.resourceType === 'Bundle') {
      const bundle = body as Bundle;
      const seen = new Set<string>();
      let next = bundle.link?.find((l) => l.relation === 'next')?.url;
      while (next && !seen.has(next)) {
        seen.add(next);
        const page = (await get(next)).body as Bundle | undefined;
        if (page?.resourceType !== 'Bundle') throw new Error(`prefetch ${key}: a next page is not a Bundle`);
        bundle.entry = [...(bundle.entry ?? []), ...(page.entry ?? [])];
        next = page.link?.find((l) => l.relation === 'next')?.url;
      }
      bundle.link = bundle.link?.filter((l) => l.relation !== 'next');
    }
    out[key] = body;
  }
  return out;
}

let defaults: PrefetchTemplate[] | undefined;

/** The templates the service composes from ./policies (what discovery advertises by default). */
export function defaultTemplates(): PrefetchTemplate[] {
  if (!defaults) {
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
    defaults = prefetchTemplatesFor(loadPolicySet(config.policyDir, { facts: allFacts }));
  }
  return defaults;
}

/** Every key "no data" (null), optionally with some keys answered: the smallest complete prefetch. */
export function nullPrefetch(answered: Prefetch = {}, templates = defaultTemplates()): Prefetch {
  const out: Prefetch = {};
  for (const t of templates) if (t.key !== 'encounter') out[t.key] = null;
  return { ...out, ...answered };
}

/** The element an `_include` follows, per include value (the ones the service may ask for). */
const INCLUDE_PATH: Record<string, (r: any) => unknown> = {
  'Observation:specimen': (r) => r.specimen,
  'Observation:device': (r) => r.device,
  'MedicationRequest:medication': (r) => r.medicationReference,
  'MedicationStatement:medication': (r) => r.medicationReference,
  'MedicationAdministration:medication': (r) => r.medicationReference,
  'DeviceUseStatement:device': (r) => r.device,
  'DeviceRequest:device': (r) => r.codeReference,
  'Procedure:focal-device': (r) => (r.focalDevice ?? []).map((f: { manipulated?: Reference }) => f.manipulated),
  'ServiceRequest:specimen': (r) => r.specimen,
  'Coverage:payor': (r) => r.payor,
};

/** Fixed search parameters of the templates, evaluated as a FHIR server would. */
function passesFixedFilters(r: any, template: PrefetchTemplate): boolean {
  const status = /[?&]status=([^&]*)/.exec(template.template)?.[1];
  return !status || status.split(',').includes(r.status);
}

const dateOf = (r: any): string => String(r.period?.start ?? r.effectiveDateTime ?? r.authoredOn ?? '');

/**
 * The prefetch an EHR holding exactly `resources` (one patient's chart) would send for the templates: each search's
 * matches (code list and status filters applied, Encounters newest first and capped at `_count`), each `_include`d
 * resource added as an include entry. Keys whose tokens have no value in `context` are left out.
 */
export function prefetchFromResources(
  resources: readonly Resource[],
  options: { patientId: string; templates?: PrefetchTemplate[]; context?: Record<string, unknown>; fullUrlBase?: string },
): Prefetch {
  const templates = options.templates ?? defaultTemplates();
  const context = { patientId: options.patientId, ...options.context };
  const record = new PatientRecord(options.patientId, resources as Resource[]);
  const base = options.fullUrlBase ?? 'https://ehr.example.org/fhir';
  const out: Prefetch = {};
  for (const t of templates) {
    let url: string;
    try {
      url = expandTemplate(t.template, context);
    } catch (err) {
      if (err instanceof PrefetchTokenError) continue;
      throw err;
    }
    if (t.kind === 'read') {
      out[t.key] = (record.resolve(url) as FhirResource | undefined) ?? null;
      continue;
    }
    let matches = (t.codes ? record.byCodes(t.resourceType, t.codes.codings, 'code') : record.all(t.resourceType)).filter((r) =>
      passesFixedFilters(r, t),
    );
    if (/[?&]_sort=-date/.test(t.template)) matches = [...matches].sort((a, b) => dateOf(b).localeCompare(dateOf(a)));
    const count = Number(/[?&]_count=(\d+)/.exec(t.template)?.[1]);
    if (Number.isInteger(count) && count > 0) matches = matches.slice(0, count);
    const entries: BundleEntry[] = matches.map((r) => ({ fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: r as FhirResource, search: { mode: 'match' } }));
    const included = new Set<Resource>();
    for (const inc of /[?&]_include=([^&]*)/g.test(t.template) ? [...t.template.matchAll(/[?&]_include=([^&]*)/g)].map((m) => m[1]!) : []) {
      const path = INCLUDE_PATH[inc];
      if (!path) throw new Error(`no include path for ${inc}`);
      for (const r of matches) {
        for (const ref of [path(r)].flat()) {
          const target = record.resolve(ref as Reference | undefined);
          if (target && !included.has(target)) {
            included.add(target);
            entries.push({ fullUrl: `${base}/${target.resourceType}/${target.id}`, resource: target as FhirResource, search: { mode: 'include' } });
          }
        }
      }
    }
    out[t.key] = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: matches.length,
      // FHIR forbids empty arrays: a search that found nothing has no `entry` at all.
      ...(entries.length > 0 ? { entry: entries } : {}),
    };
  }
  return out;
}
