// Fact functions of the Medicare CSII (insulin pump, E0784) policy: NCD 280.14 B.1.e, LCD L33794 indication IV, A52507.
// Each returns met / not-met / not-documented with the evidence a reviewer needs (resource, date, value as recorded,
// threshold applied, computation). Thresholds come from the policy's parameters (policies/medicare-csii.policy.json).
import type { Evidence, FactContext, FactDefinition, FactFunction, LeafOutcome, TriState } from '../types.js';
import type { Finding } from '../kinds/types.js';
import {
  C_PEPTIDE_MOLECULAR_WEIGHT as MW_C_PEPTIDE,
  CREATININE_MOLECULAR_WEIGHT as MW_CREATININE,
  GLUCOSE_MOLECULAR_WEIGHT as MW_GLUCOSE,
  convertQuantity,
  hba1cToPercent,
} from '../units.js';
import {
  type AnyResource,
  type CodeableConcept,
  type DatedObservation,
  type Observation,
  type Quantity,
  type Reference,
  addDays,
  addMonths,
  ageOn,
  asOfDay,
  boolParam,
  capEvidence,
  codedIn,
  daysBetween,
  firstCodeText,
  fmt,
  gt,
  gte,
  type InitiationAnchor,
  lte,
  notDocumented,
  numParam,
  observationsIn,
  outcome,
  pct,
  quantityText,
  recordedDay,
  refOf,
  strParam,
  ucumOf,
} from './common.js';

type Params = Readonly<Record<string, unknown>>;
type Conversion = { ok: true; value: number; unit: string } | { ok: false; reason: string };

function vsParam(params: Params, name: string, fallback: string): string {
  const v = params[name];
  return typeof v === 'string' && v !== '' ? v : fallback;
}

function convert(q: Quantity, target: string, molecularWeight?: number): Conversion {
  if (typeof q.value !== 'number') return { ok: false, reason: 'no numeric value' };
  // Same unit string: no conversion needed (also covers arbitrary lab units UCUM does not know, e.g. "U/mL").
  const from = ucumOf(q);
  if (from !== undefined && from === target) return { ok: true, value: q.value, unit: target };
  return convertQuantity(q, target, molecularWeight === undefined ? {} : { molecularWeight });
}

// =====================================================================================================================
// Fasting C-peptide (NCD 280.14 B.1.e "updated fasting C-peptide testing requirement"; LCD IV criterion A)

interface Specimen extends AnyResource {
  collection?: { fastingStatusCodeableConcept?: CodeableConcept };
}

const FASTING_STATUS_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0916';

function specimenIsFasting(ctx: FactContext, o: Observation): boolean {
  const s = ctx.record.resolve<Specimen & { resourceType: 'Specimen' }>(o.specimen) as Specimen | undefined;
  return !!s?.collection?.fastingStatusCodeableConcept?.coding?.some((c) => c.code === 'F' && (!c.system || c.system === FASTING_STATUS_SYSTEM));
}

interface CPeptideAssessment {
  status: TriState;
  /** A valid test: LLN known, units convertible, concurrent fasting glucose ≤ the maximum. */
  valid: boolean;
  evidence: Evidence[];
  reason: string;
  /** Why it is not documented, for remedies that fit the gap (policy RemedyFilter): see C_PEPTIDE_FINDINGS. */
  finding?: Finding;
  /** A new draw could change it (invalid: concurrent fasting glucose above the maximum). */
  retest?: boolean;
}

/** Finding codes of fastingCPeptideInsulinopenia (remedies select on them). */
export const C_PEPTIDE_FINDINGS = {
  invalidGlucose: 'invalid-concurrent-glucose',
  renalMissing: 'renal-function-missing',
} as const;

interface RenalFunction { crcl?: number; evidence?: Evidence; missing?: string }

function nearest(list: DatedObservation[], at: Date, maxDays: number): DatedObservation[] {
  return list
    .map((d) => ({ d, gap: Math.abs(d.at.getTime() - at.getTime()) }))
    .filter((x) => x.gap <= maxDays * 86_400_000)
    .sort((a, b) => a.gap - b.gap || b.d.at.getTime() - a.d.at.getTime())
    .map((x) => x.d);
}

/**
 * Creatinine clearance around a C-peptide draw: a recorded clearance (measured 2164-2 or Cockcroft-Gault 35591-7)
 * nearest to the draw, else Cockcroft-Gault computed from serum creatinine, age on the creatinine date, sex and weight:
 * CrCl = (140 − age) × kg / (72 × Scr mg/dL), × 0.85 for women. Only results within crclMaxDaysFromCPeptide of the draw
 * count (the NCD gives no window; renal function at the time of the test is what affects C-peptide).
 */
function renalFunction(ctx: FactContext, params: Params, draw: DatedObservation): RenalFunction {
  const key = `facts:crcl:${draw.at.toISOString()}`;
  const hit = ctx.memo.get(key) as RenalFunction | undefined;
  if (hit) return hit;
  const maxDays = numParam(ctx, params, 'crclMaxDaysFromCPeptide');
  const result = computeRenal(ctx, params, draw, maxDays);
  ctx.memo.set(key, result);
  return result;
}

function computeRenal(ctx: FactContext, params: Params, draw: DatedObservation, maxDays: number): RenalFunction {
  const problems: string[] = [];
  for (const d of nearest(observationsIn(ctx, vsParam(params, 'crclValueSet', 'creatinine-clearance')), draw.at, maxDays)) {
    const q = d.obs.valueQuantity;
    if (!q) continue;
    const c = convert(q, 'mL/min');
    if (!c.ok) {
      problems.push(`creatinine clearance ${quantityText(q)} on ${d.day} not convertible to mL/min (${c.reason})`);
      continue;
    }
    return { crcl: c.value, evidence: { reference: refOf(d.obs), date: d.when, value: quantityText(q)!, note: `creatinine clearance ${fmt(c.value, 1)} mL/min` } };
  }
  const scrObs = nearest(observationsIn(ctx, vsParam(params, 'creatinineValueSet', 'serum-creatinine')), draw.at, maxDays).find((d) => d.obs.valueQuantity);
  if (!scrObs) return { missing: [...problems, `no creatinine clearance or serum creatinine within ${maxDays} days of the C-peptide`].join('; ') };
  const scrQ = scrObs.obs.valueQuantity!;
  const scr = convert(scrQ, 'mg/dL', MW_CREATININE);
  if (!scr.ok) return { missing: `serum creatinine ${quantityText(scrQ)} not convertible to mg/dL (${scr.reason})` };
  const wObs = nearest(observationsIn(ctx, vsParam(params, 'weightValueSet', 'body-weight')), scrObs.at, maxDays).find((d) => d.obs.valueQuantity);
  const patient = ctx.record.patient as { birthDate?: string; gender?: string } | undefined;
  const age = ageOn(patient?.birthDate, scrObs.day);
  const gender = patient?.gender;
  const missing: string[] = [];
  if (!wObs) missing.push(`body weight within ${maxDays} days`);
  if (age === undefined) missing.push('birth date');
  if (gender !== 'male' && gender !== 'female') missing.push('sex (male/female)');
  let kg: number | undefined;
  if (wObs) {
    const w = convert(wObs.obs.valueQuantity!, 'kg');
    if (w.ok) kg = w.value;
    else missing.push(`body weight ${quantityText(wObs.obs.valueQuantity)} not convertible to kg (${w.reason})`);
  }
  if (missing.length || kg === undefined || age === undefined || scr.value <= 0) {
    return { missing: `Cockcroft-Gault not computable: missing ${missing.join(', ') || 'a positive creatinine'}` };
  }
  const crcl = (((140 - age) * kg) / (72 * scr.value)) * (gender === 'female' ? 0.85 : 1);
  return {
    crcl,
    evidence: {
      reference: refOf(scrObs.obs),
      date: scrObs.when,
      value: quantityText(scrQ)!,
      note: `Cockcroft-Gault: age ${age}, ${gender}, ${fmt(kg, 1)} kg (${refOf(wObs!.obs)}), creatinine ${fmt(scr.value, 2)} mg/dL → ${fmt(crcl, 1)} mL/min`,
    },
  };
}

function assessCPeptide(ctx: FactContext, params: Params, d: DatedObservation): CPeptideAssessment {
  const ratioMax = numParam(ctx, params, 'cPeptideRatioMax');
  const renalMax = numParam(ctx, params, 'cPeptideRenalRatioMax');
  const crclMax = numParam(ctx, params, 'creatinineClearanceMax');
  const glucoseMax = numParam(ctx, params, 'fastingGlucoseMax');
  const q = d.obs.valueQuantity;
  const base: Evidence = { reference: refOf(d.obs), date: d.when, ...(quantityText(q) ? { value: quantityText(q)! } : {}) };
  const fail = (status: TriState, reason: string, valid = false, extra: Evidence[] = []): CPeptideAssessment => ({
    status,
    valid,
    evidence: [{ ...base, note: reason }, ...extra],
    reason,
  });
  if (!q || typeof q.value !== 'number') return fail('not-documented', `C-peptide on ${d.day} has no numeric value`);
  const low = d.obs.referenceRange?.find((r) => typeof r.low?.value === 'number')?.low;
  if (!low || typeof low.value !== 'number' || low.value <= 0) {
    return fail('not-documented', `C-peptide on ${d.day} has no lower limit of normal (referenceRange.low) to compare with`);
  }
  const lowUnit = ucumOf(low) ?? ucumOf(q);
  if (!lowUnit) return fail('not-documented', `C-peptide on ${d.day} has no unit`);
  const conv = convert(q, lowUnit, MW_C_PEPTIDE);
  if (!conv.ok) return fail('not-documented', `C-peptide ${quantityText(q)} not convertible to the reference range unit ${lowUnit} (${conv.reason})`);
  const ratio = conv.value / low.value;
  const lowText = `${low.value} ${low.unit ?? lowUnit}`;
  const threshold = `≤ ${pct(ratioMax)} of lower limit ${lowText} (≤ ${pct(renalMax)} if creatinine clearance ≤ ${crclMax} mL/min); fasting glucose ≤ ${glucoseMax} mg/dL same day`;
  const ratioNote = `ratio ${pct(ratio)} of lower limit ${lowText}`;

  // A3: a concurrently obtained fasting glucose (same calendar date as recorded) ≤ 225 mg/dL.
  const sameDay = observationsIn(ctx, vsParam(params, 'glucoseValueSet', 'fasting-glucose')).filter((g) => g.day === d.day && g.obs.valueQuantity);
  if (sameDay.length === 0) {
    return { status: 'not-documented', valid: false, reason: `no fasting glucose drawn the same day as the C-peptide (${d.day})`, evidence: [{ ...base, threshold, note: `${ratioNote}; no concurrent fasting glucose` }] };
  }
  // Closest draw in time; on a tie the higher glucose (the conservative reading).
  const glucoses = sameDay
    .map((g) => ({ g, gap: Math.abs(g.at.getTime() - d.at.getTime()), c: convert(g.obs.valueQuantity!, 'mg/dL', MW_GLUCOSE) }))
    .sort((a, b) => a.gap - b.gap || (b.c.ok ? b.c.value : 0) - (a.c.ok ? a.c.value : 0));
  const chosen = glucoses[0]!;
  const gQ = chosen.g.obs.valueQuantity!;
  if (!chosen.c.ok) {
    return { status: 'not-documented', valid: false, reason: `fasting glucose ${quantityText(gQ)} not convertible to mg/dL (${chosen.c.reason})`, evidence: [{ ...base, threshold, note: ratioNote }, { reference: refOf(chosen.g.obs), date: chosen.g.when, value: quantityText(gQ)!, note: chosen.c.reason }] };
  }
  const glucoseMg = chosen.c.value;
  const glucoseEv: Evidence = {
    reference: refOf(chosen.g.obs),
    date: chosen.g.when,
    value: quantityText(gQ)!,
    threshold: `≤ ${glucoseMax} mg/dL`,
    note: `concurrent fasting glucose${ucumOf(gQ) === 'mg/dL' ? '' : ` = ${fmt(glucoseMg, 1)} mg/dL`}`,
  };
  if (gt(glucoseMg, glucoseMax)) {
    // NCD 280.14 B.1.e: "only considered valid with a concurrently obtained fasting glucose <= 225 mg/dL". An invalid
    // test is no evidence either way: not documented, repeat the draw (never "not met").
    return {
      status: 'not-documented',
      valid: false,
      retest: true,
      finding: { kind: 'fact', code: C_PEPTIDE_FINDINGS.invalidGlucose, values: { glucose: fmt(glucoseMg, 1), max: glucoseMax } },
      reason: `fasting C-peptide of ${d.day} invalid (same-draw fasting glucose ${fmt(glucoseMg, 1)} mg/dL > ${glucoseMax}): repeat the test`,
      evidence: [{ ...base, threshold, note: `${ratioNote}; invalid test (concurrent fasting glucose > ${glucoseMax} mg/dL)` }, glucoseEv],
    };
  }

  const comparator = q.comparator;
  if (comparator === '>' || comparator === '>=') {
    // A lower bound: only "too high" can be concluded from it.
    if (gt(ratio, renalMax)) return { status: 'not-met', valid: true, reason: `C-peptide above ${pct(renalMax)} of the lower limit`, evidence: [{ ...base, threshold, note: ratioNote }, glucoseEv] };
    return { status: 'not-documented', valid: false, reason: `C-peptide reported only as ${quantityText(q)}`, evidence: [{ ...base, threshold, note: ratioNote }, glucoseEv] };
  }
  if (lte(ratio, ratioMax)) {
    return { status: 'met', valid: true, reason: `fasting C-peptide ${pct(ratio)} of the lower limit (≤ ${pct(ratioMax)})`, evidence: [{ ...base, threshold, note: ratioNote }, glucoseEv] };
  }
  if (lte(ratio, renalMax)) {
    const renal = renalFunction(ctx, params, d);
    if (renal.crcl === undefined) {
      return {
        status: 'not-documented',
        valid: true,
        finding: { kind: 'fact', code: C_PEPTIDE_FINDINGS.renalMissing, values: { gapLabel: 'creatinine clearance', ratio: pct(ratio) } },
        reason: `creatinine clearance not documented: the fasting C-peptide on file (${pct(ratio)} of the lower limit) meets the renal limit (≤ ${pct(renalMax)}) only with creatinine clearance ≤ ${crclMax} mL/min, measured or by Cockcroft-Gault from serum creatinine and weight (${renal.missing})`,
        evidence: [{ ...base, threshold, note: `${ratioNote}; renal path needs creatinine clearance` }, glucoseEv],
      };
    }
    const renalEv: Evidence = { ...renal.evidence!, threshold: `≤ ${crclMax} mL/min` };
    if (lte(renal.crcl, crclMax)) {
      return { status: 'met', valid: true, reason: `fasting C-peptide ${pct(ratio)} of the lower limit with creatinine clearance ${fmt(renal.crcl, 1)} mL/min (renal path ≤ ${pct(renalMax)})`, evidence: [{ ...base, threshold, note: `${ratioNote}; renal insufficiency path` }, glucoseEv, renalEv] };
    }
    return { status: 'not-met', valid: true, reason: `fasting C-peptide ${pct(ratio)} of the lower limit (> ${pct(ratioMax)}); creatinine clearance ${fmt(renal.crcl, 1)} mL/min > ${crclMax}, so the ${pct(renalMax)} limit does not apply`, evidence: [{ ...base, threshold, note: ratioNote }, glucoseEv, renalEv] };
  }
  return { status: 'not-met', valid: true, reason: `fasting C-peptide ${pct(ratio)} of the lower limit — insulinopenia not shown (> ${pct(renalMax)})`, evidence: [{ ...base, threshold, note: ratioNote }, glucoseEv] };
}

/**
 * Insulinopenia by fasting C-peptide. Candidates: fasting-coded C-peptide (13037-7, 42180-0), plus untimed 1986-9 only
 * when its Specimen is recorded as fasting (parameter cPeptideAcceptUntimedIfSpecimenFasting). No look-back limit
 * ("levels only need to be documented once"). The newest valid test decides (parameter cPeptideSelection 'newest');
 * with 'any', any valid qualifying test suffices. With no valid test, the newest candidate's problem is reported:
 * invalid (glucose > 225) ⇒ not met, missing glucose / LLN / convertible unit ⇒ not documented.
 */
export const fastingCPeptideInsulinopenia: FactFunction = (ctx, params) => {
  const acceptUntimed = boolParam(ctx, params, 'cPeptideAcceptUntimedIfSpecimenFasting', true);
  const selection = strParam(ctx, params, 'cPeptideSelection', 'newest');
  const skipped: Evidence[] = [];
  const candidates: DatedObservation[] = [...observationsIn(ctx, vsParam(params, 'valueSet', 'c-peptide-fasting'))];
  for (const d of observationsIn(ctx, vsParam(params, 'untimedValueSet', 'c-peptide-untimed'))) {
    if (candidates.some((c) => c.obs === d.obs)) continue;
    if (acceptUntimed && specimenIsFasting(ctx, d.obs)) candidates.push(d);
    else skipped.push({ reference: refOf(d.obs), date: d.when, ...(quantityText(d.obs.valueQuantity) ? { value: quantityText(d.obs.valueQuantity)! } : {}), note: 'C-peptide not recorded as fasting: not used' });
  }
  candidates.sort((a, b) => b.at.getTime() - a.at.getTime());
  if (candidates.length === 0) {
    return notDocumented(ctx, skipped.length ? 'only non-fasting C-peptide results on record' : 'no fasting C-peptide on record', capEvidence(skipped, 3), ['Observation']);
  }
  const assessments = candidates.map((d) => assessCPeptide(ctx, params, d));
  const valid = assessments.filter((a) => a.valid);
  // 'any' (NCD: "levels only need to be documented once"): a valid qualifying level decides, else one that may still
  // qualify (renal path without clearance), else the newest valid one. 'newest': the newest valid test decides.
  const decisive =
    (selection === 'any' ? (valid.find((a) => a.status === 'met') ?? valid.find((a) => a.status === 'not-documented')) : undefined) ??
    valid[0] ??
    assessments.find((a) => a.retest) ??
    assessments[0]!;
  const others = assessments
    .filter((a) => a !== decisive)
    .map((a) => ({ ...a.evidence[0]!, note: `${a.evidence[0]!.note ?? ''} (${decisive.status === 'met' ? 'later or other test, not needed: levels need documenting once' : 'not decisive'})`.trim() }));
  const result = outcome(decisive.status, capEvidence([...decisive.evidence, ...others], 6), decisive.reason);
  if (decisive.finding) result.finding = decisive.finding;
  // Invalid, not high: a new fasting draw with a concurrent glucose can still show insulinopenia.
  if (decisive.retest) result.retest = true;
  return result;
};

// =====================================================================================================================
// Multiple daily injections (LCD IV criterion C / NCD Criterion A)

interface Timing {
  repeat?: { frequency?: number; period?: number; periodUnit?: string; timeOfDay?: string[]; when?: string[]; boundsPeriod?: { start?: string; end?: string } };
  code?: CodeableConcept;
}
interface Dosage { sequence?: number; timing?: Timing; text?: string }
interface MedicationUse extends AnyResource {
  status?: string;
  intent?: string;
  medicationCodeableConcept?: CodeableConcept;
  medicationReference?: Reference;
  effectiveDateTime?: string;
  effectivePeriod?: { start?: string; end?: string };
  dateAsserted?: string;
  authoredOn?: string;
  dosage?: Dosage[];
  dosageInstruction?: Dosage[];
  dispenseRequest?: { validityPeriod?: { start?: string; end?: string } };
}

const PER_DAY: Record<string, number> = { s: 86_400, min: 1_440, h: 24, d: 1, wk: 1 / 7, mo: 1 / 30, a: 1 / 365 };
/** HL7 v3 GTSAbbreviation timing codes. */
const TIMING_CODES: Record<string, number> = { QD: 1, AM: 1, PM: 1, BID: 2, TID: 3, QID: 4, QOD: 0.5, Q4H: 6, Q6H: 4, Q8H: 3 };

/** HL7 v3 TimingEvent codes (Timing.repeat.when) in the words a clinician uses: evidence never shows "ACM, ACD". */
const WHEN_WORDS: Record<string, string> = {
  MORN: 'in the morning', 'MORN.early': 'early morning', 'MORN.late': 'late morning', NOON: 'at noon', AFT: 'in the afternoon',
  'AFT.early': 'early afternoon', 'AFT.late': 'late afternoon', EVE: 'in the evening', 'EVE.early': 'early evening', 'EVE.late': 'late evening',
  NIGHT: 'at night', PHS: 'after sleep', IMD: 'immediately', HS: 'at bedtime', WAKE: 'on waking', C: 'with a meal', CM: 'with breakfast',
  CD: 'with lunch', CV: 'with dinner', AC: 'before a meal', ACM: 'before breakfast', ACD: 'before lunch', ACV: 'before dinner',
  PC: 'after a meal', PCM: 'after breakfast', PCD: 'after lunch', PCV: 'after dinner',
};
const UNIT_WORDS: Record<string, [string, string]> = { s: ['second', 'seconds'], min: ['minute', 'minutes'], h: ['hour', 'hours'], d: ['day', 'days'], wk: ['week', 'weeks'], mo: ['month', 'months'], a: ['year', 'years'] };
const CODE_WORDS: Record<string, string> = { QD: 'once a day', AM: 'every morning', PM: 'every evening', BID: 'twice a day', TID: 'three times a day', QID: 'four times a day', QOD: 'every other day', Q4H: 'every 4 hours', Q6H: 'every 6 hours', Q8H: 'every 8 hours' };

function wordList(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** Injections per day of one dosage line; undefined when its timing says nothing countable. */
export function timingPerDay(t: Timing | undefined): { perDay?: number; how: string } {
  if (!t) return { how: 'no timing' };
  const r = t.repeat;
  const options: { n: number; how: string }[] = [];
  if (r?.period && r.periodUnit && PER_DAY[r.periodUnit] !== undefined && r.period > 0) {
    const f = r.frequency ?? 1;
    const [one, many] = UNIT_WORDS[r.periodUnit] ?? [r.periodUnit, r.periodUnit];
    options.push({ n: (f * PER_DAY[r.periodUnit]!) / r.period, how: `${f} per ${r.period === 1 ? one : `${r.period} ${many}`}` });
  }
  if (r?.timeOfDay?.length) options.push({ n: r.timeOfDay.length, how: `at ${wordList(r.timeOfDay.map((x) => x.slice(0, 5)))}` });
  if (r?.when?.length) options.push({ n: r.when.length, how: wordList(r.when.map((w) => WHEN_WORDS[w] ?? w.toLowerCase())) });
  if (options.length === 0) {
    const code = t.code?.coding?.find((c) => c.code && TIMING_CODES[c.code] !== undefined)?.code;
    if (code) options.push({ n: TIMING_CODES[code]!, how: CODE_WORDS[code] ?? code });
  }
  if (options.length === 0) return { how: 'timing without frequency' };
  const best = options.reduce((a, b) => (b.n > a.n ? b : a));
  return { perDay: best.n, how: best.how };
}

interface Regimen {
  ref: string;
  medKey: string;
  medText: string;
  startDay: string;
  /** Inclusive; undefined = ongoing. */
  endDay?: string;
  perDay?: number;
  how: string;
}

interface MdiAnalysis {
  regimens: Regimen[];
  /** Injections/day on the asOf day (undefined when an active regimen's timing is unknown and the known ones fall short). */
  current?: number;
  currentKnown: number;
  activeUnknown: Regimen[];
  active: Regimen[];
  /** First day of the continuous ≥ min/day period ending on asOf. */
  mdiStart?: string;
}

function medicationOf(ctx: FactContext, m: MedicationUse): CodeableConcept | undefined {
  if (m.medicationCodeableConcept) return m.medicationCodeableConcept;
  const med = ctx.record.resolve<AnyResource & { resourceType: 'Medication' }>(m.medicationReference) as (AnyResource & { code?: CodeableConcept }) | undefined;
  return med?.code;
}

function insulinUses(ctx: FactContext, vs: string): MedicationUse[] {
  const key = `facts:insulin:${vs}`;
  const hit = ctx.memo.get(key) as MedicationUse[] | undefined;
  if (hit) return hit;
  const out = new Set<MedicationUse>();
  for (const type of ['MedicationStatement', 'MedicationRequest']) {
    for (const m of ctx.record.byCodes<MedicationUse & { resourceType: string }>(type, ctx.valueSets.codings(vs))) out.add(m as MedicationUse);
    // medicationReference is not indexed by code: resolve the (few) referenced Medications once.
    for (const m of ctx.record.all<MedicationUse & { resourceType: string }>(type) as MedicationUse[]) {
      if (m.medicationReference && codedIn(ctx, vs, medicationOf(ctx, m))) out.add(m);
    }
  }
  const list = [...out];
  ctx.memo.set(key, list);
  return list;
}

const EXCLUDED_MS = new Set(['entered-in-error', 'not-taken', 'intended']);
const INCLUDED_MR = new Set(['active', 'completed', 'stopped', 'on-hold']);

function toRegimen(ctx: FactContext, vs: string, m: MedicationUse): Regimen | undefined {
  const isStatement = m.resourceType === 'MedicationStatement';
  if (isStatement ? m.status !== undefined && EXCLUDED_MS.has(m.status) : !INCLUDED_MR.has(m.status ?? '')) return undefined;
  if (!isStatement && m.intent === 'proposal') return undefined;
  const dosages = (isStatement ? m.dosage : m.dosageInstruction) ?? [];
  const bounds = dosages.map((d) => d.timing?.repeat?.boundsPeriod).find((b) => b?.start || b?.end);
  const start = isStatement
    ? (m.effectivePeriod?.start ?? m.effectiveDateTime ?? bounds?.start ?? m.dateAsserted)
    : (bounds?.start ?? m.dispenseRequest?.validityPeriod?.start ?? m.authoredOn);
  const startDay = recordedDay(start);
  if (!startDay) return undefined;
  const explicitEnd = isStatement ? (m.effectivePeriod?.end ?? bounds?.end) : (bounds?.end ?? m.dispenseRequest?.validityPeriod?.end);
  const ongoing = m.status === undefined || m.status === 'active' || m.status === 'on-hold' || m.status === 'unknown';
  // A finished use without an end date ended at an unknown time: count it on its start day only.
  const endDay = recordedDay(explicitEnd) ?? (ongoing ? undefined : startDay);

  // Dosage lines with the same sequence number run concurrently (summed); different sequence numbers follow each
  // other (the largest count is used).
  const groups = new Map<number, { sum: number; unknown: number; how: string[] }>();
  for (const d of dosages) {
    const g = groups.get(d.sequence ?? 0) ?? { sum: 0, unknown: 0, how: [] };
    const t = timingPerDay(d.timing);
    if (t.perDay === undefined) g.unknown += 1;
    else g.sum += t.perDay;
    g.how.push(t.how);
    groups.set(d.sequence ?? 0, g);
  }
  let perDay: number | undefined;
  let how = 'no dosage';
  for (const g of groups.values()) {
    if (g.sum === 0 && g.unknown > 0) continue;
    if (perDay === undefined || g.sum > perDay) {
      perDay = g.sum;
      how = g.how.join(' + ');
    }
  }
  if (perDay === undefined && groups.size) how = [...groups.values()].flatMap((g) => g.how).join(' + ');
  const med = medicationOf(ctx, m);
  const coding = med?.coding?.find((c) => ctx.valueSets.contains(vs, c)) ?? med?.coding?.[0];
  const medKey = coding?.code ? `${coding.system ?? ''}|${coding.code}` : (med?.text ?? refOf(m));
  return {
    ref: refOf(m),
    medKey,
    medText: firstCodeText(med) ?? 'insulin',
    startDay,
    ...(endDay ? { endDay } : {}),
    ...(perDay !== undefined ? { perDay } : {}),
    how,
  };
}

function activeOn(r: Regimen, day: string): boolean {
  return r.startDay <= day && (r.endDay === undefined || r.endDay >= day);
}

/** Injections/day on a day: the same insulin recorded twice (statement + request) counts once, at its highest count. */
function injectionsOn(regimens: Regimen[], day: string): number {
  const byMed = new Map<string, number>();
  for (const r of regimens) {
    if (r.perDay === undefined || !activeOn(r, day)) continue;
    byMed.set(r.medKey, Math.max(byMed.get(r.medKey) ?? 0, r.perDay));
  }
  let sum = 0;
  for (const n of byMed.values()) sum += n;
  return sum;
}

type Anchored = { ok: true; anchor: InitiationAnchor & { day: string; regimenDay: string } } | { ok: false; gap: LeafOutcome };

/**
 * The date a criterion-C leaf is measured at (the policy's named anchor, src/policy/anchors.ts). params: anchor 'pump-initiation' (default: pump
 * initiation for continued coverage, the order date for an initial pump order) or 'asOf' (always the order date);
 * pumpDeviceValueSet / pumpProcedureValueSet (insulin-pump-devices / insulin-pump-procedures) to find the pump start.
 */
function criterionAnchor(ctx: FactContext, params: Params): Anchored {
  const raw = strParam(ctx, params, 'anchor', 'pump-initiation');
  const name = raw === 'asOf' ? 'order-date' : raw;
  let anchor: InitiationAnchor;
  if (ctx.anchor) {
    const a = ctx.anchor(name);
    anchor = a.isOrderDate
      ? { kind: 'order', day: a.day!, regimenDay: a.day!, before: 'the order', note: `as of the order date ${a.day}`, evidence: [] }
      : {
          kind: 'initiation',
          ...(a.day ? { day: a.day, regimenDay: a.regimenDay ?? a.day } : {}),
          before: a.day ? `${a.text} ${a.day}` : a.text,
          note: a.day ? `as of ${a.text} ${a.day}` : `as of ${a.text} (date not documented)`,
          evidence: a.evidence,
          ...(a.missing ? { missing: a.missing } : {}),
        };
  } else {
    const today = asOfDay(ctx);
    anchor = { kind: 'order', day: today, regimenDay: today, before: 'the order', note: `as of the order date ${today}`, evidence: [] };
  }
  if (anchor.day === undefined || anchor.regimenDay === undefined) {
    return { ok: false, gap: notDocumented(ctx, anchor.missing ?? 'pump start date not documented', anchor.evidence, ['DeviceUseStatement', 'Procedure']) };
  }
  return { ok: true, anchor: anchor as InitiationAnchor & { day: string; regimenDay: string } };
}

/** The initiation evidence appended to a leaf measured at pump initiation (nothing extra for the order date). */
function anchorEvidence(a: InitiationAnchor): Evidence[] {
  return a.kind === 'initiation' ? a.evidence : [];
}

/**
 * Insulin regimens and the MDI run as of `day` (the order date, or the last day before the pump). Keyed by the insulin
 * value set, the minimum and the day, so the frequency, duration and C1 leaves share one analysis.
 */
function mdiAnalysis(ctx: FactContext, vs: string, min: number, day: string): MdiAnalysis {
  const key = `facts:mdi:${vs}:${min}:${day}`;
  const hit = ctx.memo.get(key) as MdiAnalysis | undefined;
  if (hit) return hit;
  const regimens = insulinUses(ctx, vs)
    .map((m) => toRegimen(ctx, vs, m))
    .filter((r): r is Regimen => !!r && r.startDay <= day);
  const active = regimens.filter((r) => activeOn(r, day));
  const currentKnown = injectionsOn(regimens, day);
  const activeUnknown = active.filter((r) => r.perDay === undefined);
  const current = gte(currentKnown, min) || activeUnknown.length === 0 ? currentKnown : undefined;
  let mdiStart: string | undefined;
  if (current !== undefined && gte(current, min)) {
    // The count only changes on a start day or the day after an end day: walk those breakpoints back from `day`.
    const points = new Set<string>();
    for (const r of regimens) {
      if (r.perDay === undefined) continue;
      points.add(r.startDay);
      if (r.endDay) points.add(addDays(r.endDay, 1));
    }
    const sorted = [...points].filter((p) => p <= day).sort().reverse();
    mdiStart = day;
    for (const p of sorted) {
      if (gte(injectionsOn(regimens, p), min)) mdiStart = p;
      else break;
    }
    // mdiStart is the earliest breakpoint of the run; a day before it the count was below min (or nothing recorded).
  }
  const result: MdiAnalysis = { regimens, currentKnown, activeUnknown, active, ...(current !== undefined ? { current } : {}), ...(mdiStart ? { mdiStart } : {}) };
  ctx.memo.set(key, result);
  return result;
}

function regimenEvidence(r: Regimen, threshold: string): Evidence {
  return {
    reference: r.ref,
    date: r.startDay,
    value: `${r.medText}: ${r.perDay === undefined ? 'frequency not stated' : `${fmt(r.perDay)}/day`} (${r.how})`,
    threshold,
    note: r.endDay ? `until ${r.endDay}` : 'ongoing',
  };
}

/** "on the order date" / "on 2025-01-14, the day before pump initiation". */
function regimenDayText(a: InitiationAnchor & { regimenDay: string }): string {
  return a.kind === 'order' ? 'on the order date' : `on ${a.regimenDay}, the day before ${a.before}`;
}

/**
 * ≥ mdiInjectionsPerDayMin insulin injections/day, summed over concurrent insulin regimens, on the order date (initial
 * pump order) or on the last day before pump initiation (continued coverage). params: { valueSet (insulin-drugs),
 * anchor, pumpDeviceValueSet, pumpProcedureValueSet } (see criterionAnchor).
 */
export const mdiInjectionsPerDay: FactFunction = (ctx, params) => {
  const min = numParam(ctx, params, 'mdiInjectionsPerDayMin');
  const anchored = criterionAnchor(ctx, params);
  if (!anchored.ok) return anchored.gap;
  const an = anchored.anchor;
  const a = mdiAnalysis(ctx, vsParam(params, 'valueSet', 'insulin-drugs'), min, an.regimenDay);
  const threshold = an.kind === 'order' ? `≥ ${min} injections/day` : `≥ ${min} injections/day before ${an.before}`;
  const extra = anchorEvidence(an);
  if (a.regimens.length === 0) {
    const what = an.kind === 'order' ? 'no insulin MedicationStatement/MedicationRequest on record' : `no insulin MedicationStatement/MedicationRequest dated before ${an.before}`;
    return notDocumented(ctx, what, extra, ['MedicationStatement', 'MedicationRequest']);
  }
  if (a.regimens.every((r) => r.perDay === undefined)) {
    return notDocumented(ctx, 'insulin is on record but no dosage timing says how many injections per day', [...capEvidence(a.regimens.map((r) => regimenEvidence(r, threshold)), 4), ...extra]);
  }
  const evidence = [...capEvidence((a.active.length ? a.active : a.regimens).map((r) => regimenEvidence(r, threshold)), 5), ...extra];
  if (a.current === undefined) {
    return notDocumented(ctx, `known insulin dosing gives ${fmt(a.currentKnown)}/day; the frequency of ${a.activeUnknown.map((r) => r.medText).join(', ')} is not stated`, evidence);
  }
  if (gte(a.current, min)) return outcome('met', evidence, `${fmt(a.current)} insulin injections/day${an.kind === 'order' ? '' : ` before ${an.before}`}`);
  if (a.active.length === 0) return outcome('not-met', evidence, `no insulin injection regimen is active ${regimenDayText(an)}`);
  return outcome('not-met', evidence, `${fmt(a.current)} insulin injections/day (< ${min})${an.kind === 'order' ? '' : ` ${regimenDayText(an)}`}`);
};

/**
 * The ≥ 3/day regimen has lasted ≥ mdiMonthsMin calendar months before the order date (initial pump order) or before
 * pump initiation (continued coverage). params as mdiInjectionsPerDay.
 */
export const mdiDuration: FactFunction = (ctx, params) => {
  const min = numParam(ctx, params, 'mdiInjectionsPerDayMin');
  const months = numParam(ctx, params, 'mdiMonthsMin');
  const anchored = criterionAnchor(ctx, params);
  if (!anchored.ok) return anchored.gap;
  const an = anchored.anchor;
  const a = mdiAnalysis(ctx, vsParam(params, 'valueSet', 'insulin-drugs'), min, an.regimenDay);
  const cutoff = addMonths(an.day, -months);
  const threshold = `≥ ${min}/day since ${cutoff} or earlier (${months} months before ${an.before})`;
  const extra = anchorEvidence(an);
  if (a.regimens.length === 0 || a.regimens.every((r) => r.perDay === undefined)) {
    return notDocumented(ctx, an.kind === 'order' ? 'no insulin dosing history on record' : `no insulin dosing history before ${an.before}`, extra, ['MedicationStatement', 'MedicationRequest']);
  }
  if (a.current === undefined) return notDocumented(ctx, 'insulin injection frequency not stated for every current insulin', [...capEvidence(a.active.map((r) => regimenEvidence(r, threshold)), 4), ...extra]);
  if (!a.mdiStart) {
    return outcome('not-met', [...capEvidence(a.active.map((r) => regimenEvidence(r, threshold)), 4), ...extra], `not on ≥ ${min} injections/day ${regimenDayText(an)}`);
  }
  const ev = [...capEvidence(a.regimens.filter((r) => r.perDay !== undefined && (r.endDay === undefined || r.endDay >= a.mdiStart!)).map((r) => regimenEvidence(r, threshold)), 5), ...extra];
  const ran = `on ≥ ${min} injections/day since ${a.mdiStart} (${daysBetween(a.mdiStart, an.day)} days${an.kind === 'order' ? '' : ` before ${an.before}`})`;
  if (a.mdiStart <= cutoff) return outcome('met', ev, ran);
  // Structured too (the reason stays the wording): the cards tell the date from which the duration will be met.
  const finding = an.kind === 'order' ? { finding: { kind: 'medication', code: 'too-short', values: { since: a.mdiStart, needSince: cutoff, minMonths: months } } } : {};
  return { ...outcome('not-met', ev, `${ran}: less than ${months} months before ${an.before}`), ...finding };
};

// =====================================================================================================================
// HbA1c > 7.0% during the MDI period (LCD IV C1)

/**
 * An HbA1c above hba1cMin (strict) during the MDI period: from the start of the ≥ 3/day run that is in effect at the
 * anchor (the order date, or the day before pump initiation) up to that day. The run is computed from the insulin
 * value set (params.mdiValueSet, default insulin-drugs) — params.valueSet is the HbA1c value set — and shared with the
 * mdi-frequency / mdi-duration leaves. No run ⇒ the mdiMonthsMin months before the anchor.
 * params: { valueSet (hba1c), mdiValueSet (insulin-drugs), jdsCode, anchor, pumpDeviceValueSet, pumpProcedureValueSet }.
 */
export const hba1cAboveDuringMdi: FactFunction = (ctx, params) => {
  const min = numParam(ctx, params, 'hba1cMin');
  const months = numParam(ctx, params, 'mdiMonthsMin');
  const jdsSlope = numParam(ctx, params, 'hba1cJdsSlope');
  const jdsIntercept = numParam(ctx, params, 'hba1cJdsIntercept');
  const jdsCode = vsParam(params, 'jdsCode', '62388-4');
  const anchored = criterionAnchor(ctx, params);
  if (!anchored.ok) return anchored.gap;
  const an = anchored.anchor;
  const extra = anchorEvidence(an);
  const a = mdiAnalysis(ctx, vsParam(params, 'mdiValueSet', 'insulin-drugs'), numParam(ctx, params, 'mdiInjectionsPerDayMin'), an.regimenDay);
  const from = a.mdiStart ?? addMonths(an.day, -months);
  const until = an.kind === 'order' ? '' : ` until ${an.regimenDay}`;
  const periodNote = a.mdiStart
    ? `MDI period since ${a.mdiStart}${until}`
    : `MDI period not established; used the ${months} months before ${an.before} (since ${from})`;
  const threshold = `> ${min}% during the MDI period`;
  const inPeriod = observationsIn(ctx, vsParam(params, 'valueSet', 'hba1c')).filter((d) => d.day >= from && d.day <= an.regimenDay);
  if (inPeriod.length === 0) return notDocumented(ctx, `no HbA1c on record during the ${periodNote}`, extra, ['Observation']);
  const read = inPeriod.map((d) => {
    const q = d.obs.valueQuantity;
    const base: Evidence = { reference: refOf(d.obs), date: d.when, value: quantityText(q) ?? '—', threshold };
    if (!q || typeof q.value !== 'number') return { d, ev: { ...base, note: 'no numeric value' } };
    const c = hba1cToPercent(q);
    if (!c.ok) return { d, ev: { ...base, note: `not convertible to % (${c.reason})` } };
    let value = c.value;
    let note = ucumOf(q) === '%' ? periodNote : `= ${fmt(value, 2)}% (NGSP); ${periodNote}`;
    if (d.obs.code?.coding?.some((x) => x.code === jdsCode)) {
      value = jdsSlope * c.value + jdsIntercept;
      note = `JDS/JSCC ${fmt(c.value, 2)}% = ${fmt(value, 2)}% NGSP; ${periodNote}`;
    }
    return { d, value, ev: { ...base, note } };
  });
  const above = read.filter((r) => r.value !== undefined && gt(r.value, min));
  if (above.length) return outcome('met', [...capEvidence(above.map((r) => r.ev), 3), ...extra]);
  const usable = read.filter((r) => r.value !== undefined);
  if (usable.length) return outcome('not-met', [...capEvidence(usable.map((r) => r.ev), 3), ...extra], `no HbA1c above ${min}% during the MDI period (highest ${fmt(Math.max(...usable.map((r) => r.value!)), 2)}%)`);
  return notDocumented(ctx, 'HbA1c results during the MDI period could not be read as %', [...capEvidence(read.map((r) => r.ev), 3), ...extra]);
};

const P = { type: 'string', pattern: '^%[A-Za-z][A-Za-z0-9_]*$' };
const num = { oneOf: [{ type: 'number' }, { ...P, 'x-ref': 'parameter:number' }] };
const bool = { oneOf: [{ type: 'boolean' }, { ...P, 'x-ref': 'parameter:boolean' }] };
const str = { oneOf: [{ type: 'string', not: P }, { ...P, 'x-ref': 'parameter:string' }] };
const vs = { type: 'string', minLength: 1, 'x-ref': 'valueSet' };
const anchor = { type: 'string', minLength: 1, 'x-ref': 'anchor' };
const schema = (required: Record<string, unknown>, optional: Record<string, unknown> = {}) => ({
  type: 'object',
  required: Object.keys(required),
  additionalProperties: false,
  properties: { ...required, ...optional },
});
const MEDS = ['MedicationStatement', 'MedicationRequest'].map((type) => ({ type, codeParam: 'code', include: [`${type}:medication`] }));

/** The four computations of the CSII policy no kind expresses, with their declared params and data. */
export const csiiFactDefinitions: Record<string, FactDefinition> = {
  fastingCPeptideInsulinopenia: {
    evaluate: fastingCPeptideInsulinopenia,
    paramsSchema: schema({
      valueSet: vs, untimedValueSet: vs, glucoseValueSet: vs, crclValueSet: vs, creatinineValueSet: vs, weightValueSet: vs,
      cPeptideRatioMax: num, cPeptideRenalRatioMax: num, creatinineClearanceMax: num, fastingGlucoseMax: num, crclMaxDaysFromCPeptide: num,
      cPeptideSelection: str, cPeptideAcceptUntimedIfSpecimenFasting: bool,
    }),
    dataRequirements: (p) => [
      { type: 'Observation', valueSets: [p.valueSet, p.untimedValueSet, p.glucoseValueSet, p.crclValueSet, p.creatinineValueSet, p.weightValueSet] as string[], include: ['Observation:specimen'] },
      { type: 'Specimen' },
      { type: 'Patient' },
    ],
  },
  mdiInjectionsPerDay: {
    evaluate: mdiInjectionsPerDay,
    paramsSchema: schema({ valueSet: vs, anchor, mdiInjectionsPerDayMin: num }),
    dataRequirements: (p) => MEDS.map((m) => ({ ...m, valueSets: [p.valueSet as string] })),
  },
  mdiDuration: {
    evaluate: mdiDuration,
    paramsSchema: schema({ valueSet: vs, anchor, mdiInjectionsPerDayMin: num, mdiMonthsMin: num }),
    dataRequirements: (p) => MEDS.map((m) => ({ ...m, valueSets: [p.valueSet as string] })),
  },
  hba1cAboveDuringMdi: {
    evaluate: hba1cAboveDuringMdi,
    paramsSchema: schema(
      { valueSet: vs, mdiValueSet: vs, anchor, hba1cMin: num, mdiMonthsMin: num, mdiInjectionsPerDayMin: num, hba1cJdsSlope: num, hba1cJdsIntercept: num },
      { jdsCode: { type: 'string', minLength: 1 } },
    ),
    dataRequirements: (p) => [{ type: 'Observation', valueSets: [p.valueSet as string] }, ...MEDS.map((m) => ({ ...m, valueSets: [p.mdiValueSet as string] }))],
  },
};

/** The bare functions (unit tests call them directly). */
export const csiiFacts: Record<string, FactFunction> = Object.fromEntries(Object.entries(csiiFactDefinitions).map(([k, d]) => [k, d.evaluate]));
