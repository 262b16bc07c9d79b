import type { Observation, Patient } from 'fhir/r4';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPortUrl, startFhirServer, type TestFhirServer } from '../../test/support/fhir-server.js';
import { silentLogger } from '../logger.js';
import { createFhirClient, FhirQueryError } from './client.js';

const TOKEN = 'client-test-token-0123456789';

const patient: Patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Doe' }] };
const obs = (n: number, subject = 'Patient/p1'): Observation => ({
  resourceType: 'Observation',
  id: `obs-${n}`,
  status: 'final',
  subject: { reference: subject },
  code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
  valueQuantity: { value: 7 + n / 10, unit: '%' },
});

let server: TestFhirServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startFhirServer>[0] = {}) {
  server = await startFhirServer({ token: TOKEN, resources: [patient], ...options });
  return server;
}

const client = (baseUrl: string, extra: Partial<Parameters<typeof createFhirClient>[0]> = {}) =>
  createFhirClient({ baseUrl, accessToken: TOKEN, timeoutMs: 2000, logger: silentLogger, allowlist: ['http://127.0.0.1:*'], ...extra });

async function failure(promise: Promise<unknown>): Promise<FhirQueryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FhirQueryError);
  return err as FhirQueryError;
}

describe('FhirClient', () => {
  it('reads with the bearer token and FHIR JSON Accept header; 404 gives null', async () => {
    const s = await start();
    const c = client(s.url);
    expect(await c.read('Patient/p1')).toMatchObject({ resourceType: 'Patient', id: 'p1' });
    expect(await c.read('Patient/nobody')).toBeNull();
    expect(s.requests.map((r) => [r.url, r.authorization, r.accept])).toEqual([
      ['/fhir/Patient/p1', `Bearer ${TOKEN}`, 'application/fhir+json'],
      ['/fhir/Patient/nobody', `Bearer ${TOKEN}`, 'application/fhir+json'],
    ]);
  });

  it('sends no Authorization header without a token (open servers)', async () => {
    const s = await start({ token: undefined });
    await client(s.url, { accessToken: undefined }).read('Patient/p1');
    expect(s.requests[0]?.authorization).toBeUndefined();
  });

  it('follows next links across pages and stops at the page cap', async () => {
    const s = await start({ resources: [patient, ...Array.from({ length: 25 }, (_, i) => obs(i))], maxPageSize: 10 });
    const c = client(s.url);
    const all = await c.searchPages('Observation?patient=Patient/p1&_count=10', { maxPages: 10 });
    expect(all.resources).toHaveLength(25);
    expect(new Set(all.resources.map((r) => r.id)).size).toBe(25);
    expect(all).toMatchObject({ pages: 3, truncated: false, warnings: [] });

    const capped = await c.searchPages('Observation?patient=Patient/p1&_count=10', { maxPages: 2 });
    expect(capped.resources).toHaveLength(20);
    expect(capped.truncated).toBe(true);
    expect(capped.warnings.join()).toMatch(/2-page cap/);
    expect(await c.search('Observation?patient=Patient/p1&_count=10', { maxPages: 1 })).toHaveLength(10);
  });

  it('never follows a next link to another origin (the token would leak)', async () => {
    const s = await start({ resources: [patient, ...Array.from({ length: 5 }, (_, i) => obs(i))], maxPageSize: 2 });
    s.setBehaviour({ linkBase: 'http://127.0.0.2:9/fhir' });
    const result = await client(s.url).searchPages('Observation?patient=Patient/p1', { maxPages: 10 });
    expect(result.resources).toHaveLength(2);
    expect(result.truncated).toBe(true);
    expect(result.warnings.join()).toMatch(/outside the fhirServer origin/);
    expect(s.requests).toHaveLength(1);
    await expect(client(s.url).search('http://127.0.0.2:9/fhir/Observation', { maxPages: 1 })).rejects.toMatchObject({
      kind: 'bad-url',
    });
  });

  it('skips outcome entries with a warning and deduplicates by Type/id', async () => {
    const s = await start({ resources: [patient, obs(1)], outcomeEntry: true });
    const result = await client(s.url).searchPages('Observation?patient=Patient/p1', { maxPages: 2 });
    expect(result.resources.map((r) => r.resourceType)).toEqual(['Observation']);
    expect(result.warnings.join()).toMatch(/1 OperationOutcome entry/);

    s.setBehaviour({
      outcomeEntry: false,
      failWith: {
        status: 200,
        body: JSON.stringify({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: obs(1) }, { resource: obs(1) }, { resource: obs(2) }, {}],
        }),
      },
    });
    const deduped = await client(s.url).search('Observation', { maxPages: 1 });
    expect(deduped.map((r) => r.id)).toEqual(['obs-1', 'obs-2']);
  });

  it('reports a wrong token as http-401 without echoing the token', async () => {
    const s = await start();
    const err = await failure(client(s.url, { accessToken: 'wrong-token-abcdef' }).read('Patient/p1'));
    expect(err.kind).toBe('http-401');
    expect(err.message).toBe('FHIR server answered HTTP 401');
    expect(err.message).not.toContain('wrong-token');
  });

  it('turns garbage, OperationOutcomes and non-Bundles into errors', async () => {
    const s = await start({ failWith: 'garbage' });
    const c = client(s.url);
    expect((await failure(c.search('Observation', { maxPages: 1 }))).kind).toBe('garbage');
    s.setBehaviour({ failWith: 'operation-outcome' });
    expect((await failure(c.search('Observation', { maxPages: 1 }))).kind).toBe('http-500');
    s.setBehaviour({ failWith: 'operation-outcome-200' });
    const oo = await failure(c.read('Patient/p1'));
    expect(oo.kind).toBe('operation-outcome');
    expect(oo.message).not.toContain('Search failed'); // server text stays out of our messages
    s.setBehaviour({ failWith: { status: 200, body: JSON.stringify(patient) } });
    const notBundle = await failure(c.search('Patient', { maxPages: 1 }));
    expect(notBundle.kind).toBe('garbage');
    expect(notBundle.message).not.toContain('Doe');
    s.setBehaviour({ failWith: { status: 200, body: '[1,2]' } });
    expect((await failure(c.read('Patient/p1'))).kind).toBe('garbage');
  });

  it('caps the response size', async () => {
    const s = await start({ resources: [patient, ...Array.from({ length: 20 }, (_, i) => obs(i))] });
    const err = await failure(client(s.url, { maxResponseBytes: 1000 }).search('Observation', { maxPages: 1 }));
    expect(err.kind).toBe('too-large');
  });

  it('times out a slow server and honours the caller signal', async () => {
    const s = await start({ delayMs: 60_000 });
    const timedOut = await failure(client(s.url, { timeoutMs: 100 }).read('Patient/p1'));
    expect(timedOut.kind).toBe('timeout');
    expect(timedOut.message).toBe('FHIR server timed out after 100 ms');

    const controller = new AbortController();
    const pending = client(s.url).search('Observation', { maxPages: 1, signal: controller.signal });
    controller.abort();
    expect((await failure(pending)).kind).toBe('aborted');
  });

  it('reports a server that is down as unreachable', async () => {
    const err = await failure(client(await closedPortUrl()).read('Patient/p1'));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toMatch(/^FHIR server unreachable/);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => client('file:///etc')).toThrow(FhirQueryError);
    expect(() => client('not a url')).toThrow(/absolute http/);
  });
});
