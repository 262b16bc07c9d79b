// Starts the service: configuration → store → app → listen, with a graceful shutdown on SIGTERM/SIGINT.
// WEB_CONCURRENCY=N runs N workers (node:cluster) sharing the port; the primary only supervises them.
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { compose } from './compose.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { adminRouter } from './http/admin.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, serveClusterMetrics } from './metrics.js';
import { openStore } from './store/index.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pumpcheck: configuration error: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

async function runWorker(config: Config, logger: Logger): Promise<void> {
  const store = await openStore({ store: config.store, logger });
  const metrics = createMetrics({ token: config.metricsToken });
  metrics.observeStore(() => store.assertionSink.stats());
  const composed = compose(config, logger, {
    feedbackStore: store.feedbackStore,
    assertionSink: store.assertionSink,
    readinessChecks: { store: () => store.health() },
    adminRouter: adminRouter({ store, adminToken: config.adminToken, logger }),
    metrics,
    // Several processes (workers, replicas) share PostgreSQL: a token seen by one must be refused by the others.
    // PGlite means a single process, whose own memory already sees every token.
    replayGuard: store.engine === 'postgres' ? store.replayGuard : undefined,
  });

  const server: Server = composed.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      {
        port,
        host: config.host,
        policies: composed.policySet.policies.map((p) => `${p.id}@${p.version}`),
        store: store.engine,
        auth: Object.keys(config.auth.trustedIssuers).length > 0 ? 'jwt' : 'disabled',
      },
      'pumpcheck listening',
    );
  });
  // Longer than typical proxy idle timeouts, so the proxy closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;

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
    await closed;
    await store.close().catch((err: Error) => logger.error({ err: { message: err.message } }, 'store close failed'));
    composed.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function runPrimary(config: Config, logger: Logger): void {
  logger.info({ workers: config.webConcurrency }, 'starting workers');
  serveClusterMetrics();
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.webConcurrency; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ worker: worker.id, code, signal }, 'worker exited; starting a replacement');
    setTimeout(fork, 1000).unref();
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
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
  if (config.webConcurrency > 1 && cluster.isPrimary) {
    runPrimary(config, logger);
    return;
  }
  await runWorker(config, logger);
}

main().catch((err: Error) => {
  process.stderr.write(`pumpcheck: failed to start: ${err.message}\n`);
  process.exit(1);
});
