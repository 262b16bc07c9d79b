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

/** Practitioner hashes and sites of the analytics dataset (the report shows the first 12 hex digits of a hash). */
export const SEED_PRACTITIONERS = { p1: 'a'.repeat(64), p2: 'b'.repeat(64), p3: 'c'.repeat(64) } as const;
export const SEED_SITES = { s1: 'Organization/site-1', s2: 'Organization/site-2' } as const;

type SeedFeedback = { outcome: 'accepted' | 'overridden'; at?: string; code?: string };

/**
 * A small dataset for override analytics (March 2024, policies pol-x and pol-y) and the report it must produce for
 * `from=2024-03-01&to=2024-03-31`, worked out by hand. It exercises every counting rule: one card with three criteria
 * is one override; accept then dismiss (and dismiss then accept) is an accept; the latest override's reason counts;
 * shared reference / form-app cards are counted apart (one of them recorded against two assertions). Card uuids are
 * unique per call so it can be seeded into a shared database.
 */
export async function seedAnalyticsDataset(store: Store): Promise<{ expected: unknown; cards: Record<string, string> }> {
  const fb: { card: string; outcome: 'accepted' | 'overridden'; at: string; code?: string }[] = [];
  const records: AssertionRecord[] = [];
  const cards: Record<string, string> = {};
  const { p1, p2, p3 } = SEED_PRACTITIONERS;
  const { s1, s2 } = SEED_SITES;
  const feedback = (uuid: string, day: string, list: SeedFeedback[]) =>
    list.forEach((f, i) => fb.push({ card: uuid, outcome: f.outcome, at: f.at ?? `${day}T18:0${i}:00Z`, code: f.code }));
  const add = (
    name: string,
    createdAt: string,
    o: { policyId?: string; criteria: string[]; outcome: string; practitioner?: string; site?: string; feedback: SeedFeedback[]; shared?: { name: string; kind: 'reference' | 'smart'; feedback: SeedFeedback[] }[] },
  ) => {
    const uuid = `${name}-${uid('c')}`;
    cards[name] = uuid;
    const list: AssertionRecord['cards'] = [{ uuid, indicator: 'warning', criteria: o.criteria, suggestionUuids: [] }];
    for (const sh of o.shared ?? []) {
      const first = cards[sh.name] === undefined;
      cards[sh.name] ??= `${sh.name}-${uid('c')}`;
      list.push({ uuid: cards[sh.name]!, indicator: 'info', criteria: [], suggestionUuids: [], kind: sh.kind });
      if (first) feedback(cards[sh.name]!, createdAt.slice(0, 10), sh.feedback);
    }
    records.push(
      assertion({
        createdAt,
        policyId: o.policyId,
        outcome: o.outcome,
        cards: list,
        ...(o.practitioner ? { practitionerHash: o.practitioner } : {}),
        ...(o.site ? { site: o.site } : {}),
      }),
    );
    feedback(uuid, createdAt.slice(0, 10), o.feedback);
  };
  // Week 2024-W10 (Monday 2024-03-04), pol-x.
  add('a1', '2024-03-05T09:00:00Z', {
    policyId: 'pol-x', criteria: ['k1', 'k2', 'k3'], outcome: 'conditional', practitioner: p1, site: s1,
    feedback: [{ outcome: 'overridden', code: 'R1' }],
    shared: [{ name: 'ref1', kind: 'reference', feedback: [{ outcome: 'overridden' }] }],
  });
  add('a2', '2024-03-06T09:00:00Z', { policyId: 'pol-x', criteria: ['k1'], outcome: 'conditional', practitioner: p1, site: s1, feedback: [{ outcome: 'accepted' }] });
  // Accepted, then dismissed (as an EHR does when the card closes after its suggestion was applied): an accept.
  add('a3', '2024-03-07T09:00:00Z', {
    policyId: 'pol-x', criteria: ['k1'], outcome: 'not-covered', practitioner: p2, site: s2,
    feedback: [{ outcome: 'accepted', at: '2024-03-07T10:00:00Z' }, { outcome: 'overridden', code: 'R2', at: '2024-03-07T10:05:00Z' }],
  });
  // Dismissed, then accepted: an accept too; R2 is never a top reason.
  add('a4', '2024-03-07T09:30:00Z', {
    policyId: 'pol-x', criteria: ['k2'], outcome: 'not-covered', practitioner: p2, site: s2,
    feedback: [{ outcome: 'overridden', code: 'R2', at: '2024-03-07T10:00:00Z' }, { outcome: 'accepted', at: '2024-03-07T10:05:00Z' }],
  });
  add('a5', '2024-03-08T09:00:00Z', { policyId: 'pol-x', criteria: ['k1'], outcome: 'conditional', practitioner: p1, feedback: [] });
  // Overridden twice: the latest reason (R1) counts.
  add('a6', '2024-03-09T09:00:00Z', {
    policyId: 'pol-x', criteria: ['k1', 'k2'], outcome: 'not-covered', practitioner: p2, site: s1,
    feedback: [{ outcome: 'overridden', code: 'R3', at: '2024-03-09T10:00:00Z' }, { outcome: 'overridden', code: 'R1', at: '2024-03-09T11:00:00Z' }],
  });
  add('a7', '2024-03-10T23:59:00Z', { policyId: 'pol-x', criteria: ['k1'], outcome: 'conditional', site: s1, feedback: [{ outcome: 'overridden', code: 'R3' }] });
  // Week 2024-W11 (Monday 2024-03-11).
  add('a9', '2024-03-12T23:30:00Z', {
    policyId: 'pol-y', criteria: [], outcome: 'conditional', practitioner: p1, site: s1, feedback: [{ outcome: 'accepted' }],
    shared: [{ name: 'ref2', kind: 'reference', feedback: [{ outcome: 'overridden' }] }],
  });
  add('a10', '2024-03-17T23:59:59Z', {
    policyId: 'pol-y', criteria: ['m1'], outcome: 'not-covered', practitioner: p1, site: s1, feedback: [{ outcome: 'overridden' }],
    shared: [
      { name: 'ref2', kind: 'reference', feedback: [] },
      { name: 'smart1', kind: 'smart', feedback: [{ outcome: 'accepted' }] },
    ],
  });
  add('a11', '2024-03-13T08:00:00Z', { criteria: ['m1'], outcome: 'no-policy', practitioner: p3, site: s2, feedback: [] });
  // Outside the period.
  add('a12', '2024-04-02T08:00:00Z', { policyId: 'pol-x', criteria: ['k1'], outcome: 'not-covered', feedback: [{ outcome: 'overridden', code: 'R9' }] });

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

  const n = (shown: number, accepted: number, overridden: number, noFeedback: number, overrideRate: number | null) => ({
    cardsShown: shown,
    accepted,
    overridden,
    noFeedback,
    overrideRate,
  });
  const r = (code: string, count: number) => ({ ...reason(code), count });
  return {
    cards,
    expected: {
      rows: [
        {
          policyId: 'pol-x', week: '2024-W10', weekStart: '2024-03-04', ...n(7, 3, 3, 1, 0.5),
          topOverrideReasons: [r('R1', 2), r('R3', 1)],
          criteria: [
            { criterion: 'k1', ...n(6, 2, 3, 1, 0.6) },
            { criterion: 'k2', ...n(3, 1, 2, 0, 0.6667) },
            { criterion: 'k3', ...n(1, 0, 1, 0, 1) },
          ],
        },
        { policyId: '(none)', week: '2024-W11', weekStart: '2024-03-11', ...n(1, 0, 0, 1, null), topOverrideReasons: [], criteria: [{ criterion: 'm1', ...n(1, 0, 0, 1, null) }] },
        {
          policyId: 'pol-y', week: '2024-W11', weekStart: '2024-03-11', ...n(2, 1, 1, 0, 0.5), topOverrideReasons: [],
          criteria: [
            { criterion: '(none)', ...n(1, 1, 0, 0, 0) },
            { criterion: 'm1', ...n(1, 0, 1, 0, 1) },
          ],
        },
      ],
      criteria: [
        { policyId: 'pol-x', criterion: 'k3', ...n(1, 0, 1, 0, 1) },
        { policyId: 'pol-y', criterion: 'm1', ...n(1, 0, 1, 0, 1) },
        { policyId: 'pol-x', criterion: 'k2', ...n(3, 1, 2, 0, 0.6667) },
        { policyId: 'pol-x', criterion: 'k1', ...n(6, 2, 3, 1, 0.6) },
        { policyId: 'pol-y', criterion: '(none)', ...n(1, 1, 0, 0, 0) },
        { policyId: '(none)', criterion: 'm1', ...n(1, 0, 0, 1, null) },
      ],
      byOutcome: [
        { key: 'conditional', ...n(5, 2, 2, 1, 0.5) },
        { key: 'not-covered', ...n(4, 2, 2, 0, 0.5) },
        { key: 'no-policy', ...n(1, 0, 0, 1, null) },
      ],
      byPractitioner: [
        { key: 'a'.repeat(12), ...n(5, 2, 2, 1, 0.5) },
        { key: 'b'.repeat(12), ...n(3, 2, 1, 0, 0.3333) },
        { key: '(unknown)', ...n(1, 0, 1, 0, 1) },
        { key: 'c'.repeat(12), ...n(1, 0, 0, 1, null) },
      ],
      bySite: [
        { key: s1, ...n(6, 2, 4, 0, 0.6667) },
        { key: s2, ...n(3, 2, 0, 1, 0) },
        { key: '(unknown)', ...n(1, 0, 0, 1, null) },
      ],
      sharedCards: [
        { kind: 'reference', cardsShown: 2, accepted: 0, dismissed: 2 },
        { kind: 'smart', cardsShown: 1, accepted: 1, dismissed: 0 },
      ],
    },
  };
}
