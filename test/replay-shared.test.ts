// A client JWT may be used once across every process of the service: two replicas sharing PostgreSQL refuse a token
// the other one accepted. With the database down, the per-process check still applies and nothing hangs.
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/index.js';
import { testApp, type TestApp } from './support/app.js';
import { hookBody, nonPumpOrder } from './support/requests.js';
import { createFixture, ENGINES, type EngineFixture } from './store-support.js';

const BASE = 'https://pumpcheck.test';
const SIGN = '/cds-services/pumpcheck-order-sign';
const ISS = 'https://ehr.example.org';

describe.each(ENGINES)('shared jti claims on %s', (engine) => {
  let fx: EngineFixture;
  let store: Store;
  beforeAll(async () => {
    fx = await createFixture(engine);
    store = await fx.open();
  });
  afterAll(async () => {
    await store?.close();
    await fx?.dispose();
  });

  it('the first claim wins, a second is a replay, an expired key can be claimed again', async () => {
    const now = Math.floor(Date.now() / 1000);
    const key = `k-${randomUUID()}`;
    expect(await store.replayGuard.claim(key, now + 300)).toBe('first');
    expect(await store.replayGuard.claim(key, now + 300)).toBe('replay');
    const old = `k-${randomUUID()}`;
    expect(await store.replayGuard.claim(old, now - 10)).toBe('first');
    expect(await store.replayGuard.claim(old, now + 300)).toBe('first');
  });

  it('answers unavailable (never hangs or throws) when the database is down', async () => {
    await fx.cut();
    try {
      expect(await store.replayGuard.claim(`k-${randomUUID()}`, Math.floor(Date.now() / 1000) + 300)).toBe('unavailable');
    } finally {
      await fx.restore();
    }
  });
});

describe('two replicas on one PostgreSQL', () => {
  let fx: EngineFixture;
  let stores: Store[] = [];
  let replicas: TestApp[] = [];
  let sign: (aud: string) => Promise<string>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
    sign = (aud) =>
      new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES384', typ: 'JWT', kid: 'k1' })
        .setIssuer(ISS)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    fx = await createFixture('postgres');
    stores = [await fx.open(), await fx.open()];
    const env = { PUBLIC_BASE_URL: BASE, CDS_TRUSTED_ISSUERS: JSON.stringify({ [ISS]: { jwks: { keys: [jwk] } } }) };
    replicas = stores.map((s) => testApp(env, { feedbackStore: s.feedbackStore, assertionSink: s.assertionSink, replayGuard: s.replayGuard }));
  });
  afterAll(async () => {
    for (const r of replicas) r.close();
    for (const s of stores) await s.close();
    await fx?.dispose();
  });

  const call = (replica: TestApp, token: string) =>
    request(replica.app).post(SIGN).set('Authorization', `Bearer ${token}`).send(hookBody({ orders: [nonPumpOrder('mr-1')] }));

  it('refuses on replica B a token replica A accepted, and the other way round', async () => {
    const [a, b] = replicas as [TestApp, TestApp];
    const first = await sign(`${BASE}${SIGN}`);
    await call(a, first).expect(200);
    await call(b, first).expect(401);
    const second = await sign(`${BASE}${SIGN}`);
    await call(b, second).expect(200);
    await call(a, second).expect(401);
  });

  it('keeps the per-process check and answers promptly when the database is down', async () => {
    const [a] = replicas as [TestApp];
    await fx.cut();
    try {
      const token = await sign(`${BASE}${SIGN}`);
      await call(a, token).expect(200);
      await call(a, token).expect(401);
    } finally {
      await fx.restore();
    }
  });
});
