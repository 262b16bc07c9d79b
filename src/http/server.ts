// The HTTP server around the app, with the time limits of the configuration actually enforced.
import http, { type Server } from 'node:http';
import type { RequestListener } from 'node:http';
import type { Config } from '../config.js';

/**
 * Node checks `requestTimeout`/`headersTimeout` only every `connectionsCheckingInterval` (30 s by default), so a
 * stalled body used to be held for the timeout plus up to 30 s more (about 70 s for a 30 s setting). Checking every
 * second keeps the real bound within a second of the configured one.
 */
export function createHttpServer(app: RequestListener, limits: Config['limits']): Server {
  const server = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  // Longer than typical proxy idle timeouts, so the proxy closes idle connections first.
  server.keepAliveTimeout = 65_000;
  return server;
}
