// Starts the service: configuration → store → app → listen, with a graceful shutdown on SIGTERM/SIGINT.
// WEB_CONCURRENCY=N runs N workers (node:cluster) sharing the port; the primary only supervises them.
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config.js';
import { IDLE_GC_FLAG } from './idle-gc.js';
import { createLogger, type Logger } from './logger.js';
import { isAggregateRequest, type AggregateRequest } from './metrics-wire.js';
import { workerExecArgv } from './worker-flags.js';

/** sysexits.h EX_CONFIG: the configuration (environment or policy files) is wrong; restarting will not help. */
const EX_CONFIG = 78;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pumpcheck: configuration error: ${err.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw err;
  }
}

async function runWorker(config: Config, logger: Logger): Promise<void> {
  // Loaded here, not at the top: the supervising primary needs none of it, so it starts (and restarts) fast.
  // The store first: it opens on its own thread (embedded PGlite compiles its WebAssembly and starts PostgreSQL there)
  // or over the network — the longest part of start-up — while this thread loads the rest and checks the policies.
  const { openStore } = await import('./store/index.js');
  const opening = openStore({ store: config.store, logger });
  opening.catch(() => undefined); // awaited below; a failure is reported there
  const [{ compose, loadPolicies }, { prepareRequestValidation }, { adminRouter }, { analyticsLabels }, { createHttpServer }, { createMetrics }, { startIdleGc }] = await Promise.all([
    import('./compose.js'),
    import('./cds/schemas.js'),
    import('./http/admin.js'),
    import('./http/analytics-labels.js'),
    import('./http/server.js'),
    import('./metrics.js'),
    import('./idle-gc.js'),
  ]);
  let policySet;
  try {
    policySet = loadPolicies(config);
  } catch (err) {
    await opening.then((s) => s.close(), () => undefined);
    throw err;
  }
  const store = await opening;
  const metrics = createMetrics({ token: config.metricsToken });
  metrics.observeStore(() => store.assertionSink.stats());
  const composed = compose(config, logger, {
    feedbackStore: store.feedbackStore,
    assertionSink: store.assertionSink,
    readinessChecks: { store: () => store.health() },
    adminRouterFor: (policySet) => adminRouter({ store, adminToken: config.adminToken, logger, labels: analyticsLabels(policySet) }),
    metrics,
    // Several processes (workers, replicas) share PostgreSQL: a token seen by one must be refused by the others.
    // PGlite means a single process, whose own memory already sees every token.
    replayGuard: store.engine === 'postgres' ? store.replayGuard : undefined,
    policySet,
  });

  const server: Server = createHttpServer(composed.app, config.limits);
  const stopIdleGc = startIdleGc(server);
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      {
        port,
        pid: process.pid,
        host: config.host,
        policies: composed.policySet.policies.map((p) => `${p.id}@${p.version}`),
        store: store.engine,
        auth: Object.keys(config.auth.trustedIssuers).length > 0 ? 'jwt' : 'disabled',
      },
      'pumpcheck listening',
    );
    // Tells the supervising primary that this worker started: from then on a dying worker is replaced, whatever its code.
    if (cluster.isWorker) process.send?.({ pumpcheck: 'listening' });
    // The request validators are compiled after listening rather than on the start-up path (≈ 80 ms of ajv).
    setImmediate(prepareRequestValidation);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('forced exit after grace period');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    // Stop accepting, let in-flight requests finish, and drop idle keep-alive sockets so close() can complete.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    stopIdleGc();
    await closed;
    await store.close().catch((err: Error) => logger.error({ err: { message: err.message } }, 'store close failed'));
    composed.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * The cluster primary only supervises: it forks `webConcurrency` workers (one by default) and replaces any that dies
 * — an out-of-memory kill, an uncaught exception — so the service comes back without an outside supervisor. A worker
 * that keeps dying right after start is restarted with a growing delay (1 s, 2 s, 4 s … 30 s), not in a hot loop.
 */
function runPrimary(config: Config, logger: Logger): void {
  logger.info({ workers: config.webConcurrency }, 'starting workers');
  let stopping = false;
  let quickDeaths = 0;
  const started = new Map<number, number>();
  cluster.setupPrimary({ execArgv: [...workerExecArgv(process.execArgv, config.workerSemiSpaceMb, process.env.NODE_OPTIONS), IDLE_GC_FLAG] });
  // glibc gives each thread that allocates its own malloc arena (up to 8 per core); the embedded database's thread and
  // V8's compiler threads then keep tens of MiB of freed memory spread over them. Two arenas keep it reusable (glibc
  // reads this at process start, so it is set for the forked worker; an operator's own value wins).
  const workerEnv = { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
  const fork = () => {
    const worker = cluster.fork(workerEnv);
    started.set(worker.id, Date.now());
  };
  for (let i = 0; i < config.webConcurrency; i++) fork();
  // A worker that cannot start because of the configuration or the policies (a typo in a policy file) exits with
  // EX_CONFIG: until some worker has started, that stops the service — a restart loop would never fix a typo.
  let anyStarted = false;
  // Metrics aggregation (prom-client, express: ≈ 0.2 s of CPU) is loaded once the first worker listens, not while
  // the workers start on the same cores; a scrape that reaches a worker before it has loaded is held, then answered.
  const held: [Worker, AggregateRequest][] = [];
  const hold = (worker: Worker, message: unknown) => {
    if (isAggregateRequest(message)) held.push([worker, message]);
  };
  cluster.on('message', hold);
  cluster.on('message', (_worker, message: unknown) => {
    if ((message as { pumpcheck?: string } | null)?.pumpcheck !== 'listening' || anyStarted) return;
    anyStarted = true;
    void import('./metrics.js').then(
      ({ serveClusterMetrics }) => {
        cluster.off('message', hold);
        serveClusterMetrics(held.splice(0));
      },
      (err: Error) => logger.error({ err: { message: err.message } }, 'cluster metrics unavailable'),
    );
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (code === EX_CONFIG && !anyStarted) {
      stopping = true;
      logger.fatal({ worker: worker.id, code }, 'a worker could not start (configuration or policy error, see above): stopping');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exit(EX_CONFIG);
    }
    const lived = Date.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    quickDeaths = lived < 10_000 ? quickDeaths + 1 : 0;
    const delay = Math.min(30_000, 1000 * 2 ** Math.max(0, quickDeaths - 1));
    logger.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited; starting a replacement');
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill(signal);
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 2000);
    force.unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel, cluster.isWorker ? { base: { service: 'pumpcheck', worker: cluster.worker?.id } } : {});
  if (cluster.isPrimary && Object.keys(config.auth.trustedIssuers).length === 0) {
    logger.warn(
      { nodeEnv: config.nodeEnv },
      '!!! AUTHENTICATION DISABLED: no trusted issuers configured (CDS_TRUSTED_ISSUERS). Every request is accepted. ' +
        'Never run like this with real patient data; NODE_ENV=production refuses to start this way. !!!',
    );
  }
  if (cluster.isPrimary && config.fhir.serverAllowlist.includes('*')) {
    logger.warn(
      { nodeEnv: config.nodeEnv },
      'FHIR_SERVER_ALLOWLIST allows any public fhirServer and this machine\'s loopback (the development default): name your EHRs\' FHIR servers before real use',
    );
  }
  if (cluster.isPrimary && config.publicBaseUrls.length === 0) {
    logger.warn('PUBLIC_BASE_URL is not set: the JWT audience and card links follow the Host header (development only)');
  }
  if (config.supervise && cluster.isPrimary) {
    runPrimary(config, logger);
    return;
  }
  await runWorker(config, logger);
}

main().catch((err: Error) => {
  process.stderr.write(`pumpcheck: failed to start: ${err.message}\n`);
  // A policy file that does not load is a configuration error: EX_CONFIG, so the supervisor stops instead of retrying.
  process.exit(err?.name === 'PolicyLoadError' || err instanceof ConfigError ? EX_CONFIG : 1);
});
