// Structural readers for untrusted FHIR: every accessor checks the type it needs and answers "absent" otherwise, so
// a number where a string belongs, `coding: {}` or `[null]` can never throw (issue 13 F2).
import type { Coding } from 'fhir/r4';

export type Obj = Record<string, unknown>;

export function obj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A non-empty trimmed string. */
export function text(v: unknown): string | undefined {
  const s = typeof v === 'string' ? v.trim() : '';
  return s === '' ? undefined : s;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function objs(v: unknown): Obj[] {
  const out: Obj[] = [];
  for (const x of arr(v)) {
    const o = obj(x);
    if (o) out.push(o);
  }
  return out;
}

/** A coding whose code is known to be a string. */
export type CodedCoding = Coding & { code: string };

/** Codings of a CodeableConcept whose code is a string (system kept only when it is a string). */
export function codingsOf(cc: unknown): CodedCoding[] {
  const out: CodedCoding[] = [];
  for (const c of objs(obj(cc)?.coding)) {
    if (typeof c.code !== 'string') continue;
    if (c.system !== undefined && typeof c.system !== 'string') {
      const { system: _drop, ...rest } = c;
      out.push(rest as unknown as CodedCoding);
    } else out.push(c as unknown as CodedCoding);
  }
  return out;
}

/** `CodeableConcept.text` and every coding display. */
export function conceptTexts(cc: unknown): string[] {
  const o = obj(cc);
  if (!o) return [];
  const out: string[] = [];
  const t = text(o.text);
  if (t) out.push(t);
  for (const c of objs(o.coding)) {
    const d = text(c.display);
    if (d) out.push(d);
  }
  return out;
}

/** `Reference.reference` when it is a string. */
export function refString(v: unknown): string | undefined {
  return text(obj(v)?.reference);
}

/** `Type/id` of a reference (absolute URLs and _history suffixes stripped), as the record and selections use. */
export function localReference(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(ref.trim());
  return m ? m[1] : undefined;
}

/** YYYY-MM-DD of a FHIR date/dateTime string; anything else (numbers, garbage) is undefined. */
export function day(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(v.trim());
  return m ? m[1] : undefined;
}
