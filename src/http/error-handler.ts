// The one place errors become HTTP responses: FHIR OperationOutcome bodies, no stack traces, no PHI.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { HttpError, operationOutcome } from './errors.js';
import { routeOf } from './request-log.js';

/** Body-parser errors carry `type` and `status`; map the ones a client can cause to clear messages. */
function fromBodyParser(err: { type?: string; status?: number; limit?: number }): HttpError | undefined {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpError(413, 'too-costly', `Request body exceeds the limit of ${err.limit} bytes`);
    case 'entity.parse.failed':
      return new HttpError(400, 'structure', 'Request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'not-supported', 'Unsupported content encoding or charset');
    case 'request.aborted':
      return new HttpError(400, 'incomplete', 'Request body was not received completely');
    default:
      return undefined;
  }
}

/**
 * Errors from Express itself and from the body reader that carry a 4xx status (http-errors style) are the client's
 * fault: a 400 with a fixed message (their own text may quote the path, which can hold a patient id).
 */
function fromClientError(err: { status?: unknown; statusCode?: unknown; code?: unknown; name?: unknown }): HttpError | undefined {
  const status = typeof err.status === 'number' ? err.status : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  if (err instanceof URIError || (status === 400 && err.name === 'URIError')) {
    return new HttpError(400, 'invalid', 'Request path has malformed percent-encoding');
  }
  if (status === undefined || status < 400 || status > 499) return undefined;
  if (typeof err.code === 'string' && /^Z_|^ERR_(ZLIB|BROTLI)/.test(err.code)) {
    return new HttpError(400, 'invalid', 'Request body could not be decompressed (Content-Encoding does not match the body)');
  }
  return new HttpError(status, 'invalid', status === 400 ? 'Malformed request' : 'Request refused');
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError =
      err instanceof HttpError ? err : (fromBodyParser((err ?? {}) as object) ?? fromClientError((err ?? {}) as object));
    const log = (res.locals.log as Logger | undefined) ?? logger;
    if (!httpError) {
      // The route template, never the path itself (it may hold a patient id); no message text either for non-Errors.
      log.error({ err: { name: (err as Error)?.name, message: (err as Error)?.message }, route: routeOf(req) }, 'unhandled error');
      res.status(500).type('application/fhir+json').json(operationOutcome('error', 'exception', 'Internal server error'));
      return;
    }
    for (const [name, value] of Object.entries(httpError.headers ?? {})) res.setHeader(name, value);
    if (httpError.status === 401) {
      // CDS Hooks best practice: 401 without any additional information.
      res.status(401).setHeader('WWW-Authenticate', 'Bearer').type('application/fhir+json');
      res.json(operationOutcome('error', 'login', 'Unauthorized'));
      return;
    }
    res
      .status(httpError.status)
      .type('application/fhir+json')
      .json(operationOutcome(httpError.status >= 500 ? 'fatal' : 'error', httpError.issueCode, httpError.message, httpError.expression));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  // Not echoing the path: it could carry a patient id into a proxy's or client's error log.
  next(new HttpError(404, 'not-found', `No route for ${req.method} on this path`));
};
