// The fallback path end to end over HTTP: the real app fetches what the EHR did not prefetch from a real FHIR R4
// server on loopback (Medplum's in-memory FHIR router), with the request's bearer token.
import request from 'supertest';
import type { Observation, Resource } from 'fhir/r4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateCdsResponse } from '../src/cds/schemas.js';
import { testApp } from './support/app.js';
import { closedPortUrl, startFhirServer, type TestFhirServer } from './support/fhir-server.js';
import { hookBody, medicareCoverage, minimalPrefetch, patient } from './support/requests.js';

const SIGN = '/cds-services/pumpcheck-order-sign';
const TOKEN = 'ehr-issued-token';

function smbg(i: number): Observation {
  return {
    resourceType: 'Observation',
    id: `smbg-${i}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '41653-7' }] },
    subject: { reference: 'Patient/pt-1' },
    effectiveDateTime: `2026-03-${String(1 + (i % 28)).padStart(2, '0')}T0${i % 10}:00:00Z`,
    valueQuantity: { value: 120 + i, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  };
}

const seed: Resource[] = [patient(), medicareCoverage(), ...Array.from({ length: 25 }, (_, i) => smbg(i))];

let fhir: TestFhirServer;
const t = testApp({ FHIR_QUERY_TIMEOUT_MS: '1000', FHIR_TOTAL_BUDGET_MS: '2500', FHIR_PAGE_SIZE: '10', FHIR_MAX_PAGES: '10' });

beforeAll(async () => {
  fhir = await startFhirServer({ resources: seed, token: TOKEN });
});
afterAll(async () => {
  t.close();
  await fhir.close();
});
afterEach(() => {
  fhir.setBehaviour({ delayMs: undefined, failWith: undefined, only: undefined });
  fhir.requests.length = 0;
});

describe('fallback to fhirServer', () => {
  it('fetches every missing key with the bearer token, in parallel, following next links', async () => {
    // 200 ms per response: the 15 requests one after another would exceed the 2.5 s budget, so success also shows
    // parallelism.
    fhir.setBehaviour({ delayMs: 200 });
    const res = await request(t.app).post(SIGN).send(hookBody({ fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(validateCdsResponse(res.body)).toEqual([]);
    expect(fhir.requests.length).toBeGreaterThanOrEqual(14);
    expect(new Set(fhir.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
    // 25 glucose readings at page size 10 ⇒ three Observation pages.
    const observations = fhir.requests.filter((r) => /\/Observation\?/.test(r.url));
    expect(observations).toHaveLength(3);
    // With the untimed C-peptide's Specimen (fasting status) included, on every page.
    // Next links come back percent-encoded; compare the decoded query.
    expect(observations.every((r) => decodeURIComponent(r.url).includes('_include=Observation:specimen'))).toBe(true);
    expect(fhir.peakConcurrency).toBeGreaterThan(1);
    // The coverage assertion names the Coverage read from the server.
    const ext = res.body.systemActions[0].resource.extension[0].extension;
    expect(ext.find((e: any) => e.url === 'coverage').valueReference.reference).toBe('Coverage/cov-mcr-1');
  });

  it('does not query keys that were prefetched, and treats null as "nothing exists"', async () => {
    const prefetch = minimalPrefetch();
    delete prefetch.observations;
    await request(t.app).post(SIGN).send(hookBody({ prefetch, fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(fhir.requests.map((r) => new URL(r.url, 'http://x').pathname.split('/').pop())).toEqual(['Observation', 'Observation', 'Observation']);
  });

  it('answers 412 when the token is refused for required data', async () => {
    const res = await request(t.app).post(SIGN).send(hookBody({ fhirServer: fhir.url, accessToken: 'wrong' })).expect(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].details.text).toMatch(/patient|coverage/);
    expect(res.body.issue[0].details.text).not.toContain('wrong');
  });

  it('answers 412 quickly when the FHIR server is down', async () => {
    const res = await request(t.app).post(SIGN).send(hookBody({ fhirServer: await closedPortUrl(), accessToken: TOKEN })).expect(412);
    expect(res.body.issue[0].details.text).toMatch(/could not be fetched/);
  });

  it('answers 412 (not a hang) when the server is too slow for required data', async () => {
    fhir.setBehaviour({ delayMs: 5_000 });
    const res = await request(t.app).post(SIGN).send(hookBody({ fhirServer: fhir.url, accessToken: TOKEN })).expect(412);
    // One text for every failure: the 412 is no oracle on what sits behind the service (SSRF probing).
    expect(res.body.issue[0].details.text).toMatch(/the FHIR server could not be reached$/);
  });

  it('returns cards with the gap reported when only optional data is slow', async () => {
    fhir.setBehaviour({ delayMs: 5_000, only: ['Observation'] });
    const res = await request(t.app).post(SIGN).send(hookBody({ fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(validateCdsResponse(res.body)).toEqual([]);
    const text = JSON.stringify(res.body.cards);
    expect(text).toMatch(/could not be read/i);
  });

  it('returns cards with the gap reported when the server answers garbage for optional data', async () => {
    fhir.setBehaviour({ failWith: 'garbage', only: ['Observation', 'Condition'] });
    const res = await request(t.app).post(SIGN).send(hookBody({ fhirServer: fhir.url, accessToken: TOKEN })).expect(200);
    expect(JSON.stringify(res.body.cards)).toMatch(/could not be read/i);
  });
});
