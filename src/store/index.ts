// The store: coverage assertions (written asynchronously through a bounded queue), clinician feedback (committed
// before the feedback route answers), retention and override analytics, on embedded PGlite or PostgreSQL.
import type { FeedbackItem } from '../cds/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { overrideAnalytics, type AnalyticsFilter, type AnalyticsReport } from './analytics.js';
import { createAssertionSink, type QueuedAssertionSink } from './assertion-sink.js';
import { openDb, sql, type Database } from './db.js';
import { InvalidFeedbackError, StoreUnavailableError, type AssertionRecord, type FeedbackStore, type SharedReplayGuard } from './types.js';
import type { Kysely } from 'kysely';

export { InvalidFeedbackError, StoreUnavailableError } from './types.js';
export type { AssertionRecord, AssertionSink, FeedbackStore } from './types.js';
export { StoreStartupError, describeDatabaseUrl } from './db.js';
export { InvalidFilterError, validateFilter } from './analytics.js';
export type { AnalyticsFilter, AnalyticsReport, BreakdownRow, CriterionCounts, OverrideAnalyticsRow, OverrideReasonCount, SharedCardCounts } from './analytics.js';
export type { SinkStats } from './assertion-sink.js';

// One implementation of the keyed patient hash (HMAC-SHA256 hex of `Patient/<id>`), shared with the hook path.
export { patientHash } from './hash.js';

/** A feedback item that cannot be stored as sent (the route should have refused it with 400). */

export interface StoredFeedback {
  card: string;
  serviceId: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions: string[];
  overrideReason?: { system?: string; code?: string; display?: string };
  /** Present only when FEEDBACK_KEEP_COMMENTS is on. */
  userComment?: string;
  outcomeTimestamp: string;
  receivedAt: string;
}

export type StoredAssertion = AssertionRecord & { storedAt: string; feedback: StoredFeedback[] };

export interface Store {
  feedbackStore: FeedbackStore;
  assertionSink: QueuedAssertionSink;
  getAssertion(id: string): Promise<StoredAssertion | undefined>;
  /** Per-card override analytics with breakdowns (see analytics.ts for the counting rule). */
  overrideAnalytics(filter?: AnalyticsFilter): Promise<AnalyticsReport>;
  /** Deletes assertions (with their cards) created, and feedback received, more than `days` days before `now`. */
  purgeOlderThan(days: number, now?: Date): Promise<{ assertions: number; feedback: number }>;
  /** True when a trivial query succeeds within 2 s. */
  health(): Promise<boolean>;
  /** jti replay memory shared through the database (meaningful with PostgreSQL: several processes). */
  replayGuard: SharedReplayGuard;
  /** Stops the retention timer, flushes the assertion queue (bounded wait), closes the database. Idempotent. */
  close(): Promise<void>;
  readonly engine: 'pglite' | 'postgres';
}

export interface OpenStoreOptions {
  store: Config['store'];
  logger: Logger;
  /** PostgreSQL schema to use (created if missing); tests use one per file. Default: the connection's search_path. */
  schema?: string;
  /** How long close() waits for queued assertions. Default 5000 ms. */
  closeFlushTimeoutMs?: number;
  /** @internal Tests only (PGlite): runs before every statement; throw to simulate a database outage. */
  beforeQuery?: () => void;
}

const DAY_MS = 86_400_000;

const iso = (d: Date | string): string => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

function toAssertionRows(batch: AssertionRecord[]) {
  const assertions = batch.map((a) => ({
    id: a.id,
    created_at: iso(a.createdAt),
    service_id: a.serviceId,
    hook: a.hook,
    hook_instance: a.hookInstance,
    order_ref: a.orderRef,
    pump_code: a.pumpCode ?? null,
    policy_id: a.policyId ?? null,
    policy_version: a.policyVersion ?? null,
    outcome: a.outcome,
    unmet_criteria: [...a.unmetCriteria],
    undocumented_criteria: [...a.undocumentedCriteria],
    patient_hash: a.patientHash,
    practitioner_hash: a.practitionerHash ?? null,
    site: a.site ?? null,
  }));
  const cards = batch.flatMap((a) =>
    a.cards.map((c, position) => ({
      assertion_id: a.id,
      card_uuid: c.uuid,
      position,
      indicator: c.indicator,
      criteria: [...(c.criteria ?? [])],
      suggestion_uuids: [...(c.suggestionUuids ?? [])],
      kind: c.kind ?? 'finding',
    })),
  );
  return { assertions, cards };
}

async function writeAssertions(db: Kysely<Database>, batch: AssertionRecord[]): Promise<void> {
  const { assertions, cards } = toAssertionRows(batch);
  await db.transaction().execute(async (trx) => {
    // Idempotent: a batch retried after an ambiguous failure (commit sent, connection lost) is not duplicated.
    await trx.insertInto('assertions').values(assertions).onConflict((oc) => oc.column('id').doNothing()).execute();
    if (cards.length > 0) {
      await trx
        .insertInto('assertion_cards')
        .values(cards)
        .onConflict((oc) => oc.columns(['assertion_id', 'card_uuid']).doNothing())
        .execute();
    }
  });
}

function validateFeedback(items: FeedbackItem[]): void {
  if (!Array.isArray(items)) throw new InvalidFeedbackError('feedback must be an array');
  items.forEach((item, i) => {
    if (!item || typeof item.card !== 'string' || item.card.length === 0) {
      throw new InvalidFeedbackError(`feedback[${i}].card is required`);
    }
    if (item.outcome !== 'accepted' && item.outcome !== 'overridden') {
      throw new InvalidFeedbackError(`feedback[${i}].outcome must be accepted or overridden`);
    }
    if (typeof item.outcomeTimestamp !== 'string' || Number.isNaN(Date.parse(item.outcomeTimestamp))) {
      throw new InvalidFeedbackError(`feedback[${i}].outcomeTimestamp must be a date-time`);
    }
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const { logger, store: cfg } = opts;
  const log = logger.child({ component: 'store' });
  const opened = await openDb({
    databaseUrl: cfg.databaseUrl,
    dataDir: cfg.dataDir,
    schema: opts.schema,
    logger: log,
    beforeQuery: opts.beforeQuery,
  });
  const { db } = opened;
  log.info({ engine: opened.engine, schema: opts.schema }, 'store ready');

  const assertionSink = createAssertionSink({
    write: (batch) => writeAssertions(db, batch),
    queueMax: cfg.queueMax,
    logger: log,
  });

  const feedbackStore: FeedbackStore = {
    async saveFeedback(serviceId, items) {
      validateFeedback(items);
      if (items.length === 0) return { stored: 0, duplicates: 0, orphans: 0 };
      const rows = items.map((item) => ({
        card_uuid: item.card,
        service_id: serviceId,
        outcome: item.outcome,
        accepted_suggestions: (item.acceptedSuggestions ?? []).map((s) => String(s.id)),
        override_system: item.overrideReason?.reason?.system ?? null,
        override_code: item.overrideReason?.reason?.code ?? null,
        override_display: item.overrideReason?.reason?.display ?? null,
        // Free text may name the patient: kept only when explicitly configured.
        user_comment: cfg.keepFeedbackComments ? (item.overrideReason?.userComment ?? null) : null,
        outcome_timestamp: iso(item.outcomeTimestamp),
      }));
      const cardUuids = [...new Set(items.map((i) => i.card))];
      try {
        return await db.transaction().execute(async (trx) => {
          const known = await trx
            .selectFrom('assertion_cards')
            .select('card_uuid')
            .distinct()
            .where('card_uuid', 'in', cardUuids)
            .execute();
          const knownSet = new Set(known.map((k) => k.card_uuid));
          const inserted = await trx
            .insertInto('feedback')
            .values(rows)
            .onConflict((oc) => oc.columns(['card_uuid', 'outcome', 'outcome_timestamp']).doNothing())
            .returning('id')
            .execute();
          return {
            stored: inserted.length,
            duplicates: items.length - inserted.length,
            orphans: items.filter((i) => !knownSet.has(i.card)).length,
          };
        });
      } catch (err) {
        log.error({ err: { name: (err as Error)?.name, code: (err as { code?: string })?.code } }, 'feedback not stored');
        throw new StoreUnavailableError();
      }
    },
  };

  async function getAssertion(id: string): Promise<StoredAssertion | undefined> {
    const a = await db.selectFrom('assertions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!a) return undefined;
    const cards = await db
      .selectFrom('assertion_cards')
      .selectAll()
      .where('assertion_id', '=', id)
      .orderBy('position')
      .execute();
    const uuids = cards.map((c) => c.card_uuid);
    const feedback =
      uuids.length === 0
        ? []
        : await db
            .selectFrom('feedback')
            .selectAll()
            .where('card_uuid', 'in', uuids)
            .orderBy('outcome_timestamp')
            .orderBy('id')
            .execute();
    const record: StoredAssertion = {
      id: a.id,
      createdAt: iso(a.created_at),
      serviceId: a.service_id,
      hook: a.hook,
      hookInstance: a.hook_instance,
      orderRef: a.order_ref,
      outcome: a.outcome,
      unmetCriteria: a.unmet_criteria,
      undocumentedCriteria: a.undocumented_criteria,
      cards: cards.map((c) => ({
        uuid: c.card_uuid,
        indicator: c.indicator,
        criteria: c.criteria,
        suggestionUuids: c.suggestion_uuids,
        ...(c.kind !== 'finding' ? { kind: c.kind } : {}),
      })),
      patientHash: a.patient_hash,
      storedAt: iso(a.stored_at),
      feedback: feedback.map((f) => {
        const out: StoredFeedback = {
          card: f.card_uuid,
          serviceId: f.service_id,
          outcome: f.outcome,
          acceptedSuggestions: f.accepted_suggestions,
          outcomeTimestamp: iso(f.outcome_timestamp),
          receivedAt: iso(f.received_at),
        };
        if (f.override_system || f.override_code || f.override_display) {
          out.overrideReason = {};
          if (f.override_system) out.overrideReason.system = f.override_system;
          if (f.override_code) out.overrideReason.code = f.override_code;
          if (f.override_display) out.overrideReason.display = f.override_display;
        }
        if (f.user_comment !== null) out.userComment = f.user_comment;
        return out;
      }),
    };
    if (a.pump_code !== null) record.pumpCode = a.pump_code;
    if (a.policy_id !== null) record.policyId = a.policy_id;
    if (a.policy_version !== null) record.policyVersion = a.policy_version;
    if (a.practitioner_hash !== null) record.practitionerHash = a.practitioner_hash;
    if (a.site !== null) record.site = a.site;
    return record;
  }

  async function purgeOlderThan(days: number, now: Date = new Date()): Promise<{ assertions: number; feedback: number }> {
    if (!Number.isFinite(days) || days < 0) throw new RangeError('days must be a non-negative number');
    const cutoff = sql<Date>`${new Date(now.getTime() - days * DAY_MS).toISOString()}::timestamptz`;
    return db.transaction().execute(async (trx) => {
      const f = await trx.deleteFrom('feedback').where('received_at', '<', cutoff).executeTakeFirst();
      const a = await trx.deleteFrom('assertions').where('created_at', '<', cutoff).executeTakeFirst();
      return { assertions: Number(a.numDeletedRows), feedback: Number(f.numDeletedRows) };
    });
  }

  // Retention: once at start-up, then daily. Timers are unref'd so they never keep the process alive.
  let stopRetention: () => void = () => undefined;
  let retentionRun: Promise<void> | undefined;
  const runRetention = () => {
    if (retentionRun) return;
    retentionRun = purgeOlderThan(cfg.retentionDays)
      .then((n) => {
        if (n.assertions > 0 || n.feedback > 0) log.info({ ...n, retentionDays: cfg.retentionDays }, 'retention purge');
      })
      .catch((err: unknown) => log.warn({ err: { name: (err as Error)?.name, code: (err as { code?: string })?.code } }, 'retention purge failed'))
      .finally(() => {
        retentionRun = undefined;
      });
  };
  if (cfg.retentionDays > 0) {
    const first = setTimeout(runRetention, 1_000);
    first.unref();
    const daily = setInterval(runRetention, DAY_MS);
    daily.unref();
    stopRetention = () => {
      clearTimeout(first);
      clearInterval(daily);
    };
  }

  // Shared jti memory: an atomic insert wins the key, or takes it over when the earlier holder has expired.
  // Bounded in time: the auth path must not hang on the database (the caller falls back to its own memory).
  const replayGuard: SharedReplayGuard = {
    async claim(key, forgetAtSeconds) {
      try {
        const claimed = await withTimeout(
          sql<{ key: string }>`insert into jwt_replay (key, forget_at) values (${key}, to_timestamp(${forgetAtSeconds}))
            on conflict (key) do update set forget_at = excluded.forget_at where jwt_replay.forget_at < now()
            returning key`.execute(db),
          250,
        );
        return claimed.rows.length > 0 ? 'first' : 'replay';
      } catch {
        return 'unavailable';
      }
    },
  };
  const purgeReplay = () =>
    void sql`delete from jwt_replay where forget_at < now()`.execute(db).catch(() => undefined);
  const replayPurge = setInterval(purgeReplay, 5 * 60_000);
  replayPurge.unref();

  let closing: Promise<void> | undefined;
  const store: Store = {
    replayGuard,
    engine: opened.engine,
    feedbackStore,
    assertionSink,
    getAssertion,
    overrideAnalytics: (filter) => overrideAnalytics(db, filter),
    purgeOlderThan,
    async health() {
      try {
        await withTimeout(sql`select 1`.execute(db), 2_000);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= (async () => {
        stopRetention();
        clearInterval(replayPurge);
        await retentionRun;
        await assertionSink.flush(opts.closeFlushTimeoutMs ?? 5_000);
        const left = assertionSink.stats().queueDepth;
        assertionSink.stop();
        if (left > 0) log.warn({ lost: left }, 'store closed with assertions still queued');
        await db.destroy();
        await opened.release();
      })();
      return closing;
    },
  };
  return store;
}
