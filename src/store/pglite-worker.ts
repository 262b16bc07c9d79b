// Worker-thread side of the embedded database: PGlite (PostgreSQL compiled to WebAssembly) runs here, so its CPU work
// — every assertion batch, every query — happens off the thread that serves hook requests. The main thread talks to
// it through src/store/pglite-thread.ts: one message per statement, answered in order.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pgliteStartParams, usableTemplate } from './pglite-settings.js';

export type Request =
  | { id: number; op: 'query'; sql: string; params: unknown[] }
  | { id: number; op: 'exec'; sql: string }
  | { id: number; op: 'close' };

export type Response =
  | { id: number; ok: true; rows?: unknown[]; affectedRows?: number }
  | { id: number; ok: false; error: { message: string; name?: string; code?: string } };

export interface WasmModules {
  pglite: WebAssembly.Module;
  initdb: WebAssembly.Module;
}

export type Ready = { ready: true; initialised: 'existing' | 'template' | 'initdb'; modules: WasmModules } | { ready: false; error: string };

const port = parentPort;
if (!port) throw new Error('pglite-worker must run in a worker thread');
const { dataDir, modules: given } = workerData as { dataDir: string; modules?: WasmModules };

/**
 * PGlite's WebAssembly modules, compiled once per process: the main thread hands the ones an earlier worker compiled
 * to the next (reopening the store, tests) instead of compiling 9 MiB of WebAssembly again.
 */
// The WebAssembly global (lib "dom" is not in this project's lib list).
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;

async function wasmModules(): Promise<WasmModules> {
  if (given) return given;
  const dist = new URL('.', import.meta.resolve('@electric-sql/pglite'));
  const [pglite, initdb] = await Promise.all(
    ['pglite.wasm', 'initdb.wasm'].map((f) => wasm.compile(readFileSync(new URL(f, dist)))),
  );
  return { pglite: pglite!, initdb: initdb! };
}

async function open(modules: WasmModules): Promise<{ pg: PGlite; initialised: 'existing' | 'template' | 'initdb' }> {
  const fresh = !existsSync(dataDir) || readdirSync(dataDir).length === 0;
  const template = fresh ? usableTemplate() : undefined;
  const pg = await PGlite.create({
    dataDir,
    startParams: pgliteStartParams(PGlite.defaultStartParams),
    pgliteWasmModule: modules.pglite,
    initdbWasmModule: modules.initdb,
    ...(template ? { loadDataDir: new Blob([readFileSync(template.file)]) } : {}),
  });
  return { pg, initialised: !fresh ? 'existing' : template ? 'template' : 'initdb' };
}

function errorOf(err: unknown): { message: string; name?: string; code?: string } {
  const e = err as { message?: unknown; name?: unknown; code?: unknown } | null;
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.name === 'string' ? { name: e.name } : {}),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

try {
  const modules = await wasmModules();
  const { pg, initialised } = await open(modules);
  port.on('message', (m: Request) => {
    const run = async (): Promise<Response> => {
      if (m.op === 'query') {
        const r = await pg.query(m.sql, m.params);
        return { id: m.id, ok: true, rows: r.rows, ...(r.affectedRows !== undefined ? { affectedRows: r.affectedRows } : {}) };
      }
      if (m.op === 'exec') {
        await pg.exec(m.sql);
        return { id: m.id, ok: true };
      }
      await pg.close();
      return { id: m.id, ok: true };
    };
    run().then(
      (r) => port.postMessage(r),
      (err: unknown) => port.postMessage({ id: m.id, ok: false, error: errorOf(err) } satisfies Response),
    ).finally(() => {
      if (m.op === 'close') port.close();
    });
  });
  port.postMessage({ ready: true, initialised, modules } satisfies Ready);
} catch (err) {
  port.postMessage({ ready: false, error: errorOf(err).message } satisfies Ready);
}
