// Helpers shared by fact functions: parameter lookup, dates relative to asOf, observation candidate selection,
// decimal-safe comparison, questionnaire answers, coverage and device look-ups.
// Resources are read structurally (optional fields everywhere): the record is untrusted EHR data, so every field
// may be missing or malformed and a fact must degrade to "not documented", never throw.
import type { Evidence, FactContext, LeafOutcome, TriState } from '../types.js';
import { canonicalSystem } from '../../fhir/record.js';
import { unitOf } from '../units.js';

export { HCPCS } from '../../fhir/systems.js';

// ---------------------------------------------------------------------------------------------------------------------
// Minimal structural views of the resources the facts read.

export interface Coding { system?: string; code?: string; display?: string }
export interface CodeableConcept { coding?: Coding[]; text?: string }
export interface Quantity { value?: number; unit?: string; system?: string; code?: string; comparator?: string }
export interface Reference { reference?: string; display?: string }
export interface Period { start?: string; end?: string }
export interface AnyResource { resourceType: string; id?: string; [k: string]: unknown }

export interface Observation extends AnyResource {
  status?: string;
  code?: CodeableConcept;
  effectiveDateTime?: string;
  effectiveInstant?: string;
  effectivePeriod?: Period;
  issued?: string;
  valueQuantity?: Quantity;
  valueCodeableConcept?: CodeableConcept;
  valueString?: string;
  interpretation?: CodeableConcept[];
  referenceRange?: { low?: Quantity; high?: Quantity; text?: string }[];
  specimen?: Reference;
}

// ---------------------------------------------------------------------------------------------------------------------
// Parameters.

/**
 * A numeric threshold: the leaf's own param wins (a literal number, or "%name" naming a policy parameter), else the
 * policy parameter of the same name. Throws when neither exists: that is a policy-authoring error the loader's
 * start-up check should surface, not a patient-data gap.
 */
export function numParam(ctx: FactContext, params: Readonly<Record<string, unknown>>, name: string): number {
  const v = resolveParam(ctx, params[name] ?? ctx.parameters[name]);
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`policy parameter "${name}" is missing or not a number`);
  return n;
}

/** Like numParam, with a fallback when neither the leaf nor the policy sets it. */
export function numParamOr(ctx: FactContext, params: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const v = resolveParam(ctx, params[name] ?? ctx.parameters[name]);
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}

export function strParam(ctx: FactContext, params: Readonly<Record<string, unknown>>, name: string, fallback: string): string {
  const v = resolveParam(ctx, params[name] ?? ctx.parameters[name]);
  return typeof v === 'string' && v !== '' ? v : fallback;
}

export function boolParam(ctx: FactContext, params: Readonly<Record<string, unknown>>, name: string, fallback: boolean): boolean {
  const v = resolveParam(ctx, params[name] ?? ctx.parameters[name]);
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fallback;
}

function resolveParam(ctx: FactContext, v: unknown): unknown {
  if (typeof v === 'string' && v.startsWith('%')) return ctx.parameters[v.slice(1)];
  return v;
}

// ---------------------------------------------------------------------------------------------------------------------
// Dates. Everything is relative to ctx.asOf; calendar arithmetic is done in UTC on the date part.

const DAY_MS = 86_400_000;

/** Parse a FHIR date/dateTime/instant; partial dates (YYYY, YYYY-MM) take their first day. */
export function parseFhirDate(s: string | undefined): Date | undefined {
  if (typeof s !== 'string') return undefined;
  // Full dateTimes (almost every Observation) parse directly: this runs once per glucose reading.
  if (s.length >= 19 && s.charCodeAt(10) === 84 /* T */) {
    const ms = Date.parse(s);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  const t = s.trim();
  let iso = t;
  if (/^\d{4}$/.test(t)) iso = `${t}-01-01`;
  else if (/^\d{4}-\d{2}$/.test(t)) iso = `${t}-01`;
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso = `${iso}T00:00:00Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** YYYY-MM-DD of a Date in UTC. */
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** YYYY-MM-DD of a Date in UTC (what toISOString().slice(0, 10) gives, without building the whole string). */
export function utcDay(d: Date): string {
  const y = d.getUTCFullYear();
  // Invalid dates throw as toISOString does; years outside 0–9999 take its expanded form.
  if (!(y >= 0 && y <= 9999)) return d.toISOString().slice(0, 10);
  return `${y < 1000 ? String(y).padStart(4, '0') : y}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** The calendar date as recorded (the date part of the string, before any timezone conversion). */
const DAY = /^\d{4}-\d{2}-\d{2}/;

export function recordedDay(s: string | undefined): string | undefined {
  if (typeof s !== 'string') return undefined;
  const t = s.charCodeAt(0) <= 32 ? s.trim() : s;
  return DAY.test(t) ? t.slice(0, 10) : undefined;
}

/** Midnight UTC of `day` shifted by `months` calendar months, clamped to the month's last day (Aug 31 − 6 mo = Feb 28). */
export function addMonths(day: string, months: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const total = y * 12 + (m - 1) + months;
  const ny = Math.floor(total / 12);
  const nm = total - ny * 12;
  const last = new Date(Date.UTC(ny, nm + 1, 0)).getUTCDate();
  return utcDay(new Date(Date.UTC(ny, nm, Math.min(d, last))));
}

export function addDays(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS));
}

/** Whole calendar days from day `a` to day `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

const asOfDays = new WeakMap<Date, string>();

/** The evaluation day (YYYY-MM-DD); asked by most leaves, formatted once per evaluation date. */
export function asOfDay(ctx: FactContext): string {
  let day = asOfDays.get(ctx.asOf);
  if (day === undefined) asOfDays.set(ctx.asOf, (day = utcDay(ctx.asOf)));
  return day;
}

/** Full years of age on `day` from a birth date. */
export function ageOn(birthDate: string | undefined, day: string): number | undefined {
  const b = recordedDay(birthDate);
  if (!b) return undefined;
  const [by, bm, bd] = b.split('-').map(Number) as [number, number, number];
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age -= 1;
  return age;
}

// ---------------------------------------------------------------------------------------------------------------------
// Decimal-safe comparison. Lab values carry at most a few significant digits; binary floating point can put a ratio
// such as 0.88 / 0.80 a hair above or below 1.10. A relative tolerance far below any reported precision makes the
// inclusive/strict boundaries hold exactly as written.

const EPS = 1e-9;

export function lte(a: number, b: number): boolean {
  return a <= b + EPS * Math.max(1, Math.abs(b));
}

export function gte(a: number, b: number): boolean {
  return a >= b - EPS * Math.max(1, Math.abs(b));
}

export function gt(a: number, b: number): boolean {
  return !lte(a, b);
}

export function lt(a: number, b: number): boolean {
  return !gte(a, b);
}

/** Human formatting of a computed number (trims binary noise): 1.8799999 → "1.88". */
export function fmt(n: number, digits = 2): string {
  const f = Number(n.toFixed(digits));
  return String(Object.is(f, -0) ? 0 : f);
}

export function pct(ratio: number): string {
  return `${fmt(ratio * 100, 1)}%`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Quantities.

export function quantityText(q: Quantity | undefined): string | undefined {
  if (!q || typeof q.value !== 'number') return undefined;
  const unit = q.unit ?? q.code;
  return `${q.comparator ?? ''}${q.value}${unit ? ` ${unit}` : ''}`;
}

/** The unit to convert into for a quantity (its code when UCUM-coded, else its unit string). */
export function ucumOf(q: Quantity | undefined): string | undefined {
  return q ? unitOf(q)?.unit : undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Observations.

/** Statuses whose value may be relied on. preliminary/registered are not final results; cancelled/entered-in-error never. */
const VALID_OBSERVATION_STATUS = new Set(['final', 'amended', 'corrected']);

export function isUsableObservation(o: Observation): boolean {
  return typeof o.status !== 'string' || VALID_OBSERVATION_STATUS.has(o.status);
}

export function effectiveOf(o: Observation): string | undefined {
  return o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.start ?? o.issued;
}

export function refOf(r: AnyResource): string {
  return `${r.resourceType}/${r.id ?? '(no id)'}`;
}

export interface DatedObservation {
  obs: Observation;
  /** Effective as recorded. */
  when: string;
  at: Date;
  day: string;
}

/**
 * Usable Observations coded in a value set, with a parseable effective date on or before asOf, newest first.
 * Memoized per value set: several leaves read the same candidates (C-peptide, glucose, SMBG ...).
 */
export function observationsIn(ctx: FactContext, valueSetId: string): DatedObservation[] {
  const key = `facts:obs:${valueSetId}`;
  const hit = ctx.memo.get(key) as DatedObservation[] | undefined;
  if (hit) return hit;
  const out: DatedObservation[] = [];
  const today = asOfDay(ctx);
  if (ctx.valueSets.has(valueSetId)) {
    for (const obs of ctx.record.byCodes<Observation & { resourceType: 'Observation' }>('Observation', ctx.valueSets.codings(valueSetId))) {
      if (!isUsableObservation(obs)) continue;
      const when = effectiveOf(obs);
      const at = parseFhirDate(when);
      const day = recordedDay(when);
      // Same-day results count even when drawn after the order's time stamp; later days are after the order.
      if (!when || !at || !day || day > today) continue;
      out.push({ obs, when, at, day });
    }
  }
  out.sort((a, b) => b.at.getTime() - a.at.getTime());
  ctx.memo.set(key, out);
  return out;
}

/**
 * Time stamps and days of the usable observations of a value set up to the evaluation day, unsorted: for facts that
 * only count readings in a window (self-testing frequency over years of glucose readings), where building, dating
 * and sorting every reading would make the cost grow faster than the record.
 */
export function observationStampsIn(ctx: FactContext, valueSetId: string): { when: string; day: string }[] {
  const key = `facts:stamps:${valueSetId}`;
  const hit = ctx.memo.get(key) as { when: string; day: string }[] | undefined;
  if (hit) return hit;
  const out: { when: string; day: string }[] = [];
  const today = asOfDay(ctx);
  if (ctx.valueSets.has(valueSetId)) {
    for (const obs of ctx.record.byCodes<Observation & { resourceType: 'Observation' }>('Observation', ctx.valueSets.codings(valueSetId))) {
      if (!isUsableObservation(obs)) continue;
      const when = effectiveOf(obs);
      const day = recordedDay(when);
      if (!when || !day || day > today) continue;
      out.push({ when, day });
    }
  }
  ctx.memo.set(key, out);
  return out;
}

/** Whether an observation carries a code of the given value set (to tell e.g. fasting from untimed C-peptide). */
export function codedIn(ctx: FactContext, valueSetId: string, cc: CodeableConcept | undefined): boolean {
  if (!ctx.valueSets.has(valueSetId)) return false;
  return (cc?.coding ?? []).some((c) => ctx.valueSets.contains(valueSetId, c));
}

export function codingsIn(ctx: FactContext, valueSetId: string, codings: readonly Coding[] | undefined): boolean {
  if (!ctx.valueSets.has(valueSetId)) return false;
  return (codings ?? []).some((c) => ctx.valueSets.contains(valueSetId, c));
}

export function firstCodeText(cc: CodeableConcept | undefined): string | undefined {
  const c = cc?.coding?.[0];
  return cc?.text ?? c?.display ?? (c ? `${c.code}` : undefined);
}

// ---------------------------------------------------------------------------------------------------------------------
// Conditions.

export interface Condition extends AnyResource {
  clinicalStatus?: CodeableConcept;
  verificationStatus?: CodeableConcept;
  code?: CodeableConcept;
  onsetDateTime?: string;
  recordedDate?: string;
}

function statusCode(cc: CodeableConcept | undefined): string | undefined {
  return cc?.coding?.find((c) => typeof c.code === 'string')?.code;
}

/** Not entered-in-error / refuted (a Condition that was never true). */
export function isAssertedCondition(c: Condition): boolean {
  const v = statusCode(c.verificationStatus);
  return v !== 'entered-in-error' && v !== 'refuted';
}

/** Active, recurrent or relapsed, or no clinicalStatus at all (many EHR problem lists omit it). */
export function isActiveCondition(c: Condition): boolean {
  if (!isAssertedCondition(c)) return false;
  const s = statusCode(c.clinicalStatus);
  return s === undefined || s === 'active' || s === 'recurrence' || s === 'relapse';
}

/**
 * Conditions coded in a value set. ICD-10 groups are prefix matches, which an exact code index cannot enumerate, so
 * this walks the (small) Condition list once per value set and memoizes.
 */
export function conditionsIn(ctx: FactContext, valueSetId: string): Condition[] {
  const key = `facts:cond:${valueSetId}`;
  const hit = ctx.memo.get(key) as Condition[] | undefined;
  if (hit) return hit;
  const out = ctx.valueSets.has(valueSetId)
    ? ctx.record.all<Condition & { resourceType: 'Condition' }>('Condition').filter((c) => codedIn(ctx, valueSetId, c.code))
    : [];
  ctx.memo.set(key, out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Questionnaire answers.

interface QrItem { linkId?: string; answer?: { valueBoolean?: boolean; valueDate?: string; valueDateTime?: string; valueCoding?: Coding; valueDecimal?: number; valueInteger?: number }[]; item?: QrItem[] }
export interface QuestionnaireResponse extends AnyResource {
  status?: string;
  questionnaire?: string;
  authored?: string;
  item?: QrItem[];
}

function questionnaireMatches(canonical: string | undefined, questionnaireId: string): boolean {
  if (typeof canonical !== 'string') return false;
  const url = canonical.split('|')[0]!.trim();
  return url === questionnaireId || url.endsWith(`/Questionnaire/${questionnaireId}`);
}

/** Completed (or amended) responses to a questionnaire, newest first. */
export function questionnaireResponses(ctx: FactContext, questionnaireId: string): QuestionnaireResponse[] {
  const key = `facts:qr:${questionnaireId}`;
  const hit = ctx.memo.get(key) as QuestionnaireResponse[] | undefined;
  if (hit) return hit;
  const today = asOfDay(ctx);
  const out = ctx.record
    .all<QuestionnaireResponse & { resourceType: 'QuestionnaireResponse' }>('QuestionnaireResponse')
    .filter((qr) => (qr.status === 'completed' || qr.status === 'amended') && questionnaireMatches(qr.questionnaire, questionnaireId))
    .filter((qr) => (recordedDay(qr.authored) ?? '') <= today)
    .sort((a, b) => (parseFhirDate(b.authored)?.getTime() ?? 0) - (parseFhirDate(a.authored)?.getTime() ?? 0));
  ctx.memo.set(key, out);
  return out;
}

function findItem(items: QrItem[] | undefined, linkId: string): QrItem | undefined {
  for (const it of items ?? []) {
    if (it.linkId === linkId && it.answer && it.answer.length > 0) return it;
    const nested = findItem(it.item, linkId);
    if (nested) return nested;
    for (const a of it.answer ?? []) {
      const inAnswer = findItem((a as { item?: QrItem[] }).item, linkId);
      if (inAnswer) return inAnswer;
    }
  }
  return undefined;
}

/** yes/no answers given as codings (HL7 v2-0136 Y/N, LOINC LA33-6 / LA32-8) are read like booleans. */
const YES = new Set(['Y', 'LA33-6', 'yes', 'true']);
const NO = new Set(['N', 'LA32-8', 'no', 'false']);

export interface AnswerHit {
  qr: QuestionnaireResponse;
  value?: boolean;
  date?: string;
}

/** The newest completed response that answers `linkId` (a later partial response does not erase an earlier answer). */
export function booleanAnswer(ctx: FactContext, questionnaireId: string, linkId: string, dateLinkId?: string): AnswerHit | undefined {
  for (const qr of questionnaireResponses(ctx, questionnaireId)) {
    const item = findItem(qr.item, linkId);
    if (!item) continue;
    const a = item.answer?.[0];
    let value: boolean | undefined;
    if (typeof a?.valueBoolean === 'boolean') value = a.valueBoolean;
    else if (a?.valueCoding?.code && YES.has(a.valueCoding.code)) value = true;
    else if (a?.valueCoding?.code && NO.has(a.valueCoding.code)) value = false;
    if (value === undefined) continue;
    const dateItem = dateLinkId ? findItem(qr.item, dateLinkId) : undefined;
    const date = dateItem?.answer?.[0]?.valueDate ?? dateItem?.answer?.[0]?.valueDateTime;
    return { qr, value, ...(date ? { date } : {}) };
  }
  return undefined;
}

export interface RawAnswerHit {
  qr: QuestionnaireResponse;
  /** The coded answer (valueCoding.code, else valueString), when the item is a choice. */
  code?: string;
  /** The coded answer's display, when sent. */
  display?: string;
  /** The numeric answer (valueInteger / valueDecimal / valueQuantity.value). */
  number?: number;
  value?: boolean;
  date?: string;
}

/** The newest completed response's answer to `linkId`, whatever its type (choice, number, yes/no). */
export function latestAnswer(ctx: FactContext, questionnaireId: string, linkId: string, dateLinkId?: string): RawAnswerHit | undefined {
  for (const qr of questionnaireResponses(ctx, questionnaireId)) {
    const item = findItem(qr.item, linkId);
    if (!item) continue;
    const a = item.answer?.[0] as (NonNullable<QrItem['answer']>[number] & { valueString?: unknown; valueQuantity?: { value?: unknown } }) | undefined;
    if (!a || typeof a !== 'object') continue;
    const hit: RawAnswerHit = { qr };
    if (typeof a.valueCoding?.code === 'string') {
      hit.code = a.valueCoding.code.trim();
      if (typeof a.valueCoding.display === 'string' && a.valueCoding.display.trim()) hit.display = a.valueCoding.display.trim();
    }
    else if (typeof a.valueString === 'string') hit.code = a.valueString.trim();
    const n = [a.valueInteger, a.valueDecimal, a.valueQuantity?.value].find((x) => typeof x === 'number' && Number.isFinite(x));
    if (typeof n === 'number') hit.number = n;
    if (typeof a.valueBoolean === 'boolean') hit.value = a.valueBoolean;
    if (hit.code === undefined && hit.number === undefined && hit.value === undefined) continue;
    const dateItem = dateLinkId ? findItem(qr.item, dateLinkId) : undefined;
    const date = dateItem?.answer?.[0]?.valueDate ?? dateItem?.answer?.[0]?.valueDateTime;
    if (typeof date === 'string') hit.date = date;
    return hit;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Coverage (the Medicare enrollment date for LCD criterion D).

export interface Coverage extends AnyResource {
  status?: string;
  period?: Period;
}

/** Active on the order date: status active (or absent) and a period, when given, that includes it. */
function activeOn(c: Coverage, day: string): boolean {
  if (c.status !== undefined && c.status !== 'active') return false;
  const start = recordedDay(c.period?.start);
  const end = recordedDay(c.period?.end);
  return !(start && start > day) && !(end && end < day);
}

/**
 * The Coverage the order is evaluated under: the one the engine selected when the context carries it
 * (`coverageRef`), else the order's own `insurance` when it resolves, else the active Coverage — the earliest-starting
 * one when several are active, since criterion D asks about enrollment.
 */
export function orderCoverage(ctx: FactContext): { coverage?: Coverage; note?: string } {
  const key = 'facts:coverage';
  const hit = ctx.memo.get(key) as { coverage?: Coverage; note?: string } | undefined;
  if (hit) return hit;
  let result: { coverage?: Coverage; note?: string } = {};
  const selected = ctx.coverageRef;
  for (const ref of [...(typeof selected === 'string' ? [selected] : []), ...ctx.order.insurance]) {
    const c = ctx.record.resolve<Coverage & { resourceType: 'Coverage' }>(ref);
    if (c && c.resourceType === 'Coverage') {
      result = { coverage: c, note: ref === selected ? `Coverage the order is judged under (${ref})` : `Coverage named by the order (${ref})` };
      break;
    }
  }
  if (!result.coverage) {
    const today = asOfDay(ctx);
    const active = ctx.record.all<Coverage & { resourceType: 'Coverage' }>('Coverage').filter((c) => activeOn(c, today));
    const dated = active
      .filter((c) => parseFhirDate(c.period?.start))
      .sort((a, b) => parseFhirDate(a.period?.start)!.getTime() - parseFhirDate(b.period?.start)!.getTime());
    const chosen = dated[0] ?? active[0];
    if (chosen) {
      result = {
        coverage: chosen,
        note: active.length > 1 ? `${active.length} active Coverages; used the earliest-starting one (${refOf(chosen)})` : `active Coverage ${refOf(chosen)}`,
      };
    }
  }
  ctx.memo.set(key, result);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------------
// Devices (insulin pumps, CGMs) and the date the initial CSII criteria are measured at.

export interface DeviceLike extends AnyResource {
  status?: string;
  type?: CodeableConcept;
  device?: Reference & { concept?: CodeableConcept; reference?: string };
  timingPeriod?: { start?: string; end?: string };
  timingDateTime?: string;
  recordedOn?: string;
  codeCodeableConcept?: CodeableConcept;
  authoredOn?: string;
  performedDateTime?: string;
  performedPeriod?: { start?: string; end?: string };
}

export interface DeviceUse { ref: string; kind: string; current: boolean; startDay?: string; /** Recorded end of use (DeviceUseStatement timingPeriod.end). */ endDay?: string; label: string }

/** Devices, device use statements (R4 Reference or R5-style concept) and, optionally, orders/procedures of a value set. */
export function deviceUses(ctx: FactContext, vs: string, procedureVs?: string, includeRequests = false): DeviceUse[] {
  const key = `facts:devices:${vs}:${procedureVs ?? ''}:${includeRequests}`;
  const hit = ctx.memo.get(key) as DeviceUse[] | undefined;
  if (hit) return hit;
  const today = asOfDay(ctx);
  const out: DeviceUse[] = [];
  const devices = ctx.record.byCodes<DeviceLike & { resourceType: 'Device' }>('Device', ctx.valueSets.codings(vs)) as DeviceLike[];
  for (const d of devices) {
    if (d.status === 'entered-in-error') continue;
    out.push({ ref: refOf(d), kind: 'Device', current: d.status !== 'inactive', label: firstCodeText(d.type) ?? 'device' });
  }
  for (const s of ctx.record.all<DeviceLike & { resourceType: 'DeviceUseStatement' }>('DeviceUseStatement') as DeviceLike[]) {
    if (s.status === 'entered-in-error' || s.status === 'intended') continue;
    const dev = ctx.record.resolve<DeviceLike & { resourceType: 'Device' }>(s.device) as DeviceLike | undefined;
    const concept = s.device?.concept ?? dev?.type;
    if (!codedIn(ctx, vs, concept)) continue;
    const start = recordedDay(s.timingPeriod?.start ?? s.timingDateTime ?? s.recordedOn);
    if (start && start > today) continue;
    const endDay = recordedDay(s.timingPeriod?.end);
    const ended = !!endDay && endDay < today;
    out.push({ ref: refOf(s), kind: 'DeviceUseStatement', current: (s.status === 'active' || s.status === undefined) && !ended, ...(start ? { startDay: start } : {}), ...(endDay ? { endDay } : {}), label: firstCodeText(concept) ?? 'device' });
  }
  if (procedureVs) {
    for (const p of ctx.record.byCodes<DeviceLike & { resourceType: 'Procedure' }>('Procedure', ctx.valueSets.codings(procedureVs)) as DeviceLike[]) {
      if (p.status !== 'completed') continue;
      const start = recordedDay(p.performedDateTime ?? p.performedPeriod?.start);
      if (start && start > today) continue;
      out.push({ ref: refOf(p), kind: 'Procedure', current: false, ...(start ? { startDay: start } : {}), label: firstCodeText(p.code as CodeableConcept) ?? 'procedure' });
    }
  }
  if (includeRequests) {
    for (const r of ctx.record.byCodes<DeviceLike & { resourceType: 'DeviceRequest' }>('DeviceRequest', ctx.valueSets.codings(vs)) as DeviceLike[]) {
      if (r.status !== 'active' && r.status !== 'completed') continue;
      if (refOf(r) === ctx.order.ref) continue;
      const start = recordedDay(r.authoredOn);
      if (start && start > today) continue;
      out.push({ ref: refOf(r), kind: 'DeviceRequest', current: r.status === 'active', ...(start ? { startDay: start } : {}), label: firstCodeText(r.codeCodeableConcept) ?? 'device order' });
    }
  }
  ctx.memo.set(key, out);
  return out;
}

export interface InitiationAnchor {
  /** 'order': an initial pump order, measured as of the order date; 'initiation': continued coverage. */
  kind: 'order' | 'initiation';
  /** The order date, or the pump initiation date; absent when on a pump whose start is not documented. */
  day?: string;
  /** The day the MDI regimen must be in effect: the order date, or the last day before the pump. */
  regimenDay?: string;
  /** "the order" / "pump initiation 2025-01-15": what the windows end at, for thresholds and reasons. */
  before: string;
  /** Evidence note naming the anchor: "as of the order date 2026-04-01" / "as of pump initiation 2025-01-15". */
  note: string;
  /** For 'initiation': the resource dating the initiation (or, when undated, what shows the pump) and why it applies. */
  evidence: Evidence[];
  /** Set when the initiation date is not documented: the reason the criteria anchored on it are not documented. */
  missing?: string;
}

// ---------------------------------------------------------------------------------------------------------------------
// Outcome builders.

export function outcome(status: TriState, evidence: Evidence[], reason?: string): LeafOutcome {
  return reason === undefined ? { status, evidence } : { status, evidence, reason };
}

export function gapNote(ctx: FactContext, resourceType: string): string | undefined {
  const g = ctx.record.gapFor(resourceType);
  return g ? `${resourceType} could not be read (${g.reason})` : undefined;
}

/** Not documented, naming a record gap when the missing type could not be read at all. */
export function notDocumented(ctx: FactContext, reason: string, evidence: Evidence[] = [], types: string[] = []): LeafOutcome {
  const gaps = types.map((t) => gapNote(ctx, t)).filter((g): g is string => !!g);
  return outcome('not-documented', evidence, gaps.length ? `${reason} (${gaps.join('; ')})` : reason);
}

export function systemOf(c: Coding): string {
  return canonicalSystem(c.system);
}

/** Cap evidence lists so a record with hundreds of candidates does not bloat the card. */
export function capEvidence(evidence: Evidence[], max = 5): Evidence[] {
  if (evidence.length <= max) return evidence;
  return [...evidence.slice(0, max), { note: `${evidence.length - max} more not shown` }];
}
