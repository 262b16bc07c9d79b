// observation: lab results and measurements — a value compared in UCUM units, a ratio to the result's own reference
// range, an interpretation (positive / negative), a component, or readings per day over a window.
import type { Resource } from 'fhir/r4';
import { effectiveOf, isUsableObservation, quantityText, type Observation, type Quantity } from '../facts/common.js';
import { convertQuantity, unitOf } from '../units.js';
import { capEvidence, codedIn, compare, dayOf, filterWith, inWindow, none, refOf, resolveWindow, result, anchorEvidence, type ResolvedWindow, type WindowParams } from './common.js';
import { title } from './condition.js';
import { S } from './schema.js';
import type { CriterionKind, KindContext, KindOutcome } from './types.js';
import type { Evidence } from '../types.js';

export interface ObservationParams {
  valueSet: string;
  component?: { valueSet: string };
  window?: WindowParams;
  where?: string | string[];
  select?: 'latest' | 'any' | 'max' | 'min';
  value?: { unit?: string; op: string; value: number };
  molecularWeight?: number;
  ratioToReferenceRange?: { bound: 'low' | 'high'; op: string; value: number };
  interpretation?: 'positive' | 'negative';
  readingsPerDay?: { min: number; minDays?: number };
}

const test = { type: 'object', additionalProperties: false, required: ['op', 'value'], properties: { unit: { type: 'string', minLength: 1 }, op: S.op, value: S.num } };

export const observation: CriterionKind<ObservationParams> = {
  name: 'observation',
  paramsSchema: {
    type: 'object',
    required: ['valueSet'],
    additionalProperties: false,
    properties: {
      valueSet: S.valueSet,
      component: { type: 'object', required: ['valueSet'], additionalProperties: false, properties: { valueSet: S.valueSet } },
      window: S.window,
      where: S.where,
      select: { enum: ['latest', 'any', 'max', 'min'] },
      value: test,
      molecularWeight: { type: 'number', exclusiveMinimum: 0 },
      ratioToReferenceRange: { type: 'object', additionalProperties: false, required: ['bound', 'op', 'value'], properties: { bound: { enum: ['low', 'high'] }, op: S.op, value: S.num } },
      interpretation: { enum: ['positive', 'negative'] },
      readingsPerDay: { type: 'object', additionalProperties: false, required: ['min'], properties: { min: S.num, minDays: S.num } },
    },
    // At most one test.
    not: { anyOf: [
      { required: ['value', 'ratioToReferenceRange'] }, { required: ['value', 'interpretation'] }, { required: ['value', 'readingsPerDay'] },
      { required: ['ratioToReferenceRange', 'interpretation'] }, { required: ['ratioToReferenceRange', 'readingsPerDay'] }, { required: ['interpretation', 'readingsPerDay'] },
    ] },
  },
  dataRequirements: (p) => [
    p.component
      ? { type: 'Observation', valueSets: [p.component.valueSet], codeParam: 'component-code' }
      : { type: 'Observation', valueSets: [p.valueSet] },
  ],
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'observation', p.window);
    if (!w.ok) return w.outcome;
    if (p.readingsPerDay) return readingsPerDay(ctx, p, w.window);
    const candidates = selectObservations(ctx, p, w.window);
    const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), count: candidates.length };
    const extra = anchorEvidence(w.window);
    if (candidates.length === 0) return none('observation', extra, values, w.window);
    const test = p.value ? 'value' : p.ratioToReferenceRange ? 'ratio' : p.interpretation ? 'interpretation' : undefined;
    if (!test) return result('met', 'observation', 'found', [...capEvidence(candidates.map((c) => ev(c.obs)), 3), ...extra], values, w.window);
    const read = candidates.map((c) => ({ c, r: readOne(ctx, p, c.obs) }));
    const readable = read.filter((x) => x.r.ok);
    if (readable.length === 0) {
      const first = read[0]!;
      return result('not-documented', 'observation', 'unreadable', [...capEvidence(read.map((x) => ({ ...ev(x.c.obs), note: x.r.why })), 3), ...extra], { ...values, why: first.r.why }, w.window);
    }
    const select = p.select ?? 'latest';
    let decisive: (typeof readable)[number];
    if (select === 'any') decisive = readable.find((x) => x.r.meets) ?? readable[0]!;
    else if (select === 'max' || select === 'min') {
      decisive = readable.reduce((a, b) => ((select === 'max' ? (b.r.value ?? 0) > (a.r.value ?? 0) : (b.r.value ?? 0) < (a.r.value ?? 0)) ? b : a));
    } else decisive = readable[0]!;
    const shown = [decisive, ...readable.filter((x) => x !== decisive)].map((x) => ({ ...ev(x.c.obs), ...(x.r.threshold ? { threshold: x.r.threshold } : {}), note: x.r.why }));
    const dv = { ...values, select, read: quantityText(decisive.c.obs.valueQuantity) ?? describe(decisive.c.obs) ?? '—', ...(decisive.r.normalised ? { normalised: decisive.r.normalised } : {}), ...(decisive.r.threshold ? { threshold: decisive.r.threshold } : {}), date: decisive.c.day };
    return result(decisive.r.meets ? 'met' : 'not-met', 'observation', decisive.r.meets ? 'meets' : 'fails', [...capEvidence(shown, 3), ...extra], dv, w.window);
  },
};

interface Dated { obs: Observation; when: string; day: string }

function selectObservations(ctx: KindContext, p: ObservationParams, w: ResolvedWindow): Dated[] {
  const pass = filterWith(ctx);
  const vs = p.component?.valueSet ?? p.valueSet;
  const list = p.component
    ? ctx.record.all<Resource>('Observation').filter((o) => codedIn(ctx, p.valueSet, (o as unknown as Observation).code) || componentOf(ctx, o as unknown as Observation, vs))
    : ctx.record.byCodes<Resource>('Observation', ctx.valueSets.codings(p.valueSet));
  const out: Dated[] = [];
  for (const r of list) {
    const obs = r as unknown as Observation;
    if (!isUsableObservation(obs)) continue;
    const when = effectiveOf(obs);
    const day = dayOf(when);
    if (!when || !day || !inWindow(day, w) || !pass(r)) continue;
    out.push({ obs, when, day });
  }
  out.sort((a, b) => (Date.parse(b.when) || 0) - (Date.parse(a.when) || 0) || b.day.localeCompare(a.day));
  return out;
}

function componentOf(ctx: KindContext, o: Observation, vs: string): { valueQuantity?: Quantity } | undefined {
  const comps = (o as { component?: { code?: unknown; valueQuantity?: Quantity }[] }).component;
  return Array.isArray(comps) ? comps.find((c) => codedIn(ctx, vs, c?.code)) : undefined;
}

function ev(o: Observation): Evidence {
  return { reference: refOf(o), ...(effectiveOf(o) ? { date: effectiveOf(o)! } : {}), value: quantityText(o.valueQuantity) ?? describe(o) ?? '—' };
}

function describe(o: Observation): string | undefined {
  return o.valueCodeableConcept?.text ?? o.valueCodeableConcept?.coding?.[0]?.display ?? o.valueCodeableConcept?.coding?.[0]?.code ?? (typeof o.valueString === 'string' ? o.valueString : undefined);
}

interface Read { ok: boolean; meets?: boolean; value?: number; normalised?: string; threshold?: string; why: string }

function convert(q: Quantity, unit: string, mw?: number) {
  const from = unitOf(q)?.unit;
  if (from !== undefined && from === unit && typeof q.value === 'number') return { ok: true as const, value: q.value, unit };
  return convertQuantity(q, unit, mw === undefined ? {} : { molecularWeight: mw });
}

function readOne(ctx: KindContext, p: ObservationParams, o: Observation): Read {
  const q = p.component ? componentOf(ctx, o, p.component.valueSet)?.valueQuantity : o.valueQuantity;
  if (p.interpretation) {
    const r = interpret(o);
    if (r.result === 'unknown') return { ok: false, why: r.why };
    return { ok: true, meets: r.result === p.interpretation, why: `${r.result}: ${r.why}`, threshold: p.interpretation };
  }
  if (!q || typeof q.value !== 'number') return { ok: false, why: 'no numeric value' };
  if (p.value) {
    const unit = p.value.unit ?? unitOf(q)?.unit;
    if (!unit) return { ok: false, why: 'no unit' };
    const c = convert(q, unit, p.molecularWeight);
    if (!c.ok) return { ok: false, why: `not convertible to ${unit} (${c.reason})` };
    const threshold = `${p.value.op} ${p.value.value} ${unit}`;
    return { ok: true, meets: comparator(q, c.value, p.value.op, p.value.value), value: c.value, normalised: `${round(c.value)} ${unit}`, threshold, why: threshold };
  }
  const rr = p.ratioToReferenceRange!;
  const bound = o.referenceRange?.find((r) => typeof r?.[rr.bound]?.value === 'number')?.[rr.bound];
  if (!bound || typeof bound.value !== 'number' || bound.value <= 0) return { ok: false, why: `no ${rr.bound === 'low' ? 'lower' : 'upper'} reference limit` };
  const unit = unitOf(bound)?.unit ?? unitOf(q)?.unit;
  if (!unit) return { ok: false, why: 'no unit' };
  const c = convert(q, unit, p.molecularWeight);
  if (!c.ok) return { ok: false, why: `not convertible to the reference range unit ${unit} (${c.reason})` };
  const ratio = c.value / bound.value;
  const threshold = `${rr.op} ${round(rr.value * 100)}% of the ${rr.bound === 'low' ? 'lower' : 'upper'} limit ${bound.value} ${bound.unit ?? unit}`;
  return { ok: true, meets: comparator(q, ratio, rr.op, rr.value), value: ratio, normalised: `${round(ratio * 100)}%`, threshold, why: `ratio ${round(ratio * 100)}%` };
}

/** A result reported as "< x" or "> x" only bounds the value: compare conservatively. */
function comparator(q: Quantity, v: number, op: string, limit: number): boolean {
  const c = q.comparator;
  if ((c === '<' || c === '<=') && (op === '>' || op === '>=')) return false;
  if ((c === '>' || c === '>=') && (op === '<' || op === '<=')) return false;
  return compare(v, op, limit);
}

function round(n: number): number {
  return Number(n.toFixed(2));
}

// ---------------------------------------------------------------------------------------------------------------------

const POSITIVE_CODES = new Set(['POS', 'H', 'HH', 'A', 'AA', 'DET', '10828004']);
const NEGATIVE_CODES = new Set(['NEG', 'N', 'ND', '260385009']);
const POSITIVE_TEXT = /^\s*(positive|detected|reactive)\s*$/i;
const NEGATIVE_TEXT = /^\s*(negative|not detected|non-?reactive)\s*$/i;

/** Positive / negative from interpretation codes, a coded or text result, or a number against the upper limit. */
export function interpret(o: Observation): { result: 'positive' | 'negative' | 'unknown'; why: string } {
  for (const cc of Array.isArray(o.interpretation) ? o.interpretation : []) {
    for (const c of cc?.coding ?? []) {
      if (c?.code && POSITIVE_CODES.has(c.code)) return { result: 'positive', why: `interpretation ${c.code}` };
      if (c?.code && NEGATIVE_CODES.has(c.code)) return { result: 'negative', why: `interpretation ${c.code}` };
    }
  }
  const vcc = o.valueCodeableConcept;
  if (vcc) {
    for (const c of vcc.coding ?? []) {
      if (c?.code && POSITIVE_CODES.has(c.code)) return { result: 'positive', why: `result ${c.display ?? c.code}` };
      if (c?.code && NEGATIVE_CODES.has(c.code)) return { result: 'negative', why: `result ${c.display ?? c.code}` };
    }
    if (typeof vcc.text === 'string' && POSITIVE_TEXT.test(vcc.text)) return { result: 'positive', why: `result "${vcc.text.trim()}"` };
    if (typeof vcc.text === 'string' && NEGATIVE_TEXT.test(vcc.text)) return { result: 'negative', why: `result "${vcc.text.trim()}"` };
  }
  if (typeof o.valueString === 'string') {
    if (POSITIVE_TEXT.test(o.valueString)) return { result: 'positive', why: `result "${o.valueString.trim()}"` };
    if (NEGATIVE_TEXT.test(o.valueString)) return { result: 'negative', why: `result "${o.valueString.trim()}"` };
  }
  const q = o.valueQuantity;
  if (q && typeof q.value === 'number') {
    const high = o.referenceRange?.find((r) => typeof r?.high?.value === 'number')?.high;
    if (!high) return { result: 'unknown', why: 'numeric result without interpretation or upper reference limit' };
    const target = unitOf(high)?.unit ?? unitOf(q)?.unit;
    const c = target ? convert(q, target) : { ok: true as const, value: q.value, unit: '' };
    if (!c.ok) return { result: 'unknown', why: `value not comparable with the upper limit ${quantityText(high)} (${c.reason})` };
    const hv = high.value!;
    if (q.comparator === '<' || q.comparator === '<=') {
      return compare(c.value, '<=', hv) ? { result: 'negative', why: `below the upper limit ${hv}` } : { result: 'unknown', why: `reported as ${quantityText(q)}` };
    }
    if (q.comparator === '>' || q.comparator === '>=') {
      return compare(c.value, '>=', hv) ? { result: 'positive', why: `above the upper limit ${hv}` } : { result: 'unknown', why: `reported as ${quantityText(q)}` };
    }
    return compare(c.value, '>', hv)
      ? { result: 'positive', why: `${Number(c.value.toFixed(3))} above the upper reference limit ${hv}` }
      : { result: 'negative', why: `${Number(c.value.toFixed(3))} within the reference range (upper limit ${hv})` };
  }
  return { result: 'unknown', why: 'no interpretable result' };
}

// ---------------------------------------------------------------------------------------------------------------------

/**
 * Distinct reading time stamps per day over the window (meter uploads repeat a reading: it counts once). Runs over
 * years of readings: no FHIRPath unless the policy gives a filter, no sorting, no Date objects.
 */
function readingsPerDay(ctx: KindContext, p: ObservationParams, w: ResolvedWindow): KindOutcome {
  const { min, minDays = 0 } = p.readingsPerDay!;
  const extra = anchorEvidence(w);
  if (!w.from) throw new Error('readingsPerDay needs a window with a lookback');
  const pass = ctx.filters.size > 0 ? filterWith(ctx) : undefined;
  const stamps = new Set<string>();
  const days = new Set<string>();
  for (const r of ctx.record.byCodes<Resource>('Observation', ctx.valueSets.codings(p.valueSet))) {
    const o = r as unknown as Observation;
    if (!isUsableObservation(o)) continue;
    const when = effectiveOf(o);
    const day = dayOf(when);
    if (!when || !day || day < w.from || day > w.to) continue;
    if (pass && !pass(r)) continue;
    stamps.add(when);
    days.add(day);
  }
  const span = Math.round((Date.parse(`${w.to}T00:00:00Z`) - Date.parse(`${w.from}T00:00:00Z`)) / 86_400_000) + 1;
  const perDay = stamps.size / span;
  const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), readings: stamps.size, days: span, daysWithReadings: days.size, perDay: round(perDay), min, minDays };
  if (stamps.size === 0) return none('observation', extra, values, w);
  const evidence: Evidence[] = [{ date: `${w.from}/${w.to}`, value: `${stamps.size} readings over ${span} days = ${round(perDay)}/day`, threshold: `average ≥ ${min}/day`, note: `readings on ${days.size} distinct days` }, ...extra];
  if (minDays > 0 && days.size < minDays) return result('not-documented', 'observation', 'too-few-days', evidence, values, w);
  return compare(perDay, '>=', min)
    ? result('met', 'observation', 'rate-meets', evidence, values, w)
    : result('not-met', 'observation', 'rate-fails', evidence, values, w);
}
