// `npm run sandbox`: the order-entry sandbox on http://127.0.0.1:$PORT/ (PORT default 8080).
//   /                     the sandbox page (a small EHR, page.ts)
//   /sandbox/jwt          the EHR's token service: an ES384 JWT for {aud}, signed with a key made at start-up
//   everything else       the real pumpcheck service (compose(), as main.ts runs it) on an embedded store, trusting
//                         only that key — CDS calls and feedback are authenticated exactly as from an EHR
//   FHIR server           sandbox/fhir-server.ts on $SANDBOX_FHIR_PORT (default 8090): the example patients, CORS,
//                         SMART EHR launch for the documentation form
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { compose } from '../src/compose.js';
import { loadConfig } from '../src/config.js';
import { adminRouter } from '../src/http/admin.js';
import { analyticsLabels } from '../src/http/analytics-labels.js';
import { createLogger, silentLogger } from '../src/logger.js';
import { openStore, type Store } from '../src/store/index.js';
import { startSandboxFhirServer, type SandboxFhirServer } from './fhir-server.js';
import { renderSandboxPage } from './page.js';
import { sandboxRecords } from './seed.js';

export const SANDBOX_ISSUER = 'https://sandbox.pumpcheck.local';
export const SANDBOX_ADMIN_TOKEN = 'sandbox-admin-token-not-secret';
const USER_ID = 'PractitionerRole/pr-endo-1';

export interface Sandbox {
  url: string;
  fhir: SandboxFhirServer;
  store: Store;
  close(): Promise<void>;
}

export interface SandboxOptions {
  port?: number;
  fhirPort?: number;
  host?: string;
  /** YYYY-MM-DD orders are dated (default: today, UTC). */
  today?: string;
  quiet?: boolean;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  const { resources, patients } = sandboxRecords(today);
  const fhir = await startSandboxFhirServer({ port: opts.fhirPort ?? 0, host, resources });

  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  const kid = `sandbox-${randomUUID().slice(0, 8)}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384', use: 'sig' };

  const outer = express();
  const server = await new Promise<Server>((resolve, reject) => {
    const s = outer.listen(opts.port ?? 8080, host, () => resolve(s));
    s.once('error', reject);
  });
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;

  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'pumpcheck-sandbox-'));
  const env = {
    NODE_ENV: 'development',
    LOG_LEVEL: opts.quiet ? 'silent' : 'warn',
    CDS_TRUSTED_ISSUERS: JSON.stringify({ [SANDBOX_ISSUER]: { jwks: { keys: [jwk] } } }),
    SMART_APP_URL: `${url}/forms/launch`,
    CORS_ORIGINS: url,
    ADMIN_TOKEN: SANDBOX_ADMIN_TOKEN,
    DATA_DIR: dataDir,
    // The in-memory FHIR server shares this process with every example patient: give fallback queries room.
    FHIR_QUERY_TIMEOUT_MS: '20000',
    FHIR_TOTAL_BUDGET_MS: '30000',
  };
  const config = loadConfig(env);
  const logger = opts.quiet ? silentLogger : createLogger(config.logLevel);
  const store = await openStore({ store: config.store, logger });
  const composed = compose(
    config,
    logger,
    {
      feedbackStore: store.feedbackStore,
      assertionSink: store.assertionSink,
      adminRouterFor: (policySet) => adminRouter({ store, adminToken: SANDBOX_ADMIN_TOKEN, logger, labels: analyticsLabels(policySet) }),
    },
    env,
  );

  outer.disable('x-powered-by');
  outer.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      renderSandboxPage({ fhirBase: fhir.url, jwtPath: '/sandbox/jwt', serviceBase: url, userId: USER_ID, patients, today }),
    );
  });
  outer.post('/sandbox/jwt', express.json({ limit: '4kb' }), async (req, res) => {
    const aud = (req.body as { aud?: unknown })?.aud;
    if (typeof aud !== 'string' || !aud.startsWith(`${url}/cds-services`)) {
      res.status(400).json({ error: 'aud must be a URL of this service' });
      return;
    }
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES384', kid, typ: 'JWT' })
      .setIssuer(SANDBOX_ISSUER)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(privateKey);
    res.json({ token });
  });
  outer.use(composed.app);

  return {
    url,
    fhir,
    store,
    async close() {
      composed.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await fhir.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const sandbox = await startSandbox({
    port: Number(process.env.PORT ?? 8080),
    fhirPort: Number(process.env.SANDBOX_FHIR_PORT ?? 8090),
    host: process.env.HOST ?? '127.0.0.1',
  });
  process.stdout.write(
    [
      `pumpcheck order-entry sandbox: ${sandbox.url}/`,
      `  EHR FHIR server (example patients, open, CORS, SMART launch): ${sandbox.fhir.url}`,
      `  service: ${sandbox.url}/cds-services · documentation forms: ${sandbox.url}/forms/csii-documentation`,
      `  analytics: ${sandbox.url}/analytics (admin token "${SANDBOX_ADMIN_TOKEN}")`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
