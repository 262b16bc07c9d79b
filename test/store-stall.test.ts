// Issue 13 F7: a database link that stalls (connection open, no bytes) must give 503 within the same bound as a
// refused one, not hang for 45 s and then answer 200. PostgreSQL is reached through a loopback proxy that can stall.
import net from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { openStore, type Store } from '../src/store/index.js';
import { STORE_TIMEOUT_MS } from '../src/store/db.js';
import { testApp } from './support/app.js';
import { POSTGRES_URL } from './store-support.js';

/** Forwards to PostgreSQL; `stall()` keeps every connection open but stops moving bytes in both directions. */
class StallingProxy {
  #server?: net.Server;
  #stalled = false;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  port = 0;

  async start(host: string, port: number): Promise<void> {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(port, host);
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.#pairs.add(pair);
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on('data', (chunk) => {
          if (!this.#stalled) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      for (const s of pair) {
        s.on('error', () => pair.forEach((x) => x.destroy()));
        s.on('close', () => {
          pair.forEach((x) => x.destroy());
          this.#pairs.delete(pair);
        });
      }
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  stall(): void {
    this.#stalled = true;
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) pair.forEach((s) => s.destroy());
    await new Promise<void>((r) => this.#server?.close(() => r()));
  }
}

const schema = `t_stall_${process.pid}`;
let proxy: StallingProxy;
let store: Store;

beforeAll(async () => {
  const target = new URL(POSTGRES_URL);
  proxy = new StallingProxy();
  await proxy.start(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(POSTGRES_URL);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  store = await openStore({
    store: {
      databaseUrl: viaProxy.toString(),
      dataDir: '/nonexistent',
      patientHashSecret: 'test-secret-0123456789',
      queueMax: 100,
      retentionDays: 0,
      keepFeedbackComments: false,
    },
    logger: silentLogger,
    schema,
  });
}, 60_000);

afterAll(async () => {
  await store?.close().catch(() => undefined);
  await proxy?.close();
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
});

describe('F7: a stalled database link', () => {
  it('answers feedback with 503 within the store timeout while the link stalls', async () => {
    const t = testApp({}, { feedbackStore: store.feedbackStore });
    const feedback = (card: string) => ({
      feedback: [{ card, outcome: 'overridden', overrideReason: { userComment: 'n/a' }, outcomeTimestamp: '2026-04-01T10:00:00Z' }],
    });
    await request(t.app).post('/cds-services/pumpcheck-order-sign/feedback').send(feedback('8e0b3c1e-1d7a-4c52-9a55-0d3f5b8f0a01')).expect(200);

    proxy.stall();
    const started = Date.now();
    const res = await request(t.app).post('/cds-services/pumpcheck-order-sign/feedback').send(feedback('8e0b3c1e-1d7a-4c52-9a55-0d3f5b8f0a02'));
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(took).toBeLessThan(STORE_TIMEOUT_MS + 3000);
    t.close();
  }, 60_000);
});
