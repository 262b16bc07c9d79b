// JWT authentication through the real app, with tokens signed exactly as the CDS Hooks sandbox and Inferno sign them.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './support/app.js';
import { hookBody, nonPumpOrder } from './support/requests.js';

const BASE = 'https://pumpcheck.test';
const SIGN_URL = `${BASE}/cds-services/pumpcheck-order-sign`;
const EHR = 'https://ehr.example.org';
const INFERNO = 'http://127.0.0.1/custom/crd_server';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let es: { key: Key; kid: string };
let rs: { key: Key; kid: string };
let jwksServer: Server;
let jwksUrl: string;
let t: TestApp;

async function token(opts: { key?: Key; kid?: string; alg?: string; iss?: string; aud?: string | string[]; exp?: number; iat?: number; jti?: string; jku?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const alg = opts.alg ?? 'ES384';
  const header: Record<string, string> = { alg, typ: 'JWT', kid: opts.kid ?? es.kid };
  if (opts.jku) header.jku = opts.jku;
  return new SignJWT({ jti: opts.jti ?? randomUUID() })
    .setProtectedHeader(header as any)
    .setIssuer(opts.iss ?? EHR)
    .setAudience(opts.aud ?? SIGN_URL)
    .setIssuedAt(opts.iat ?? now)
    .setExpirationTime(opts.exp ?? now + 300)
    .sign(opts.key ?? es.key);
}

beforeAll(async () => {
  const ec = await generateKeyPair('ES384', { extractable: true });
  const rsa = await generateKeyPair('RS384', { extractable: true, modulusLength: 2048 });
  es = { key: ec.privateKey, kid: '44823f3d-0b01-4a6c-a80e-b9d3e8a7226f' };
  rs = { key: rsa.privateKey, kid: 'b41528b6f37a9500edb8a905a595bdd7' };
  const pub = async (k: typeof ec.publicKey, kid: string, alg: string): Promise<JWK> => ({ ...(await exportJWK(k)), kid, alg, use: 'sig' });
  const ehrJwks = { keys: [await pub(ec.publicKey, es.kid, 'ES384')] };
  const infernoJwks = { keys: [await pub(ec.publicKey, '4b49a739d1eb115b3225f4cf9beb6d1b', 'ES384'), await pub(rsa.publicKey, rs.kid, 'RS384')] };
  jwksServer = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(infernoJwks));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/custom/crd_server/jwks.json`;
  t = testApp({
    PUBLIC_BASE_URL: BASE,
    CDS_TRUSTED_ISSUERS: JSON.stringify({ [EHR]: { jwks: ehrJwks }, [INFERNO]: { jwksUrl } }),
  });
});
afterAll(async () => {
  t.close();
  await new Promise((r) => jwksServer.close(r));
});

const call = (authorization?: string) => {
  const req = request(t.app).post('/cds-services/pumpcheck-order-sign').send(hookBody({ orders: [nonPumpOrder('mr-1')] }));
  return authorization ? req.set('Authorization', authorization) : req;
};

function expectBare401(res: request.Response) {
  expect(res.status).toBe(401);
  expect(res.body.issue[0].details.text).toBe('Unauthorized');
  expect(JSON.stringify(res.body)).not.toMatch(/expired|aud|kid|signature|issuer/i);
}

describe('CDS Hooks JWT on the service endpoint', () => {
  it('accepts an ES384 token shaped like the CDS Hooks sandbox (inline JWKS issuer)', async () => {
    await call(`Bearer ${await token({ jku: 'https://sandbox.cds-hooks.org/.well-known/jwks.json' })}`).expect(200);
  });

  it('accepts an RS384 token shaped like Inferno (JWKS fetched from the configured URL)', async () => {
    const jwt = await token({ key: rs.key, kid: rs.kid, alg: 'RS384', iss: INFERNO, jku: jwksUrl, jti: randomBytes(32).toString('hex') });
    await call(`Bearer ${jwt}`).expect(200);
  });

  it('refuses a missing token', async () => expectBare401(await call()));
  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    expectBare401(await call(`Bearer ${await token({ iat: now - 900, exp: now - 600 })}`));
  });
  it('refuses a token for another endpoint (aud)', async () => {
    expectBare401(await call(`Bearer ${await token({ aud: `${BASE}/cds-services/pumpcheck-order-select` })}`));
  });
  it('refuses an unknown issuer', async () => expectBare401(await call(`Bearer ${await token({ iss: 'https://attacker.example' })}`)));
  it('refuses an unknown kid', async () => expectBare401(await call(`Bearer ${await token({ kid: 'no-such-kid' })}`)));
  it('refuses alg none', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: es.kid })}.${b64({ iss: EHR, aud: SIGN_URL, iat: now, exp: now + 300, jti: randomUUID() })}.`;
    expectBare401(await call(`Bearer ${unsigned}`));
  });
  it('refuses a tampered signature', async () => {
    const jwt = await token();
    const [h, p, s] = jwt.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.iss = EHR;
    payload.tenant = 'other-org';
    expectBare401(await call(`Bearer ${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`));
  });
  it('refuses a replayed jti', async () => {
    const jwt = await token();
    await call(`Bearer ${jwt}`).expect(200);
    expectBare401(await call(`Bearer ${jwt}`));
  });

  it('protects discovery with aud = {base}/cds-services', async () => {
    await request(t.app).get('/cds-services').expect(401);
    await request(t.app)
      .get('/cds-services')
      .set('Authorization', `Bearer ${await token({ aud: `${BASE}/cds-services` })}`)
      .expect(200);
  });

  it('accepts feedback tokens addressed to the feedback URL or to the service URL', async () => {
    const body = { feedback: [{ card: randomUUID(), outcome: 'overridden', overrideReason: { userComment: 'n/a' }, outcomeTimestamp: '2026-04-01T10:15:00Z' }] };
    for (const aud of [`${SIGN_URL}/feedback`, SIGN_URL]) {
      await request(t.app)
        .post('/cds-services/pumpcheck-order-sign/feedback')
        .set('Authorization', `Bearer ${await token({ aud })}`)
        .send(body)
        .expect(200);
    }
  });

  it('lets CORS preflights through without a token', async () => {
    await request(t.app).options('/cds-services/pumpcheck-order-sign').set('Origin', 'https://sandbox.cds-hooks.org').expect(204);
  });
});
