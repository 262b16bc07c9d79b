// Prefetch built the way an EHR builds it: read the service's discovery document, expand each prefetch template with
// the hook context (CDS Hooks 2.0 tokens) and run it against the EHR's FHIR server; send back exactly what that server
// answered, and nothing discovery did not ask for.
//
// Kept self-contained on purpose: the h8data branch adds test/support/prefetch.ts with a `prefetchFromDiscovery` of the
// same name and signature (plus this file's `discoveryAuthorization`); when both are merged this file can be replaced
// by a re-export of that one.
import type { Express } from 'express';
import type { Bundle, FhirResource } from 'fhir/r4';
import request from 'supertest';
import { expandTemplate, PrefetchTokenError } from '../../src/fhir/prefetch.js';

export type Prefetch = Record<string, FhirResource | null>;

export interface DiscoveryPrefetchOptions {
  /** Service id in discovery (default pumpcheck-order-sign). */
  serviceId?: string;
  /** Bearer token for the FHIR server, if it wants one. */
  accessToken?: string;
  /** Follow `next` links and send one Bundle with every page (default: the first page only). */
  allPages?: boolean;
  /** Authorization header for GET /cds-services (a client JWT when the service requires one). */
  discoveryAuthorization?: string;
}

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
      // CDS Hooks: the client MUST omit a key whose details it cannot provide.
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
