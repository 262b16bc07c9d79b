// Main-thread handle on the embedded database running in a worker thread (src/store/pglite-worker.ts). Implements
// the part of PGlite's interface the Kysely dialect and openDb use (query, exec, close, closed, waitReady), so the
// rest of the store is unchanged; statements are answered in the order sent (the dialect's mutex keeps a
// transaction's statements together, exactly as with an in-process PGlite).
import { Worker } from 'node:worker_threads';
import type { Ready, Request, Response, WasmModules } from './pglite-worker.js';

/** Compiled by the first worker of the process, reused by later ones. */
let compiled: WasmModules | undefined;

export interface PGliteLike {
  readonly waitReady: Promise<void>;
  readonly closed: boolean;
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

/** An error from the worker, with PostgreSQL's SQLSTATE `code` kept (the sink tells permanent from transient by it). */
export class PGliteThreadError extends Error {
  readonly code?: string;
  constructor(e: { message: string; name?: string; code?: string }) {
    super(e.message);
    this.name = e.name ?? 'PGliteThreadError';
    if (e.code) this.code = e.code;
  }
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Pending = { resolve: (r: Response & { ok: true }) => void; reject: (e: Error) => void };

export class PGliteThread implements PGliteLike {
  readonly waitReady: Promise<void>;
  /** How the data directory came to be: opened as found, unpacked from the template, or made by initdb. */
  initialised: 'existing' | 'template' | 'initdb' | undefined;
  #closed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #worker: Worker;

  private constructor(dataDir: string) {
    const here = import.meta.url;
    const options = { workerData: { dataDir, ...(compiled ? { modules: compiled } : {}) }, resourceLimits: { maxOldGenerationSizeMb: 64 } };
    // Under tsx/vitest the source is TypeScript: the worker registers the same loader before importing it.
    // (The worker's own JS heap holds little: PGlite's memory is a WebAssembly.Memory outside it.)
    this.#worker = here.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(new URL('./pglite-worker.ts', here).href)}); })`,
          { ...options, eval: true },
        )
      : new Worker(new URL('./pglite-worker.js', here), options);
    this.waitReady = new Promise<void>((resolve, reject) => {
      const onReady = (m: Ready) => {
        if (m.ready) {
          this.initialised = m.initialised;
          compiled ??= m.modules;
          this.#worker.on('message', (r: Response) => this.#settle(r));
          resolve();
        } else {
          this.#closed = true;
          void this.#worker.terminate();
          reject(new Error(m.error));
        }
      };
      this.#worker.once('message', onReady);
      this.#worker.once('error', (err) => {
        this.#closed = true;
        reject(err);
        this.#failAll(err);
      });
      this.#worker.once('exit', (code) => {
        this.#closed = true;
        const err = new Error(`embedded database thread exited (code ${code})`);
        reject(err);
        this.#failAll(err);
      });
    });
  }

  /** Starts the worker and waits until the database is open. */
  static async create(dataDir: string): Promise<PGliteThread> {
    const t = new PGliteThread(dataDir);
    await t.waitReady;
    if (t.initialised === 'existing') return t;
    // Unpacking the template (or initdb) leaves ~150–500 MiB of allocator memory behind in that thread; a thread of
    // its own for it, ended once the directory exists, gives the memory back. Reopening costs about a second.
    const made = t.initialised;
    await t.close();
    const fresh = new PGliteThread(dataDir);
    await fresh.waitReady;
    fresh.initialised = made;
    return fresh;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #settle(r: Response): void {
    const p = this.#pending.get(r.id);
    if (!p) return;
    this.#pending.delete(r.id);
    if (r.ok) p.resolve(r);
    else p.reject(new PGliteThreadError(r.error));
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #send(req: WithoutId<Request>): Promise<Response & { ok: true }> {
    if (this.#closed) return Promise.reject(new Error('embedded database is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...req, id } as Request);
    });
  }

  async query<R>(sql: string, params: unknown[] = []): Promise<{ rows: R[]; affectedRows?: number }> {
    const r = await this.#send({ op: 'query', sql, params });
    return { rows: (r.rows ?? []) as R[], ...(r.affectedRows !== undefined ? { affectedRows: r.affectedRows } : {}) };
  }

  async exec(sql: string): Promise<void> {
    await this.#send({ op: 'exec', sql });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#send({ op: 'close' });
    } finally {
      this.#closed = true;
      await this.#worker.terminate();
    }
  }
}
