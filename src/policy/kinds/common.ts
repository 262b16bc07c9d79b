// Helpers shared by the criterion kinds: windows relative to a named anchor, FHIRPath candidate filters, evidence of a
// resource, and outcome builders that carry structured findings.
import type { Resource } from 'fhir/r4';
import { addDays, addMonths, asOfDay, recordedDay } from '../facts/common.js';
import type { Evidence } from '../types.js';
import type { AnchorValue, Finding, KindContext, KindOutcome } from './types.js';

export interface Duration { days?: number; months?: number; years?: number }
export interface WindowParams { anchor?: string; lookback?: Duration; lookahead?: Duration; excludeAnchorDay?: boolean }

export interface ResolvedWindow {
  /** Inclusive YYYY-MM-DD bounds; no `from` = no lower bound. */
  from?: string;
  to: string;
  anchor: AnchorValue;
}

function shift(day: string, d: Duration | undefined, sign: 1 | -1): string {
  if (!d) return day;
  let out = day;
  if (d.years) out = addMonths(out, sign * 12 * d.years);
  if (d.months) out = addMonths(out, sign * d.months);
  if (d.days) out = addDays(out, sign * d.days);
  return out;
}

export const ORDER_DATE = 'order-date';

/** The window a leaf reads, or the not-documented outcome when its anchor date is not documented. */
export function resolveWindow(ctx: KindContext, kind: string, w: WindowParams | undefined): { ok: true; window: ResolvedWindow } | { ok: false; outcome: KindOutcome } {
  const anchor = ctx.anchor(w?.anchor ?? ORDER_DATE);
  if (!anchor.day) {
    return {
      ok: false,
      outcome: {
        status: 'not-documented',
        finding: { kind, code: 'anchor-missing', values: { anchor: anchor.name, missing: anchor.missing ?? `${anchor.text} date not documented` }, window: { anchor: anchor.name, anchorText: anchor.text } },
        evidence: anchor.evidence,
      },
    };
  }
  let to = shift(anchor.day, w?.lookahead, 1);
  if (w?.excludeAnchorDay) to = addDays(to, -1);
  const from = w?.lookback ? shift(anchor.day, w.lookback, -1) : undefined;
  const window: ResolvedWindow = { to, anchor };
  if (from) window.from = from;
  return { ok: true, window };
}

export function inWindow(day: string | undefined, w: ResolvedWindow): boolean {
  if (!day) return false;
  return (!w.from || day >= w.from) && day <= w.to;
}

export function findingWindow(w: ResolvedWindow): NonNullable<Finding['window']> {
  const out: NonNullable<Finding['window']> = { to: w.to, anchor: w.anchor.name, anchorText: w.anchor.text };
  if (w.from) out.from = w.from;
  return out;
}

/** The anchor evidence worth showing (not for the plain order date). */
export function anchorEvidence(w: ResolvedWindow): Evidence[] {
  return w.anchor.isOrderDate ? [] : w.anchor.evidence;
}

/** FHIRPath singleton truth: {true} or one non-boolean item is true; empty or {false} is false. */
function truthy(result: unknown[]): boolean {
  if (result.length === 0) return false;
  if (result.length > 1) throw new Error('a filter returned more than one value where a boolean was expected');
  return result[0] !== false;
}

/** Every compiled filter under `prefix` (`/where`, `/where/0` ...) must hold for the resource. */
export function filterWith(ctx: KindContext, prefix = '/where'): (r: Resource) => boolean {
  const fns = [...ctx.filters.entries()].filter(([k]) => k === prefix || k.startsWith(`${prefix}/`)).map(([, f]) => f);
  if (fns.length === 0) return () => true;
  return (r) => fns.every((f) => truthy(f(r, ctx.env as Record<string, unknown>)));
}

export function refOf(r: { resourceType: string; id?: string }): string {
  return `${r.resourceType}/${r.id ?? '(no id)'}`;
}

/** The clinically meaningful date of a resource (effective, onset, performed, authored, period start ...). */
export function resourceDate(resource: unknown): string | undefined {
  const r = resource as Record<string, any>;
  const candidates = [
    r.effectiveDateTime, r.effectiveInstant, r.effectivePeriod?.start, r.issued, r.onsetDateTime, r.onsetPeriod?.start,
    r.recordedDate, r.performedDateTime, r.performedPeriod?.start, r.authoredOn, r.authored, r.effectivePeriod?.end,
    r.timingPeriod?.start, r.period?.start, r.dateAsserted, r.date, r.occurrenceDateTime,
  ];
  return candidates.find((d): d is string => typeof d === 'string' && d.trim() !== '');
}

function conceptText(cc: any): string | undefined {
  if (!cc || typeof cc !== 'object') return undefined;
  if (typeof cc.text === 'string' && cc.text) return cc.text;
  const c = (Array.isArray(cc.coding) ? cc.coding : []).find((x: any) => x?.display || x?.code);
  return c ? (c.display ?? c.code) : undefined;
}

/** "1.5 ng/mL", "Positive", "Type 1 diabetes mellitus ..." — what a reviewer wants to see next to the reference. */
export function describeValue(resource: unknown): string | undefined {
  const r = resource as Record<string, any>;
  const q = r.valueQuantity;
  if (q && typeof q.value === 'number') return `${q.comparator ?? ''}${q.value}${q.unit ?? q.code ? ` ${q.unit ?? q.code}` : ''}`;
  if (r.valueCodeableConcept) return conceptText(r.valueCodeableConcept);
  if (typeof r.valueString === 'string') return r.valueString;
  if (typeof r.valueBoolean === 'boolean') return r.valueBoolean ? 'yes' : 'no';
  if (typeof r.valueInteger === 'number') return String(r.valueInteger);
  switch (r.resourceType) {
    case 'Condition':
    case 'Procedure':
    case 'AllergyIntolerance':
      return conceptText(r.code);
    case 'MedicationStatement':
    case 'MedicationRequest':
    case 'MedicationAdministration':
      return conceptText(r.medicationCodeableConcept);
    case 'Device':
      return conceptText(r.type);
    case 'Encounter':
      return conceptText(r.type?.[0]);
    default:
      return undefined;
  }
}

export function evidenceOf(r: Resource, extra: Partial<Evidence> = {}): Evidence {
  const e: Evidence = { reference: refOf(r) };
  const date = resourceDate(r);
  if (date) e.date = date;
  const value = describeValue(r);
  if (value) e.value = value;
  return { ...e, ...extra };
}

export function capEvidence(evidence: Evidence[], max = 5): Evidence[] {
  if (evidence.length <= max) return evidence;
  return [...evidence.slice(0, max), { note: `${evidence.length - max} more not shown` }];
}

export function today(ctx: KindContext): string {
  return asOfDay(ctx);
}

export function dayOf(s: unknown): string | undefined {
  return typeof s === 'string' ? recordedDay(s) : undefined;
}

/** Outcome when nothing was found: the engine applies the leaf's `absent` (default not documented). */
export function none(kind: string, evidence: Evidence[] = [], values: Finding['values'] = {}, window?: ResolvedWindow): KindOutcome {
  const finding: Finding = { kind, code: 'none', values };
  if (window) finding.window = findingWindow(window);
  return { status: 'not-documented', empty: true, finding, evidence };
}

export function result(status: KindOutcome['status'], kind: string, code: string, evidence: Evidence[], values: Finding['values'] = {}, window?: ResolvedWindow): KindOutcome {
  const finding: Finding = { kind, code, values };
  if (window) finding.window = findingWindow(window);
  const resources: string[] = [];
  for (const e of evidence) if (e.reference) resources.push(e.reference);
  if (resources.length) finding.resources = resources;
  return { status, finding, evidence };
}

const EPS = 1e-9;
/** Decimal-safe comparison (a ratio such as 0.88 / 0.80 must compare equal to 1.10). */
export function compare(a: number, op: string, b: number): boolean {
  const tol = EPS * Math.max(1, Math.abs(b));
  switch (op) {
    case '>': return a > b + tol;
    case '>=': return a >= b - tol;
    case '<': return a < b - tol;
    case '<=': return a <= b + tol;
    case '=': return Math.abs(a - b) <= tol;
    default: throw new Error(`unknown comparison ${op}`);
  }
}

/** Only for deciding candidates coded in a value set (prefix sets scan the type). */
export function codedIn(ctx: KindContext, valueSet: string, cc: unknown): boolean {
  const codings = (cc as { coding?: unknown })?.coding;
  if (!Array.isArray(codings)) return false;
  return codings.some((c) => c && typeof c === 'object' && ctx.valueSets.contains(valueSet, c as { system?: string; code?: string }));
}
