// Checks on coverage-information and on updated resources, used by tests and available to production code
// (e.g. a debug assertion before a response leaves). Each violation starts with the rule key it breaks.
import { isDeepStrictEqual } from 'node:util';
import { COVERAGE_INFORMATION_URL, CRD_TEMP_SYSTEM } from './coverage-information.js';

interface Ext {
  url?: unknown;
  extension?: unknown;
  [value: string]: unknown;
}

const COVERED = ['covered', 'not-covered', 'conditional', 'indeterminate'];
const PA_NEEDED = ['no-auth', 'auth-needed', 'satisfied', 'performpa', 'conditional', 'indeterminate'];
const DOC_NEEDED = ['clinical', 'admin', 'patient', 'both', 'conditional', 'indeterminate'];
const DOC_PURPOSE = ['withpa', 'withclaim', 'withorder', 'retain-doc', 'OTH'];
const INFO_NEEDED = ['performer', 'location', 'timeframe', 'contract-window', 'detail-code', 'OTH'];
/** coverageAssertionReasons (2.0.1 and 2.2 codes). */
const REASON_CODES = ['gold-card', 'detail-code', 'no-member-found', 'no-active-coverage', 'coverage-not-found', 'auth-out-network', 'technical'];
/** Codes and elements CRD 2.0.1 (what Inferno validates against) does not know. */
const NOT_IN_201: Record<string, string[]> = {
  covered: ['indeterminate'],
  'pa-needed': ['indeterminate'],
  'doc-needed': ['patient', 'indeterminate'],
  'info-needed': ['detail-code'],
};

export interface CoverageInfoCheckOptions {
  /** Also check the CRD 2.0.1 subset (no expiry-date, no detail.category, no 2.2-only codes). */
  crdVersion?: '2.0.1' | '2.2';
  /** order-select is a secondary hook: no doc-needed clinical/admin (hook-19). */
  hook?: string;
}

function subs(ext: Ext, url: string): Ext[] {
  const list = Array.isArray(ext.extension) ? (ext.extension as Ext[]) : [];
  return list.filter((e) => e && e.url === url);
}

function codes(ext: Ext, url: string): unknown[] {
  return subs(ext, url).map((e) => e.valueCode);
}

/** Violations of crd-ci-q1..q9, cardinalities and value sets of one coverage-information extension (empty = fine). */
export function checkCoverageInformation(ext: unknown, options: CoverageInfoCheckOptions = {}): string[] {
  const v: string[] = [];
  if (typeof ext !== 'object' || ext === null) return ['structure: not an object'];
  const e = ext as Ext;
  if (e.url !== COVERAGE_INFORMATION_URL) v.push(`structure: url is not ${COVERAGE_INFORMATION_URL}`);
  if (!Array.isArray(e.extension)) return [...v, 'structure: no sub-extensions'];
  for (const s of e.extension as Ext[]) {
    const valueKeys = Object.keys(s ?? {}).filter((k) => k.startsWith('value'));
    if (typeof s?.url !== 'string') v.push('structure: sub-extension without url');
    else if (s.url === 'detail') {
      if (valueKeys.length > 0 || !Array.isArray(s.extension)) v.push('structure: detail must be complex');
    } else if (valueKeys.length !== 1) v.push(`structure: ${s.url} must have exactly one value[x]`);
  }

  const one = (url: string, min: number, max: number): void => {
    const n = subs(e, url).length;
    if (n < min || n > max) v.push(`cardinality: ${url} occurs ${n} times (allowed ${min}..${max === Infinity ? '*' : max})`);
  };
  one('coverage', 1, 1);
  one('covered', 1, 1);
  one('pa-needed', 0, 1);
  one('date', 1, 1);
  one('coverage-assertion-id', 1, 1);
  one('satisfied-pa-id', 0, 1);
  one('expiry-date', 0, 1);
  if (options.crdVersion === '2.0.1') one('doc-needed', 0, 1);

  const coverage = subs(e, 'coverage')[0]?.valueReference as { reference?: unknown } | undefined;
  if (coverage && (typeof coverage.reference !== 'string' || !/^(.+\/)?Coverage\/[^/]+$/.test(coverage.reference))) {
    v.push('value: coverage must reference a Coverage');
  }
  const date = subs(e, 'date')[0]?.valueDate;
  if (date !== undefined && (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date))) v.push('value: date must be YYYY-MM-DD');
  const id = subs(e, 'coverage-assertion-id')[0]?.valueString;
  if (id !== undefined && (typeof id !== 'string' || id.trim() === '')) v.push('value: coverage-assertion-id must be a non-empty string');

  const covered = codes(e, 'covered');
  const pa = codes(e, 'pa-needed');
  const doc = codes(e, 'doc-needed');
  const purpose = codes(e, 'doc-purpose');
  const info = codes(e, 'info-needed');
  const inSet = (url: string, values: unknown[], allowed: string[]): void => {
    for (const value of values) if (typeof value !== 'string' || !allowed.includes(value)) v.push(`value: ${url} "${String(value)}" is not a known code`);
  };
  inSet('covered', covered, COVERED);
  inSet('pa-needed', pa, PA_NEEDED);
  inSet('doc-needed', doc, DOC_NEEDED);
  inSet('doc-purpose', purpose, DOC_PURPOSE);
  inSet('info-needed', info, INFO_NEEDED);

  const has = (url: string): boolean => subs(e, url).length > 0;
  const reasons = subs(e, 'reason');

  if (has('questionnaire') && doc.length === 0) v.push('crd-ci-q1: questionnaire without doc-needed');
  if (covered.includes('not-covered') && pa.length > 0) v.push('crd-ci-q2: pa-needed on a not-covered assertion');
  if ([...covered, ...pa, ...doc].includes('conditional') && info.length === 0) {
    v.push('crd-ci-q3: conditional covered/pa-needed/doc-needed without info-needed');
  }
  if ((pa.some((p) => p === 'satisfied' || p === 'no-auth' || p === 'noauth') || covered.includes('not-covered')) && purpose.includes('withpa')) {
    v.push('crd-ci-q4: doc-purpose withpa although no prior authorization is needed');
  }
  if (pa.includes('satisfied') !== has('satisfied-pa-id')) v.push('crd-ci-q5: satisfied-pa-id iff pa-needed = satisfied');
  if (info.includes('OTH') && reasons.length === 0) v.push('crd-ci-q6: info-needed OTH without reason');
  for (const r of reasons) {
    const cc = r.valueCodeableConcept as { text?: unknown; coding?: { system?: unknown; code?: unknown }[] } | undefined;
    const text = typeof cc?.text === 'string' && cc.text.trim() !== '';
    const coded = (cc?.coding ?? []).some((c) => c.system === CRD_TEMP_SYSTEM && typeof c.code === 'string' && REASON_CODES.includes(c.code));
    if (!text && !coded) v.push('crd-ci-q7: reason has neither text nor a coverageAssertionReasons code');
  }
  if (purpose.some((p) => p !== 'conditional') && reasons.length === 0) v.push('crd-ci-q8: doc-purpose without reason');
  if ([...covered, ...pa, ...doc].includes('indeterminate') && reasons.length === 0) v.push('crd-ci-q9: indeterminate without reason');

  if (options.hook === 'order-select' && doc.some((d) => d === 'clinical' || d === 'admin' || d === 'both')) {
    v.push('hook-19: doc-needed clinical/admin on order-select');
  }
  if (options.crdVersion === '2.0.1') {
    for (const [url, bad] of Object.entries(NOT_IN_201)) {
      for (const value of codes(e, url)) if (bad.includes(value as string)) v.push(`crd-2.0.1: ${url} "${String(value)}" does not exist in CRD 2.0.1`);
    }
    if (has('expiry-date')) v.push('crd-2.0.1: expiry-date does not exist in CRD 2.0.1');
    for (const d of subs(e, 'detail')) if (subs(d, 'category').length > 0) v.push('crd-2.0.1: detail.category does not exist in CRD 2.0.1');
  } else if (options.crdVersion === '2.2') {
    for (const d of subs(e, 'detail')) if (subs(d, 'category').length !== 1) v.push('cardinality: detail.category is 1..1 in CRD 2.2');
  }
  return v;
}

function stripCoverageInformation(resource: unknown): unknown {
  if (typeof resource !== 'object' || resource === null) return resource;
  const copy = { ...(resource as Record<string, unknown>) };
  if (Array.isArray(copy.extension)) {
    const rest = (copy.extension as Ext[]).filter((e) => e?.url !== COVERAGE_INFORMATION_URL);
    if (rest.length > 0) copy.extension = rest;
    else delete copy.extension;
  }
  return copy;
}

/**
 * CRD resp-37: `updated` must equal `original` once coverage-information extensions are removed from both.
 * Throws an Error naming the first differing top-level element.
 */
export function assertOnlyCoverageInfoAdded(original: unknown, updated: unknown): void {
  const a = stripCoverageInformation(original) as Record<string, unknown>;
  const b = stripCoverageInformation(updated) as Record<string, unknown>;
  if (isDeepStrictEqual(a, b)) return;
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  const differing = [...keys].filter((k) => !isDeepStrictEqual(a?.[k], b?.[k]));
  throw new Error(`updated resource differs from the draft order beyond coverage-information: ${differing.join(', ') || '(root)'}`);
}
