import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadConfig, type Config, type TrustedIssuer } from '../config.js';
import { silentLogger } from '../logger.js';
import { AuthError, createJwtVerifier, type JwtVerifierOptions } from './verifier.js';

const ISS = 'https://ehr.example.org';
const OTHER_ISS = 'https://other-ehr.example.org';
const AUD = 'https://cds.example.org/cds-services/pump-check';

interface KeyPair {
  kid: string;
  alg: 'ES384' | 'RS384';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: 'ES384' | 'RS384', kid: string, extra: Partial<JWK> = { use: 'sig' }): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, ...extra } };
}

/** A loopback JWKS host counting requests per path; `/hang` never answers. */
class JwksServer {
  readonly hits = new Map<string, number>();
  body: unknown = { keys: [] };
  status = 200;
  private server!: Server;
  base = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      if (path === '/hang') return; // never answers
      res.writeHead(this.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.body));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  count(path?: string): number {
    if (path !== undefined) return this.hits.get(path) ?? 0;
    return [...this.hits.values()].reduce((a, b) => a + b, 0);
  }

  reset(): void {
    this.hits.clear();
    this.status = 200;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let es: KeyPair;
let rs: KeyPair;
let rotated: KeyPair;
let jwksHost: JwksServer;
let attacker: JwksServer;

beforeAll(async () => {
  [es, rs, rotated] = await Promise.all([
    makeKey('ES384', randomUUID()),
    makeKey('RS384', randomBytes(16).toString('hex')),
    makeKey('ES384', 'rotated-key'),
  ]);
  jwksHost = await new JwksServer().start();
  attacker = await new JwksServer().start();
});

afterAll(async () => {
  await Promise.all([jwksHost?.stop(), attacker?.stop()]);
});

/** The service's default auth settings (the tests below rely on 60 s skew, 600 s cache, 30 s cool-down). */
function authConfig(trustedIssuers: Record<string, TrustedIssuer>, overrides: Partial<Config['auth']> = {}): Config['auth'] {
  return { ...loadConfig({}).auth, trustedIssuers, ...overrides };
}

/** A verifier with a movable clock. */
function setup(
  trustedIssuers: Record<string, TrustedIssuer>,
  overrides: Partial<Config['auth']> = {},
  extra: Partial<JwtVerifierOptions> = {},
) {
  const clock = { ms: Date.UTC(2026, 3, 1, 10, 0, 0) };
  const verifier = createJwtVerifier({
    auth: authConfig(trustedIssuers, overrides),
    logger: silentLogger,
    now: () => clock.ms,
    ...extra,
  });
  const nowSec = () => Math.floor(clock.ms / 1000);
  return { verifier, clock, nowSec };
}

interface TokenOptions {
  key?: KeyPair;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  nowSec: number;
}

/** Shaped like the CDS Hooks sandbox: header {alg, typ, kid, jku}, claims {iss, aud, exp: now+300, iat: now, jti}. */
function sign({ key = es, header = {}, claims = {}, nowSec }: TokenOptions): Promise<string> {
  const payload = { iss: ISS, aud: AUD, exp: nowSec + 300, iat: nowSec, jti: randomUUID(), ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
  const protectedHeader = { alg: key.alg, typ: 'JWT', kid: key.kid, jku: `${ISS}/.well-known/jwks.json`, ...header };
  for (const [k, v] of Object.entries(protectedHeader)) if (v === undefined) delete (protectedHeader as Record<string, unknown>)[k];
  return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthError);
    return (err as AuthError).reason;
  }
  throw new Error('expected the token to be refused');
}

const inline = (...keys: KeyPair[]): TrustedIssuer => ({ jwks: { keys: keys.map((k) => k.jwk as Record<string, unknown>) } });

describe('createJwtVerifier: inline JWKS', () => {
  it('accepts a valid ES384 token shaped like the CDS Hooks sandbox', async () => {
    const { verifier, nowSec } = setup({ [ISS]: inline(es, rs) });
    expect(verifier.enabled).toBe(true);
    const jti = randomUUID();
    const token = await sign({ nowSec: nowSec(), claims: { jti, tenant: 'org-1' } });
    await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toEqual({ iss: ISS, jti, kid: es.kid, tenant: 'org-1' });
  });

  it('accepts a valid RS384 token shaped like Inferno (64-hex jti, no tenant)', async () => {
    const { verifier, nowSec } = setup({ [ISS]: inline(es, rs) });
    const jti = randomBytes(32).toString('hex');
    const token = await sign({ key: rs, nowSec: nowSec(), claims: { jti } });
    const caller = await verifier.verify(`Bearer ${token}`, AUD);
    expect(caller).toEqual({ iss: ISS, jti, kid: rs.kid });
    expect(caller).not.toHaveProperty('tenant');
  });

  it('ignores jku with an inline key set (keys were exchanged out of band)', async () => {
    const { verifier, nowSec } = setup({ [ISS]: inline(es) });
    const token = await sign({ nowSec: nowSec(), header: { jku: `${attacker.base}/jwks.json` } });
    await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toMatchObject({ iss: ISS });
    expect(attacker.count()).toBe(0);
  });

  it('accepts typ in any case and a token without typ', async () => {
    const { verifier, nowSec } = setup({ [ISS]: inline(es) });
    await expect(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { typ: 'jwt' } })}`, AUD)).resolves.toBeDefined();
    await expect(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { typ: undefined } })}`, AUD)).resolves.toBeDefined();
  });

  it('refuses a typ other than JWT', async () => {
    const { verifier, nowSec } = setup({ [ISS]: inline(es) });
    const token = await sign({ nowSec: nowSec(), header: { typ: 'at+jwt' } });
    expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('bad-typ');
  });

  describe('time claims', () => {
    it('refuses an expired token', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { iat: nowSec() - 600, exp: nowSec() - 61 } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('expired');
    });

    it('allows clock skew on exp', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { iat: nowSec() - 330, exp: nowSec() - 30 } });
      await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toBeDefined();
    });

    it('refuses iat in the future beyond the skew', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { iat: nowSec() + 120, exp: nowSec() + 420 } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('iat-future');
    });

    it('refuses a token older than maxTokenAgeSeconds even if exp is later', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) }, { maxTokenAgeSeconds: 600 });
      const token = await sign({ nowSec: nowSec(), claims: { iat: nowSec() - 700, exp: nowSec() + 3600 } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('too-old');
    });

    it('refuses a token without exp, iat or jti', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      for (const missing of ['exp', 'iat', 'jti']) {
        const token = await sign({ nowSec: nowSec(), claims: { [missing]: undefined } });
        expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('missing-claim');
      }
    });
  });

  describe('audience', () => {
    it('refuses a token for another endpoint', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { aud: 'https://cds.example.org/cds-services/other' } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('aud-mismatch');
    });

    it('refuses a prefix of the endpoint URL', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { aud: 'https://cds.example.org/cds-services' } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('aud-mismatch');
    });

    it('accepts aud as an array containing the endpoint', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { aud: ['https://elsewhere.example.org', AUD] } });
      await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toBeDefined();
      const other = await sign({ nowSec: nowSec(), claims: { aud: ['https://elsewhere.example.org'] } });
      expect(await reason(verifier.verify(`Bearer ${other}`, AUD))).toBe('aud-mismatch');
    });

    it('ignores one trailing slash on either side', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const withSlash = await sign({ nowSec: nowSec(), claims: { aud: `${AUD}/` } });
      await expect(verifier.verify(`Bearer ${withSlash}`, AUD)).resolves.toBeDefined();
      const without = await sign({ nowSec: nowSec() });
      await expect(verifier.verify(`Bearer ${without}`, `${AUD}/`)).resolves.toBeDefined();
      const twoSlashes = await sign({ nowSec: nowSec(), claims: { aud: `${AUD}//` } });
      expect(await reason(verifier.verify(`Bearer ${twoSlashes}`, AUD))).toBe('aud-mismatch');
    });

    it('accepts any of several expected audiences', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec() });
      await expect(verifier.verify(`Bearer ${token}`, [`${AUD}/feedback`, AUD])).resolves.toBeDefined();
    });
  });

  describe('issuer, key and algorithm', () => {
    it('refuses an unknown issuer, including inherited property names', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      for (const iss of ['https://evil.example.org', '__proto__', 'constructor']) {
        const token = await sign({ nowSec: nowSec(), claims: { iss } });
        expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('unknown-issuer');
      }
    });

    it('refuses an unknown kid', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ key: rotated, nowSec: nowSec() });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('unknown-kid');
    });

    it('refuses a token without kid', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), header: { kid: undefined } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('missing-kid');
    });

    it('ignores keys whose use or key_ops do not allow verification', async () => {
      const encKey = await makeKey('ES384', 'enc-key', { use: 'enc' });
      const signOnly = await makeKey('ES384', 'sign-only', { key_ops: ['sign'] });
      const okOps = await makeKey('ES384', 'verify-ops', { key_ops: ['verify'] });
      const { verifier, nowSec } = setup({ [ISS]: inline(encKey, signOnly, okOps) });
      for (const key of [encKey, signOnly]) {
        expect(await reason(verifier.verify(`Bearer ${await sign({ key, nowSec: nowSec() })}`, AUD))).toBe('unknown-kid');
      }
      await expect(verifier.verify(`Bearer ${await sign({ key: okOps, nowSec: nowSec() })}`, AUD)).resolves.toBeDefined();
    });

    it('uses only the public members of a published key that includes private ones', async () => {
      const { privateKey } = await generateKeyPair('ES384', { extractable: true });
      const fullJwk = { ...(await exportJWK(privateKey)), kid: 'leaky', alg: 'ES384', use: 'sig' };
      expect(fullJwk.d).toBeDefined();
      const { verifier, nowSec } = setup({ [ISS]: { jwks: { keys: [fullJwk] } } });
      const token = await sign({ key: { kid: 'leaky', alg: 'ES384', privateKey, jwk: fullJwk }, nowSec: nowSec() });
      await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toMatchObject({ kid: 'leaky' });
    });

    it('refuses alg none (hand-crafted unsigned token)', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) }, { algorithms: ['ES384', 'RS384', 'none'] });
      const enc = (o: object) => base64url.encode(JSON.stringify(o));
      const header = { alg: 'none', typ: 'JWT', kid: es.kid };
      const payload = { iss: ISS, aud: AUD, exp: nowSec() + 300, iat: nowSec(), jti: randomUUID() };
      const token = `${enc(header)}.${enc(payload)}.`;
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('alg-not-allowed');
    });

    it('refuses HS256 even when configured, also with the public key bytes as the secret', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) }, { algorithms: ['ES384', 'HS256'] });
      const secret = new TextEncoder().encode(JSON.stringify(es.jwk));
      const token = await new SignJWT({ iss: ISS, aud: AUD, exp: nowSec() + 300, iat: nowSec(), jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: es.kid })
        .sign(secret);
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('alg-not-allowed');
    });

    it('refuses an algorithm that is not in the allowed list', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es, rs) }, { algorithms: ['ES384'] });
      const token = await sign({ key: rs, nowSec: nowSec() });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('alg-not-allowed');
    });

    it('refuses a token whose header alg does not match the key type', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es, rs) });
      // Signed by the EC key but claims the RSA kid.
      const token = await sign({ nowSec: nowSec(), header: { kid: rs.kid } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('unknown-kid');
    });

    it('refuses a tampered signature', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec() });
      const [h, p, s] = token.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      sig[10] = sig[10]! ^ 0x01;
      expect(await reason(verifier.verify(`Bearer ${h}.${p}.${sig.toString('base64url')}`, AUD))).toBe('bad-signature');
    });

    it('refuses a payload altered after signing', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec(), claims: { aud: 'https://cds.example.org/cds-services/other' } });
      const [h, , s] = token.split('.') as [string, string, string];
      const forged = base64url.encode(JSON.stringify({ iss: ISS, aud: AUD, exp: nowSec() + 300, iat: nowSec(), jti: 'x' }));
      expect(await reason(verifier.verify(`Bearer ${h}.${forged}.${s}`, AUD))).toBe('bad-signature');
    });
  });

  describe('Authorization header', () => {
    it('refuses a missing header, another scheme and garbage', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec() });
      expect(await reason(verifier.verify(undefined, AUD))).toBe('missing-bearer');
      expect(await reason(verifier.verify('', AUD))).toBe('missing-bearer');
      expect(await reason(verifier.verify(`Basic ${Buffer.from('a:b').toString('base64')}`, AUD))).toBe('missing-bearer');
      expect(await reason(verifier.verify(`Basic ${token}`, AUD))).toBe('missing-bearer');
      expect(await reason(verifier.verify('Bearer', AUD))).toBe('missing-bearer');
      expect(await reason(verifier.verify('Bearer not-a-jwt', AUD))).toBe('malformed');
      expect(await reason(verifier.verify('Bearer a.b.c', AUD))).toBe('malformed');
    });

    it('accepts the scheme name case-insensitively', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      await expect(verifier.verify(`bearer ${await sign({ nowSec: nowSec() })}`, AUD)).resolves.toBeDefined();
    });
  });

  describe('replay', () => {
    it('refuses the same jti twice, scoped per issuer', async () => {
      const other = await makeKey('ES384', 'other-kid');
      const { verifier, nowSec } = setup({ [ISS]: inline(es), [OTHER_ISS]: inline(other) });
      const jti = randomUUID();
      const first = await sign({ nowSec: nowSec(), claims: { jti } });
      await expect(verifier.verify(`Bearer ${first}`, AUD)).resolves.toBeDefined();
      expect(await reason(verifier.verify(`Bearer ${first}`, AUD))).toBe('replayed-jti');
      const reSigned = await sign({ nowSec: nowSec(), claims: { jti, exp: nowSec() + 200 } });
      expect(await reason(verifier.verify(`Bearer ${reSigned}`, AUD))).toBe('replayed-jti');
      const otherIssuer = await sign({ key: other, nowSec: nowSec(), claims: { jti, iss: OTHER_ISS } });
      await expect(verifier.verify(`Bearer ${otherIssuer}`, AUD)).resolves.toMatchObject({ iss: OTHER_ISS, jti });
    });

    it('refuses only one of two concurrent copies of a token', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const token = await sign({ nowSec: nowSec() });
      const results = await Promise.allSettled([verifier.verify(`Bearer ${token}`, AUD), verifier.verify(`Bearer ${token}`, AUD)]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    });

    it('records the jti only after the token verified', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) });
      const jti = randomUUID();
      const wrongAud = await sign({ nowSec: nowSec(), claims: { jti, aud: 'https://elsewhere.example.org' } });
      expect(await reason(verifier.verify(`Bearer ${wrongAud}`, AUD))).toBe('aud-mismatch');
      const [h, p, s] = (await sign({ nowSec: nowSec(), claims: { jti } })).split('.') as [string, string, string];
      const badSig = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
      expect(await reason(verifier.verify(`Bearer ${badSig}`, AUD))).toBe('bad-signature');
      await expect(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), claims: { jti } })}`, AUD)).resolves.toBeDefined();
    });

    it('forgets a jti once its token has expired', async () => {
      const { verifier, clock, nowSec } = setup({ [ISS]: inline(es) });
      const jti = randomUUID();
      await verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), claims: { jti } })}`, AUD);
      clock.ms += (300 + 60 + 1) * 1000;
      await expect(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), claims: { jti } })}`, AUD)).resolves.toBeDefined();
    });

    it('at the size cap evicts the entry closest to expiry first', async () => {
      const { verifier, nowSec } = setup({ [ISS]: inline(es) }, {}, { maxReplayEntries: 2 });
      const t = (jti: string, ttl: number) => sign({ nowSec: nowSec(), claims: { jti, exp: nowSec() + ttl } });
      const a = await t('a', 100);
      const b = await t('b', 300);
      const c = await t('c', 200);
      for (const token of [a, b, c]) await verifier.verify(`Bearer ${token}`, AUD);
      await expect(verifier.verify(`Bearer ${await t('a', 100)}`, AUD)).resolves.toBeDefined(); // evicted, now re-recorded
      expect(await reason(verifier.verify(`Bearer ${b}`, AUD))).toBe('replayed-jti');
    });
  });

  it('is disabled without trusted issuers and then ignores the header', async () => {
    const { verifier } = setup({});
    expect(verifier.enabled).toBe(false);
    await expect(verifier.verify(undefined, AUD)).resolves.toMatchObject({ iss: 'unauthenticated' });
    await expect(verifier.verify('Basic garbage', AUD)).resolves.toMatchObject({ iss: 'unauthenticated' });
  });
});

describe('createJwtVerifier: JWKS URL', () => {
  const jwksPath = () => `/jwks-${randomUUID()}.json`;

  it('fetches the configured JWKS once and caches it until jwksCacheSeconds', async () => {
    jwksHost.reset();
    jwksHost.body = { keys: [es.jwk, rs.jwk] };
    const path = jwksPath();
    const jwksUrl = `${jwksHost.base}${path}`;
    const { verifier, clock, nowSec } = setup({ [ISS]: { jwksUrl } }, { jwksCacheSeconds: 600 });
    for (const key of [es, rs, es]) {
      const token = await sign({ key, nowSec: nowSec(), header: { jku: jwksUrl } });
      await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toMatchObject({ kid: key.kid });
    }
    expect(jwksHost.count(path)).toBe(1);
    clock.ms += 601_000;
    await verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { jku: jwksUrl } })}`, AUD);
    expect(jwksHost.count(path)).toBe(2);
  });

  it('shares one in-flight fetch between concurrent requests', async () => {
    jwksHost.reset();
    jwksHost.body = { keys: [es.jwk] };
    const path = jwksPath();
    const { verifier, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}${path}` } });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => sign({ nowSec: nowSec(), header: { jku: undefined } })));
    const results = await Promise.all(tokens.map((t) => verifier.verify(`Bearer ${t}`, AUD)));
    expect(results).toHaveLength(5);
    expect(jwksHost.count(path)).toBe(1);
  });

  it('refetches once on an unknown kid after key rotation', async () => {
    jwksHost.reset();
    jwksHost.body = { keys: [es.jwk] };
    const path = jwksPath();
    const { verifier, clock, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}${path}` } });
    await verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { jku: undefined } })}`, AUD);
    jwksHost.body = { keys: [rotated.jwk] };
    clock.ms += 31_000;
    const token = await sign({ key: rotated, nowSec: nowSec(), header: { jku: undefined } });
    await expect(verifier.verify(`Bearer ${token}`, AUD)).resolves.toMatchObject({ kid: 'rotated-key' });
    expect(jwksHost.count(path)).toBe(2);
  });

  it('does not refetch for unknown kids more often than the cooldown', async () => {
    jwksHost.reset();
    jwksHost.body = { keys: [es.jwk] };
    const path = jwksPath();
    const { verifier, clock, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}${path}` } }, { jwksRefreshCooldownSeconds: 30 });
    const junk = () => sign({ nowSec: nowSec(), header: { kid: randomUUID(), jku: undefined } });
    expect(await reason(verifier.verify(`Bearer ${await junk()}`, AUD))).toBe('unknown-kid'); // first fetch
    expect(jwksHost.count(path)).toBe(1);
    clock.ms += 1_000;
    for (let i = 0; i < 5; i++) expect(await reason(verifier.verify(`Bearer ${await junk()}`, AUD))).toBe('unknown-kid');
    expect(jwksHost.count(path)).toBe(1);
    clock.ms += 30_000;
    expect(await reason(verifier.verify(`Bearer ${await junk()}`, AUD))).toBe('unknown-kid');
    expect(await reason(verifier.verify(`Bearer ${await junk()}`, AUD))).toBe('unknown-kid');
    expect(jwksHost.count(path)).toBe(2);
  });

  it('refuses a jku other than the configured JWKS URL and never fetches it', async () => {
    jwksHost.reset();
    attacker.reset();
    jwksHost.body = { keys: [es.jwk] };
    const evil = await makeKey('ES384', es.kid); // same kid, attacker's own key
    attacker.body = { keys: [evil.jwk] };
    const path = jwksPath();
    const { verifier, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}${path}` } });
    for (const key of [evil, es]) {
      const token = await sign({ key, nowSec: nowSec(), header: { jku: `${attacker.base}/jwks.json` } });
      expect(await reason(verifier.verify(`Bearer ${token}`, AUD))).toBe('jku-mismatch');
    }
    expect(attacker.count()).toBe(0);
    expect(jwksHost.count(path)).toBe(0);
  });

  it('times out a JWKS server that never answers', async () => {
    jwksHost.reset();
    const { verifier, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}/hang` } }, { jwksTimeoutMs: 150 });
    const started = Date.now();
    expect(await reason(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { jku: undefined } })}`, AUD))).toBe(
      'jwks-unavailable',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(jwksHost.count('/hang')).toBe(1);
  });

  it('keeps the last good keys when a refresh fails, and retries only after the cooldown', async () => {
    jwksHost.reset();
    jwksHost.body = { keys: [es.jwk] };
    const path = jwksPath();
    const { verifier, clock, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}${path}` } }, { jwksCacheSeconds: 60 });
    const token = () => sign({ nowSec: nowSec(), header: { jku: undefined } });
    await verifier.verify(`Bearer ${await token()}`, AUD);
    jwksHost.status = 500;
    clock.ms += 61_000;
    await expect(verifier.verify(`Bearer ${await token()}`, AUD)).resolves.toBeDefined();
    await expect(verifier.verify(`Bearer ${await token()}`, AUD)).resolves.toBeDefined();
    expect(jwksHost.count(path)).toBe(2);
  });

  it('refuses when the JWKS cannot be obtained at all', async () => {
    jwksHost.reset();
    jwksHost.status = 503;
    const path = jwksPath();
    const { verifier, nowSec } = setup({ [ISS]: { jwksUrl: `${jwksHost.base}${path}` } });
    expect(await reason(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { jku: undefined } })}`, AUD))).toBe(
      'jwks-unavailable',
    );
    expect(await reason(verifier.verify(`Bearer ${await sign({ nowSec: nowSec(), header: { jku: undefined } })}`, AUD))).toBe(
      'jwks-unavailable',
    );
    expect(jwksHost.count(path)).toBe(1);
  });
});
