import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startIdleGc } from './idle-gc.js';

const MiB = 2 ** 20;

describe('startIdleGc', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** `shrinkAfter`: the collection that gives the young generation back (V8 does so once allocation has been low). */
  function setup(heap: { total: number; used: number }, shrinkAfter = 1) {
    const server = new EventEmitter() as unknown as Server;
    let n = 0;
    const gc = vi.fn(() => {
      heap.used = 40 * MiB; // the live heap
      heap.total = ++n >= shrinkAfter ? 48 * MiB : Math.max(heap.total, 100 * MiB);
    });
    const stop = startIdleGc(server, { gc, heap: () => ({ ...heap }), quietMs: 6000, checkMs: 1000, minSlackBytes: 16 * MiB, maxPerSpell: 3 });
    /** A request; returns the function that ends it (already ended when `open` is false). */
    const request = (open = false) => {
      const res = new EventEmitter();
      server.emit('request', {}, res);
      if (!open) res.emit('close');
      return () => res.emit('close');
    };
    return { gc, stop, request, reset: () => (n = 0) };
  }

  it('collects once the process has been quiet long enough, then only after garbage accumulated again', () => {
    const heap = { total: 85 * MiB, used: 55 * MiB };
    const { gc, stop, request, reset } = setup(heap);
    vi.advanceTimersByTime(5000);
    expect(gc).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(gc).toHaveBeenCalledTimes(1); // start-up's garbage
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(1); // 48 MiB total, 40 used: nothing to give back
    reset();
    request();
    heap.used = 100 * MiB;
    heap.total = 110 * MiB;
    vi.advanceTimersByTime(5000);
    expect(gc).toHaveBeenCalledTimes(1); // not quiet for long enough yet
    vi.advanceTimersByTime(1000);
    expect(gc).toHaveBeenCalledTimes(2);
    stop();
  });

  it('collects again after another quiet spell while the heap stays large, at most maxPerSpell times', () => {
    const heap = { total: 120 * MiB, used: 100 * MiB };
    const { gc, stop } = setup(heap, 2);
    vi.advanceTimersByTime(6000);
    expect(gc).toHaveBeenCalledTimes(1);
    expect(heap.total).toBe(120 * MiB); // young generation not given back yet
    vi.advanceTimersByTime(6000);
    expect(gc).toHaveBeenCalledTimes(2);
    expect(heap.total).toBe(48 * MiB);
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(2);
    stop();

    const never = { total: 120 * MiB, used: 100 * MiB };
    const s2 = setup(never, 99);
    vi.advanceTimersByTime(120_000);
    expect(s2.gc).toHaveBeenCalledTimes(3);
    s2.stop();
  });

  it('never collects while requests keep arriving or one is in flight', () => {
    const heap = { total: 200 * MiB, used: 150 * MiB };
    const { gc, stop, request } = setup(heap);
    for (let i = 0; i < 20; i++) {
      request();
      vi.advanceTimersByTime(2000);
    }
    expect(gc).not.toHaveBeenCalled();
    const end = request(true);
    vi.advanceTimersByTime(30_000);
    expect(gc).not.toHaveBeenCalled(); // a long request is not idleness
    end();
    vi.advanceTimersByTime(6000);
    expect(gc).toHaveBeenCalledTimes(1);
    stop();
    heap.used = 200 * MiB;
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('does nothing without an exposed gc', () => {
    const server = new EventEmitter() as unknown as Server;
    const stop = startIdleGc(server, { gc: undefined, heap: () => ({ total: 500 * MiB, used: 100 * MiB }) });
    expect(server.listenerCount('request')).toBe(0);
    stop();
  });
});
