// Request-shape limits enforced at the edge, before any hook code runs: nesting depth of the JSON body (checked on the
// raw bytes, iteratively, so a 10,000-level body never reaches a recursive walker) and the number of draft orders.
import { HttpError } from './errors.js';

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Deepest nesting of objects/arrays in a JSON text (string contents ignored). Linear, no recursion, no allocation.
 * Most of a FHIR body's bytes are inside strings: those are skipped with `indexOf` (native, memchr-fast) to the next
 * quote, which is the string's end unless an odd number of backslashes precedes it. (A byte-by-byte loop was 13% of
 * the service's CPU at 5,000 resources.)
 */
export function jsonDepth(buf: Uint8Array): number {
  let depth = 0;
  let max = 0;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const b = buf[i]!;
    if (b === QUOTE) {
      // Skip the string: find its closing quote.
      let j = i;
      for (;;) {
        j = buf.indexOf(QUOTE, j + 1);
        if (j < 0) return max; // unterminated: the parser will refuse it
        let backslashes = 0;
        for (let k = j - 1; k > i && buf[k] === BACKSLASH; k--) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
      i = j;
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > max) max = depth;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
  }
  return max;
}

/**
 * `verify` hook for express.json: refuses a body nested deeper than `maxDepth` with 400 before it is parsed. (The
 * parser itself copes, but every later step that walks or echoes the data — validation, FHIRPath, JSON.stringify of
 * the coverage-information echo — is recursive and would overflow the stack.)
 */
export function depthGuard(maxDepth: number): (req: unknown, res: unknown, buf: Buffer) => void {
  return (_req, _res, buf) => {
    if (jsonDepth(buf) > maxDepth) {
      throw Object.assign(new HttpError(400, 'too-costly', `Request body is nested deeper than the limit of ${maxDepth} levels`), {
        // body-parser keeps a verify error's own status (400) instead of its default 403.
        status: 400,
        expose: true,
      });
    }
  };
}

/** 400 when `context.draftOrders.entry` holds more entries than `maxDraftOrders`. */
export function checkDraftOrderCount(context: unknown, maxDraftOrders: number): void {
  const draftOrders = (context as { draftOrders?: { entry?: unknown } } | undefined)?.draftOrders;
  const entries = draftOrders?.entry;
  if (Array.isArray(entries) && entries.length > maxDraftOrders) {
    throw new HttpError(
      400,
      'too-costly',
      `context.draftOrders has ${entries.length} entries; the limit is ${maxDraftOrders} draft orders per call (MAX_DRAFT_ORDERS)`,
      ['context.draftOrders.entry'],
    );
  }
}
