// The store suite, run unchanged on embedded PGlite and on PostgreSQL (127.0.0.1:5432, one schema per run).
// If PostgreSQL is unreachable the postgres variant fails: .ci/run starts the server.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertion,
  createFixture,
  ENGINES,
  seedAnalyticsDataset,
  uid,
  type EngineFixture,
} from '../../test/store-support.js';
import { InvalidFeedbackError, InvalidFilterError, openStore, patientHash, StoreStartupError, type Store } from './index.js';
import { StoreUnavailableError } from './types.js';

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('patientHash', () => {
  it('is a keyed HMAC-SHA256 (hex) that does not contain the id', () => {
    const h = patientHash('secret-one-0123456789', 'pat-123');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).toBe(patientHash('secret-one-0123456789', 'pat-123'));
    expect(h).not.toBe(patientHash('secret-two-0123456789', 'pat-123'));
    expect(h).not.toContain('pat-123');
  });
});

describe('PostgreSQL start-up', () => {
  it('fails clearly, without the password, when the server is unreachable', async () => {
    const net = await import('node:net');
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const attempt = openStore({
      logger: pino({ level: 'silent' }),
      store: {
        databaseUrl: `postgres://alice:hunter2-secret@127.0.0.1:${port}/billing`,
        dataDir: '/nonexistent',
        patientHashSecret: 'x',
        queueMax: 10,
        retentionDays: 0,
        keepFeedbackComments: false,
      },
    });
    const err = await attempt.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(StoreStartupError);
    expect(err!.message).toMatch(new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/billing: .+`));
    expect(err!.message).not.toContain('hunter2');
    expect(err!.message).not.toContain('alice');
  });
});

// Reopening the embedded database starts a worker thread and PGlite again (seconds of WebAssembly each time on a
// busy 2-core machine): the generous timeout is for the shared machine, not a measure of anything.
describe.each(ENGINES)('store on %s', { timeout: 90_000 }, (engine) => {
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

  it('uses the requested engine', () => {
    expect(store.engine).toBe(engine);
  });

  it('applies migrations once: reopening is idempotent', async () => {
    await store.close();
    store = await fx.open();
    await store.close();
    const migrations = await fx.rawQuery<{ name: string }>('select name from kysely_migration order by name');
    expect(migrations.map((m) => m.name)).toEqual(['001_initial', '002_jwt_replay', '003_analytics_context']);
    const tables = await fx.rawQuery<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = current_schema() and table_name in ('assertions','assertion_cards','feedback') order by 1`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(['assertion_cards', 'assertions', 'feedback']);
    store = await fx.open();
    expect(await store.health()).toBe(true);
  });

  it.runIf(engine === 'pglite')('refuses a second opener of the same data directory, but not a stale lock', async () => {
    await expect(fx.open()).rejects.toBeInstanceOf(StoreStartupError);
    expect(await store.health()).toBe(true);
    await store.close();
    // A lock left by a process that no longer exists (crash) does not block the next start.
    await writeFile(path.join(fx.storeConfig().dataDir, 'pumpcheck.lock'), '2147483646');
    store = await fx.open();
    expect(await store.health()).toBe(true);
  });

  it('round-trips every field of an assertion', async () => {
    const a = assertion({
      createdAt: '2025-02-03T04:05:06.789Z',
      cards: [
        { uuid: uid('card'), indicator: 'warning', criteria: ['a1c', 'c-peptide'], suggestionUuids: [uid('s'), uid('s')] },
        { uuid: uid('card'), indicator: 'info', criteria: [], suggestionUuids: [] },
      ],
    });
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    const got = await store.getAssertion(a.id);
    expect(got).toBeDefined();
    const { storedAt, feedback, ...rest } = got!;
    expect(rest).toEqual(a);
    expect(Date.parse(storedAt)).not.toBeNaN();
    expect(feedback).toEqual([]);

    const minimal = assertion({ pumpCode: undefined, policyId: undefined, policyVersion: undefined, cards: [], unmetCriteria: [], undocumentedCriteria: [] });
    delete minimal.pumpCode;
    delete minimal.policyId;
    delete minimal.policyVersion;
    store.assertionSink.record(minimal);
    await store.assertionSink.flush();
    const { storedAt: _s, feedback: _f, ...minimalBack } = (await store.getAssertion(minimal.id))!;
    expect(minimalBack).toEqual(minimal);
    expect(await store.getAssertion(uid('unknown'))).toBeUndefined();
  });

  it('record() never throws and counts what it cannot keep', () => {
    const before = store.assertionSink.stats().dropped;
    expect(() => store.assertionSink.record(null as never)).not.toThrow();
    expect(() => store.assertionSink.record({ ...assertion(), createdAt: 'not a date' })).not.toThrow();
    expect(store.assertionSink.stats().dropped).toBe(before + 2);
  });

  it('links feedback to its card and assertion; drops comments unless configured', async () => {
    const a = assertion();
    const cardUuid = a.cards[0]!.uuid;
    const suggestion = a.cards[0]!.suggestionUuids[0]!;
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    const result = await store.feedbackStore.saveFeedback('pumpcheck-order-sign', [
      {
        card: cardUuid,
        outcome: 'overridden',
        outcomeTimestamp: '2025-01-08T10:02:00Z',
        overrideReason: {
          reason: { system: 'http://example.org/reasons', code: 'patient-declined', display: 'Patient declined' },
          userComment: 'Mrs Smith says no',
        },
      },
      { card: cardUuid, outcome: 'accepted', acceptedSuggestions: [{ id: suggestion }], outcomeTimestamp: '2025-01-08T10:05:00Z' },
    ]);
    expect(result).toEqual({ stored: 2, duplicates: 0, orphans: 0 });
    const got = await store.getAssertion(a.id);
    expect(got!.feedback).toEqual([
      {
        card: cardUuid,
        serviceId: 'pumpcheck-order-sign',
        outcome: 'overridden',
        acceptedSuggestions: [],
        overrideReason: { system: 'http://example.org/reasons', code: 'patient-declined', display: 'Patient declined' },
        outcomeTimestamp: '2025-01-08T10:02:00.000Z',
        receivedAt: expect.any(String),
      },
      {
        card: cardUuid,
        serviceId: 'pumpcheck-order-sign',
        outcome: 'accepted',
        acceptedSuggestions: [suggestion],
        outcomeTimestamp: '2025-01-08T10:05:00.000Z',
        receivedAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(got)).not.toContain('Mrs Smith');
    const comments = await (async () => {
      // Raw check: the comment is not stored at all, not just hidden.
      if (engine === 'pglite') return undefined;
      return fx.rawQuery<{ n: number }>(`select count(*)::int as n from feedback where user_comment is not null`);
    })();
    if (comments) expect(comments[0]!.n).toBe(0);
  });

  it('keeps the clinician comment when FEEDBACK_KEEP_COMMENTS is on', async () => {
    await store.close();
    store = await fx.open({ keepFeedbackComments: true });
    const a = assertion();
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    await store.feedbackStore.saveFeedback('svc', [
      { card: a.cards[0]!.uuid, outcome: 'overridden', outcomeTimestamp: '2025-01-08T11:00:00Z', overrideReason: { userComment: 'see note' } },
    ]);
    const got = await store.getAssertion(a.id);
    expect(got!.feedback[0]!.userComment).toBe('see note');
    expect(got!.feedback[0]!.overrideReason).toBeUndefined();
    await store.close();
    store = await fx.open();
  });

  it('stores feedback for unknown cards as orphans instead of refusing it', async () => {
    const orphanCard = uid('ghost');
    const result = await store.feedbackStore.saveFeedback('svc', [
      { card: orphanCard, outcome: 'accepted', outcomeTimestamp: '2025-01-09T08:00:00Z' },
    ]);
    expect(result).toEqual({ stored: 1, duplicates: 0, orphans: 1 });
    // Stored: a second delivery is recognised as a duplicate.
    const again = await store.feedbackStore.saveFeedback('svc', [
      { card: orphanCard, outcome: 'accepted', outcomeTimestamp: '2025-01-09T08:00:00.000Z' },
    ]);
    expect(again).toEqual({ stored: 0, duplicates: 1, orphans: 1 });
  });

  it('stores duplicate deliveries (same card, outcome, timestamp) once', async () => {
    const a = assertion();
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    const item = { card: a.cards[0]!.uuid, outcome: 'overridden' as const, outcomeTimestamp: '2025-01-08T12:00:00Z' };
    // Twice in one request (and once with an equivalent timestamp spelling), then the whole request again.
    const first = await store.feedbackStore.saveFeedback('svc', [item, item, { ...item, outcomeTimestamp: '2025-01-08T13:00:00+01:00' }]);
    expect(first).toEqual({ stored: 1, duplicates: 2, orphans: 0 });
    const second = await store.feedbackStore.saveFeedback('svc', [item]);
    expect(second).toEqual({ stored: 0, duplicates: 1, orphans: 0 });
    // A different outcome for the same card at the same time is a different answer.
    const third = await store.feedbackStore.saveFeedback('svc', [{ ...item, outcome: 'accepted' }]);
    expect(third.stored).toBe(1);
    expect((await store.getAssertion(a.id))!.feedback).toHaveLength(2);
  });

  it('refuses malformed feedback with InvalidFeedbackError (not a 503)', async () => {
    await expect(
      store.feedbackStore.saveFeedback('svc', [{ card: 'x', outcome: 'accepted', outcomeTimestamp: 'yesterday' }]),
    ).rejects.toBeInstanceOf(InvalidFeedbackError);
  });

  it('throws StoreUnavailableError while the database is down, and recovers', async () => {
    const a = assertion();
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    const item = { card: a.cards[0]!.uuid, outcome: 'accepted' as const, outcomeTimestamp: '2025-01-08T14:00:00Z' };
    await fx.cut();
    try {
      await expect(store.feedbackStore.saveFeedback('svc', [item])).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await store.health()).toBe(false);
    } finally {
      await fx.restore();
    }
    expect(await store.health()).toBe(true);
    expect(await store.feedbackStore.saveFeedback('svc', [item])).toEqual({ stored: 1, duplicates: 0, orphans: 0 });
  });

  it('queues assertions through an outage and loses none while the queue has room', async () => {
    const before = store.assertionSink.stats();
    const records = Array.from({ length: 25 }, () => assertion());
    await fx.cut();
    try {
      for (const r of records) store.assertionSink.record(r);
      // flush() returns once an attempt failed: the database is down, nothing was written.
      await store.assertionSink.flush();
      const during = store.assertionSink.stats();
      expect(during.queueDepth).toBe(25);
      expect(during.dropped).toBe(before.dropped);
      expect(during.retries).toBeGreaterThan(before.retries);
    } finally {
      await fx.restore();
    }
    await store.assertionSink.flush();
    const after = store.assertionSink.stats();
    expect(after.queueDepth).toBe(0);
    expect(after.dropped).toBe(before.dropped);
    expect(after.written).toBe(before.written + 25);
    for (const r of records) expect((await store.getAssertion(r.id))?.id).toBe(r.id);
  });

  it('drops the oldest assertions when the queue is full, counts them and logs the count without PHI', async () => {
    await store.close();
    const { logger, lines } = captureLogger();
    store = await fx.open({ queueMax: 3 }, logger);
    const records = Array.from({ length: 5 }, (_, i) => assertion({ orderRef: `DeviceRequest/secret-order-${i}` }));
    await fx.cut();
    try {
      for (const r of records) store.assertionSink.record(r);
      expect(store.assertionSink.stats()).toMatchObject({ queueDepth: 3, dropped: 2 });
      await store.assertionSink.flush();
    } finally {
      await fx.restore();
    }
    await store.assertionSink.flush();
    expect(store.assertionSink.stats()).toMatchObject({ queueDepth: 0, dropped: 2, written: 3 });
    expect(await store.getAssertion(records[0]!.id)).toBeUndefined();
    expect(await store.getAssertion(records[1]!.id)).toBeUndefined();
    for (const r of records.slice(2)) expect(await store.getAssertion(r.id)).toBeDefined();
    await store.close();
    const warnings = lines.filter((l) => String(l.msg).includes('assertions dropped'));
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.reduce((n, l) => n + Number(l.dropped), 0)).toBe(2);
    const logged = JSON.stringify(lines);
    for (const r of records) {
      expect(logged).not.toContain(r.orderRef);
      expect(logged).not.toContain(r.patientHash);
    }
    store = await fx.open();
  });

  it('keeps everything across a restart', async () => {
    const a = assertion();
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    await store.feedbackStore.saveFeedback('svc', [
      { card: a.cards[0]!.uuid, outcome: 'overridden', outcomeTimestamp: '2025-01-08T15:00:00Z', overrideReason: { reason: { system: 's', code: 'c' } } },
    ]);
    const before = await store.getAssertion(a.id);
    // Queued but not yet written when the service stops: close() flushes it.
    const late = assertion();
    store.assertionSink.record(late);
    await store.close();
    store = await fx.open();
    expect(await store.getAssertion(a.id)).toEqual(before);
    expect((await store.getAssertion(late.id))?.id).toBe(late.id);
  });

  it('computes override analytics for a known dataset (per card, explicit response rule, breakdowns)', async () => {
    const { expected } = await seedAnalyticsDataset(store);
    expect(await store.overrideAnalytics({ from: '2024-03-01', to: '2024-03-31' })).toEqual(expected);
    const w11 = await store.overrideAnalytics({ from: '2024-03-11', to: '2024-03-17' });
    expect(w11.rows.map((r) => `${r.week}|${r.policyId}|${r.cardsShown}`)).toEqual(['2024-W11|(none)|1', '2024-W11|pol-y|2']);
    const polY = await store.overrideAnalytics({ policyId: 'pol-y' });
    expect(polY.rows).toEqual((expected as { rows: { policyId: string }[] }).rows.filter((r) => r.policyId === 'pol-y'));
    const april = await store.overrideAnalytics({ from: '2024-04-01', to: '2024-04-30', policyId: 'pol-x' });
    expect(april.rows).toHaveLength(1);
    expect(april.rows[0]).toMatchObject({ week: '2024-W14', cardsShown: 1, overridden: 1, overrideRate: 1, topOverrideReasons: [{ code: 'R9', count: 1 }] });
    await expect(store.overrideAnalytics({ from: '2024-02-30' })).rejects.toBeInstanceOf(InvalidFilterError);
    await expect(store.overrideAnalytics({ from: '2024-03-10', to: '2024-03-01' })).rejects.toBeInstanceOf(InvalidFilterError);
  });

  it('purges assertions and feedback older than the retention period', async () => {
    // Own database: a purge must not disturb the other tests' data.
    const own = await createFixture(engine);
    const s = await own.open();
    try {
      const now = new Date('2025-06-30T12:00:00Z');
      const old = assertion({ createdAt: '2025-05-01T00:00:00Z' });
      const recent = assertion({ createdAt: '2025-06-20T00:00:00Z' });
      s.assertionSink.record(old);
      s.assertionSink.record(recent);
      await s.assertionSink.flush();
      await s.feedbackStore.saveFeedback('svc', [
        { card: old.cards[0]!.uuid, outcome: 'accepted', outcomeTimestamp: '2025-05-01T00:01:00Z' },
        { card: recent.cards[0]!.uuid, outcome: 'accepted', outcomeTimestamp: '2025-06-20T00:01:00Z' },
      ]);
      expect(await s.purgeOlderThan(30, now)).toEqual({ assertions: 1, feedback: 0 });
      expect(await s.getAssertion(old.id)).toBeUndefined();
      expect((await s.getAssertion(recent.id))?.feedback).toHaveLength(1);
      // Feedback ages by when it was received: 40 days from the real now, all of it is past retention.
      const later = new Date(Date.now() + 40 * 86_400_000);
      expect(await s.purgeOlderThan(30, later)).toEqual({ assertions: 1, feedback: 2 });
      expect(await s.getAssertion(recent.id)).toBeUndefined();
      expect((await s.overrideAnalytics()).rows).toEqual([]);
      await expect(s.purgeOlderThan(-1)).rejects.toThrow(RangeError);
    } finally {
      await s.close();
      await own.dispose();
    }
  });
});
