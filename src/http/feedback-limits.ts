// Feedback values the JSON schema admits but that no store can keep: they are the client's error (400), never a
// "retry later" 503 that a client following the contract would retry for ever.
import type { SchemaIssue } from '../cds/schemas.js';

export const FEEDBACK_LIMITS = {
  /** Feedback items in one request (a card set is at most tens of cards). */
  maxItems: 100,
  /** Card ids are UUIDs (36 characters); generous for EHRs that echo other ids. */
  maxIdLength: 128,
  /** System URIs, codes and displays of an override reason. */
  maxCodeLength: 512,
  /** Free-text override comment. */
  maxCommentLength: 4000,
  /** Accepted suggestions per item. */
  maxSuggestions: 50,
  /** outcomeTimestamp must fall in [2000-01-01, now + 1 day]: the service did not exist before; clocks drift a little. */
  earliest: Date.UTC(2000, 0, 1),
  maxFutureMs: 24 * 3600 * 1000,
} as const;

// NUL cannot be stored in PostgreSQL text; the other C0 controls (but tab/newline/CR) have no place in ids or codes.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function validateFeedbackValues(body: unknown, now: number = Date.now()): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const items = (body as { feedback?: unknown })?.feedback;
  if (!Array.isArray(items)) return issues;
  const L = FEEDBACK_LIMITS;
  if (items.length > L.maxItems) {
    issues.push({ path: 'feedback', message: `has ${items.length} items; at most ${L.maxItems} per request` });
    return issues;
  }
  const text = (path: string, value: unknown, max: number, allowNewlines = false) => {
    if (typeof value !== 'string') return;
    if (value.length > max) issues.push({ path, message: `is longer than ${max} characters` });
    else if (value.includes('\u0000') || (!allowNewlines && /[\t\n\r]/.test(value)) || CONTROL.test(value)) {
      issues.push({ path, message: 'contains control characters' });
    }
  };
  items.forEach((raw, i) => {
    const item = raw as Record<string, unknown>;
    if (typeof item !== 'object' || item === null) return;
    const at = `feedback[${i}]`;
    text(`${at}.card`, item.card, L.maxIdLength);
    const suggestions = item.acceptedSuggestions;
    if (Array.isArray(suggestions)) {
      if (suggestions.length > L.maxSuggestions) issues.push({ path: `${at}.acceptedSuggestions`, message: `has more than ${L.maxSuggestions} items` });
      else suggestions.forEach((s, j) => text(`${at}.acceptedSuggestions[${j}].id`, (s as { id?: unknown })?.id, L.maxIdLength));
    }
    const reason = item.overrideReason as { reason?: Record<string, unknown>; userComment?: unknown } | undefined;
    if (reason && typeof reason === 'object') {
      for (const field of ['system', 'code', 'display'] as const) {
        text(`${at}.overrideReason.reason.${field}`, reason.reason?.[field], L.maxCodeLength);
      }
      text(`${at}.overrideReason.userComment`, reason.userComment, L.maxCommentLength, true);
    }
    if (typeof item.outcomeTimestamp === 'string') {
      const t = Date.parse(item.outcomeTimestamp);
      if (!Number.isFinite(t) || t < L.earliest || t > now + L.maxFutureMs) {
        issues.push({ path: `${at}.outcomeTimestamp`, message: 'must be a date-time between 2000-01-01 and tomorrow' });
      }
    }
  });
  return issues;
}
