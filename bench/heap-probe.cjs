// Preloaded into the service child (`node --expose-gc --require ./bench/heap-probe.cjs dist/src/main.js`) by the soak
// benchmark, so src/ carries no benchmark hooks. With BENCH_HEAP_PROBE=1 it serves, on 127.0.0.1:BENCH_HEAP_PROBE_PORT,
// GET /heap: a full GC (twice, so finalizers and weak references settle) then {"heapUsed": <bytes>, ...}.
// Inert without BENCH_HEAP_PROBE=1. In a cluster worker the port is offset by the worker id.
'use strict';
// Only on a process's main thread: `--require` also runs in worker threads (the embedded database's), which must not
// try to take the same port.
if (process.env.BENCH_HEAP_PROBE === '1' && require('node:worker_threads').isMainThread) {
  const http = require('node:http');
  const cluster = require('node:cluster');
  const base = Number(process.env.BENCH_HEAP_PROBE_PORT || 0);
  const port = cluster.isWorker ? base + cluster.worker.id : base;
  const server = http.createServer((req, res) => {
    if (req.url !== '/heap' || typeof global.gc !== 'function') {
      res.writeHead(404).end();
      return;
    }
    global.gc();
    global.gc();
    const m = process.memoryUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ pid: process.pid, heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external }));
  });
  server.listen(port, '127.0.0.1');
  server.unref();
}
