// createApp(deps): composes routers and middleware; no logic lives here. main.ts starts it; tests get the real app.
import express, { type Express, type Request, type Router } from 'express';
import type { Questionnaire } from 'fhir/r4';
import type { HookService } from '../hooks/types.js';
import { audienceFor, cdsAuth } from './auth/middleware.js';
import type { JwtVerifier } from './auth/verifier.js';
import type { Config } from './config.js';
import { cdsServicesRouter } from './http/cds-services.js';
import { cors } from './http/cors.js';
import { errorHandler, notFoundHandler } from './http/error-handler.js';
import { fhirRouter } from './http/fhir-routes.js';
import { healthRouter } from './http/health.js';
import { requestLog } from './http/request-log.js';
import { authFailureThrottle, securityHeaders } from './http/security.js';
import type { Logger } from './logger.js';
import type { FeedbackStore } from './store/types.js';

const SERVICE_VERSION = process.env.npm_package_version ?? '0.1.0';

export interface AppDeps {
  config: Config;
  logger: Logger;
  services: HookService[];
  verifier: JwtVerifier;
  feedbackStore: FeedbackStore;
  questionnaires: ReadonlyMap<string, Questionnaire>;
  ready: () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  /** Admin endpoints (assertions, analytics); mounted only when provided. */
  adminRouter?: Router;
  /** The documentation form app (/forms/...); mounted only when provided. */
  formsRouter?: Router;
  /** GET /metrics; mounted only when provided. */
  metricsRouter?: Router;
  onHookResult?: (serviceId: string, status: number, seconds: number) => void;
}

export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const baseUrl = (req: Request) => publicBaseFor(req, config);
  // The JWT `aud` is the exact URL invoked. Feedback tokens may name the feedback URL or the service URL
  // (CDS Hooks 2.0 only gives examples for discovery and service calls).
  const audience = (req: Request): string | string[] => {
    const url = audienceFor(req, baseUrl(req));
    return url.endsWith('/feedback') ? [url, url.slice(0, -'/feedback'.length)] : url;
  };

  app.use(requestLog(logger));
  app.use(securityHeaders());
  app.use(healthRouter(deps.ready));
  // Bearer-token guessing on the admin and metrics endpoints is throttled per address and globally.
  const throttle = authFailureThrottle({
    perAddress: config.limits.authFailuresPerMinute,
    global: config.limits.authFailuresPerMinute * 10,
    logger,
  });
  if (deps.metricsRouter) app.use('/metrics', throttle);
  if (deps.adminRouter) app.use(['/coverage-assertions', '/analytics'], throttle);
  if (deps.metricsRouter) app.use(deps.metricsRouter);
  app.use('/cds-services', cors(config.corsOrigins));
  app.use(
    cdsServicesRouter({
      services: deps.services,
      feedbackStore: deps.feedbackStore,
      bodyLimitBytes: config.bodyLimitBytes,
      maxJsonDepth: config.limits.maxJsonDepth,
      maxDraftOrders: config.limits.maxDraftOrders,
      authenticate: cdsAuth(deps.verifier, audience, logger),
      baseUrl,
      logger,
      onHookResult: deps.onHookResult,
    }),
  );
  // The Questionnaires and the form app are read by browsers on other origins (SMART apps, the sandbox).
  app.use('/fhir', cors(config.corsOrigins));
  app.use(fhirRouter(deps.questionnaires, baseUrl, deps.formsRouter ? { formPath: (id) => `/forms/${encodeURIComponent(id)}`, version: SERVICE_VERSION } : { version: SERVICE_VERSION }));
  if (deps.formsRouter) app.use(deps.formsRouter);
  if (deps.adminRouter) app.use(deps.adminRouter);
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

/**
 * The public base URL of this request: one of the configured PUBLIC_BASE_URL values (the one whose host the request
 * names, else the first), never anything the client sent. Only without any configured value — allowed outside
 * production — is it taken from the request (local development and tests).
 */
export function publicBaseFor(req: Request, config: Pick<Config, 'publicBaseUrls'>): string {
  const bases = config.publicBaseUrls;
  if (bases.length === 0) return `${req.protocol}://${req.get('host') ?? ''}`;
  if (bases.length === 1) return bases[0]!;
  const host = (req.get('host') ?? '').toLowerCase();
  return bases.find((b) => new URL(b).host.toLowerCase() === host) ?? bases[0]!;
}
