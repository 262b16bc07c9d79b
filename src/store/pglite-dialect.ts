// Kysely dialect for embedded PGlite. PGlite is one in-process PostgreSQL backend with a single session, so the
// driver hands out that one connection under a mutex: a transaction must never interleave with other queries.
// SQL generation is PostgreSQL's own (PostgresAdapter/QueryCompiler), so both engines run the same statements.
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { PGliteLike } from './pglite-thread.js';

export interface PGliteDialectConfig {
  /** The embedded database: in production a worker-thread handle (PGliteThread); PGlite itself fits too. */
  pglite: PGliteLike;
  /** Runs before every statement; throwing simulates an unavailable database (tests only). */
  beforeQuery?: () => void;
  /** Statements run once, before first use (e.g. `SET search_path`). */
  onInit?: (conn: DatabaseConnection) => Promise<void>;
}

export class PGliteDialect implements Dialect {
  constructor(private readonly config: PGliteDialectConfig) {}
  createDriver(): Driver {
    return new PGliteDriver(this.config);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

class Mutex {
  #tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    await previous;
    return release;
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(
    private readonly pglite: PGliteLike,
    private readonly beforeQuery?: () => void,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    this.beforeQuery?.();
    const result = await this.pglite.query<R>(compiled.sql, [...compiled.parameters]);
    const command = compiled.query?.kind;
    const isWrite = command === 'InsertQueryNode' || command === 'UpdateQueryNode' || command === 'DeleteQueryNode';
    return {
      rows: result.rows,
      numAffectedRows: isWrite || /^\s*(insert|update|delete|merge)\b/i.test(compiled.sql)
        ? BigInt(result.affectedRows ?? 0)
        : undefined,
    };
  }

  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the PGlite dialect');
  }
}

class PGliteDriver implements Driver {
  readonly #mutex = new Mutex();
  readonly #connection: PGliteConnection;
  #release: (() => void) | undefined;
  #initialised = false;

  constructor(private readonly config: PGliteDialectConfig) {
    this.#connection = new PGliteConnection(config.pglite, config.beforeQuery);
  }

  async init(): Promise<void> {
    await this.config.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#mutex.lock();
    this.#release = release;
    if (!this.#initialised && this.config.onInit) {
      try {
        await this.config.onInit(this.#connection);
        this.#initialised = true;
      } catch (err) {
        this.#release = undefined;
        release();
        throw err;
      }
    }
    return this.#connection;
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let sql = 'start transaction';
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) sql += ` ${settings.accessMode}`;
    await conn.executeQuery(CompiledQuery.raw(sql));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    // A failed rollback (e.g. simulated outage) must not leave the single session inside a transaction.
    try {
      await conn.executeQuery(CompiledQuery.raw('rollback'));
    } catch {
      if (!this.config.pglite.closed) await this.config.pglite.query('rollback').catch(() => undefined);
    }
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    if (!this.config.pglite.closed) await this.config.pglite.close();
  }
}
