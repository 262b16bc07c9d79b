// The one place errors become HTTP responses: FHIR OperationOutcome bodies, no stack traces, no PHI.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { HttpError, operationOutcome } from './errors.js';

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

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = err instanceof HttpError ? err : fromBodyParser(err as object);
    const log = (res.locals.log as Logger | undefined) ?? logger;
    if (!httpError) {
      log.error({ err: { name: (err as Error)?.name, message: (err as Error)?.message }, path: req.path }, 'unhandled error');
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
  next(new HttpError(404, 'not-found', `No route for ${req.method} ${req.path}`));
};
