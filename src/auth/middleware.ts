// Express glue for the client JWT: one place that turns a refusal into a detail-free 401.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { unauthorized } from '../http/errors.js';
import type { Logger } from '../logger.js';
import { AuthError, type JwtVerifier } from './verifier.js';

/**
 * Verifies `Authorization: Bearer <JWT>` against the URL being invoked and stores the caller in `res.locals.caller`.
 * OPTIONS passes through: CORS preflights carry no Authorization header.
 */
export function cdsAuth(
  verifier: JwtVerifier,
  resolveAudience: (req: Request) => string | readonly string[],
  logger?: Logger,
): RequestHandler {
  const log = logger ?? verifier.logger;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS') return next();
    try {
      res.locals.caller = await verifier.verify(req.headers.authorization, resolveAudience(req));
    } catch (err) {
      if (err instanceof AuthError) {
        // Identifiers only: the token itself is a bearer credential and never reaches the logs.
        log?.warn({ reason: err.reason, ...err.details }, 'client JWT refused');
        return next(unauthorized());
      }
      return next(err);
    }
    return next();
  };
}

/**
 * The exact URL the client invoked, as it must appear in `aud`. Behind a proxy the scheme, host and any path prefix seen
 * by the client differ from what reaches us, so `publicBaseUrl` (scheme://host[:port][/prefix]) replaces them.
 */
export function audienceFor(req: Request, publicBaseUrl?: string): string {
  const path = req.originalUrl.split('?', 1)[0] ?? '';
  const base = publicBaseUrl !== undefined ? publicBaseUrl.replace(/\/+$/, '') : `${req.protocol}://${req.get('host') ?? ''}`;
  return `${base}${path}`;
}
