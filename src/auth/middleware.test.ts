import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../config.js';
import { HttpError } from '../http/errors.js';
import { audienceFor, cdsAuth } from './middleware.js';
import { createJwtVerifier, type JwtVerifier } from './verifier.js';

const ISS = 'https://ehr.example.org';
const KID = '44823f3d-0b01-4a6c-a80e-b9d3e8a7226f';
const PUBLIC_BASE = 'https://cds.example.org/pumpcheck';

let privateKey: CryptoKey;
let publicJwk: JWK;
const logLines: string[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

/** The service's default auth settings with one inline-JWKS issuer. */
function auth(): Config['auth'] {
  return { ...loadConfig({}).auth, trustedIssuers: { [ISS]: { jwks: { keys: [publicJwk as Record<string, unknown>] } } } };
}

function sign(aud: string, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISS, aud, exp: now + 300, iat: now, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: KID, jku: `${ISS}/.well-known/jwks.json` })
    .sign(privateKey);
}

async function listen(verifier: JwtVerifier, publicBaseUrl?: string): Promise<{ server: Server; base: string }> {
  const app = express();
  app.use('/cds-services', cdsAuth(verifier, (req) => audienceFor(req, publicBaseUrl)));
  app.options('/cds-services/{*rest}', (_req, res) => {
    res.status(204).end();
  });
  app.post('/cds-services/:id', (_req, res) => {
    res.json({ caller: res.locals.caller });
  });
  app.get('/audience/{*rest}', (req, res) => {
    res.json({ plain: audienceFor(req), proxied: audienceFor(req, PUBLIC_BASE) });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof HttpError ? err.status : 500;
    res.status(status).json({ message: err instanceof Error ? err.message : 'error' });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const servers: Server[] = [];
const close = () =>
  Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));

beforeAll(async () => {
  const pair = await generateKeyPair('ES384');
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'ES384', use: 'sig' };
});

beforeEach(() => {
  logLines.length = 0;
});

afterAll(close);

describe('cdsAuth', () => {
  let base: string;

  beforeAll(async () => {
    const started = await listen(createJwtVerifier({ auth: auth(), logger }));
    servers.push(started.server);
    base = started.base;
  });

  it('passes a valid token and exposes the caller in res.locals', async () => {
    const url = `${base}/cds-services/pump-check`;
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${await sign(url)}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { caller: unknown }).caller).toMatchObject({ iss: ISS, kid: KID });
    expect(logLines).toHaveLength(0);
  });

  it('ignores the query string when building the audience', async () => {
    const url = `${base}/cds-services/pump-check`;
    const res = await fetch(`${url}?trace=1`, { method: 'POST', headers: { authorization: `Bearer ${await sign(url)}` } });
    expect(res.status).toBe(200);
  });

  it('answers 401 without detail and logs the reason but never the token', async () => {
    const token = await sign(`${base}/cds-services/another-service`);
    const res = await fetch(`${base}/cds-services/pump-check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    const body = await res.text();
    expect(JSON.parse(body)).toEqual({ message: 'Unauthorized' });
    expect(body).not.toMatch(/aud/i);
    expect(logLines).toHaveLength(1);
    const entry = JSON.parse(logLines[0]!);
    expect(entry).toMatchObject({ level: 40, reason: 'aud-mismatch', iss: ISS, kid: KID });
    expect(typeof entry.jti).toBe('string');
    const [, , signature] = token.split('.');
    expect(logLines[0]).not.toContain(token.split('.')[1]!);
    expect(logLines[0]).not.toContain(signature!);
  });

  it('answers 401 without an Authorization header or with another scheme', async () => {
    const url = `${base}/cds-services/pump-check`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    const basic = await fetch(url, { method: 'POST', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
    expect(logLines.map((l) => JSON.parse(l).reason)).toEqual(['missing-bearer', 'missing-bearer']);
  });

  it('lets CORS preflights through without a token', async () => {
    const res = await fetch(`${base}/cds-services/pump-check`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
  });
});

describe('cdsAuth behind a proxy', () => {
  it('expects the public URL in aud when publicBaseUrl is set', async () => {
    const { server, base } = await listen(createJwtVerifier({ auth: auth(), logger }), PUBLIC_BASE);
    servers.push(server);
    const ok = await fetch(`${base}/cds-services/pump-check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await sign(`${PUBLIC_BASE}/cds-services/pump-check`)}` },
    });
    expect(ok.status).toBe(200);
    const internal = await fetch(`${base}/cds-services/pump-check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await sign(`${base}/cds-services/pump-check`)}` },
    });
    expect(internal.status).toBe(401);
  });
});

describe('audienceFor', () => {
  it('builds the invoked URL without query, with or without a public base URL', async () => {
    const { server, base } = await listen(createJwtVerifier({ auth: auth(), logger }));
    servers.push(server);
    const res = await fetch(`${base}/audience/cds-services/pump-check?x=1&y=2`);
    expect(await res.json()).toEqual({
      plain: `${base}/audience/cds-services/pump-check`,
      proxied: `${PUBLIC_BASE}/audience/cds-services/pump-check`,
    });
  });
});

describe('cdsAuth with auth disabled', () => {
  it('passes requests through with the placeholder caller', async () => {
    const verifier = createJwtVerifier({ auth: { ...auth(), trustedIssuers: {} }, logger });
    expect(verifier.enabled).toBe(false);
    const { server, base } = await listen(verifier);
    servers.push(server);
    const res = await fetch(`${base}/cds-services/pump-check`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { caller: unknown }).caller).toMatchObject({ iss: 'unauthenticated' });
  });
});
