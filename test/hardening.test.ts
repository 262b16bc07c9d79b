// Issue 13 — never down, never a 500, never a leak: each finding of the hostile-client probe, over HTTP against the
// real app. (Process-level cases — out of memory, supervision, stalled bodies — are in supervision.test.ts; the stalled
// database link in store-stall.test.ts; the fuzzing in fuzz.test.ts.)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateCdsResponse } from '../src/cds/schemas.js';
import { ConfigError, DEVELOPMENT_FHIR_ALLOWLIST, loadConfig } from '../src/config.js';
import { adminRouter } from '../src/http/admin.js';
import { createMetrics } from '../src/metrics.js';
import { convertQuantity } from '../src/policy/units.js';
import { testApp } from './support/app.js';
import { closedPortUrl } from './support/fhir-server.js';
import { hookBody, medicareCoverage, minimalPrefetch, pumpOrder, searchset } from './support/requests.js';
import { createFixture, type EngineFixture } from './store-support.js';

const SIGN = '/cds-services/pumpcheck-order-sign';
const SELECT = '/cds-services/pumpcheck-order-select';
const JS_TEXT = /is not iterable|undefined|NaN|\[object Object\]|TypeError|Cannot read/;

const t = testApp();
afterAll(() => t.close());

/** Every card text and coverage-information reason of a response, for the no-JavaScript-text check. */
function texts(body: any): string {
  const cards = (body.cards ?? []).map((c: any) => [c.summary, c.detail, ...(c.suggestions ?? []).map((s: any) => s.label)]);
  return JSON.stringify([cards, body.systemActions ?? []]);
}

async function expectCards(path: string, body: unknown): Promise<any> {
  const res = await request(t.app).post(path).send(body as object);
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
  expect(validateCdsResponse(res.body)).toEqual([]);
  expect(texts(res.body)).not.toMatch(JS_TEXT);
  return res.body;
}

describe('F1: a draft-order cap at the edge', () => {
  it('answers 400 naming the limit for 10,000 draft orders, without evaluating them', async () => {
    const orders = Array.from({ length: 10_000 }, (_, i) => pumpOrder(`dr-${i}`));
    const res = await request(t.app).post(SIGN).send(hookBody({ orders, prefetch: minimalPrefetch() }));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details.text).toMatch(/limit is 100 draft orders/);
    expect(res.body.issue[0].code).toBe('too-costly');
  });

  it('evaluates the cap\'s worth of orders, and /healthz answers within a second all the while', async () => {
    const orders = Array.from({ length: 100 }, (_, i) => pumpOrder(`dr-${i}`));
    const server = await listen(t.app);
    try {
      let done = false;
      const hook = fetch(`${server.url}${SIGN}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(hookBody({ orders, prefetch: minimalPrefetch() })),
      }).finally(() => (done = true));
      let worst = 0;
      let pings = 0;
      while (!done) {
        const started = performance.now();
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        worst = Math.max(worst, performance.now() - started);
        pings++;
        await new Promise((r) => setTimeout(r, 25));
      }
      const res = await hook;
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(validateCdsResponse(body)).toEqual([]);
      expect(pings).toBeGreaterThan(0);
      expect(worst).toBeLessThan(1000);
    } finally {
      await server.close();
    }
  });

  it('takes the cap from MAX_DRAFT_ORDERS', async () => {
    const small = testApp({ MAX_DRAFT_ORDERS: '2' });
    const orders = [pumpOrder('a'), pumpOrder('b'), pumpOrder('c')];
    const res = await request(small.app).post(SIGN).send(hookBody({ orders, prefetch: minimalPrefetch() })).expect(400);
    expect(res.body.issue[0].details.text).toMatch(/has 3 entries; the limit is 2 draft orders/);
    small.close();
  });
});

describe('F2/F9: malformed FHIR inside a valid request is a card, never a 500 or JavaScript text', () => {
  const orderWith = (mutate: (o: any) => void) => {
    const o: any = pumpOrder('dr-1');
    mutate(o);
    return o;
  };
  const prefetchWith = (mutate: (p: any) => void) => {
    const p: any = minimalPrefetch();
    mutate(p);
    return p;
  };
  const encounter = (type: unknown) => ({ resourceType: 'Encounter', id: 'enc-1', status: 'finished', subject: { reference: 'Patient/pt-1' }, type });
  const condition = (extra: object) => ({
    resourceType: 'Condition',
    id: 'c-1',
    subject: { reference: 'Patient/pt-1' },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E10.9' }] },
    ...extra,
  });

  it.each([
    ['a coding system that is a number', { orders: [orderWith((o) => (o.codeCodeableConcept.coding[0].system = 12345))] }],
    ['code: true', { orders: [orderWith((o) => (o.codeCodeableConcept.coding[0].code = true))] }],
    ['coding: {}', { orders: [orderWith((o) => (o.codeCodeableConcept.coding = {}))] }],
    ['coding: [null]', { orders: [orderWith((o) => (o.codeCodeableConcept.coding = [null]))] }],
    ['codeCodeableConcept.coding = 5', { orders: [orderWith((o) => (o.codeCodeableConcept.coding = 5))] }],
    ['insurance: "Coverage/x"', { orders: [orderWith((o) => (o.insurance = 'Coverage/x'))] }],
    ['insurance: [null]', { orders: [orderWith((o) => (o.insurance = [null]))] }],
    ['Encounter.type = {}', { prefetch: prefetchWith((p) => (p.encounters = searchset([encounter({}) as any]))) }],
    ['Coverage.type.coding = 7', { prefetch: prefetchWith((p) => (p.coverage.entry[0].resource.type.coding = 7)) }],
    ['an observation coding system that is a number', {
      prefetch: prefetchWith((p) => (p.observations = searchset([{ resourceType: 'Observation', id: 'o1', status: 'final', subject: { reference: 'Patient/pt-1' }, code: { coding: [{ system: 7, code: {} }] } } as any]))),
    }],
  ])('%s', async (_name, o: any) => {
    await expectCards(SIGN, hookBody({ prefetch: minimalPrefetch(), ...o }));
  });

  it('a numeric onsetDateTime on order-select', async () => {
    const prefetch: any = minimalPrefetch();
    prefetch.conditions = searchset([condition({ onsetDateTime: 12345 }) as any]);
    await expectCards(SELECT, hookBody({ hook: 'order-select', prefetch }));
  });

  it('a number where a list of readings belongs gives a plain reason, not "is not iterable"', async () => {
    const prefetch: any = minimalPrefetch();
    prefetch.observations = searchset([
      { resourceType: 'Observation', id: 'o1', status: 'final', subject: { reference: 'Patient/pt-1' }, code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] }, valueQuantity: { value: 'garbage', unit: 12345 }, effectiveDateTime: {} } as any,
      { resourceType: 'Observation', id: 'o2', status: 'final', subject: { reference: 'Patient/pt-1' }, code: { coding: 12345 }, component: 12345, valueQuantity: 12345 } as any,
    ]);
    await expectCards(SIGN, hookBody({ prefetch }));
  });
});

describe('F3: nesting depth', () => {
  it('answers 400 for a draft order nested 10,000 levels deep (was 500 "Maximum call stack size exceeded")', async () => {
    const order: any = pumpOrder('dr-1');
    let deep: any = { text: 'x' };
    for (let i = 0; i < 10_000; i++) deep = { extension: [deep] };
    order.note = [deep];
    // Built as text: JSON.stringify itself would overflow on the object.
    const body = JSON.stringify(hookBody({ orders: [pumpOrder('dr-1')], prefetch: minimalPrefetch() })).replace(
      '"status":"draft"',
      `"status":"draft","note":[${'{"extension":['.repeat(10_000)}{"text":"x"}${']}'.repeat(10_000)}]`,
    );
    const res = await request(t.app).post(SIGN).set('content-type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details.text).toMatch(/nested deeper than the limit of 64 levels/);
  });

  it('accepts ordinary FHIR nesting', async () => {
    await expectCards(SIGN, hookBody({ prefetch: minimalPrefetch() }));
  });
});

describe('F4/F5: broken transport encodings are 400', () => {
  it('Content-Encoding: gzip with a body that is not gzip', async () => {
    const res = await request(t.app).post(SIGN).set('content-type', 'application/json').set('content-encoding', 'gzip').send('{"not":"gzip"}');
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('a real gzip body still works', async () => {
    const server = await listen(t.app);
    try {
      const res = await fetch(`${server.url}${SIGN}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify(hookBody({ prefetch: minimalPrefetch() }))),
      });
      expect(res.status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it.each(['/cds-services/%E0%A4%A', '/cds-services/%E0%A4%A/feedback', '/coverage-assertions/%E0%A4%A', '/fhir/Questionnaire/%E0%A4%A'])(
    'broken percent-encoding in %s',
    async (path) => {
      const res = await request(t.app).get(path);
      expect(res.status).toBeLessThan(500);
      const post = await request(t.app).post(path).send({});
      expect(post.status).toBeLessThan(500);
      expect([400, 401, 404]).toContain(post.status);
    },
  );
});

describe('F6: feedback that can never be stored is 400, not 503 "retry later"', () => {
  const FEEDBACK = '/cds-services/pumpcheck-order-sign/feedback';
  const item = (extra: object = {}) => ({
    card: '9b9ab8e0-4f87-4fc9-9b06-0b8bfa0a1c3e',
    outcome: 'overridden',
    overrideReason: { reason: { system: 'http://example.org/reasons', code: 'patient-refused' } },
    outcomeTimestamp: '2026-04-01T10:00:00Z',
    ...extra,
  });

  it.each([
    ['outcomeTimestamp 0000-01-01T00:00:00Z', { feedback: [item({ outcomeTimestamp: '0000-01-01T00:00:00Z' })] }],
    ['an outcomeTimestamp years ahead', { feedback: [item({ outcomeTimestamp: '2999-01-01T00:00:00Z' })] }],
    ['NUL in a card id', { feedback: [item({ card: 'abc\u0000def' })] }],
    ['NUL in a reason code', { feedback: [item({ overrideReason: { reason: { system: 'http://x', code: 'a\u0000b' } } })] }],
    ['a 1 MB card id', { feedback: [item({ card: 'x'.repeat(1024 * 1024) })] }],
    ['8,000 feedback items', { feedback: Array.from({ length: 8000 }, () => item()) }],
  ])('%s', async (_name, body) => {
    const res = await request(t.app).post(FEEDBACK).send(body);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].details.text).toMatch(/Invalid feedback/);
  });

  it('stores ordinary feedback', async () => {
    await request(t.app).post(FEEDBACK).send({ feedback: [item()] }).expect(200);
  });

  describe('the coverage-assertion look-up', () => {
    let fx: EngineFixture;
    let admin: ReturnType<typeof testApp>;
    const token = 'admin-token-0123456789abcdef';
    beforeAll(async () => {
      fx = await createFixture('pglite');
      const store = await fx.open();
      admin = testApp({ ADMIN_TOKEN: token, AUTH_FAILURES_PER_MINUTE: '10' }, { adminRouter: adminRouter({ store, adminToken: token, logger: pino({ level: 'silent' }) }) });
      return async () => {
        admin.close();
        await store.close();
        await fx.dispose();
      };
    });

    it('GET /coverage-assertions/abc%00def is 400', async () => {
      const res = await request(admin.app).get('/coverage-assertions/abc%00def').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(400);
    });

    it('throttles admin-token guesses: 429 after the allowed failures, with Retry-After', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        statuses.push((await request(admin.app).get('/coverage-assertions/x').set('authorization', `Bearer guess-${i}`)).status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual(Array(4).fill(429));
      const res = await request(admin.app).get('/coverage-assertions/x').set('authorization', `Bearer ${token}`);
      expect(res.status).toBe(429); // the window is spent even for the right token: guessing must not be confirmed
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    });
  });
});

describe('F8: audience and links from configuration only', () => {
  const prod = {
    NODE_ENV: 'production',
    PATIENT_HASH_SECRET: 's'.repeat(32),
    CDS_TRUSTED_ISSUERS: JSON.stringify({ 'https://ehr.example.org': { jwksUrl: 'https://ehr.example.org/jwks.json' } }),
  };
  it('refuses to start in production without PUBLIC_BASE_URL', () => {
    expect(() => loadConfig(prod)).toThrow(ConfigError);
    expect(() => loadConfig(prod)).toThrow(/PUBLIC_BASE_URL must be set/);
    expect(loadConfig({ ...prod, PUBLIC_BASE_URL: 'https://cds.example.org' }).publicBaseUrls).toEqual(['https://cds.example.org']);
    expect(loadConfig({ ...prod, PUBLIC_BASE_URL: 'https://a.example.org, https://b.example.org/cds' }).publicBaseUrls).toEqual([
      'https://a.example.org',
      'https://b.example.org/cds',
    ]);
  });

  it('card links never follow a forged Host header when PUBLIC_BASE_URL is set', async () => {
    const app = testApp({ PUBLIC_BASE_URL: 'https://cds.example.org' });
    const res = await request(app.app).post(SIGN).set('host', 'other-cds.example.org').send(hookBody({ prefetch: minimalPrefetch() })).expect(200);
    const json = JSON.stringify(res.body);
    expect(json).not.toContain('other-cds.example.org');
    // Clinicians open the documentation form page (issue 12); it is built on the configured base URL, never on Host.
    expect(json).toContain('https://cds.example.org/forms/');
    app.close();
  });
});

describe('egress policy for fhirServer (SSRF)', () => {
  const prod = {
    NODE_ENV: 'production',
    PATIENT_HASH_SECRET: 's'.repeat(32),
    PUBLIC_BASE_URL: 'https://cds.example.org',
    CDS_TRUSTED_ISSUERS: JSON.stringify({ 'https://ehr.example.org': { jwksUrl: 'https://ehr.example.org/jwks.json' } }),
  };
  it('defaults to any public server plus loopback in development, and to none in production; validates entries', () => {
    expect(loadConfig({}).fhir.serverAllowlist).toEqual([...DEVELOPMENT_FHIR_ALLOWLIST]);
    expect(DEVELOPMENT_FHIR_ALLOWLIST).toContain('*');
    expect(loadConfig(prod).fhir.serverAllowlist).toEqual([]);
    expect(loadConfig({ ...prod, FHIR_SERVER_ALLOWLIST: 'https://*.ehr.example.org, https://fhir.example.com:8443' }).fhir.serverAllowlist).toEqual([
      'https://*.ehr.example.org',
      'https://fhir.example.com:8443',
    ]);
    expect(() => loadConfig({ FHIR_SERVER_ALLOWLIST: 'ftp://x.example' })).toThrow(/FHIR_SERVER_ALLOWLIST/);
    expect(() => loadConfig({ FHIR_SERVER_ALLOWLIST: 'https://x.example/fhir' })).toThrow(/not an origin/);
  });

  /** A server that records whether it was ever contacted. */
  async function canary(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"Patient","id":"pt-1"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/fhir`, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
  }

  const withoutPatient = () => {
    const prefetch = minimalPrefetch();
    delete (prefetch as Record<string, unknown>).patient;
    return prefetch;
  };

  it.each([
    ['loopback through the "*" wildcard', (port: number) => `http://127.0.0.1:${port}/fhir`],
    ['loopback as a decimal integer (2130706433)', (port: number) => `http://2130706433:${port}/fhir`],
    ['0.0.0.0', (port: number) => `http://0.0.0.0:${port}/fhir`],
    ['a name that resolves to loopback (DNS checked after resolution)', (port: number) => `http://localhost:${port}/fhir`],
    ['IPv4-mapped IPv6 loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/fhir`],
  ])('refuses %s, sending no token, unless the host is named exactly', async (_name, urlFor) => {
    const c = await canary();
    const port = Number(new URL(c.url).port);
    const open = testApp({ FHIR_SERVER_ALLOWLIST: '*' });
    try {
      const res = await request(open.app).post(SIGN).send(hookBody({ prefetch: withoutPatient(), fhirServer: urlFor(port), accessToken: 'caller-token' }));
      expect(res.status).toBe(412);
      expect(res.body.issue[0].details.text).toMatch(/the FHIR server could not be reached$/);
      expect(c.hits()).toBe(0);
    } finally {
      open.close();
      await c.close();
    }
  });

  it('refuses link-local metadata addresses and servers outside the allow-list', async () => {
    const app = testApp({ FHIR_SERVER_ALLOWLIST: 'https://*.ehr.example.org' });
    try {
      for (const fhirServer of ['http://169.254.169.254/latest/meta-data', 'https://evil.example.com/fhir', 'https://ehr.example.org.evil.com/fhir']) {
        const res = await request(app.app).post(SIGN).send(hookBody({ prefetch: withoutPatient(), fhirServer }));
        expect(res.status).toBe(412);
        expect(res.body.issue[0].details.text).toMatch(/the FHIR server could not be reached$/);
      }
    } finally {
      app.close();
    }
  });

  it('queries a loopback server named exactly in the allow-list', async () => {
    const c = await canary();
    const app = testApp({ FHIR_SERVER_ALLOWLIST: `http://127.0.0.1:${new URL(c.url).port}` });
    try {
      await request(app.app).post(SIGN).send(hookBody({ prefetch: withoutPatient(), fhirServer: c.url })).expect(200);
      expect(c.hits()).toBeGreaterThan(0);
    } finally {
      app.close();
      await c.close();
    }
  });

  it('gives the same 412 text whether the port is closed, silent, or answers 404 or 500 (no oracle)', async () => {
    const answering = (status: number | 'silent') => {
      const server = createServer((_req, res) => {
        if (status !== 'silent') res.writeHead(status).end('nope');
      });
      return new Promise<{ url: string; server: Server }>((r) =>
        server.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`, server })),
      );
    };
    const servers = await Promise.all([answering(404), answering(500), answering('silent')]);
    const app = testApp({ FHIR_TOTAL_BUDGET_MS: '600', FHIR_QUERY_TIMEOUT_MS: '300' });
    try {
      const texts = new Set<string>();
      // coverage is a search: a 404 is a failure (a read's 404 means "no such resource").
      const withoutCoverage = () => {
        const prefetch = minimalPrefetch();
        delete (prefetch as Record<string, unknown>).coverage;
        return prefetch;
      };
      for (const fhirServer of [await closedPortUrl(), ...servers.map((s) => s.url)]) {
        const res = await request(app.app).post(SIGN).send(hookBody({ prefetch: withoutCoverage(), fhirServer }));
        expect(res.status).toBe(412);
        texts.add(res.body.issue[0].details.text);
      }
      expect([...texts]).toEqual(["Required data 'coverage' was not prefetched and could not be fetched: the FHIR server could not be reached"]);
    } finally {
      app.close();
      for (const { server } of servers) server.closeAllConnections(), server.close();
    }
  });

  it('closes the sockets to a trickling server when the budget ends', async () => {
    let open = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.write('{"resourceType":"Patient",');
      const timer = setInterval(() => res.write(' '), 50); // a byte now and then, for ever
      res.on('close', () => clearInterval(timer));
    });
    server.on('connection', (socket) => {
      open++;
      socket.on('close', () => open--);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const app = testApp({ FHIR_TOTAL_BUDGET_MS: '500', FHIR_QUERY_TIMEOUT_MS: '400' });
    try {
      const fhirServer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
      await request(app.app).post(SIGN).send(hookBody({ prefetch: withoutPatient(), fhirServer })).expect(412);
      const until = Date.now() + 2000;
      while (open > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(open).toBe(0);
    } finally {
      app.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('headers, logs and library output', () => {
  it('Cache-Control: no-store and nosniff on hook responses, discovery and errors', async () => {
    for (const res of [
      await request(t.app).post(SIGN).send(hookBody({ prefetch: minimalPrefetch() })),
      await request(t.app).get('/cds-services'),
      await request(t.app).post(SIGN).send({}),
    ]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('throttles failed /metrics authentication', async () => {
    const app = testApp({ AUTH_FAILURES_PER_MINUTE: '10' }, { metrics: createMetrics({ token: 'metrics-token-0123456789', defaultMetrics: false }) });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await request(app.app).get('/metrics').set('authorization', `Bearer wrong-${i}`)).status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.slice(10)).toEqual([429, 429]);
    } finally {
      app.close();
    }
  });

  it('never logs an unmatched path (it may hold a patient id)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const app = testApp({}, { logger });
    try {
      await request(app.app).get('/Patient/pt-secret-12345/everything').expect(404);
      await request(app.app).post('/cds-services/pt-secret-67890').send({}).expect(404);
      const logged = lines.join('\n');
      expect(logged).toContain('"msg":"request"');
      expect(logged).not.toMatch(/pt-secret/);
      // Nor the 404 body.
      const res = await request(app.app).get('/Patient/pt-secret-12345/everything');
      expect(JSON.stringify(res.body)).not.toContain('pt-secret');
    } finally {
      app.close();
    }
  });

  it('ucum-lhc does not print an Observation\'s unit string to stdout', () => {
    const writes: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    const originalLog = console.log;
    (process.stdout as any).write = (chunk: unknown, ...rest: unknown[]) => (writes.push(String(chunk)), original(chunk as string, ...(rest as [])));
    try {
      const r = convertQuantity({ value: 5, unit: 'mg/((dL' }, 'mg/dL');
      expect(r.ok).toBe(false);
    } finally {
      (process.stdout as any).write = original;
    }
    expect(console.log).toBe(originalLog);
    expect(writes.join('')).not.toContain('mg/((dL');
  });
});

// ---------------------------------------------------------------------------------------------------------------------

async function listen(app: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

void medicareCoverage;
