// Test fixtures for the store: the same suite runs on embedded PGlite and on the PostgreSQL server at
// 127.0.0.1:5432. PostgreSQL is reached through a loopback TCP proxy so a test can cut the connection (an outage)
// without stopping the shared server; PGlite outages are simulated by failing every statement.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../src/config.js';
import { silentLogger, type Logger } from '../src/logger.js';
import { openStore, type Store } from '../src/store/index.js';
import { PGliteThread } from '../src/store/pglite-thread.js';
import type { AssertionRecord } from '../src/store/types.js';

export type Engine = 'pglite' | 'postgres';
export const ENGINES: [Engine][] = [['pglite'], ['postgres']];

export const POSTGRES_URL = process.env.PUMPCHECK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A loopback TCP proxy that can be cut (listener closed, every connection destroyed) and restored on the same port. */
export class TcpProxy {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  async restore(): Promise<void> {
    if (!this.#server) await this.start();
  }
}

export interface EngineFixture {
  engine: Engine;
  /** Store settings for this fixture (same data directory / schema for every open: restarts keep data). */
  storeConfig(overrides?: Partial<Config['store']>): Config['store'];
  open(overrides?: Partial<Config['store']>, logger?: Logger): Promise<Store>;
  /** Makes the database unreachable for the store. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Runs SQL directly against this fixture's data (for PGlite only while no store is open on it). */
  rawQuery<T>(sql: string): Promise<T[]>;
  dispose(): Promise<void>;
}

const baseStore = (dataDir: string, databaseUrl?: string): Config['store'] => ({
  databaseUrl,
  dataDir,
  patientHashSecret: 'test-secret-0123456789',
  queueMax: 100,
  retentionDays: 0,
  keepFeedbackComments: false,
});

export async function createFixture(engine: Engine): Promise<EngineFixture> {
  if (engine === 'pglite') {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pumpcheck-store-'));
    let down = false;
    const storeConfig = (overrides: Partial<Config['store']> = {}) => ({ ...baseStore(dataDir), ...overrides });
    return {
      engine,
      storeConfig,
      open: (overrides, logger = silentLogger) =>
        openStore({
          store: storeConfig(overrides),
          logger,
          beforeQuery: () => {
            if (down) throw Object.assign(new Error('simulated database outage'), { code: 'ECONNREFUSED' });
          },
        }),
      async cut() {
        down = true;
      },
      async restore() {
        down = false;
      },
      async rawQuery<T>(sql: string) {
        // The store's own worker-thread handle: reuses the WebAssembly the store's worker compiled.
        const db = await PGliteThread.create(path.join(dataDir, 'pglite'));
        try {
          return (await db.query<T>(sql)).rows;
        } finally {
          await db.close();
        }
      },
      async dispose() {
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }

  const target = new URL(POSTGRES_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const viaProxy = new URL(POSTGRES_URL);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const storeConfig = (overrides: Partial<Config['store']> = {}) => ({
    ...baseStore(path.join(os.tmpdir(), 'pumpcheck-unused'), viaProxy.toString()),
    ...overrides,
  });
  return {
    engine,
    storeConfig,
    open: (overrides, logger = silentLogger) => openStore({ store: storeConfig(overrides), logger, schema }),
    cut: () => proxy.cut(),
    restore: () => proxy.restore(),
    async rawQuery<T>(sql: string) {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`set search_path to "${schema}"`);
        return (await client.query(sql)).rows as T[];
      } finally {
        await client.end();
      }
    },
    async dispose() {
      await proxy.cut();
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

let counter = 0;
/** A unique id prefix per call, so tests sharing one database never collide. */
export const uid = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${randomBytes(3).toString('hex')}`;

export function assertion(overrides: Partial<AssertionRecord> = {}): AssertionRecord {
  const id = overrides.id ?? uid('asrt');
  return {
    id,
    createdAt: '2025-01-08T10:00:00.000Z',
    serviceId: 'pumpcheck-order-sign',
    hook: 'order-sign',
    hookInstance: uid('hook'),
    orderRef: `DeviceRequest/${uid('dr')}`,
    pumpCode: '69805003',
    policyId: 'payer-a-csii',
    policyVersion: '2025.1',
    outcome: 'conditional',
    unmetCriteria: ['a1c'],
    undocumentedCriteria: ['c-peptide'],
    cards: [{ uuid: uid('card'), indicator: 'warning', criteria: ['a1c', 'c-peptide'], suggestionUuids: [uid('sugg')] }],
    patientHash: 'f'.repeat(64),
    ...overrides,
  };
}

const reason = (code: string) => ({ system: 'http://example.org/override-reason', code, display: `Reason ${code}` });

/**
 * A small known dataset for override analytics (March 2024, policies pol-x and pol-y) and the rows it must produce
 * for `from=2024-03-01&to=2024-03-31`. Card uuids are unique per call so it can be seeded into a shared database.
 */
export async function seedAnalyticsDataset(store: Store): Promise<{ expected: unknown[] }> {
  const card = (name: string) => `${name}-${uid('c')}`;
  const fb: { card: string; outcome: 'accepted' | 'overridden'; at: string; code?: string }[] = [];
  const records: AssertionRecord[] = [];
  const add = (createdAt: string, policyId: string | undefined, criteria: string[], feedback: { outcome: 'accepted' | 'overridden'; at?: string; code?: string }[]) => {
    const uuid = card('k');
    records.push(assertion({ createdAt, policyId, cards: [{ uuid, indicator: 'warning', criteria, suggestionUuids: [] }] }));
    feedback.forEach((f, i) => fb.push({ card: uuid, outcome: f.outcome, at: f.at ?? `${createdAt.slice(0, 10)}T18:0${i}:00Z`, code: f.code }));
  };
  // Week 2024-W10 (Monday 2024-03-04), pol-x.
  add('2024-03-05T09:00:00Z', 'pol-x', ['k1', 'k2'], [{ outcome: 'overridden', code: 'R1' }]);
  add('2024-03-06T09:00:00Z', 'pol-x', ['k1'], [{ outcome: 'accepted' }]);
  // Overridden first, accepted later: the latest answer counts, so R2 is not a top reason.
  add('2024-03-07T09:00:00Z', 'pol-x', ['k1'], [
    { outcome: 'overridden', code: 'R2', at: '2024-03-07T10:00:00Z' },
    { outcome: 'accepted', at: '2024-03-07T10:05:00Z' },
  ]);
  add('2024-03-08T09:00:00Z', 'pol-x', ['k1'], []);
  add('2024-03-09T09:00:00Z', 'pol-x', ['k1'], [{ outcome: 'overridden', code: 'R1' }]);
  add('2024-03-10T09:00:00Z', 'pol-x', ['k1'], [{ outcome: 'overridden', code: 'R3' }]);
  add('2024-03-10T10:00:00Z', 'pol-x', ['k1'], [{ outcome: 'overridden', code: 'R4' }]);
  add('2024-03-10T11:00:00Z', 'pol-x', ['k1'], [{ outcome: 'overridden', code: 'R3' }]);
  add('2024-03-10T23:59:00Z', 'pol-x', ['k1'], [{ outcome: 'overridden', code: 'R5' }]);
  // Week 2024-W11 (Monday 2024-03-11).
  add('2024-03-12T23:30:00Z', 'pol-y', [], [{ outcome: 'accepted' }]);
  add('2024-03-17T23:59:59Z', 'pol-y', ['m1'], [{ outcome: 'overridden' }]);
  add('2024-03-13T08:00:00Z', undefined, ['m1'], []);
  // Outside the period.
  add('2024-04-02T08:00:00Z', 'pol-x', ['k1'], [{ outcome: 'overridden', code: 'R9' }]);

  for (const r of records) store.assertionSink.record(r);
  await store.assertionSink.flush();
  const result = await store.feedbackStore.saveFeedback(
    'pumpcheck-order-sign',
    fb.map((f) => ({
      card: f.card,
      outcome: f.outcome,
      outcomeTimestamp: f.at,
      ...(f.code ? { overrideReason: { reason: reason(f.code) } } : {}),
    })),
  );
  if (result.orphans !== 0 || result.stored !== fb.length) throw new Error(`seeding failed: ${JSON.stringify(result)}`);

  const r = (code: string, count: number) => ({ ...reason(code), count });
  const row = (week: string, weekStart: string, policyId: string, criterion: string, n: number[], rate: number | null, reasons: unknown[]) => ({
    policyId,
    criterion,
    week,
    weekStart,
    cardsShown: n[0],
    accepted: n[1],
    overridden: n[2],
    noFeedback: n[3],
    overrideRate: rate,
    topOverrideReasons: reasons,
  });
  return {
    expected: [
      row('2024-W10', '2024-03-04', 'pol-x', 'k1', [9, 2, 6, 1], 0.75, [r('R1', 2), r('R3', 2), r('R4', 1)]),
      row('2024-W10', '2024-03-04', 'pol-x', 'k2', [1, 0, 1, 0], 1, [r('R1', 1)]),
      row('2024-W11', '2024-03-11', '(none)', 'm1', [1, 0, 0, 1], null, []),
      row('2024-W11', '2024-03-11', 'pol-y', '(none)', [1, 1, 0, 0], 0, []),
      row('2024-W11', '2024-03-11', 'pol-y', 'm1', [1, 0, 1, 0], 1, []),
    ],
  };
}
