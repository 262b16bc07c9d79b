// The CDS Hooks 2.0 endpoints: discovery, service invocation and feedback.
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { HookService } from '../../hooks/types.js';
import type { CdsRequest, FeedbackRequest } from '../cds/types.js';
import { validateFeedback, validateRequest } from '../cds/schemas.js';
import type { Logger } from '../logger.js';
import type { FeedbackStore } from '../store/types.js';
import { InvalidFeedbackError, StoreUnavailableError } from '../store/types.js';
import { HttpError, badRequest, notFound, serviceUnavailable } from './errors.js';
import { validateFeedbackValues } from './feedback-limits.js';
import { checkDraftOrderCount, depthGuard } from './limits.js';

export interface CdsRoutesDeps {
  services: HookService[];
  feedbackStore: FeedbackStore;
  bodyLimitBytes: number;
  /** Deepest JSON nesting accepted in a body (400 beyond). */
  maxJsonDepth: number;
  /** Most `context.draftOrders` entries accepted in one call (400 beyond). */
  maxDraftOrders: number;
  /** Authentication middleware (JWT); runs after CORS, before body parsing. */
  authenticate: RequestHandler;
  baseUrl: (req: Request) => string;
  logger: Logger;
  /** Observer for metrics; must not throw. */
  onHookResult?: (serviceId: string, status: number, seconds: number) => void;
}

/** Only JSON bodies; anything else is 415 before a byte is parsed. */
const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is(['application/json', 'application/fhir+json', 'application/*+json'])) {
    next(new HttpError(415, 'not-supported', 'Content-Type must be application/json'));
    return;
  }
  next();
};

function issuesToError(issues: { path: string; message: string }[], what: string): HttpError {
  const shown = issues.slice(0, 10);
  const text = shown.map((i) => `${i.path} ${i.message}`).join('; ');
  return badRequest(`Invalid ${what}: ${text}${issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : ''}`, shown.map((i) => i.path));
}

export function cdsServicesRouter(deps: CdsRoutesDeps): Router {
  const router = express.Router();
  const byId = new Map(deps.services.map((s) => [s.definition.id, s]));
  const json = express.json({ limit: deps.bodyLimitBytes, type: () => true, strict: true, verify: depthGuard(deps.maxJsonDepth) });

  const known: RequestHandler = (req, res, next) => {
    const service = byId.get(String(req.params.id));
    if (!service) {
      next(notFound(`Unknown CDS service "${req.params.id}"`));
      return;
    }
    res.locals.serviceId = service.definition.id;
    res.locals.service = service;
    next();
  };

  router.get('/cds-services', deps.authenticate, (_req, res) => {
    res.json({ services: deps.services.map((s) => s.definition) });
  });

  router.post('/cds-services/:id', deps.authenticate, known, requireJson, json, async (req, res, next) => {
    const service = res.locals.service as HookService;
    const started = process.hrtime.bigint();
    const log = (res.locals.log as Logger).child({ serviceId: service.definition.id });
    try {
      const body = req.body as unknown;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
      // Before schema validation: the cost of everything after grows with the number of orders.
      checkDraftOrderCount((body as { context?: unknown }).context, deps.maxDraftOrders);
      const issues = validateRequest(body);
      if (issues.length > 0) throw issuesToError(issues, 'CDS Hooks request');
      const request = body as CdsRequest;
      if (request.hook !== service.hook) {
        throw badRequest(`Service "${service.definition.id}" answers the ${service.hook} hook, not ${request.hook}`, ['hook']);
      }
      res.locals.hookInstance = request.hookInstance;
      const response = await service.handle({
        request,
        logger: log.child({ hookInstance: request.hookInstance }),
        requestTime: new Date(),
        baseUrl: deps.baseUrl(req),
      });
      res.json(response);
    } catch (err) {
      next(err);
    } finally {
      deps.onHookResult?.(service.definition.id, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    }
  });

  router.post('/cds-services/:id/feedback', deps.authenticate, known, requireJson, json, async (req, res, next) => {
    try {
      const issues = validateFeedback(req.body);
      if (issues.length > 0) throw issuesToError(issues, 'feedback');
      // Values the schema allows but no store can keep (NUL, year 0, megabyte ids): 400, so 503 only ever means
      // "the database is unavailable, retry".
      const valueIssues = validateFeedbackValues(req.body);
      if (valueIssues.length > 0) throw issuesToError(valueIssues, 'feedback');
      const body = req.body as FeedbackRequest;
      const result = await deps.feedbackStore.saveFeedback(res.locals.serviceId as string, body.feedback);
      (res.locals.log as Logger).info({ items: body.feedback.length, ...result }, 'feedback stored');
      res.status(200).json(result);
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        next(serviceUnavailable('Feedback could not be stored right now; retry later', 5));
        return;
      }
      if (err instanceof InvalidFeedbackError) {
        next(badRequest(`Invalid feedback: ${err.message}`));
        return;
      }
      next(err);
    }
  });

  return router;
}
