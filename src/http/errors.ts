// One error type for every refusal the HTTP edge makes; the central handler turns it into an OperationOutcome.
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueCode = OperationOutcomeIssue['code'];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly issueCode: IssueCode,
    message: string,
    /** FHIRPath-ish locations of the offending element(s), e.g. `context.draftOrders`. */
    readonly expression?: string[],
    /** Extra headers (e.g. Retry-After on 503). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, expression?: string[]) =>
  new HttpError(400, 'invalid', message, expression);
export const notFound = (message: string) => new HttpError(404, 'not-found', message);
export const unauthorized = () => new HttpError(401, 'login', 'Unauthorized');
export const forbidden = (message = 'Forbidden') => new HttpError(403, 'forbidden', message);
export const preconditionFailed = (message: string, expression?: string[]) =>
  new HttpError(412, 'incomplete', message, expression);
export const serviceUnavailable = (message: string, retryAfterSeconds: number) =>
  new HttpError(503, 'transient', message, undefined, { 'Retry-After': String(retryAfterSeconds) });

export function operationOutcome(
  severity: OperationOutcomeIssue['severity'],
  code: IssueCode,
  text: string,
  expression?: string[],
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression && expression.length > 0) issue.expression = expression;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}
