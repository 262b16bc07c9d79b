// Fact functions of the Medicare CSII (insulin pump, E0784) policy: NCD 280.14 B.1.e, LCD L33794 indication IV, A52507.
// Each returns met / not-met / not-documented with the evidence a reviewer needs (resource, date, value as recorded,
// threshold applied, computation). Thresholds come from the policy's parameters (policies/medicare-csii.policy.json).
import type { Evidence, FactContext, FactFunction, InfusionOrder, LeafOutcome, TriState } from '../types.js';
import {
  C_PEPTIDE_MOLECULAR_WEIGHT as MW_C_PEPTIDE,
  CREATININE_MOLECULAR_WEIGHT as MW_CREATININE,
  GLUCOSE_MOLECULAR_WEIGHT as MW_GLUCOSE,
  convertQuantity,
  hba1cToPercent,
} from '../units.js';
import { selectInValueSet } from '../valuesets.js';
import {
  HCPCS,
  type AnyResource,
  type CodeableConcept,
  type Coding,
  type Condition,
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
  codingsIn,
  continuedCoverage,
  daysBetween,
  deviceUses,
  firstCodeText,
  fmt,
  gt,
  gte,
  type InitiationAnchor,
  initiationDate,
  isActiveCondition,
  lte,
  notDocumented,
  numParam,
  observationsIn,
  observationStampsIn,
  orderCoverage,
  outcome,
  pct,
  quantityText,
  recordedDay,
  refOf,
  strParam,
  ucumOf,
} from './common.js';
import { documentationFacts } from './documentation.js';

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
// Diagnosis

/** An active diabetes Condition (A52507 Group 1: E08–E13), or a diabetes code on the order's reason. */
export const diabetesDiagnosis: FactFunction = (ctx, params) => {
  const valueSet = vsParam(params, 'valueSet', 'diabetes-dx');
  const all = selectInValueSet<Condition & { resourceType: 'Condition' }>(ctx.record, 'Condition', ctx.valueSets, valueSet) as Condition[];
  const active = all.filter(isActiveCondition);
  const ev = (c: Condition): Evidence => {
    const date = c.onsetDateTime ?? c.recordedDate;
    const code = c.code?.coding?.find((x) => ctx.valueSets.contains(valueSet, x));
    return { reference: refOf(c), ...(date ? { date } : {}), value: `${code?.code ?? ''} ${firstCodeText(c.code) ?? ''}`.trim() };
  };
  if (active.length > 0) return outcome('met', capEvidence(active.map(ev), 3));
  const order = ctx.order.resource as { reasonCode?: CodeableConcept[]; reasonReference?: Reference[] };
  for (const rc of order.reasonCode ?? []) {
    if (codedIn(ctx, valueSet, rc)) {
      return outcome('met', [{ reference: ctx.order.ref, value: firstCodeText(rc) ?? 'reason code', note: 'diagnosis given as the order reason' }]);
    }
  }
  for (const rr of order.reasonReference ?? []) {
    const c = ctx.record.resolve<Condition & { resourceType: 'Condition' }>(rr) as Condition | undefined;
    if (c?.resourceType === 'Condition' && isActiveCondition(c) && codedIn(ctx, valueSet, c.code)) {
      return outcome('met', [{ ...ev(c), note: 'referenced as the order reason' }]);
    }
  }
  const inactive = all.filter((c) => !isActiveCondition(c));
  return notDocumented(
    ctx,
    inactive.length ? 'diabetes is on record only as inactive/resolved or refuted' : 'no diabetes diagnosis (ICD-10 E08–E13) on record',
    capEvidence(inactive.map(ev), 3),
    ['Condition'],
  );
};

// =====================================================================================================================
// Pump code, implantable pumps, supply pairing

interface PumpLike { ref: string; hcpcs?: string; codings: Coding[]; implantable: boolean; label: string }

/**
 * The pump(s) a pump-code / implantable-pump leaf judges. A pump order is judged on its own pump only: another pump in
 * the same request gets its own determination, and must not make this one "not covered" (nor suggest removing it).
 * A supply or drug order is judged on the pump(s) ordered with it, since it is covered only with a covered pump.
 */
function pumpsOfOrderSet(ctx: FactContext, implantableVs: string): PumpLike[] {
  const o = ctx.order;
  if (o.role === 'pump') {
    return [{
      ref: o.ref,
      ...(o.hcpcs ? { hcpcs: o.hcpcs } : {}),
      codings: o.codings,
      implantable: o.pumpKind === 'implantable' || codingsIn(ctx, implantableVs, o.codings),
      label: o.label,
    }];
  }
  const out: PumpLike[] = [];
  for (const c of o.companions) {
    if (c.role !== 'pump') continue;
    out.push({
      ref: c.ref,
      ...(c.hcpcs ? { hcpcs: c.hcpcs } : {}),
      codings: c.codings,
      implantable: codingsIn(ctx, implantableVs, c.codings) || (!!c.hcpcs && codingsIn(ctx, implantableVs, [{ system: HCPCS, code: c.hcpcs }])),
      label: c.hcpcs ?? c.codings[0]?.code ?? c.ref,
    });
  }
  return out;
}

function hasCode(ctx: FactContext, vs: string, item: { hcpcs?: string; codings: readonly Coding[] }): boolean {
  return codingsIn(ctx, vs, item.codings) || (!!item.hcpcs && ctx.valueSets.contains(vs, { system: HCPCS, code: item.hcpcs }));
}

/**
 * The insulin pump is ordered as E0784 (LCD L33794 IV: "Claims for usage of infusion pumps other than E0784 will be
 * denied"). Judges the order itself when it is a pump (only it), else the pump(s) ordered with it. Implantable pumps are left to
 * notImplantableInsulinPump (met here, with a note), so the card does not offer "change the code to E0784" for them.
 * params: { valueSet (csii-pump-code), implantableValueSet (implantable-pump-codes) }; policy parameter
 * uncodedInsulinPumpOrder ('met' | 'not-documented'): an insulin pump ordered by SNOMED only, with no HCPCS.
 */
export const insulinPumpCode: FactFunction = (ctx, params) => {
  const vs = vsParam(params, 'valueSet', 'csii-pump-code');
  const pumps = pumpsOfOrderSet(ctx, vsParam(params, 'implantableValueSet', 'implantable-pump-codes'));
  if (pumps.length === 0) return outcome('met', [{ reference: ctx.order.ref, value: ctx.order.label, note: 'no pump in this order set (supply or drug order): nothing to check' }]);
  const evidence: Evidence[] = [];
  let status: TriState = 'met';
  let reason: string | undefined;
  for (const p of pumps) {
    if (p.implantable) {
      evidence.push({ reference: p.ref, value: p.label, note: 'implantable pump: judged by the implantable-pump criterion' });
    } else if (hasCode(ctx, vs, p)) {
      evidence.push({ reference: p.ref, value: p.label, threshold: 'HCPCS E0784' });
    } else if (!p.hcpcs) {
      const setting = strParam(ctx, params, 'uncodedInsulinPumpOrder', 'met');
      evidence.push({ reference: p.ref, value: p.label, threshold: 'HCPCS E0784', note: 'ordered without a HCPCS code; bills as E0784' });
      if (setting === 'not-documented' && status === 'met') {
        status = 'not-documented';
        reason = 'the insulin pump order carries no HCPCS code (E0784 required)';
      }
    } else {
      evidence.push({ reference: p.ref, value: `HCPCS ${p.hcpcs}`, threshold: 'HCPCS E0784 (only code covered for an insulin pump)' });
      status = 'not-met';
      reason = `insulin pump ordered as ${p.hcpcs}: only E0784 is covered for insulin`;
    }
  }
  return outcome(status, evidence, reason);
};

/** NCD 280.14 C.2.b: an implanted infusion pump for insulin is not covered. */
export const notImplantableInsulinPump: FactFunction = (ctx, params) => {
  const pumps = pumpsOfOrderSet(ctx, vsParam(params, 'valueSet', 'implantable-pump-codes'));
  const implantable = pumps.filter((p) => p.implantable);
  if (implantable.length > 0) {
    return outcome(
      'not-met',
      implantable.map((p) => ({ reference: p.ref, value: p.label, threshold: 'external insulin pump (E0784)', note: 'implantable insulin pump: not covered' })),
      'an implanted infusion pump for insulin is not covered (NCD 280.14 C.2.b)',
    );
  }
  return outcome('met', pumps.length
    ? pumps.map((p) => ({ reference: p.ref, value: p.label, note: 'external pump' }))
    : [{ reference: ctx.order.ref, value: ctx.order.label, note: 'no pump in this order set' }]);
};

/**
 * A52507 supply association: A4224/A4225 only with E0784; A4221/A4222/K0552 never with E0784. Looks at the order and
 * its companions in the same draftOrders. params: { pumpValueSet, insulinSuppliesValueSet, nonInsulinSuppliesValueSet }.
 */
export const supplyPumpPairing: FactFunction = (ctx, params) => {
  const pumpVs = vsParam(params, 'pumpValueSet', 'csii-pump-code');
  const insulinVs = vsParam(params, 'insulinSuppliesValueSet', 'csii-supplies');
  const otherVs = vsParam(params, 'nonInsulinSuppliesValueSet', 'non-insulin-pump-supplies');
  const o = ctx.order;
  const items = [
    { ref: o.ref, role: o.role, hcpcs: o.hcpcs, codings: o.codings },
    ...o.companions.filter((c) => c.ref !== o.ref).map((c) => ({ ref: c.ref, role: c.role, hcpcs: c.hcpcs, codings: c.codings })),
  ];
  const pumps = items.filter((i) => i.role === 'pump');
  const e0784 = pumps.filter((p) => hasCode(ctx, pumpVs, p));
  const otherPumps = pumps.filter((p) => !hasCode(ctx, pumpVs, p) && p.hcpcs);
  const bad: Evidence[] = [];
  for (const s of items.filter((i) => i.role === 'supply')) {
    const label = s.hcpcs ?? s.codings[0]?.code ?? s.ref;
    if (hasCode(ctx, insulinVs, s) && otherPumps.length > 0) {
      bad.push({ reference: s.ref, value: `HCPCS ${label}`, threshold: 'A4224/A4225 only with E0784', note: `ordered with ${otherPumps.map((p) => p.hcpcs).join(', ')}` });
    }
    if (hasCode(ctx, otherVs, s) && e0784.length > 0) {
      bad.push({ reference: s.ref, value: `HCPCS ${label}`, threshold: 'A4221/A4222/K0552 never with E0784', note: 'non-insulin pump supply ordered with an insulin pump' });
    }
  }
  if (bad.length > 0) return outcome('not-met', bad, `supply not associated with the pump ordered: ${bad.map((b) => b.value).join(', ')} (A52507 incorrect coding)`);
  return outcome('met', [{ reference: o.ref, value: o.label, note: items.length > 1 ? 'supplies match the pump ordered' : 'no pump/supply combination in this order set' }]);
};

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
}

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
  const result = computeRenal(ctx, draw, maxDays);
  ctx.memo.set(key, result);
  return result;
}

function computeRenal(ctx: FactContext, draw: DatedObservation, maxDays: number): RenalFunction {
  const problems: string[] = [];
  for (const d of nearest(observationsIn(ctx, 'creatinine-clearance'), draw.at, maxDays)) {
    const q = d.obs.valueQuantity;
    if (!q) continue;
    const c = convert(q, 'mL/min');
    if (!c.ok) {
      problems.push(`creatinine clearance ${quantityText(q)} on ${d.day} not convertible to mL/min (${c.reason})`);
      continue;
    }
    return { crcl: c.value, evidence: { reference: refOf(d.obs), date: d.when, value: quantityText(q)!, note: `creatinine clearance ${fmt(c.value, 1)} mL/min` } };
  }
  const scrObs = nearest(observationsIn(ctx, 'serum-creatinine'), draw.at, maxDays).find((d) => d.obs.valueQuantity);
  if (!scrObs) return { missing: [...problems, `no creatinine clearance or serum creatinine within ${maxDays} days of the C-peptide`].join('; ') };
  const scrQ = scrObs.obs.valueQuantity!;
  const scr = convert(scrQ, 'mg/dL', MW_CREATININE);
  if (!scr.ok) return { missing: `serum creatinine ${quantityText(scrQ)} not convertible to mg/dL (${scr.reason})` };
  const wObs = nearest(observationsIn(ctx, 'body-weight'), scrObs.at, maxDays).find((d) => d.obs.valueQuantity);
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
  const sameDay = observationsIn(ctx, 'fasting-glucose').filter((g) => g.day === d.day && g.obs.valueQuantity);
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
    return {
      status: 'not-met',
      valid: false,
      reason: `C-peptide on ${d.day} is not a valid test: concurrent fasting glucose ${fmt(glucoseMg, 1)} mg/dL > ${glucoseMax} mg/dL`,
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
        reason: `fasting C-peptide ${pct(ratio)} of the lower limit: meets only with creatinine clearance ≤ ${crclMax} mL/min, which is not documented (${renal.missing})`,
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
  const decisive = (selection === 'any' ? valid.find((a) => a.status === 'met') : undefined) ?? valid[0] ?? assessments[0]!;
  const others = assessments.filter((a) => a !== decisive).map((a) => ({ ...a.evidence[0]!, note: `${a.evidence[0]!.note ?? ''} (not decisive)`.trim() }));
  const result = outcome(decisive.status, capEvidence([...decisive.evidence, ...others], 6), decisive.reason);
  // Invalid, not high: a new fasting draw with a concurrent glucose can still show insulinopenia.
  if (decisive.status === 'not-met' && !decisive.valid) result.retest = true;
  return result;
};

// =====================================================================================================================
// Beta-cell autoantibodies (LCD IV criterion B)

const POSITIVE_CODES = new Set(['POS', 'H', 'HH', 'A', 'AA', 'DET', '10828004']);
const NEGATIVE_CODES = new Set(['NEG', 'N', 'ND', '260385009']);
const POSITIVE_TEXT = /^\s*(positive|detected|reactive)\s*$/i;
const NEGATIVE_TEXT = /^\s*(negative|not detected|non-?reactive)\s*$/i;

function antibodyResult(o: Observation): { result: 'positive' | 'negative' | 'unknown'; why: string } {
  for (const cc of o.interpretation ?? []) {
    for (const c of cc.coding ?? []) {
      if (c.code && POSITIVE_CODES.has(c.code)) return { result: 'positive', why: `interpretation ${c.code}` };
      if (c.code && NEGATIVE_CODES.has(c.code)) return { result: 'negative', why: `interpretation ${c.code}` };
    }
  }
  const vcc = o.valueCodeableConcept;
  if (vcc) {
    for (const c of vcc.coding ?? []) {
      if (c.code && POSITIVE_CODES.has(c.code)) return { result: 'positive', why: `result ${c.display ?? c.code}` };
      if (c.code && NEGATIVE_CODES.has(c.code)) return { result: 'negative', why: `result ${c.display ?? c.code}` };
    }
    if (vcc.text && POSITIVE_TEXT.test(vcc.text)) return { result: 'positive', why: `result "${vcc.text.trim()}"` };
    if (vcc.text && NEGATIVE_TEXT.test(vcc.text)) return { result: 'negative', why: `result "${vcc.text.trim()}"` };
  }
  if (typeof o.valueString === 'string') {
    if (POSITIVE_TEXT.test(o.valueString)) return { result: 'positive', why: `result "${o.valueString.trim()}"` };
    if (NEGATIVE_TEXT.test(o.valueString)) return { result: 'negative', why: `result "${o.valueString.trim()}"` };
  }
  const q = o.valueQuantity;
  if (q && typeof q.value === 'number') {
    const high = o.referenceRange?.find((r) => typeof r.high?.value === 'number')?.high;
    if (!high) return { result: 'unknown', why: 'numeric result without interpretation or upper reference limit' };
    const target = ucumOf(high) ?? ucumOf(q);
    const c = target ? convert(q, target) : { ok: true as const, value: q.value, unit: '' };
    if (!c.ok) return { result: 'unknown', why: `value not comparable with the upper limit ${quantityText(high)} (${c.reason})` };
    const hv = high.value!;
    if (q.comparator === '<' || q.comparator === '<=') {
      return lte(c.value, hv) ? { result: 'negative', why: `below the upper limit ${hv}` } : { result: 'unknown', why: `reported as ${quantityText(q)}` };
    }
    if (q.comparator === '>' || q.comparator === '>=') {
      return gte(c.value, hv) ? { result: 'positive', why: `above the upper limit ${hv}` } : { result: 'unknown', why: `reported as ${quantityText(q)}` };
    }
    return gt(c.value, hv)
      ? { result: 'positive', why: `${fmt(c.value, 3)} above the upper reference limit ${hv}` }
      : { result: 'negative', why: `${fmt(c.value, 3)} within the reference range (upper limit ${hv})` };
  }
  return { result: 'unknown', why: 'no interpretable result' };
}

/** Any positive beta-cell autoantibody ⇒ met; only negatives ⇒ not met; none interpretable ⇒ not documented. */
export const betaCellAutoantibodyPositive: FactFunction = (ctx, params) => {
  const results = observationsIn(ctx, vsParam(params, 'valueSet', 'beta-cell-autoantibodies')).map((d) => {
    const r = antibodyResult(d.obs);
    const ev: Evidence = {
      reference: refOf(d.obs),
      date: d.when,
      value: `${firstCodeText(d.obs.code) ?? 'antibody'}: ${quantityText(d.obs.valueQuantity) ?? firstCodeText(d.obs.valueCodeableConcept) ?? d.obs.valueString ?? '—'}`,
      threshold: 'positive (interpretation or above the reference range)',
      note: `${r.result}: ${r.why}`,
    };
    return { ...r, ev };
  });
  const pos = results.filter((r) => r.result === 'positive');
  if (pos.length) return outcome('met', capEvidence(pos.map((r) => r.ev), 3));
  const neg = results.filter((r) => r.result === 'negative');
  if (neg.length) return outcome('not-met', capEvidence(neg.map((r) => r.ev), 4), 'beta-cell autoantibodies on record are negative');
  if (results.length) return notDocumented(ctx, 'beta-cell autoantibody results could not be interpreted', capEvidence(results.map((r) => r.ev), 3));
  return notDocumented(ctx, 'no beta-cell autoantibody test on record', [], ['Observation']);
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

/** Injections per day of one dosage line; undefined when its timing says nothing countable. */
export function timingPerDay(t: Timing | undefined): { perDay?: number; how: string } {
  if (!t) return { how: 'no timing' };
  const r = t.repeat;
  const options: { n: number; how: string }[] = [];
  if (r?.period && r.periodUnit && PER_DAY[r.periodUnit] !== undefined && r.period > 0) {
    const f = r.frequency ?? 1;
    options.push({ n: (f * PER_DAY[r.periodUnit]!) / r.period, how: `${f} per ${r.period} ${r.periodUnit}` });
  }
  if (r?.timeOfDay?.length) options.push({ n: r.timeOfDay.length, how: `at ${r.timeOfDay.join(', ')}` });
  if (r?.when?.length) options.push({ n: r.when.length, how: `when ${r.when.join(', ')}` });
  if (options.length === 0) {
    const code = t.code?.coding?.find((c) => c.code && TIMING_CODES[c.code] !== undefined)?.code;
    if (code) options.push({ n: TIMING_CODES[code]!, how: code });
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
 * The date a criterion-C leaf is measured at (see initiationDate). params: anchor 'pump-initiation' (default: pump
 * initiation for continued coverage, the order date for an initial pump order) or 'asOf' (always the order date);
 * pumpDeviceValueSet / pumpProcedureValueSet (insulin-pump-devices / insulin-pump-procedures) to find the pump start.
 */
function criterionAnchor(ctx: FactContext, params: Params): Anchored {
  const mode = strParam(ctx, params, 'anchor', 'pump-initiation');
  let anchor: InitiationAnchor;
  if (mode === 'asOf') {
    const today = asOfDay(ctx);
    anchor = { kind: 'order', day: today, regimenDay: today, before: 'the order', note: `as of the order date ${today}`, evidence: [] };
  } else if (mode === 'pump-initiation') {
    anchor = initiationDate(ctx, vsParam(params, 'pumpDeviceValueSet', 'insulin-pump-devices'), vsParam(params, 'pumpProcedureValueSet', 'insulin-pump-procedures'));
  } else {
    throw new Error(`unknown anchor "${mode}" (expected pump-initiation or asOf)`);
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
  return a.mdiStart <= cutoff ? outcome('met', ev, ran) : outcome('not-met', ev, `${ran}: less than ${months} months before ${an.before}`);
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

// =====================================================================================================================
// Glucose self-testing and CGM (LCD IV criteria C and D; A52507 CGM documentation)

function enrollmentDay(ctx: FactContext): { day?: string; evidence?: Evidence; missing?: string } {
  const { coverage, note } = orderCoverage(ctx);
  if (!coverage) return { missing: 'no Coverage on record to date Medicare enrollment' };
  const day = recordedDay(coverage.period?.start);
  if (!day) return { missing: `${refOf(coverage)} has no period.start (Medicare enrollment date)` };
  return { day, evidence: { reference: refOf(coverage), date: coverage.period!.start!, value: `coverage start ${day}`, note: `Medicare enrollment taken as the Coverage period start; ${note ?? ''}`.trim() } };
}

/**
 * Average self-monitored glucose readings per day over a window: the `windowMonths` calendar months before the anchor
 * day, anchor day excluded. The anchor: pump initiation ('pump-initiation', the default: the order date for an initial
 * pump order, the pump start for continued coverage — LCD IV C "during the 2 months prior to initiation"), the order
 * date ('asOf'), or the Medicare enrollment date ('medicare-enrollment', criterion D). Readings with the same time
 * stamp count once (meter uploads repeat). No reading in the window ⇒ not documented.
 * params: { anchor, windowMonths, perDayMin, valueSet, pumpDeviceValueSet, pumpProcedureValueSet }; policy parameter
 * smbgMinDaysWithReadings (0 = off): fewer distinct days with readings ⇒ not documented (not a testing log).
 */
export const glucoseSelfTesting: FactFunction = (ctx, params) => {
  const anchor = strParam(ctx, params, 'anchor', 'pump-initiation');
  const months = numParam(ctx, params, 'windowMonths');
  const perDayMin = numParam(ctx, params, 'smbgPerDayMin');
  const minDays = numParam(ctx, params, 'smbgMinDaysWithReadings');
  let end: string;
  let before: string;
  const extra: Evidence[] = [];
  if (anchor === 'medicare-enrollment') {
    const e = enrollmentDay(ctx);
    if (!e.day) return notDocumented(ctx, e.missing!, [], ['Coverage']);
    end = e.day;
    before = 'Medicare enrollment';
    extra.push(e.evidence!);
  } else {
    const anchored = criterionAnchor(ctx, params);
    if (!anchored.ok) return anchored.gap;
    end = anchored.anchor.day;
    before = anchored.anchor.before;
    extra.push(...anchorEvidence(anchored.anchor));
  }
  const start = addMonths(end, -months);
  const days = daysBetween(start, end);
  const stamps = new Set<string>();
  const readingDays = new Set<string>();
  for (const d of observationStampsIn(ctx, vsParam(params, 'valueSet', 'smbg-glucose'))) {
    if (d.day < start || d.day >= end) continue;
    stamps.add(d.when);
    readingDays.add(d.day);
  }
  const windowText = `${start} to ${addDays(end, -1)} (${days} days)`;
  const threshold = `average ≥ ${perDayMin}/day over the ${months} month(s) before ${before}`;
  if (stamps.size === 0) return notDocumented(ctx, `no self-monitored glucose readings between ${windowText}`, extra, ['Observation']);
  const avg = stamps.size / days;
  const ev: Evidence = { date: `${start}/${addDays(end, -1)}`, value: `${stamps.size} readings over ${days} days = ${fmt(avg, 2)}/day`, threshold, note: `readings on ${readingDays.size} distinct days` };
  if (minDays > 0 && readingDays.size < minDays) {
    return notDocumented(ctx, `readings on only ${readingDays.size} day(s) in the window (fewer than ${minDays}): not taken as a self-testing log`, [ev, ...extra]);
  }
  return gte(avg, perDayMin)
    ? outcome('met', [ev, ...extra])
    : outcome('not-met', [ev, ...extra], `glucose self-testing averages ${fmt(avg, 2)}/day (< ${perDayMin})`);
};

/**
 * Documented CGM use meets the ≥ 4 tests/day requirement (A52507). params: { valueSet (cgm-devices), anchor }.
 * For anchor 'medicare-enrollment' (criterion D) only use dated on or before enrollment counts. For the order date,
 * a CGM ordered in the same draftOrders counts when parameter cgmCompanionOrderCounts is true (an integrated CGM
 * ordered with the pump, E2102/E2103 + A4238/A4239).
 */
export const cgmUse: FactFunction = (ctx, params) => {
  const vs = vsParam(params, 'valueSet', 'cgm-devices');
  const anchor = strParam(ctx, params, 'anchor', 'asOf');
  const uses = deviceUses(ctx, vs, undefined, true);
  if (anchor === 'medicare-enrollment') {
    const e = enrollmentDay(ctx);
    if (!e.day) return notDocumented(ctx, e.missing!, [], ['Coverage']);
    const before = uses.filter((u) => u.startDay && u.startDay <= e.day! && u.kind !== 'Device');
    if (before.length) return outcome('met', [...before.map((u) => ({ reference: u.ref, date: u.startDay!, value: u.label, note: `CGM use (${u.kind}) on or before Medicare enrollment` })), e.evidence!]);
    return notDocumented(ctx, `no CGM use dated on or before Medicare enrollment (${e.day})`, capEvidence(uses.map((u) => ({ reference: u.ref, value: u.label, note: 'CGM use not dated before enrollment' })), 3), ['DeviceUseStatement']);
  }
  const evidence: Evidence[] = uses.map((u) => ({ reference: u.ref, ...(u.startDay ? { date: u.startDay } : {}), value: u.label, note: `CGM documented (${u.kind}${u.current ? '' : ', not current'})` }));
  if (boolParam(ctx, params, 'cgmCompanionOrderCounts', true)) {
    for (const c of ctx.order.companions) {
      if (hasCode(ctx, vs, c)) evidence.push({ reference: c.ref, value: c.hcpcs ?? c.codings[0]?.code ?? 'CGM', note: 'CGM ordered with the pump' });
    }
  }
  if (evidence.length) return outcome('met', capEvidence(evidence, 3));
  return notDocumented(ctx, 'no continuous glucose monitor documented', [], ['Device', 'DeviceUseStatement']);
};

// =====================================================================================================================
// On an insulin pump before Medicare enrollment (LCD IV criterion D / NCD Criterion B) and continued coverage

/**
 * Structured evidence of an external insulin pump in use before the Medicare Coverage start: a DeviceUseStatement
 * (timing or recordedOn) or an insulin pump insertion Procedure dated before enrollment. An undated Device cannot show
 * "before"; pump use that starts after enrollment does not disprove an earlier pump. Either way ⇒ not documented
 * (the documentation questionnaire can attest it). params: { deviceValueSet, procedureValueSet }.
 */
export const insulinPumpBeforeMedicare: FactFunction = (ctx, params) => {
  const e = enrollmentDay(ctx);
  if (!e.day) return notDocumented(ctx, e.missing!, [], ['Coverage']);
  const uses = deviceUses(ctx, vsParam(params, 'deviceValueSet', 'insulin-pump-devices'), vsParam(params, 'procedureValueSet', 'insulin-pump-procedures'));
  const before = uses.filter((u) => u.startDay && u.startDay < e.day!);
  if (before.length) {
    return outcome('met', [...capEvidence(before.map((u) => ({ reference: u.ref, date: u.startDay!, value: u.label, threshold: `before Medicare enrollment ${e.day}`, note: `${u.kind}` })), 3), e.evidence!]);
  }
  const ev = capEvidence(uses.map((u) => ({ reference: u.ref, ...(u.startDay ? { date: u.startDay } : {}), value: u.label, note: u.startDay ? 'started on/after enrollment' : 'undated' })), 3);
  return notDocumented(ctx, `no insulin pump use dated before Medicare enrollment (${e.day})`, [...ev, e.evidence!], ['DeviceUseStatement', 'Procedure']);
};

interface Encounter extends AnyResource {
  status?: string;
  period?: { start?: string; end?: string };
  participant?: { individual?: Reference }[];
}

/**
 * Continued coverage (see continuedCoverage: pump supplies or pump insulin without a pump in the same order set, or a
 * patient already using an insulin pump): the treating practitioner saw the patient within the last 3 months: a finished
 * Encounter ending within visitDaysMax days of the order (parameter visitRule 'days'), or within visitMonthsMax
 * calendar months ('months'). visitRequiresOrderingPractitioner: the Encounter must name the order's requester.
 * Otherwise (an initial pump order) not applicable ⇒ met with a note.
 */
export const continuedCoverageVisit: FactFunction = (ctx, params) => {
  const cc = continuedCoverage(ctx, vsParam(params, 'deviceValueSet', 'insulin-pump-devices'));
  const o: InfusionOrder = ctx.order;
  if (!cc.applies || !cc.why) return outcome('met', [{ reference: o.ref, value: o.label, note: 'initial order: the 3-month visit rule applies to continued coverage' }]);
  const why = cc.why;
  const rule = strParam(ctx, params, 'visitRule', 'days');
  const today = asOfDay(ctx);
  const earliest = rule === 'months' ? addMonths(today, -numParam(ctx, params, 'visitMonthsMax')) : addDays(today, -numParam(ctx, params, 'visitDaysMax'));
  const threshold = rule === 'months' ? `within ${numParam(ctx, params, 'visitMonthsMax')} months (on or after ${earliest})` : `within ${numParam(ctx, params, 'visitDaysMax')} days (on or after ${earliest})`;
  const needRequester = boolParam(ctx, params, 'visitRequiresOrderingPractitioner', false);
  const requester = o.requester ?? (o.resource as { requester?: Reference }).requester?.reference;
  const visits = (ctx.record.all<Encounter & { resourceType: 'Encounter' }>('Encounter') as Encounter[])
    .filter((e) => e.status === 'finished')
    .map((e) => ({ e, day: recordedDay(e.period?.end ?? e.period?.start) }))
    .filter((x): x is { e: Encounter; day: string } => !!x.day && x.day <= today)
    .filter((x) => !needRequester || (!!requester && (x.e.participant ?? []).some((p) => p.individual?.reference === requester)))
    .sort((a, b) => b.day.localeCompare(a.day));
  const last = visits[0];
  if (!last) return notDocumented(ctx, `no finished encounter${needRequester ? ' with the ordering practitioner' : ''} on record`, [why], ['Encounter']);
  const ev: Evidence = { reference: refOf(last.e), date: last.day, value: `last visit ${last.day} (${daysBetween(last.day, today)} days before the order)`, threshold };
  if (last.day >= earliest) return outcome('met', [ev, why]);
  return outcome('not-met', [ev, why], `last visit with the treating practitioner ${daysBetween(last.day, today)} days ago (continued coverage requires one ${threshold})`);
};

export const csiiFacts: Record<string, FactFunction> = {
  ...documentationFacts,
  diabetesDiagnosis,
  insulinPumpCode,
  notImplantableInsulinPump,
  supplyPumpPairing,
  fastingCPeptideInsulinopenia,
  betaCellAutoantibodyPositive,
  mdiInjectionsPerDay,
  mdiDuration,
  hba1cAboveDuringMdi,
  glucoseSelfTesting,
  cgmUse,
  insulinPumpBeforeMedicare,
  continuedCoverageVisit,
};

