// Quantity conversion through UCUM (@lhncbc/ucum-lhc, the library fhirpath.js uses too). Lab values arrive in whatever
// unit the lab reports (C-peptide ng/mL or nmol/L or pmol/L, glucose mg/dL or mmol/L ...) and are compared only after
// conversion; a unit that cannot be converted is a documentation gap, reported with its reason, never a guess.
import ucum from '@lhncbc/ucum-lhc';
import { canonicalSystem } from '../fhir/record.js';

export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** Molecular weights (g/mol) for mass ↔ molar conversions. */
export const C_PEPTIDE_MOLECULAR_WEIGHT = 3020.3;
export const GLUCOSE_MOLECULAR_WEIGHT = 180.156;
export const CREATININE_MOLECULAR_WEIGHT = 113.12;
export const MOLECULAR_WEIGHTS = {
  cPeptide: C_PEPTIDE_MOLECULAR_WEIGHT,
  glucose: GLUCOSE_MOLECULAR_WEIGHT,
  creatinine: CREATININE_MOLECULAR_WEIGHT,
} as const;

export interface QuantityLike {
  value?: number;
  unit?: string;
  code?: string;
  system?: string;
  comparator?: string;
}

export type Conversion = { ok: true; value: number; unit: string } | { ok: false; reason: string };

const ucumUtils = ucum.UcumLhcUtils.getInstance();

/**
 * ucum-lhc writes to stdout (the console's `log`) when it cannot parse a unit string — that string is the
 * Observation's own unit text, and stdout is the service's log stream (outside the logger, outside the no-PHI rule).
 * Its calls are synchronous, so the console's `log` is silenced just for their duration; the outcome is reported
 * through return values.
 */
const stdoutConsole = console as unknown as Record<'log', (...args: unknown[]) => void>;
function quiet<T>(fn: () => T): T {
  const original = stdoutConsole['log'];
  stdoutConsole['log'] = () => undefined;
  try {
    return fn();
  } finally {
    stdoutConsole['log'] = original;
  }
}
const utils = {
  validateUnitString: (unit: string) => quiet(() => ucumUtils.validateUnitString(unit)),
  convertUnitTo: (...args: Parameters<typeof ucumUtils.convertUnitTo>) => quiet(() => ucumUtils.convertUnitTo(...args)),
};

/**
 * Common spellings EHRs send in `Quantity.unit` that are not (case-exact) UCUM, keyed in lower case with micro signs
 * folded to `u`. Anything not listed is tried verbatim, then UCUM's own parser decides.
 */
const SPELLINGS: Record<string, string> = {
  'mg/dl': 'mg/dL',
  'g/dl': 'g/dL',
  'ng/ml': 'ng/mL',
  'ng/dl': 'ng/dL',
  'ug/l': 'ug/L',
  'ug/ml': 'ug/mL',
  'mg/l': 'mg/L',
  'pmol/l': 'pmol/L',
  'nmol/l': 'nmol/L',
  'umol/l': 'umol/L',
  'mmol/l': 'mmol/L',
  'mol/l': 'mol/L',
  'mmol/mol': 'mmol/mol',
  'ml/min': 'mL/min',
  'ml/s': 'mL/s',
  'ml/sec': 'mL/s',
  'l/min': 'L/min',
  'ml/min/1.73m2': 'mL/min/{1.73_m2}',
  'ml/min/1.73 m2': 'mL/min/{1.73_m2}',
  'ml/min/{1.73_m2}': 'mL/min/{1.73_m2}',
  '%': '%',
  'percent': '%',
  'kg': 'kg',
  'g': 'g',
  'lb': '[lb_av]',
  'lbs': '[lb_av]',
  '[lb_av]': '[lb_av]',
  'cm': 'cm',
  'm': 'm',
  'in': '[in_i]',
  '[in_i]': '[in_i]',
  'a': 'a',
  'yr': 'a',
  'years': 'a',
  'mo': 'mo',
  'wk': 'wk',
  'd': 'd',
  'h': 'h',
  'min': 'min',
  '/d': '/d',
  '{times}/d': '/d',
};

/** Fold micro signs (U+00B5, U+03BC) and stray whitespace; map known non-UCUM spellings to UCUM. */
export function normaliseUnit(unit: string): string {
  const t = unit.trim().replace(/[\u00b5\u03bc]/g, 'u');
  return SPELLINGS[t.toLowerCase()] ?? t;
}

/** The UCUM unit of a Quantity: its code when coded in UCUM, else its human unit string. */
export function unitOf(q: QuantityLike): { unit: string; from: 'code' | 'unit' } | undefined {
  if (typeof q.code === 'string' && q.code.trim() !== '' && canonicalSystem(q.system) === UCUM_SYSTEM) return { unit: q.code.trim(), from: 'code' };
  if (typeof q.unit === 'string' && q.unit.trim() !== '') return { unit: q.unit, from: 'unit' };
  if (typeof q.code === 'string' && q.code.trim() !== '') return { unit: q.code, from: 'code' };
  return undefined;
}

/** Trim binary noise (59.99999999999999 → 60) without touching any digit a lab could have reported. */
function clean(n: number): number {
  return Number(n.toPrecision(12));
}

/** Body-surface normalised rates (eGFR, mL/min/1.73 m²) are a different measure from creatinine clearance. */
const BSA_ANNOTATION = /\{1\.73_?m2\}|1\.73\s*m2/i;

export function convertQuantity(q: QuantityLike | undefined, targetUcum: string, opts: { molecularWeight?: number } = {}): Conversion {
  if (!q || typeof q.value !== 'number' || !Number.isFinite(q.value)) return { ok: false, reason: 'no numeric value' };
  const u = unitOf(q);
  if (!u) return { ok: false, reason: `value ${q.value} has no unit` };
  const candidates = [...new Set([normaliseUnit(u.unit), u.unit.trim()])];
  const target = normaliseUnit(targetUcum);
  for (const from of candidates) {
    if (from === target) return { ok: true, value: q.value, unit: target };
  }
  // ucum-lhc prints to the console for strings with blanks (never valid UCUM): rule those out before asking it.
  const from = candidates.find((c) => !/\s/.test(c) && utils.validateUnitString(c).status === 'valid');
  if (!from) return { ok: false, reason: `unit "${u.unit}" is not a recognised UCUM unit` };
  if (BSA_ANNOTATION.test(from) !== BSA_ANNOTATION.test(target)) {
    return { ok: false, reason: `unit "${u.unit}" is normalised to body surface area; it cannot be compared with ${target}` };
  }
  if (isHbA1cScalePair(from, target)) {
    return { ok: false, reason: `${from} → ${target} is not a unit conversion for HbA1c (IFCC and NGSP are different scales; see hba1cToPercent)` };
  }
  const options = opts.molecularWeight ? { molecularWeight: opts.molecularWeight } : undefined;
  let result;
  try {
    result = utils.convertUnitTo(from, q.value, target, options);
  } catch (err) {
    return { ok: false, reason: `cannot convert ${from} to ${target}: ${(err as Error).message}` };
  }
  if (result.status !== 'succeeded' || typeof result.toVal !== 'number' || !Number.isFinite(result.toVal)) {
    const why = result.msg.join(' ').trim();
    if (/molecular weight/i.test(why)) return { ok: false, reason: `cannot convert ${from} to ${target} without the molecular weight of the substance` };
    return { ok: false, reason: `cannot convert ${from} to ${target}${why ? `: ${why}` : ''}` };
  }
  return { ok: true, value: clean(result.toVal), unit: target };
}

function isHbA1cScalePair(a: string, b: string): boolean {
  const pair = new Set([a, b]);
  return pair.has('mmol/mol') && pair.has('%');
}

/**
 * HbA1c as NGSP/DCCT percent. IFCC results (mmol/mol) are converted with the IFCC–NGSP master equation
 * NGSP % = 0.09148 × IFCC + 2.152 — a calibration relation between two reference systems, not a UCUM unit conversion.
 * The result is rounded to one decimal, the precision NGSP results are reported with, so 53 mmol/mol reads 7.0 %.
 */
export function hba1cToPercent(q: QuantityLike | undefined): (Conversion & { note?: string }) {
  if (!q || typeof q.value !== 'number' || !Number.isFinite(q.value)) return { ok: false, reason: 'no numeric value' };
  const u = unitOf(q);
  if (!u) return { ok: false, reason: `HbA1c ${q.value} has no unit` };
  const unit = normaliseUnit(u.unit);
  if (unit === '%' || /^%\s*\{?(hba1c|hgb|ngsp|dcct)/i.test(unit) || /^%\s*(of\s+)?(total\s+)?(hb|hgb|hemoglobin)/i.test(u.unit.trim())) {
    return { ok: true, value: q.value, unit: '%' };
  }
  if (unit === 'mmol/mol' || /^mmol\/mol\b/i.test(unit)) {
    const pct = Math.round((0.09148 * q.value + 2.152) * 10) / 10;
    return { ok: true, value: pct, unit: '%', note: `IFCC ${q.value} mmol/mol = ${pct.toFixed(1)} % NGSP (IFCC-NGSP master equation)` };
  }
  return { ok: false, reason: `HbA1c unit "${u.unit}" is neither % (NGSP) nor mmol/mol (IFCC)` };
}
