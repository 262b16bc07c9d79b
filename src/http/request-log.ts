// Per-request id and one structured log line per request: method, route, status, duration. Ids only, never PHI.
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9\-_.]{1,64}$/;

/**
 * What the log says about the path: the matched route template (`/cds-services/:id`), or `(unmatched)`. Never the
 * path itself: an unmatched path (a client's mistake, a probe) can carry a patient id or other PHI.
 */
export function routeOf(req: Request): string {
  return req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : '(unmatched)';
}

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const start = process.hrtime.bigint();
    const log = logger.child({ requestId });
    res.locals.log = log;
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      const fields: Record<string, unknown> = {
        method: req.method,
        path: routeOf(req),
        status: res.statusCode,
        durationMs: Math.round(durationMs * 10) / 10,
      };
      if (res.locals.serviceId) fields.serviceId = res.locals.serviceId;
      if (res.locals.hookInstance) fields.hookInstance = res.locals.hookInstance;
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
      log[level](fields, 'request');
    });
    next();
  };
}
