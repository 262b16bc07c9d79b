// The queue between the hook path and the database: batching (also while a write is in flight), flush, overflow and
// retries. The writer is a fake that records each batch; timings are short real timers.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { createAssertionSink } from './assertion-sink.js';
import type { AssertionRecord } from './types.js';

const assertion = (n: number): AssertionRecord => ({
  id: `a-${n}`,
  createdAt: '2026-12-06T10:00:00Z',
  serviceId: 'pumpcheck-order-sign',
  hook: 'order-sign',
  hookInstance: `h-${n}`,
  orderRef: `DeviceRequest/${n}`,
  outcome: 'conditional',
  unmetCriteria: [],
  undocumentedCriteria: ['x'],
  cards: [],
  patientHash: 'p',
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingWriter(delayMs: number, fail?: (batch: AssertionRecord[]) => Error | undefined) {
  const batches: string[][] = [];
  const write = async (batch: AssertionRecord[]) => {
    await sleep(delayMs);
    const err = fail?.(batch);
    if (err) throw err;
    batches.push(batch.map((a) => a.id));
  };
  return { batches, write };
}

describe('assertion sink', () => {
  it('batches a busy period: what arrives while a write is in flight waits for company instead of a write each', async () => {
    const w = recordingWriter(5);
    const sink = createAssertionSink({ write: w.write, queueMax: 1000, logger: silentLogger, lingerMs: 30, batchSize: 100 });
    // One assertion every ~2 ms for ~200 ms, each write taking 5 ms: writing what arrived during a write at once
    // gives ~35 writes of two or three.
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      sink.record(assertion(i));
      await sleep(2);
    }
    const elapsed = performance.now() - started;
    await sink.flush(2000);
    const written = w.batches.flat();
    expect(written).toEqual(Array.from({ length: 100 }, (_, i) => `a-${i}`));
    // Lingering between writes: at most one write per linger period (+ the first and the flush), however slow the
    // machine running the test is.
    expect(w.batches.length).toBeLessThanOrEqual(Math.ceil(elapsed / 30) + 2);
    expect(sink.stats()).toMatchObject({ queueDepth: 0, written: 100, dropped: 0 });
  });

  it('writes a full batch at once, without waiting for the linger', async () => {
    const w = recordingWriter(0);
    const sink = createAssertionSink({ write: w.write, queueMax: 1000, logger: silentLogger, lingerMs: 10_000, batchSize: 5 });
    for (let i = 0; i < 5; i++) sink.record(assertion(i));
    await sleep(50);
    expect(w.batches).toEqual([['a-0', 'a-1', 'a-2', 'a-3', 'a-4']]);
    sink.stop();
  });

  it('flush writes what waits for the linger now', async () => {
    const w = recordingWriter(0);
    const sink = createAssertionSink({ write: w.write, queueMax: 1000, logger: silentLogger, lingerMs: 10_000 });
    sink.record(assertion(1));
    sink.record(assertion(2));
    await sink.flush(1000);
    expect(w.batches).toEqual([['a-1', 'a-2']]);
  });

  it('drops the oldest when full and counts it', async () => {
    const w = recordingWriter(0);
    const sink = createAssertionSink({ write: w.write, queueMax: 3, logger: silentLogger, lingerMs: 10_000 });
    for (let i = 0; i < 5; i++) sink.record(assertion(i));
    expect(sink.stats()).toMatchObject({ queueDepth: 3, dropped: 2 });
    await sink.flush(1000);
    expect(w.batches.flat()).toEqual(['a-2', 'a-3', 'a-4']);
  });

  it('retries while the database is down and loses nothing', async () => {
    let down = true;
    const w = recordingWriter(0, () => (down ? new Error('connection refused') : undefined));
    const sink = createAssertionSink({ write: w.write, queueMax: 100, logger: silentLogger, lingerMs: 1, retryBaseMs: 10, retryMaxMs: 20 });
    sink.record(assertion(1));
    sink.record(assertion(2));
    await sleep(60);
    expect(sink.stats().retries).toBeGreaterThan(0);
    expect(w.batches).toEqual([]);
    down = false;
    await sleep(60);
    await sink.flush(1000);
    expect(w.batches.flat()).toEqual(['a-1', 'a-2']);
    expect(sink.stats()).toMatchObject({ written: 2, dropped: 0 });
  });

  it('a record the database refuses for good is dropped alone; the rest of its batch is written', async () => {
    const refused = Object.assign(new Error('value too long'), { code: '22001' });
    const w = recordingWriter(0, (batch) => (batch.some((a) => a.id === 'a-2') ? refused : undefined));
    const sink = createAssertionSink({ write: w.write, queueMax: 100, logger: silentLogger, lingerMs: 1 });
    for (const n of [1, 2, 3]) sink.record(assertion(n));
    await sink.flush(1000);
    expect(w.batches.flat()).toEqual(['a-1', 'a-3']);
    expect(sink.stats()).toMatchObject({ written: 2, dropped: 1 });
  });
});
