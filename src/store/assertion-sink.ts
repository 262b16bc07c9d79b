// Bounded in-memory queue between the hook path and the database. `record()` is synchronous and never throws; a
// background loop writes batches, retries with capped exponential backoff while the database is down, and when the
// queue is full drops the OLDEST queued assertion (the newest ones are the ones feedback and billing look-ups will
// soon refer to). Drops are counted (stats) and logged as counts only: never a record's content.
import type { Logger } from '../logger.js';
import type { AssertionRecord, AssertionSink } from './types.js';

export interface SinkStats {
  /** Assertions waiting, including the batch being written. */
  queueDepth: number;
  /** Assertions lost: queue full (oldest dropped), invalid, or refused by the database. */
  dropped: number;
  written: number;
  /** Failed write attempts that will be (or were) retried. */
  retries: number;
}

export interface QueuedAssertionSink extends AssertionSink {
  /** Resolves once the queue is empty, or the database refused the next attempt, or after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  stats(): SinkStats;
  /** Stop background work; queued assertions stay queued (call flush first). */
  stop(): void;
}

export interface SinkOptions {
  write: (batch: AssertionRecord[]) => Promise<void>;
  queueMax: number;
  logger: Logger;
  batchSize?: number;
  /**
   * How long a partial batch waits for company before it is written. One transaction per assertion costs PGlite
   * ~0.8 ms of the service's CPU, one per 10 ~0.13 ms each (bench profile): a short wait batches busy periods.
   */
  lingerMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Minimum interval between two "dropped" warnings (they carry the count since the last one). */
  dropLogIntervalMs?: number;
}

/** SQLSTATE classes that no retry can fix: data exceptions, integrity violations, syntax/access rule violations. */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '23', '42', '2B', '44']);

export function isPermanentDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
}

function isValid(a: AssertionRecord): boolean {
  const strings = [a.id, a.createdAt, a.serviceId, a.hook, a.hookInstance, a.orderRef, a.outcome, a.patientHash];
  return (
    strings.every((s) => typeof s === 'string' && s.length > 0) &&
    !Number.isNaN(Date.parse(a.createdAt)) &&
    Array.isArray(a.unmetCriteria) &&
    Array.isArray(a.undocumentedCriteria) &&
    Array.isArray(a.cards)
  );
}

export function createAssertionSink(opts: SinkOptions): QueuedAssertionSink {
  const batchSize = opts.batchSize ?? 100;
  const lingerMs = opts.lingerMs ?? 50;
  const retryBaseMs = opts.retryBaseMs ?? 250;
  const retryMaxMs = opts.retryMaxMs ?? 30_000;
  const dropLogIntervalMs = opts.dropLogIntervalMs ?? 10_000;
  const log = opts.logger;

  let queue: AssertionRecord[] = [];
  let inFlight: AssertionRecord[] = [];
  let running = false;
  let stopped = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  let dropTimer: NodeJS.Timeout | undefined;
  let unreportedDrops = 0;
  let lastDropLog = 0;
  const stats = { dropped: 0, written: 0, retries: 0 };
  let waiters: (() => void)[] = [];

  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  const reportDrops = () => {
    dropTimer = undefined;
    if (unreportedDrops === 0) return;
    log.warn(
      { dropped: unreportedDrops, droppedTotal: stats.dropped, queueMax: opts.queueMax },
      'assertion queue full or records refused: assertions dropped',
    );
    unreportedDrops = 0;
    lastDropLog = Date.now();
  };

  const drop = (n: number) => {
    stats.dropped += n;
    unreportedDrops += n;
    const wait = lastDropLog + dropLogIntervalMs - Date.now();
    if (wait <= 0) reportDrops();
    else if (!dropTimer) {
      dropTimer = setTimeout(reportDrops, wait);
      dropTimer.unref();
    }
  };

  const schedule = (delayMs: number) => {
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void drain();
    }, delayMs);
    retryTimer.unref();
  };

  /** Writes records one by one so a single bad record cannot block the queue forever. */
  const writeIndividually = async (batch: AssertionRecord[]) => {
    for (const record of batch) {
      try {
        await opts.write([record]);
        stats.written += 1;
      } catch (err) {
        if (!isPermanentDbError(err)) throw err;
        log.error({ assertionId: record.id, code: (err as { code?: string }).code }, 'assertion refused by the database');
        drop(1);
      }
    }
  };

  const armLinger = () => {
    lingerTimer = setTimeout(() => void drain(), lingerMs);
    lingerTimer.unref();
  };

  const cancelLinger = () => {
    if (lingerTimer) clearTimeout(lingerTimer);
    lingerTimer = undefined;
  };

  async function drain(): Promise<void> {
    cancelLinger();
    if (running || stopped) return;
    running = true;
    try {
      while (queue.length > 0 && !stopped) {
        inFlight = queue.splice(0, batchSize);
        try {
          try {
            await opts.write(inFlight);
            stats.written += inFlight.length;
          } catch (err) {
            if (!isPermanentDbError(err)) throw err;
            await writeIndividually(inFlight);
          }
          inFlight = [];
          if (failures > 0) log.info({ afterRetries: failures }, 'assertion store reachable again');
          failures = 0;
          // What arrived during the write waits for company too, unless a full batch is ready or someone is flushing.
          // (Writing it at once made every busy period a stream of one- or two-assertion transactions: four messages to
          // the embedded database's thread and a commit per request.)
          if (queue.length > 0 && queue.length < batchSize && lingerMs > 0 && waiters.length === 0 && !stopped) {
            armLinger();
            return;
          }
        } catch (err) {
          // Database unavailable: put the batch back in front (still bounded) and retry later.
          queue = inFlight.concat(queue);
          inFlight = [];
          const excess = queue.length - opts.queueMax;
          if (excess > 0) {
            queue.splice(0, excess);
            drop(excess);
          }
          stats.retries += 1;
          failures += 1;
          const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(failures - 1, 20));
          if (failures === 1 || failures % 10 === 0) {
            log.warn(
              { err: { name: (err as Error)?.name, code: (err as { code?: string })?.code }, queueDepth: queue.length, retryInMs: delay },
              'assertion store unavailable; will retry',
            );
          }
          schedule(delay);
          return;
        }
      }
    } finally {
      running = false;
      wake();
    }
  }

  return {
    record(assertion: AssertionRecord): void {
      try {
        if (stopped || !assertion || !isValid(assertion)) {
          drop(1);
          return;
        }
        // Copy: the caller may reuse or mutate its objects after we return.
        const copy = structuredClone(assertion);
        if (queue.length + inFlight.length >= opts.queueMax) {
          if (queue.length > 0) {
            queue.shift();
            drop(1);
          } else {
            // Everything queued is in the batch being written right now: the new record is the one to lose.
            drop(1);
            return;
          }
        }
        queue.push(copy);
        if (running || retryTimer) return; // the running drain loop or the retry will take it
        if (queue.length >= batchSize || lingerMs <= 0) {
          cancelLinger();
          queueMicrotask(() => void drain());
        } else if (!lingerTimer) armLinger();
      } catch {
        try {
          drop(1);
        } catch {
          /* never throw into the hook path */
        }
      }
    },

    async flush(timeoutMs = 10_000): Promise<void> {
      if (stopped || (queue.length === 0 && inFlight.length === 0)) return;
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<void>((resolve) => {
        waiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      // Skip any backoff wait: whoever flushes wants an attempt now.
      if (retryTimer) {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      }
      void drain();
      await done;
      clearTimeout(timer);
    },

    stats(): SinkStats {
      return { queueDepth: queue.length + inFlight.length, ...stats };
    },

    stop(): void {
      stopped = true;
      cancelLinger();
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      if (dropTimer) {
        clearTimeout(dropTimer);
        reportDrops();
      }
      wake();
    },
  };
}
