// Opens the database (embedded PGlite or PostgreSQL), isolates it in a schema when asked, and migrates it.
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, sql, type ColumnType, type Generated } from 'kysely';
import type pgTypes from 'pg';
import type { Logger } from '../logger.js';
import { migrationProvider } from './migrations/index.js';
import { PGliteDialect } from './pglite-dialect.js';
import { PGliteThread } from './pglite-thread.js';

type Timestamp = ColumnType<Date, string, string>;

export interface AssertionsTable {
  id: string;
  created_at: Timestamp;
  service_id: string;
  hook: string;
  hook_instance: string;
  order_ref: string;
  pump_code: string | null;
  policy_id: string | null;
  policy_version: string | null;
  outcome: string;
  unmet_criteria: string[];
  undocumented_criteria: string[];
  patient_hash: string;
  practitioner_hash: ColumnType<string | null, string | null | undefined, string | null>;
  site: ColumnType<string | null, string | null | undefined, string | null>;
  stored_at: ColumnType<Date, string | undefined, never>;
}

export interface AssertionCardsTable {
  assertion_id: string;
  card_uuid: string;
  position: number;
  indicator: string;
  criteria: string[];
  suggestion_uuids: string[];
  kind: ColumnType<'finding' | 'reference' | 'smart', 'finding' | 'reference' | 'smart' | undefined, never>;
}

export interface FeedbackTable {
  id: Generated<string>;
  card_uuid: string;
  service_id: string;
  outcome: 'accepted' | 'overridden';
  accepted_suggestions: string[];
  override_system: string | null;
  override_code: string | null;
  override_display: string | null;
  user_comment: string | null;
  outcome_timestamp: Timestamp;
  received_at: ColumnType<Date, string | undefined, never>;
}

export interface Database {
  assertions: AssertionsTable;
  assertion_cards: AssertionCardsTable;
  feedback: FeedbackTable;
}

export interface OpenDbOptions {
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL schema (search_path) holding every table, created if missing. */
  schema?: string;
  logger: Logger;
  /** Tests only (PGlite): runs before every statement; throw to simulate an outage. */
  beforeQuery?: () => void;
}

export interface OpenedDb {
  db: Kysely<Database>;
  engine: 'pglite' | 'postgres';
  /** Releases the PGlite data-directory lock (after db.destroy()). */
  release(): Promise<void>;
}

export class StoreStartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreStartupError';
  }
}

/** Bound on connecting and on every statement: past it the store is "unavailable" (503), never a hang. */
export const STORE_TIMEOUT_MS = 5_000;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** "host:port/db" for messages: never the user or password. */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    return `${host}:${u.port || '5432'}/${db}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

function scrub(message: string, databaseUrl: string): string {
  let out = message;
  try {
    const password = decodeURIComponent(new URL(databaseUrl).password);
    if (password) out = out.split(password).join('***');
  } catch {
    /* unparseable URL: nothing to scrub */
  }
  return out.split(databaseUrl).join('(DATABASE_URL)');
}

async function migrate(db: Kysely<Database>, logger: Logger): Promise<void> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: name the current one, or a
  // second schema on the same server would be taken as already migrated.
  const current = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = current.rows[0]?.schema;
  if (!schema) throw new Error('no current schema (check search_path)');
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    if (r.status === 'Success') logger.info({ migration: r.migrationName }, 'store migration applied');
    else if (r.status === 'Error') logger.error({ migration: r.migrationName }, 'store migration failed');
  }
  if (error) throw error;
}

/** Data directories this process has open: the lock file alone cannot tell "mine, still open" from "mine, stale". */
const openDataDirs = new Set<string>();

/** One process per PGlite data directory: a second one would corrupt it. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, 'pumpcheck.lock');
  const key = path.resolve(dataDir);
  if (openDataDirs.has(key)) throw new StoreStartupError(`DATA_DIR ${dataDir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      openDataDirs.add(key);
      return async () => {
        openDataDirs.delete(key);
        await unlink(lockPath).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      let alive = false;
      // Our own pid in the file is a leftover of a previous run (containers restart with the same pid).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (e) {
          alive = (e as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) {
        throw new StoreStartupError(
          `DATA_DIR ${dataDir} is in use by process ${pid}; embedded PGlite allows one process (set DATABASE_URL for several)`,
        );
      }
      await unlink(lockPath).catch(() => undefined);
    }
  }
  throw new StoreStartupError(`cannot lock DATA_DIR ${dataDir}`);
}

export async function openDb(opts: OpenDbOptions): Promise<OpenedDb> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new StoreStartupError(`invalid store schema name "${opts.schema}"`);
  }
  const setSearchPath = opts.schema ? CompiledQuery.raw(`set search_path to ${quoteIdent(opts.schema)}`) : undefined;
  const createSchema = opts.schema ? `create schema if not exists ${quoteIdent(opts.schema)}` : undefined;

  if (!opts.databaseUrl) {
    await mkdir(opts.dataDir, { recursive: true });
    const release = await lockDataDir(opts.dataDir);
    let db: Kysely<Database> | undefined;
    let pgliteHandle: PGliteThread | undefined;
    try {
      // In a worker thread: the WebAssembly database's CPU time is kept off the thread that serves requests.
      const pglite = await PGliteThread.create(path.join(opts.dataDir, 'pglite'));
      pgliteHandle = pglite;
      opts.logger.info({ initialised: pglite.initialised }, 'embedded database open');
      if (createSchema) await pglite.exec(createSchema);
      db = new Kysely<Database>({
        dialect: new PGliteDialect({
          pglite,
          beforeQuery: opts.beforeQuery,
          onInit: setSearchPath ? async (conn) => void (await conn.executeQuery(setSearchPath)) : undefined,
        }),
      });
      await migrate(db, opts.logger);
      return { db, engine: 'pglite', release };
    } catch (err) {
      await db?.destroy().catch(() => undefined);
      await pgliteHandle?.close().catch(() => undefined);
      await release();
      if (err instanceof StoreStartupError) throw err;
      throw new StoreStartupError(`cannot open embedded database in ${opts.dataDir}: ${(err as Error).message}`);
    }
  }

  const databaseUrl = opts.databaseUrl;
  const where = describeDatabaseUrl(databaseUrl);
  // The driver is loaded only for PostgreSQL: with the embedded store the worker never needs it (≈ 14 modules).
  const { default: pg } = await import('pg');
  const poolConfig: pgTypes.PoolConfig = {
    connectionString: databaseUrl,
    max: 10,
    connectionTimeoutMillis: STORE_TIMEOUT_MS,
    // A link that stalls after connecting (open, no bytes) must fail like a refused one, within the same bound:
    // query_timeout is enforced by the client (the server may never see the query), statement_timeout by the server.
    query_timeout: STORE_TIMEOUT_MS,
    statement_timeout: STORE_TIMEOUT_MS,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    application_name: 'pumpcheck',
  };
  // Fail fast and clearly before building the pool: a reachable server and a usable schema.
  const probe = new pg.Client(poolConfig);
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.query('select 1');
    if (createSchema) await probe.query(createSchema);
  } catch (err) {
    throw new StoreStartupError(`cannot connect to PostgreSQL at ${where}: ${scrub((err as Error).message, databaseUrl)}`);
  } finally {
    await probe.end().catch(() => undefined);
  }

  const pool = new pg.Pool(poolConfig);
  // Idle clients whose server went away emit 'error'; without a listener that would crash the process.
  pool.on('error', (err) => opts.logger.warn({ err: { message: scrub(err.message, databaseUrl) } }, 'store: idle connection lost'));
  // A connection that dies while checked out (query in flight) also emits 'error' on its client, where pg-pool has
  // no listener: unhandled, that would crash the process. The query itself is rejected and the pool discards the
  // broken client on release, so logging is all that is left to do.
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.logger.warn({ err: { message: scrub(err.message, databaseUrl) } }, 'store: connection lost'));
  });
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      onCreateConnection: setSearchPath ? async (conn) => void (await conn.executeQuery(setSearchPath)) : undefined,
    }),
  });
  try {
    await migrate(db, opts.logger);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StoreStartupError(`cannot migrate PostgreSQL at ${where}: ${scrub((err as Error).message, databaseUrl)}`);
  }
  return { db, engine: 'postgres', release: async () => undefined };
}

/** Drops a test schema and everything in it (tests only). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${quoteIdent(schema)} cascade`);
  } finally {
    await client.end();
  }
}

export { sql };
