// One full garbage collection when the worker falls idle after activity (issue 14: idle memory).
//
// V8 collects when allocation demands it, never because a process went quiet: after a burst of hook calls (each parses
// a prefetch of hundreds of kB to many MB) the worker kept 60–100 MiB of dead objects and an enlarged young generation
// resident for as long as it stayed idle (measured: V8 heap 120 MiB total for 43 MiB live, minutes after the burst).
// A full GC once the process has been quiet for a few seconds shrinks it back (≈ 110 → 45 MiB total). V8 gives back
// the young generation's grown semi-spaces only when its recent allocation rate is low, so the collection waits for
// `quietMs` after the last response, and is repeated after another quiet spell (at most `maxPerSpell` times) while
// the heap still holds `minSlackBytes` more than it uses.
// Cost: a full GC of the live heap (≈ 20–50 ms on this thread) once or twice per quiet spell; nothing while a request
// is in flight or ended within `quietMs`, nothing when the heap is already tight.
//
// `gc` is a global only under `--expose-gc`, which the cluster primary gives the workers it forks (IDLE_GC_FLAG);
// without it (SUPERVISE=false, tests) this does nothing.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import v8 from 'node:v8';

export const IDLE_GC_FLAG = '--expose-gc';

export interface IdleGcOptions {
  /** Quiet time (no request in flight or ended, no collection) before collecting (default 5 s). */
  quietMs?: number;
  /** How often quietness is checked (default 1 s). */
  checkMs?: number;
  /** Garbage (heap used beyond the last collection's live size) or room (heap size beyond use) below which nothing
   * is done (default 16 MiB). */
  minSlackBytes?: number;
  /** Collections per quiet spell at most (default 3). */
  maxPerSpell?: number;
  /** @internal Tests: the collector and the heap's size. */
  gc?: (() => void) | undefined;
  heap?: () => { total: number; used: number };
}

/** Watches `server`'s requests; returns a function that stops watching. */
export function startIdleGc(server: Pick<Server, 'on' | 'off'>, options: IdleGcOptions = {}): () => void {
  const gc = 'gc' in options ? options.gc : (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => undefined;
  const heap =
    options.heap ??
    (() => {
      const h = v8.getHeapStatistics();
      return { total: h.total_heap_size, used: h.used_heap_size };
    });
  const minSlack = options.minSlackBytes ?? 16 * 2 ** 20;
  const quietMs = options.quietMs ?? 5_000;
  const maxPerSpell = options.maxPerSpell ?? 3;
  // Start-up (module loading, policy checks, migrations) leaves garbage too: the first quiet spell collects it.
  let inFlight = 0;
  let lastActivity = Date.now();
  let lastGc = 0;
  let inSpell = 0;
  let liveAfterGc = 0;
  const ended = () => {
    inFlight--;
    lastActivity = Date.now();
  };
  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    lastActivity = Date.now();
    inSpell = 0;
    res.once('close', ended);
  };
  server.on('request', onRequest);
  const timer = setInterval(() => {
    const now = Date.now();
    if (inFlight > 0 || now - lastActivity < quietMs || now - lastGc < quietMs || inSpell >= maxPerSpell) return;
    const h = heap();
    // Garbage (used beyond what the last collection left) or room (total beyond used) worth giving back.
    if (h.used - liveAfterGc < minSlack && h.total - h.used < minSlack) return;
    gc();
    liveAfterGc = heap().used;
    lastGc = Date.now();
    inSpell++;
  }, options.checkMs ?? 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    server.off('request', onRequest);
  };
}
