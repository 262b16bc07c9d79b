// Starts the service: configuration → store → app → listen, and a graceful shutdown on SIGTERM/SIGINT.
import type { Server } from 'node:http';
import { compose } from './compose.js';
import { ConfigError, loadConfig } from './config.js';
import { adminRouter } from './http/admin.js';
import { createLogger } from './logger.js';
import { openStore } from './store/index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pumpcheck: configuration error: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (Object.keys(config.auth.trustedIssuers).length === 0) {
    logger.warn(
      { nodeEnv: config.nodeEnv },
      '!!! AUTHENTICATION DISABLED: no trusted issuers configured (CDS_TRUSTED_ISSUERS). Every request is accepted. ' +
        'Never run like this with real patient data; NODE_ENV=production refuses to start this way. !!!',
    );
  }

  const store = await openStore({ store: config.store, logger });
  const composed = compose(config, logger, {
    feedbackStore: store.feedbackStore,
    assertionSink: store.assertionSink,
    readinessChecks: { store: () => store.health() },
    adminRouter: adminRouter({ store, adminToken: config.adminToken, logger }),
  });

  const server: Server = composed.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      { port, host: config.host, policies: composed.policySet.policies.map((p) => `${p.id}@${p.version}`), store: config.store.databaseUrl ? 'postgresql' : 'pglite' },
      'pumpcheck listening',
    );
  });
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
    await store.assertionSink.flush().catch(() => undefined);
    await store.close().catch(() => undefined);
    composed.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: Error) => {
  process.stderr.write(`pumpcheck: failed to start: ${err.message}\n`);
  process.exit(1);
});
