// Writes policies/tests/medicare-csii/*.json: the CSII scenarios of test/fixtures/scenarios.ts ported to case files,
// and every CSII threshold at and around its limit on a lean record. The committed JSON files are the source of truth
// for the runner (test/policy-cases.test.ts); this script only saves typing. Run: npx tsx scripts/gen-policy-cases.ts
// (--check: exit 1 when a committed file differs from what would be written, without writing).
// Every patient is synthetic. No randomness, no clock: regenerating gives identical files.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { HCPCS_CRD as HCPCS, ICD10CM as ICD10, RXNORM, SNOMED, UCUM } from '../src/fhir/systems.js';
import { AUTHORED_ON, REQUESTER, RecordBuilder, allScenarios, type Scenario } from '../test/fixtures/scenarios.js';
import { POLICY_TESTS_DIR, type CaseCriterionStatus, type OrderExpectation } from '../test/support/policy-cases.js';

const POLICY = 'medicare-csii';
const NOW = '2026-04-01T14:35:00Z';
const E0784 = 'External ambulatory infusion pump, insulin';
const A4224 = 'Supplies for maintenance of insulin infusion catheter, per week';

type R = Record<string, unknown> & { resourceType: string; id: string };

interface CaseFile {
  $schema: string;
  title: string;
  exercises: string;
  now: string;
  hook?: 'order-select';
  selections?: string[];
  userId: string;
  record: R[];
  draftOrders: R[];
  expected: Record<string, OrderExpectation>;
}

const cases = new Map<string, CaseFile>();
function add(name: string, c: Omit<CaseFile, '$schema' | 'now' | 'userId'> & { now?: string }): void {
  if (cases.has(name)) throw new Error(`duplicate case ${name}`);
  cases.set(name, { $schema: '../../schema/policy-case.schema.json', now: NOW, userId: REQUESTER, ...c });
}

// ---------------------------------------------------------------------------------------------------------------------
// 1. The scenarios of issue 3, as they are (full records, glucose logs included).

const CITATION: Record<string, string> = {
  'criteria-met': 'NCD 280.14 B.1.e; LCD L33794 IV A and C (MDI pathway); A52507 supply association (A4224 with E0784)',
  'c-peptide-too-high': 'LCD L33794 IV A1 (fasting C-peptide ≤ 110% of the lower limit) and B (autoantibodies)',
  'renal-path': 'LCD L33794 IV A2 (≤ 200% when creatinine clearance ≤ 50 mL/min, Cockcroft-Gault from serum creatinine)',
  'invalid-c-peptide-glucose-260': 'LCD L33794 IV A3 (concurrent fasting glucose ≤ 225 mg/dL)',
  'autoantibody-positive': 'LCD L33794 IV B (beta cell autoantibody positive)',
  'mdi-under-3-per-day': 'LCD L33794 IV C (at least 3 injections per day) and D (attested not on a pump before Medicare)',
  'mdi-under-6-months': 'LCD L33794 IV C (MDI for at least 6 months prior to pump initiation)',
  'self-testing-under-4-per-day': 'LCD L33794 IV C (self-testing at least 4 times per day in the 2 months before); A52507 CGM',
  'cgm-instead': 'A52507 policy-specific documentation (CGM use meets the testing requirement)',
  'hba1c-7-no-other-criterion': 'LCD L33794 IV C1 (HbA1c > 7.0%) and C2–C5',
  'pump-before-medicare': 'LCD L33794 IV D (on a pump before Medicare enrollment, testing in the month before)',
  'visit-over-3-months': 'NCD 280.14 B.1.e continued coverage (seen at least every 3 months)',
  'implantable-insulin-pump': 'NCD 280.14 C.2.b (implantable infusion pump not covered for diabetes)',
  'wrong-pump-code': 'LCD L33794 IV (pumps other than E0784 denied); A52507 HCPCS coding',
  'c-peptide-missing': 'LCD L33794 IV A/B (insulinopenia not documented)',
};

function portScenario(s: Scenario): void {
  const e = s.expected;
  const criteria: Record<string, CaseCriterionStatus> = {};
  for (const id of e.unmet ?? []) criteria[id] = 'not-met';
  for (const id of e.undocumented ?? []) criteria[id] = 'not-documented';
  if (e.outcome === 'covered') for (const id of ['diagnosis', 'pump-code', 'not-implantable', 'practitioner-team', 'continued-coverage-visit', 'supply-pairing']) criteria[id] = 'met';
  const citation = CITATION[s.slug];
  if (!citation) throw new Error(`no citation for scenario ${s.slug}`);
  add(`scenario-${s.slug}`, {
    title: s.title,
    exercises: `${citation} — scenario "${s.slug}" of test/fixtures/scenarios.ts`,
    record: s.patientResources as unknown as R[],
    draftOrders: s.draftOrders as unknown as R[],
    expected: {
      [s.primaryOrderRef]: {
        outcome: e.outcome,
        ...(Object.keys(criteria).length ? { criteria } : {}),
        card: e.cardIndicator ? { indicator: e.cardIndicator, ...(e.summaryIncludes ? { summaryIncludes: [e.summaryIncludes] } : {}) } : null,
      },
    },
  });
}
for (const s of allScenarios()) portScenario(s);

// order-select on the fully qualifying patient: the quieter info card.
{
  const s = allScenarios().find((x) => x.slug === 'criteria-met')!;
  add('order-select-criteria-met', {
    title: 'order-select of the E0784 pump for the fully qualifying patient — an info card listing what is on file; coverage-information covered',
    exercises: 'CRD order-select (hook-34: only the selected order); NCD 280.14 B.1.e; LCD L33794 IV',
    hook: 'order-select',
    selections: [s.primaryOrderRef],
    record: s.patientResources as unknown as R[],
    draftOrders: s.draftOrders as unknown as R[],
    expected: { [s.primaryOrderRef]: { outcome: 'covered', card: { indicator: 'info', summaryIncludes: ['already on file'] } } },
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// 2. Thresholds, on a lean record: glucose self-testing is attested in the documentation questionnaire (so no 300
// fingerstick readings) unless the case is about the testing log itself.

interface Lean {
  cPeptide?: { value: number; glucose: number; lln?: number } | false;
  insulin?: (b: RecordBuilder) => void;
  hba1c?: number[];
  /** Readings per day pattern over 2026-02-01..2026-03-31 instead of the attestation. */
  smbg?: number[];
  qr?: Record<string, boolean | string>;
  diagnosis?: boolean;
  extra?: (b: RecordBuilder) => void;
}

const ATTESTED = {
  'education-completed': true,
  'education-date': '2023-10-15',
  'mdi-self-adjustment': true,
  'smbg-4-per-day': true,
  'pump-before-medicare': false,
  'practitioner-csii-team': true,
} as const;

function lean(slug: string, o: Lean = {}): RecordBuilder {
  const b = new RecordBuilder(slug, `pt-${slug}`);
  b.patient('female', '1957-05-14', 'Alex').medicare('2022-05-01');
  if (o.diagnosis !== false) b.diabetesType1();
  if (o.cPeptide !== false) {
    const c = o.cPeptide ?? { value: 0.5, glucose: 110 };
    b.cPeptideWithGlucose('2026-02-10', c.value, c.lln ?? 0.8, c.glucose);
  }
  if (o.insulin) o.insulin(b);
  else b.basalBolus('2024-03-01');
  const [a1, a2] = o.hba1c ?? [8.4, 8.1];
  b.hba1c('a1c-1', a1!, '2025-09-16').hba1c('a1c-2', a2!, '2026-02-10');
  b.encounter('enc-1', '2025-12-09').encounter('enc-2', '2026-03-20');
  if (o.smbg) b.smbg('smbg', '2026-02-01', '2026-04-01', o.smbg);
  const qr: Record<string, boolean | string> = { ...ATTESTED, ...o.qr };
  if (o.smbg) delete qr['smbg-4-per-day'];
  for (const [k, v] of Object.entries(qr)) if (v === undefined || v === null) delete qr[k];
  b.attestations(qr);
  o.extra?.(b);
  return b;
}

function pumpOrder(b: RecordBuilder, code = 'E0784', display = E0784): R {
  return {
    resourceType: 'DeviceRequest',
    id: `dr-${b.slug}`,
    status: 'draft',
    intent: 'original-order',
    codeCodeableConcept: { coding: [{ system: HCPCS, code, display }] },
    subject: b.subject,
    authoredOn: AUTHORED_ON,
    requester: { reference: REQUESTER },
    reasonCode: [{ coding: [{ system: ICD10, code: 'E10.65', display: 'Type 1 diabetes mellitus with hyperglycemia' }] }],
    insurance: [{ reference: `Coverage/cov-${b.slug}` }],
  };
}

function supplyOrder(b: RecordBuilder, id: string, code: string, display: string): R {
  return {
    resourceType: 'DeviceRequest',
    id,
    status: 'draft',
    intent: 'original-order',
    codeCodeableConcept: { coding: [{ system: HCPCS, code, display }] },
    subject: b.subject,
    authoredOn: AUTHORED_ON,
    requester: { reference: REQUESTER },
    insurance: [{ reference: `Coverage/cov-${b.slug}` }],
    parameter: [{ code: { text: 'quantity (weeks)' }, valueQuantity: { value: 13, unit: 'wk', system: UCUM, code: 'wk' } }],
  };
}

function insulinOrder(b: RecordBuilder): R {
  return {
    resourceType: 'MedicationRequest',
    id: `mr-${b.slug}`,
    status: 'draft',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: '86009', display: 'insulin lispro' }], text: 'insulin lispro 100 UNT/ML for insulin pump' },
    subject: b.subject,
    authoredOn: AUTHORED_ON,
    requester: { reference: REQUESTER },
    dosageInstruction: [{ text: 'Via insulin pump: basal and bolus per pump settings, up to 60 units/day' }],
  };
}

type Exp = Omit<OrderExpectation, 'card'> & { card?: OrderExpectation['card'] };

/** A case on a lean record: E0784 + its insulin, expectation on the pump order. */
function threshold(name: string, title: string, exercises: string, o: Lean, exp: Exp, orders?: (b: RecordBuilder) => R[]): void {
  const b = lean(name, o);
  const draftOrders = orders ? orders(b) : [pumpOrder(b), insulinOrder(b)];
  const card = exp.card !== undefined ? exp.card : exp.outcome === 'covered' ? null : undefined;
  add(name, {
    title,
    exercises,
    record: b.resources,
    draftOrders,
    expected: { [`${draftOrders[0]!.resourceType}/${draftOrders[0]!.id}`]: { ...exp, ...(card !== undefined ? { card } : {}) } },
  });
}

const WARN = 'warning' as const;
const A1 = 'LCD L33794 IV A1; NCD 280.14 B.1.e (fasting C-peptide ≤ 110% of the lower limit of normal)';
const A2 = 'LCD L33794 IV A2; NCD 280.14 B.1.e (≤ 200% of the lower limit when creatinine clearance ≤ 50 mL/min)';
const A3 = 'LCD L33794 IV A3; NCD 280.14 B.1.e (concurrently obtained fasting glucose ≤ 225 mg/dL)';

function normalRenal(b: RecordBuilder, value = 92, day = '2026-02-10'): void {
  b.lab('crcl', '2164-2', 'Creatinine renal clearance in 24 hour Urine and Serum or Plasma', value, 'mL/min', `${day}T08:05:00Z`);
}
function negativeAntibodies(b: RecordBuilder): void {
  b.antibody('gad65', '13926-1', 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum', 0.4, '[IU]/mL', 5, '2026-02-10');
  b.antibody('iaa', '8072-1', 'Insulin Ab [Units/volume] in Serum', 0.1, '[IU]/mL', 0.4, '2026-02-10');
}

// C-peptide ratio: 110% exactly, just above.
threshold('c-peptide-110-percent', 'Fasting C-peptide 0.88 ng/mL with lower limit 0.8 (exactly 110%) — covered', `${A1} — at the limit (≤ is inclusive)`,
  { cPeptide: { value: 0.88, glucose: 110 } },
  { outcome: 'covered', criteria: { 'c-peptide': 'met', autoantibody: 'met', 'testing-attested': 'met' } });
threshold('c-peptide-111-percent-no-renal', 'Fasting C-peptide 0.89 ng/mL (111%), no creatinine clearance and no autoantibody test on record — conditional: the 200% limit could apply',
  `${A1}; ${A2} — just above 110%, renal function not documented`,
  { cPeptide: { value: 0.89, glucose: 110 } },
  { outcome: 'conditional', criteria: { 'c-peptide': 'not-documented', autoantibody: 'not-documented' }, card: { indicator: WARN } });
threshold('c-peptide-111-percent-normal-renal', 'Fasting C-peptide 0.89 ng/mL (111%) with creatinine clearance 92 mL/min and negative autoantibodies — not covered',
  `${A1}; ${A2}; LCD L33794 IV B — just above 110%, normal renal function`,
  { cPeptide: { value: 0.89, glucose: 110 }, extra: (b) => { normalRenal(b); negativeAntibodies(b); } },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met', autoantibody: 'not-met' }, card: { indicator: WARN } });

// Renal path: 200% with CrCl 50 / 51, 201% with CrCl 26, CrCl outside the window.
threshold('renal-200-percent-crcl-50', 'Fasting C-peptide 1.6 ng/mL (200% of 0.8) with measured creatinine clearance 50 mL/min — covered', `${A2} — both at their limits`,
  { cPeptide: { value: 1.6, glucose: 110 }, extra: (b) => normalRenal(b, 50) },
  { outcome: 'covered', criteria: { 'c-peptide': 'met' } });
threshold('renal-200-percent-crcl-51', 'Fasting C-peptide 1.6 ng/mL (200%) with creatinine clearance 51 mL/min (> 50) and negative autoantibodies — not covered', `${A2} — creatinine clearance just above 50 mL/min`,
  { cPeptide: { value: 1.6, glucose: 110 }, extra: (b) => { normalRenal(b, 51); negativeAntibodies(b); } },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met', autoantibody: 'not-met' }, card: { indicator: WARN } });
threshold('renal-201-percent-crcl-26', 'Fasting C-peptide 1.61 ng/mL (201%) with creatinine clearance 26 mL/min and negative autoantibodies — not covered', `${A2} — ratio just above 200%`,
  { cPeptide: { value: 1.61, glucose: 110 }, extra: (b) => { normalRenal(b, 26); negativeAntibodies(b); } },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met' }, card: { indicator: WARN } });
threshold('renal-crcl-91-days-before-draw', 'Fasting C-peptide 1.5 ng/mL (188%); the only creatinine clearance (26 mL/min) is 91 days before the draw — conditional',
  `${A2}; policy parameter crclMaxDaysFromCPeptide = 90 (the NCD gives no window)`,
  { cPeptide: { value: 1.5, glucose: 110 }, extra: (b) => normalRenal(b, 26, '2025-11-11') },
  { outcome: 'conditional', criteria: { 'c-peptide': 'not-documented' }, card: { indicator: WARN } });

// Concurrent fasting glucose: 225 valid, 226 invalid.
threshold('glucose-225-valid', 'Fasting C-peptide 0.5 ng/mL (62.5%) with a same-draw fasting glucose of 225 mg/dL — covered', `${A3} — at the limit`,
  { cPeptide: { value: 0.5, glucose: 225 } },
  { outcome: 'covered', criteria: { 'c-peptide': 'met' } });
threshold('glucose-226-invalid', 'Fasting C-peptide 0.5 ng/mL but the same-draw fasting glucose is 226 mg/dL (invalid test); autoantibodies negative — not covered', `${A3} — just above the limit`,
  { cPeptide: { value: 0.5, glucose: 226 }, extra: negativeAntibodies },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met', autoantibody: 'not-met' }, card: { indicator: WARN, summaryIncludes: ['fasting glucose 226 mg/dL'] } });

// HbA1c > 7.0% (strict), with C2–C5 answered "no".
const noC2toC5 = { 'c2-recurring-hypoglycemia': false, 'c3-premeal-fluctuations': false, 'c4-dawn-phenomenon': false, 'c5-severe-excursions': false };
threshold('hba1c-7-1', 'HbA1c 7.1% during the MDI period, C2–C5 answered "no" — covered', 'LCD L33794 IV C1; NCD 280.14 B.1.e Criterion A (HbA1c > 7.0%) — just above',
  { hba1c: [6.8, 7.1], qr: noC2toC5 },
  { outcome: 'covered', criteria: { 'c1-hba1c': 'met', 'c3-premeal-fluctuations': 'met' } });
threshold('hba1c-7-0', 'HbA1c at most 7.0% during the MDI period, C2–C5 answered "no" — not covered', 'LCD L33794 IV C1 (HbA1c > 7.0%, strict) — at the limit',
  { hba1c: [6.8, 7.0], qr: noC2toC5 },
  { outcome: 'not-covered', criteria: { 'c1-hba1c': 'not-met', 'c3-premeal-fluctuations': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['no HbA1c above 7%'] } });
threshold('hba1c-7-0-recurring-hypoglycemia-dx', 'HbA1c at most 7.0% but recurring hypoglycemia (E10.649) is on the problem list — covered',
  'LCD L33794 IV C2 (history of recurring hypoglycemia), documented as a Condition (A52507 Group 1 code)',
  { hba1c: [6.8, 7.0], qr: noC2toC5, extra: (b) => b.condition('dx-hypo', ICD10, 'E10.649', 'Type 1 diabetes mellitus with hypoglycemia without coma', '2025-11-03') },
  { outcome: 'covered', criteria: { 'c2-hypoglycemia-dx': 'met', 'c1-hba1c': 'met' } });

// Injections per day: 3 vs 2.
const glargine = (b: RecordBuilder, start: string) =>
  b.insulin('ms-glargine', '274783', 'insulin glargine', { start }, 'Inject 22 units subcutaneously once daily at bedtime', { frequency: 1, period: 1, periodUnit: 'd' });
threshold('mdi-3-injections', 'Insulin glargine once daily + lispro before breakfast and dinner (3 injections/day) for 2 years — covered', 'LCD L33794 IV C; NCD 280.14 B.1.e Criterion A (at least 3 injections per day) — at the limit',
  { insulin: (b) => { glargine(b, '2024-03-01'); b.insulin('ms-lispro', '86009', 'insulin lispro', { start: '2024-03-01' }, 'Inject per carbohydrate ratio before breakfast and dinner', { when: ['ACM', 'ACV'] }); } },
  { outcome: 'covered', criteria: { 'mdi-frequency': 'met', 'mdi-duration': 'met' } });
threshold('mdi-2-injections', 'Insulin glargine once daily + lispro before dinner (2 injections/day); not on a pump before Medicare (attested) — not covered', 'LCD L33794 IV C (at least 3 injections per day) — just below',
  { insulin: (b) => { glargine(b, '2024-03-01'); b.insulin('ms-lispro', '86009', 'insulin lispro', { start: '2024-03-01' }, 'Inject 6 units before dinner', { when: ['ACV'] }); } },
  { outcome: 'not-covered', criteria: { 'mdi-frequency': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['2 insulin injections/day'] } });

// MDI duration: 6 calendar months before the order date (2025-10-01) or earlier.
threshold('mdi-exactly-6-months', 'Basal-bolus MDI since 2025-10-01, exactly 6 months before the order — covered', 'LCD L33794 IV C; NCD 280.14 B.1.e Criterion A (at least 6 months prior to initiation) — at the limit',
  { insulin: (b) => b.basalBolus('2025-10-01') },
  { outcome: 'covered', criteria: { 'mdi-duration': 'met' } });
threshold('mdi-6-months-less-a-day', 'Basal-bolus MDI since 2025-10-02, one day short of 6 months — not covered', 'LCD L33794 IV C (at least 6 months prior to initiation) — one day short',
  { insulin: (b) => b.basalBolus('2025-10-02') },
  { outcome: 'not-covered', criteria: { 'mdi-duration': 'not-met', 'mdi-frequency': 'met' }, card: { indicator: WARN, summaryIncludes: ['less than 6 months'] } });

// Self-testing: average 4.0/day (236 readings in the 59 days before the order) vs 3.98/day.
threshold('smbg-4-per-day', 'Fingerstick log of exactly 4 readings a day for the 2 months before the order (no attestation) — covered', 'LCD L33794 IV C; NCD 280.14 B.1.e Criterion A (self-testing at least 4 times per day during the 2 months prior) — at the limit',
  { smbg: [4] },
  { outcome: 'covered', criteria: { 'testing-computed': 'met', 'testing-cgm': 'met' } });
threshold('smbg-just-under-4-per-day', 'Fingerstick log of 235 readings in 59 days (3.98/day), no CGM on record — conditional', 'LCD L33794 IV C (at least 4 times per day) — one reading short; A52507 CGM would still satisfy it',
  { smbg: [3, ...Array.from({ length: 58 }, () => 4)] },
  { outcome: 'conditional', criteria: { 'testing-computed': 'not-met', 'testing-cgm': 'not-documented' }, card: { indicator: WARN } });

threshold('smbg-attested-no', 'No fingerstick log on record and the practitioner answered "no" to testing at least 4 times a day; no CGM — conditional', 'LCD L33794 IV C (self-testing at least 4 times per day), attested in the documentation questionnaire; A52507 CGM would still satisfy it',
  { qr: { 'smbg-4-per-day': false } },
  { outcome: 'conditional', criteria: { 'testing-attested': 'not-met', 'testing-cgm': 'not-documented' }, card: { indicator: WARN } });

// Continued coverage: the 3-month visit read as 91 days (parameter visitDaysMax).
function onPumpSince2016(slug: string, visitDay: string): RecordBuilder {
  const b = new RecordBuilder(slug, `pt-${slug}`);
  b.patient('female', '1958-07-30', 'Casey').medicare('2023-08-01').diabetesType1('1985-02-14');
  b.cPeptideWithGlucose('2023-05-09', 0.2, 0.8, 139);
  b.pumpInsertion('2016-09-14').insulinPumpDevice();
  b.insulin('ms-pump-lispro', '86009', 'insulin lispro', { start: '2016-09-14' }, 'Continuous subcutaneous infusion via insulin pump (basal + bolus)');
  b.hba1c('a1c-1', 7.4, '2025-12-01').encounter('enc-1', '2025-08-28').encounter('enc-2', visitDay);
  b.attestations({ 'pump-before-medicare': true, 'pump-start-date': '2016-09-14', 'smbg-before-enrollment': true, 'practitioner-csii-team': true });
  return b;
}
for (const [name, day, days, outcome] of [
  ['visit-91-days', '2025-12-31', 91, 'covered'],
  ['visit-92-days', '2025-12-30', 92, 'not-covered'],
] as const) {
  const b = onPumpSince2016(name, day);
  const order = supplyOrder(b, `dr-${name}`, 'A4224', A4224);
  add(name, {
    title: `Insulin pump supplies (A4224) for a patient on a pump since 2016, last seen ${days} days before the order — ${outcome}`,
    exercises: `NCD 280.14 B.1.e continued coverage (seen at least every 3 months), read as ${91} days (policy parameter visitDaysMax) — ${days === 91 ? 'at the limit' : 'one day over'}`,
    record: b.resources,
    draftOrders: [order],
    expected: {
      [`DeviceRequest/${order.id}`]: {
        outcome,
        criteria: { 'continued-coverage-visit': outcome === 'covered' ? 'met' : 'not-met', 'pump-before-enrollment-attested': 'met', 'testing-before-enrollment-attested': 'met' },
        card: outcome === 'covered' ? null : { indicator: WARN, summaryIncludes: [`${days} days ago`] },
      },
    },
  });
}

// Criterion D from structured data only: pump insertion before enrollment, fingersticks in the month before it.
{
  const name = 'pump-before-medicare-from-record';
  const b = new RecordBuilder(name, `pt-${name}`);
  b.patient('male', '1960-02-11', 'Jordan').medicare('2025-03-01').diabetesType1('1988-04-20');
  b.cPeptideWithGlucose('2025-11-12', 0.3, 0.8, 128);
  b.pumpInsertion('2017-06-01').insulinPumpDevice();
  b.insulin('ms-pump-lispro', '86009', 'insulin lispro', { start: '2017-06-01' }, 'Continuous subcutaneous infusion via insulin pump (basal + bolus)');
  b.smbg('smbg-2025-02', '2025-02-01', '2025-03-01', [4]);
  b.hba1c('a1c-1', 7.6, '2026-01-20').encounter('enc-1', '2025-11-12').encounter('enc-2', '2026-03-05');
  b.attestations({ 'practitioner-csii-team': true });
  const orders = [pumpOrder(b), insulinOrder(b)];
  add(name, {
    title: 'Insulin pump inserted 2017 (Procedure), Medicare since 2025-03-01, 4 fingersticks/day in February 2025; nothing attested but the CSII team — covered',
    exercises: 'LCD L33794 IV D; NCD 280.14 B.1.e Criterion B (on a pump before enrollment, ≥ 4 tests/day in the month before) — from the record, not the questionnaire',
    record: b.resources,
    draftOrders: orders,
    expected: {
      [`DeviceRequest/${orders[0]!.id}`]: {
        outcome: 'covered',
        criteria: { 'pump-before-enrollment-record': 'met', 'testing-before-enrollment-computed': 'met', 'mdi-frequency': 'met' },
        card: null,
      },
    },
  });
}

// Documentation and other single criteria.
threshold('diagnosis-only-on-order', 'No diabetes Condition on the problem list, but the pump order gives E10.65 as its reason — covered', 'A52507 ICD-10 Group 1; LCD L33794 IV (diabetes diagnosis), read from DeviceRequest.reasonCode',
  { diagnosis: false },
  { outcome: 'covered', criteria: { diagnosis: 'met' } });
threshold('no-diabetes-diagnosis', 'Everything else qualifies but no diabetes diagnosis is on record nor on the order — conditional', 'A52507 ICD-10 Group 1; LCD L33794 IV (diabetes diagnosis)',
  { diagnosis: false },
  { outcome: 'conditional', criteria: { diagnosis: 'not-documented' }, card: { indicator: WARN } },
  (b) => {
    const { reasonCode: _none, ...pump } = pumpOrder(b);
    return [pump as R, insulinOrder(b)];
  });
threshold('education-by-dsmt-claim', 'Diabetes self-management training (G0108) on record instead of the education attestation — covered', 'NCD 280.14 B.1.e Criterion A (comprehensive diabetes education program), documented as a Procedure',
  {
    qr: { 'education-completed': undefined as unknown as boolean, 'education-date': undefined as unknown as string },
    extra: (b) =>
      b.add({
        resourceType: 'Procedure',
        id: b.id('proc-dsmt'),
        status: 'completed',
        code: { coding: [{ system: HCPCS, code: 'G0108', display: 'Diabetes outpatient self-management training services, individual, per 30 minutes' }] },
        subject: b.subject,
        performedDateTime: '2023-10-15',
      }),
  },
  { outcome: 'covered', criteria: { 'education-dsmt': 'met', 'education-attested': 'met' } });
threshold('education-not-documented', 'Neither DSMT on record nor the education question answered — conditional', 'NCD 280.14 B.1.e Criterion A (comprehensive diabetes education program)',
  { qr: { 'education-completed': undefined as unknown as boolean, 'education-date': undefined as unknown as string } },
  { outcome: 'conditional', criteria: { 'education-attested': 'not-documented' }, card: { indicator: WARN } });
threshold('self-adjustment-answered-no', 'The practitioner answered "no" to frequent self-adjustment of insulin dose; not on a pump before Medicare — not covered', 'NCD 280.14 B.1.e Criterion A; LCD L33794 IV C (frequent self-adjustments of insulin dose)',
  { qr: { 'mdi-self-adjustment': false } },
  { outcome: 'not-covered', criteria: { 'self-adjustment': 'not-met' }, card: { indicator: WARN } });
threshold('practitioner-team-answered-no', 'The ordering practitioner answered "no" to the CSII team question — not covered', 'NCD 280.14 B.1.e (ordering physician and CSII team); LCD L33794 IV',
  { qr: { 'practitioner-csii-team': false } },
  { outcome: 'not-covered', criteria: { 'practitioner-team': 'not-met' }, card: { indicator: WARN } });
threshold('non-insulin-supplies-with-e0784', 'E0784 ordered with A4221 (non-insulin pump supplies) — not covered as coded', 'A52507 coding guidelines: supply association table (A4221 with E0784 is incorrect coding)',
  {},
  { outcome: 'not-covered', criteria: { 'supply-pairing': 'not-met' }, card: { indicator: WARN } },
  (b) => [pumpOrder(b), insulinOrder(b), supplyOrder(b, `dr-${b.slug}-supplies`, 'A4221', 'Supplies for maintenance of non-insulin drug infusion catheter, per week')]);

// A payer without a configured policy.
{
  const name = 'commercial-payer-no-policy';
  const b = lean(name);
  const i = b.resources.findIndex((r) => r.resourceType === 'Coverage');
  b.resources[i] = {
    resourceType: 'Coverage',
    id: `cov-${name}`,
    status: 'active',
    type: { coding: [{ system: 'https://nahdo.org/sopt', code: '5', display: 'PRIVATE HEALTH INSURANCE' }] },
    beneficiary: b.subject,
    period: { start: '2022-05-01' },
    payor: [{ reference: 'Organization/acme-health', display: 'Acme Health Plan' }],
  };
  const orders = [pumpOrder(b), insulinOrder(b)];
  add(name, {
    title: 'E0784 for a patient covered only by a commercial plan no policy is configured for — no-policy',
    exercises: 'DESIGN: no coverage policy for the payer ⇒ no coverage-information, an informational card',
    record: b.resources,
    draftOrders: orders,
    expected: { [`DeviceRequest/${orders[0]!.id}`]: { outcome: 'no-policy' } },
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Writing.

/** 2-space JSON; arrays of more than 20 items (records with glucose logs) one item per line. */
function caseJson(v: unknown): string {
  const write = (x: unknown, indent: string): string => {
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      const inner = `${indent}  `;
      const items = x.length > 20 ? x.map((y) => JSON.stringify(y)) : x.map((y) => write(y, inner));
      return `[\n${items.map((y) => `${inner}${y}`).join(',\n')}\n${indent}]`;
    }
    if (x !== null && typeof x === 'object') {
      const entries = Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined);
      if (entries.length === 0) return '{}';
      const inner = `${indent}  `;
      return `{\n${entries.map(([k, y]) => `${inner}${JSON.stringify(k)}: ${write(y, inner)}`).join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(x);
  };
  return `${write(v, '')}\n`;
}

const dir = path.join(POLICY_TESTS_DIR, POLICY);
const check = process.argv.includes('--check');
mkdirSync(dir, { recursive: true });
let drift = 0;
for (const [name, c] of cases) {
  const file = path.join(dir, `${name}.json`);
  const text = caseJson(c as unknown as Resource);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  drift++;
  if (check) console.error(`${path.relative(process.cwd(), file)} differs from the generator`);
  else writeFileSync(file, text);
}
const stale = readdirSync(dir).filter((f) => f.endsWith('.json') && !cases.has(f.slice(0, -5)));
for (const f of stale) console.error(`note: ${POLICY}/${f} is not generated by this script (kept)`);
console.log(`${cases.size} cases, ${drift} ${check ? 'differ' : 'written'}`);
if (check && drift > 0) process.exit(1);
