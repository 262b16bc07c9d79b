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

/**
 * Scenarios whose expected answer changed with issue 15 (test/fixtures/scenarios.ts still holds the earlier answer; the
 * lead regenerates examples from these cases): the case's expectation, with the reason.
 */
const SCENARIO_EXPECTED: Record<string, OrderExpectation> = {
  // D1: an invalid C-peptide (glucose 260 > 225) is no evidence: not documented, repeat the test (not "not covered").
  'invalid-c-peptide-glucose-260': {
    outcome: 'conditional',
    criteria: { 'c-peptide': 'not-documented' },
    card: { indicator: 'warning', summaryIncludes: ['fasting glucose 260 mg/dL'] },
  },
  // D3: only GAD65 and IAA tested (negative): IA-2 and ZnT8 are not documented, so antibodies can still qualify.
  'c-peptide-too-high': {
    outcome: 'conditional',
    criteria: { 'c-peptide': 'not-met', 'antibody-gad65': 'not-met', 'antibody-ia2': 'not-documented', 'antibody-znt8': 'not-documented' },
    card: { indicator: 'warning' },
  },
  // D7: the CGM receiver is an undated Device: use during the 2 months before the pump is not documented.
  'cgm-instead': {
    outcome: 'conditional',
    criteria: { 'testing-cgm': 'not-documented', 'testing-computed': 'not-met' },
    card: { indicator: 'warning' },
  },
  'c-peptide-missing': {
    outcome: 'conditional',
    criteria: { 'c-peptide': 'not-documented', 'antibody-gad65': 'not-documented', 'antibody-ia2': 'not-documented', 'antibody-znt8': 'not-documented' },
    card: { indicator: 'warning', summaryIncludes: ['C-peptide'] },
  },
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
      [s.primaryOrderRef]: SCENARIO_EXPECTED[s.slug] ?? {
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
/** GAD65 and IAA negative: a partial panel (IA-2 and ZnT8 not tested). */
function gad65IaaNegative(b: RecordBuilder): void {
  b.antibody('gad65', '13926-1', 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum', 0.4, '[IU]/mL', 5, '2026-02-10');
  b.antibody('iaa', '8072-1', 'Insulin Ab [Units/volume] in Serum', 0.1, '[IU]/mL', 0.4, '2026-02-10');
}
/** The full beta-cell autoantibody panel negative: GAD65, IA-2, ZnT8 and IAA. */
function negativeAntibodies(b: RecordBuilder): void {
  gad65IaaNegative(b);
  b.antibody('ia2', '56718-0', 'Islet antigen 2 Ab [Units/volume] in Serum', 1.2, 'U/mL', 7.5, '2026-02-10');
  b.antibody('znt8', '76651-9', 'Zinc transporter 8 Ab [Units/volume] in Serum', 3, 'U/mL', 15, '2026-02-10');
}

// C-peptide ratio: 110% exactly, just above.
threshold('c-peptide-110-percent', 'Fasting C-peptide 0.88 ng/mL with lower limit 0.8 (exactly 110%) — covered', `${A1} — at the limit (≤ is inclusive)`,
  { cPeptide: { value: 0.88, glucose: 110 } },
  { outcome: 'covered', criteria: { 'c-peptide': 'met', 'antibody-gad65': 'met', 'testing-attested': 'met' } });
threshold('c-peptide-111-percent-no-renal', 'Fasting C-peptide 0.89 ng/mL (111%), no creatinine clearance and no autoantibody test on record — conditional: the 200% limit could apply',
  `${A1}; ${A2} — just above 110%, renal function not documented`,
  { cPeptide: { value: 0.89, glucose: 110 } },
  { outcome: 'conditional', criteria: { 'c-peptide': 'not-documented', 'antibody-gad65': 'not-documented' }, card: { indicator: WARN, summaryIncludes: ['creatinine clearance'] } });
threshold('c-peptide-111-percent-normal-renal', 'Fasting C-peptide 0.89 ng/mL (111%) with creatinine clearance 92 mL/min and the full autoantibody panel negative — not covered',
  `${A1}; ${A2}; LCD L33794 IV B — just above 110%, normal renal function`,
  { cPeptide: { value: 0.89, glucose: 110 }, extra: (b) => { normalRenal(b); negativeAntibodies(b); } },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met', 'antibody-gad65': 'not-met', 'antibody-ia2': 'not-met', 'antibody-znt8': 'not-met' }, card: { indicator: WARN } });

// Renal path: 200% with CrCl 50 / 51, 201% with CrCl 26, CrCl outside the window.
threshold('renal-200-percent-crcl-50', 'Fasting C-peptide 1.6 ng/mL (200% of 0.8) with measured creatinine clearance 50 mL/min — covered', `${A2} — both at their limits`,
  { cPeptide: { value: 1.6, glucose: 110 }, extra: (b) => normalRenal(b, 50) },
  { outcome: 'covered', criteria: { 'c-peptide': 'met' } });
threshold('renal-200-percent-crcl-51', 'Fasting C-peptide 1.6 ng/mL (200%) with creatinine clearance 51 mL/min (> 50) and the full autoantibody panel negative — not covered', `${A2} — creatinine clearance just above 50 mL/min`,
  { cPeptide: { value: 1.6, glucose: 110 }, extra: (b) => { normalRenal(b, 51); negativeAntibodies(b); } },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met', 'antibody-ia2': 'not-met' }, card: { indicator: WARN } });
threshold('renal-201-percent-crcl-26', 'Fasting C-peptide 1.61 ng/mL (201%) with creatinine clearance 26 mL/min and the full autoantibody panel negative — not covered', `${A2} — ratio just above 200%`,
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
threshold('glucose-226-invalid', 'Fasting C-peptide 0.5 ng/mL but the same-draw fasting glucose is 226 mg/dL (invalid test); autoantibody panel negative — conditional: repeat the C-peptide', `${A3} — just above the limit: an invalid test is not documented, never "not met" (issue 15 D1)`,
  { cPeptide: { value: 0.5, glucose: 226 }, extra: negativeAntibodies },
  { outcome: 'conditional', criteria: { 'c-peptide': 'not-documented', 'antibody-gad65': 'not-met', 'antibody-ia2': 'not-met', 'antibody-znt8': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['fasting glucose 226 mg/dL', 'repeat'] } });

// HbA1c > 7.0% (strict), with C2–C5 answered "no".
const noC2toC5 = { 'c2-recurring-hypoglycemia': false, 'c3-premeal-fluctuations': false, 'c4-dawn-phenomenon': false, 'c5-severe-excursions': false };
threshold('hba1c-7-1', 'HbA1c 7.1% during the MDI period, C2–C5 answered "no" — covered', 'LCD L33794 IV C1; NCD 280.14 B.1.e Criterion A (HbA1c > 7.0%) — just above',
  { hba1c: [6.8, 7.1], qr: noC2toC5 },
  { outcome: 'covered', criteria: { 'c1-hba1c': 'met', 'c3-premeal-fluctuations': 'met' } });
threshold('hba1c-7-0', 'HbA1c at most 7.0% during the MDI period, C2–C5 answered "no" — not covered', 'LCD L33794 IV C1 (HbA1c > 7.0%, strict) — at the limit',
  { hba1c: [6.8, 7.0], qr: noC2toC5 },
  { outcome: 'not-covered', criteria: { 'c1-hba1c': 'not-met', 'c3-premeal-fluctuations': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['no HbA1c above 7%'] } });
// C2 recurring hypoglycemia (issue 15 D5): the practitioner's answer first; else at least 2 coded episodes during insulin
// therapy (parameter hypoglycemiaEpisodesMin); the MDI regimen starts 2024-03-01.
const C2 = 'NCD 280.14 B.1.e Criterion A ("History of recurring hypoglycemia" while on the MDI regimen); parameter hypoglycemiaEpisodesMin = 2';
const noC3toC5 = { 'c3-premeal-fluctuations': false, 'c4-dawn-phenomenon': false, 'c5-severe-excursions': false };
const hypo = (b: RecordBuilder, suffix: string, day: string, code = 'E10.649') =>
  b.condition(suffix, ICD10, code, code === 'E16.2' ? 'Hypoglycemia, unspecified' : 'Type 1 diabetes mellitus with hypoglycemia without coma', day);
threshold('hba1c-7-0-recurring-hypoglycemia-dx', 'HbA1c at most 7.0%, C2 unanswered, two hypoglycemia episodes (E10.649) coded during MDI — covered',
  `${C2} — at the limit (2 episodes)`,
  { hba1c: [6.8, 7.0], qr: noC3toC5, extra: (b) => { hypo(b, 'dx-hypo-1', '2025-06-12'); hypo(b, 'dx-hypo-2', '2025-11-03'); } },
  { outcome: 'covered', criteria: { 'c2-hypoglycemia-dx': 'met', 'c1-hba1c': 'met' } });
threshold('hypoglycemia-one-episode', 'HbA1c at most 7.0%, C2 unanswered, one hypoglycemia episode coded during MDI — conditional: "recurring" is not shown by one episode',
  `${C2} — one below the limit`,
  { hba1c: [6.8, 7.0], qr: noC3toC5, extra: (b) => hypo(b, 'dx-hypo-1', '2025-11-03') },
  { outcome: 'conditional', criteria: { 'c2-hypoglycemia-dx': 'not-documented', 'c2-hypoglycemia-attested': 'not-documented' }, card: { indicator: WARN } });
threshold('hypoglycemia-old-code-before-insulin', 'HbA1c at most 7.0%, C2 unanswered, one resolved E16.2 from 2012 and one from 2020, both before insulin therapy (2024) — conditional',
  `${C2} — episodes before the MDI regimen do not count (COVERAGE-MAP S5)`,
  { hba1c: [6.8, 7.0], qr: noC3toC5, extra: (b) => { hypo(b, 'dx-hypo-1', '2012-05-02', 'E16.2'); hypo(b, 'dx-hypo-2', '2020-01-15', 'E16.2'); } },
  { outcome: 'conditional', criteria: { 'c2-hypoglycemia-dx': 'not-documented' }, card: { indicator: WARN } });
threshold('hypoglycemia-answered-no-despite-codes', 'HbA1c at most 7.0%, the practitioner answered "no" to C2–C5, three hypoglycemia episodes coded — not covered: the explicit answer decides',
  `${C2}; the practitioner's explicit answer outranks a billing code (issue 15 D5)`,
  { hba1c: [6.8, 7.0], qr: noC2toC5, extra: (b) => { hypo(b, 'dx-hypo-1', '2025-03-12'); hypo(b, 'dx-hypo-2', '2025-06-12'); hypo(b, 'dx-hypo-3', '2025-11-03'); } },
  { outcome: 'not-covered', criteria: { 'c2-hypoglycemia-attested': 'not-met', 'c1-hba1c': 'not-met' }, card: { indicator: WARN } });

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
  { outcome: 'not-covered', criteria: { 'mdi-duration': 'not-met', 'mdi-frequency': 'met' }, card: { indicator: WARN, summaryIncludes: ['less than 6 months', 'met from 2026-04-02'] } });

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
  ['visit-3-calendar-months', '2026-01-01', 90, 'covered'],
  ['visit-3-months-and-a-day', '2025-12-31', 91, 'not-covered'],
] as const) {
  const b = onPumpSince2016(name, day);
  const order = supplyOrder(b, `dr-${name}`, 'A4224', A4224);
  add(name, {
    title: `Insulin pump supplies (A4224) for a patient on a pump since 2016, last evaluation visit with the treating practitioner on ${day} (${days} days before the order of 2026-04-01) — ${outcome}`,
    exercises: `NCD 280.14 B.1.e continued coverage ("seen and evaluated by the treating physician at least every 3 months"), counted in calendar months inclusive (parameter visitMonthsMax = 3: on or after 2026-01-01) — ${outcome === 'covered' ? 'at the limit' : 'one day over'}`,
    record: b.resources,
    draftOrders: [order],
    expected: {
      [`DeviceRequest/${order.id}`]: {
        outcome,
        criteria: { 'continued-coverage-visit': outcome === 'covered' ? 'met' : 'not-met', 'pump-before-enrollment-attested': 'met', 'testing-before-enrollment-attested': 'met' },
        card: outcome === 'covered' ? null : { indicator: WARN, summaryIncludes: [`${days} days ago`, '2026-01-01'] },
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
threshold('education-by-dsmt-claim', 'One diabetes self-management training session (G0108) on record and the education question unanswered — conditional: one session is not a completed program', 'NCD 280.14 B.1.e Criterion A ("completed a comprehensive diabetes education program"); parameter educationSessionsMin = 2 — one session below the limit',
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
  { outcome: 'conditional', criteria: { 'education-dsmt': 'not-documented', 'education-attested': 'not-documented' }, card: { indicator: WARN } });
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
// 3. Issue 15: the evidence that decides, continued coverage, coding, setting, other uses (COVERAGE-MAP §2.2 D1–D14,
// S17, S19). One case per situation, at and around each threshold.

const CSII_QUESTIONNAIRE = 'http://pumpcheck.example.org/fhir/Questionnaire/csii-documentation';

/** A second completed documentation response for the items RecordBuilder.attestations does not group. */
function moreAnswers(b: RecordBuilder, answers: Record<string, boolean | string>, authored = '2026-03-26T10:00:00Z'): void {
  b.add({
    resourceType: 'QuestionnaireResponse',
    id: b.id('qr-csii-2'),
    questionnaire: CSII_QUESTIONNAIRE,
    status: 'completed',
    subject: b.subject,
    authored,
    author: { reference: REQUESTER },
    item: Object.entries(answers).map(([linkId, v]) => ({ linkId, answer: [typeof v === 'boolean' ? { valueBoolean: v } : { valueDate: v }] })),
  });
}

function highCPeptide(b: RecordBuilder): void {
  normalRenal(b);
}
const HIGH = { value: 1.5, glucose: 110 }; // 188% of 0.8 with creatinine clearance 92: insulinopenia not shown by C-peptide
const AB = 'NCD 280.14 B.1.e ("beta cell autoantibody positive"; the NCD lists no antibodies: GAD65, IA-2 and ZnT8 form the panel, IAA and ICA count when positive)';

// D2 — "levels only need to be documented once": an older valid qualifying C-peptide decides (parameter cPeptideSelection 'any').
threshold('c-peptide-older-qualifying-level', 'A valid 2024 fasting C-peptide of 62.5% of the lower limit and a newer one of 188% (normal renal function) — covered: the level only needs to be documented once',
  'NCD 280.14 B.1.e General CSII criteria ("Levels only need to be documented once in the medical records"); parameter cPeptideSelection = any (COVERAGE-MAP D2, S1)',
  { cPeptide: HIGH, extra: (b) => {
    highCPeptide(b);
    b.lab('cpep-2024', '13037-7', 'C peptide [Mass/volume] in Serum or Plasma --fasting', 0.5, 'ng/mL', '2024-01-10T08:00:00Z', { referenceRange: [{ low: { value: 0.8, unit: 'ng/mL', system: UCUM, code: 'ng/mL' }, high: { value: 3.85, unit: 'ng/mL', system: UCUM, code: 'ng/mL' } }] });
    b.lab('glu-2024', '1558-6', 'Fasting glucose [Mass/volume] in Serum or Plasma', 110, 'mg/dL', '2024-01-10T08:00:00Z');
  } },
  { outcome: 'covered', criteria: { 'c-peptide': 'met' } });

// D3 — the autoantibody panel.
threshold('antibody-ia2-positive', 'C-peptide 188% (normal renal function), GAD65 and IAA negative, IA-2 antibody positive — covered',
  `${AB} — IA-2 (COVERAGE-MAP D3, S2)`,
  { cPeptide: HIGH, extra: (b) => { highCPeptide(b); gad65IaaNegative(b); b.antibody('ia2', '56718-0', 'Islet antigen 2 Ab [Units/volume] in Serum', 42, 'U/mL', 7.5, '2026-02-10'); } },
  { outcome: 'covered', criteria: { 'antibody-ia2': 'met' } });
threshold('antibody-znt8-positive', 'C-peptide 188% (normal renal function), GAD65 and IAA negative, ZnT8 antibody positive — covered',
  `${AB} — ZnT8`,
  { cPeptide: HIGH, extra: (b) => { highCPeptide(b); gad65IaaNegative(b); b.antibody('znt8', '76651-9', 'Zinc transporter 8 Ab [Units/volume] in Serum', 120, 'U/mL', 15, '2026-02-10'); } },
  { outcome: 'covered', criteria: { 'antibody-znt8': 'met' } });
threshold('antibody-ia2-local-code-positive', 'C-peptide 188%, GAD65 and IAA negative, an IA-2 antibody reported positive under the laboratory\'s own code (mapped in policies/local-codes.json) — covered',
  `${AB}; the deployment's local-code map (policies/local-codes.json: https://lab.example.org/codes|IA2AB → ia2-antibodies)`,
  { cPeptide: HIGH, extra: (b) => {
    highCPeptide(b);
    gad65IaaNegative(b);
    b.add({ resourceType: 'Observation', id: b.id('ia2-local'), status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      code: { coding: [{ system: 'https://lab.example.org/codes', code: 'IA2AB', display: 'IA-2 ANTIBODY' }], text: 'IA-2 antibody' }, subject: b.subject, effectiveDateTime: '2026-02-10T08:05:00Z',
      valueQuantity: { value: 42, unit: 'U/mL', system: UCUM, code: 'U/mL' }, referenceRange: [{ high: { value: 7.5, unit: 'U/mL', system: UCUM, code: 'U/mL' } }],
      interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'POS', display: 'Positive' }] }] });
  } },
  { outcome: 'covered', criteria: { 'antibody-ia2': 'met' } });
threshold('antibody-ica-positive', 'C-peptide 188% (normal renal function), GAD65 and IAA negative, islet cell antibody positive (1:16) — covered',
  `${AB} — ICA`,
  { cPeptide: HIGH, extra: (b) => { highCPeptide(b); gad65IaaNegative(b); b.antibody('ica', '13927-9', 'Pancreatic islet cell Ab [Titer] in Serum', 16, '{titer}', 4, '2026-02-10'); } },
  { outcome: 'covered', criteria: { 'antibody-ica': 'met' } });
threshold('antibody-partial-panel-negative', 'C-peptide 188% (normal renal function); only GAD65 tested, negative — conditional: IA-2 and ZnT8 are not documented (order them), not "not met"',
  `${AB} — a partly tested negative panel is not documented (issue 15 D3)`,
  { cPeptide: HIGH, extra: (b) => { highCPeptide(b); b.antibody('gad65', '13926-1', 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum', 0.4, '[IU]/mL', 5, '2026-02-10'); } },
  { outcome: 'conditional', criteria: { 'c-peptide': 'not-met', 'antibody-gad65': 'not-met', 'antibody-ia2': 'not-documented', 'antibody-znt8': 'not-documented' }, card: { indicator: WARN, summaryIncludes: ['IA-2'] } });
threshold('antibody-full-panel-negative', 'C-peptide 188% (normal renal function); GAD65, IA-2, ZnT8 and IAA all negative — not covered',
  `${AB} — the whole panel negative`,
  { cPeptide: HIGH, extra: (b) => { highCPeptide(b); negativeAntibodies(b); } },
  { outcome: 'not-covered', criteria: { 'c-peptide': 'not-met', 'antibody-gad65': 'not-met', 'antibody-ia2': 'not-met', 'antibody-znt8': 'not-met' }, card: { indicator: WARN } });
threshold('antibody-iaa-before-insulin-positive', 'C-peptide 188%; GAD65, IA-2, ZnT8 negative; an insulin autoantibody positive drawn in 2023, before insulin therapy began (2024) — covered',
  `${AB} — IAA drawn before insulin therapy (anchor insulin-start)`,
  { cPeptide: HIGH, extra: (b) => {
    highCPeptide(b);
    b.antibody('gad65', '13926-1', 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum', 0.4, '[IU]/mL', 5, '2026-02-10');
    b.antibody('ia2', '56718-0', 'Islet antigen 2 Ab [Units/volume] in Serum', 1.2, 'U/mL', 7.5, '2026-02-10');
    b.antibody('znt8', '76651-9', 'Zinc transporter 8 Ab [Units/volume] in Serum', 3, 'U/mL', 15, '2026-02-10');
    b.antibody('iaa-2023', '8072-1', 'Insulin Ab [Units/volume] in Serum', 2.1, '[IU]/mL', 0.4, '2023-11-20');
  } },
  { outcome: 'covered', criteria: { 'antibody-iaa-before-insulin': 'met' } });
threshold('antibody-iaa-after-insulin-positive', 'C-peptide 188%; GAD65, IA-2, ZnT8 negative; only an insulin autoantibody positive, drawn after 2 years of insulin — covered on the literal criterion, with an info card to review it (parameter insulinAntibodyAfterInsulinCounts)',
  `${AB}; an IAA after insulin therapy is not a marker of autoimmunity (COVERAGE-MAP A9, S18): it counts only while insulinAntibodyAfterInsulinCounts is true`,
  { cPeptide: HIGH, extra: (b) => {
    highCPeptide(b);
    b.antibody('gad65', '13926-1', 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum', 0.4, '[IU]/mL', 5, '2026-02-10');
    b.antibody('ia2', '56718-0', 'Islet antigen 2 Ab [Units/volume] in Serum', 1.2, 'U/mL', 7.5, '2026-02-10');
    b.antibody('znt8', '76651-9', 'Zinc transporter 8 Ab [Units/volume] in Serum', 3, 'U/mL', 15, '2026-02-10');
    b.antibody('iaa', '8072-1', 'Insulin Ab [Units/volume] in Serum', 2.1, '[IU]/mL', 0.4, '2026-02-10');
  } },
  { outcome: 'covered', criteria: { 'antibody-iaa-after-insulin': 'met' }, card: { indicator: 'info', summaryIncludes: ['confirm with GAD65, IA-2 or ZnT8'] } });

// S17 — renal path with C-peptide documented but only an eGFR: the gap is creatinine clearance, and the lab to order
// is a serum creatinine, not a repeat C-peptide.
threshold('renal-path-egfr-only', 'Fasting C-peptide 1.3 ng/mL (162.5%) with only an eGFR of 24 on file (no creatinine clearance, no serum creatinine) — conditional: creatinine clearance is what is missing',
  `${A2}; the NCD names creatinine clearance (measured or Cockcroft-Gault), not eGFR (COVERAGE-MAP S17, A8)`,
  { cPeptide: { value: 1.3, glucose: 110 }, extra: (b) => { b.lab('egfr', '62238-1', 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)', 24, 'mL/min/{1.73_m2}', '2026-02-10T08:05:00Z'); negativeAntibodies(b); } },
  { outcome: 'conditional', criteria: { 'c-peptide': 'not-documented' }, card: { indicator: WARN, summaryIncludes: ['creatinine clearance'] } });

// D4 — education: the practitioner's answer outranks billing codes; two sessions on record are a program.
const dsmt = (b: RecordBuilder, suffix: string, day: string, code = 'G0108') =>
  b.add({ resourceType: 'Procedure', id: b.id(suffix), status: 'completed',
    code: { coding: [{ system: HCPCS, code, display: code === 'G0108' ? 'Diabetes outpatient self-management training services, individual, per 30 minutes' : 'Education and training for patient self-management by a qualified, nonphysician health care professional' }] },
    subject: b.subject, performedDateTime: day });
const EDU = 'NCD 280.14 B.1.e Criterion A ("has completed a comprehensive diabetes education program"); parameter educationSessionsMin = 2';
const noEducationAnswer = { 'education-completed': undefined as unknown as boolean, 'education-date': undefined as unknown as string };
threshold('education-dsmt-two-sessions', 'Two diabetes self-management training sessions on record (2023-09-20, 2023-10-15), education question unanswered — covered', `${EDU} — at the limit`,
  { qr: noEducationAnswer, extra: (b) => { dsmt(b, 'proc-dsmt-1', '2023-09-20'); dsmt(b, 'proc-dsmt-2', '2023-10-15'); } },
  { outcome: 'covered', criteria: { 'education-dsmt': 'met' } });
threshold('education-answered-no-despite-sessions', 'The practitioner answered "no" to a completed education program; three education sessions are billed — not covered: the explicit answer decides', `${EDU}; the practitioner's explicit answer outranks billing codes (COVERAGE-MAP D4, S6b)`,
  { qr: { 'education-completed': false }, extra: (b) => { dsmt(b, 'proc-dsmt-1', '2010-03-02', '98960'); dsmt(b, 'proc-dsmt-2', '2010-03-09', '98960'); dsmt(b, 'proc-dsmt-3', '2010-03-16', '98960'); } },
  { outcome: 'not-covered', criteria: { 'education-attested': 'not-met' }, card: { indicator: WARN } });

// D6 — a testing window with readings on too few days is not a log: the attestation decides.
const SMBG = 'NCD 280.14 B.1.e Criterion A (documented self-testing ≥ 4/day during the 2 months prior); parameter smbgMinDaysWithReadings = 50 of the 59 days';
const days = (withReadings: number, perDay: number) => Array.from({ length: 59 }, (_, i) => (i < withReadings ? perDay : 0));
threshold('smbg-few-days-attested', '20 clinic glucose readings on 4 of 59 days and the practitioner attests testing at least 4 times a day — covered: too few days to be a log, the attestation decides', `${SMBG} (COVERAGE-MAP D6, S20)`,
  { smbg: days(4, 5), extra: (b) => moreAnswers(b, { 'smbg-4-per-day': true }) },
  { outcome: 'covered', criteria: { 'testing-computed': 'met', 'testing-attested': 'met' } });
threshold('smbg-50-days-with-readings', 'Readings on 50 of 59 days, 5 a day (4.2/day average), no attestation — covered', `${SMBG} — at the limit`,
  { smbg: days(50, 5) },
  { outcome: 'covered', criteria: { 'testing-computed': 'met' } });
threshold('smbg-49-days-with-readings', 'Readings on 49 of 59 days, 5 a day, no attestation, no CGM — conditional: not a 2-month log', `${SMBG} — one day below`,
  { smbg: days(49, 5) },
  { outcome: 'conditional', criteria: { 'testing-computed': 'not-documented', 'testing-attested': 'not-documented', 'testing-cgm': 'not-documented' }, card: { indicator: WARN } });

// D7 — CGM only when its use overlaps the 2 months before the pump; a CGM ordered in the same request never counts.
const CGM = 'A52507 (CGM use meets the testing requirement); NCD 280.14 B.1.e Criterion A (during the 2 months prior to initiation)';
const cgmUse = (b: RecordBuilder, start: string, end?: string) => {
  b.add({ resourceType: 'Device', id: b.id('dev-cgm'), status: end ? 'inactive' : 'active', type: { coding: [{ system: HCPCS, code: 'E2103', display: 'Non-adjunctive, non-implanted continuous glucose monitor or receiver' }], text: 'CGM receiver' }, patient: b.subject });
  b.add({ resourceType: 'DeviceUseStatement', id: b.id('dus-cgm'), status: end ? 'completed' : 'active', subject: b.subject, device: { reference: `Device/${b.id('dev-cgm')}` }, timingPeriod: end ? { start, end } : { start }, recordedOn: start });
};
const noTestingAnswer = { 'smbg-4-per-day': undefined as unknown as boolean };
threshold('cgm-use-overlaps-window', 'No fingerstick log and no testing attestation; CGM in use since 2025-06-01 — covered', `${CGM} — use overlapping the window`,
  { qr: noTestingAnswer, extra: (b) => cgmUse(b, '2025-06-01') },
  { outcome: 'covered', criteria: { 'testing-cgm': 'met' } });
threshold('cgm-use-ended-before-window', 'No fingerstick log and no testing attestation; CGM used 2024-01-01 to 2026-01-31, the day before the window — conditional', `${CGM} — use ended one day before the window (2026-02-01 to 2026-03-31)`,
  { qr: noTestingAnswer, extra: (b) => cgmUse(b, '2024-01-01', '2026-01-31') },
  { outcome: 'conditional', criteria: { 'testing-cgm': 'not-documented' }, card: { indicator: WARN } });
threshold('cgm-use-ends-in-window', 'No fingerstick log and no testing attestation; CGM used 2024-01-01 to 2026-02-01, the first day of the window — covered', `${CGM} — use overlapping the window by one day`,
  { qr: noTestingAnswer, extra: (b) => cgmUse(b, '2024-01-01', '2026-02-01') },
  { outcome: 'covered', criteria: { 'testing-cgm': 'met' } });
threshold('cgm-inactive-undated-device', 'No fingerstick log and no testing attestation; an inactive CGM receiver on record with no dates — conditional', `${CGM} (COVERAGE-MAP S4)`,
  { qr: noTestingAnswer, extra: (b) => b.add({ resourceType: 'Device', id: b.id('dev-cgm'), status: 'inactive', type: { coding: [{ system: HCPCS, code: 'E2102', display: 'Adjunctive, non-implanted continuous glucose monitor or receiver' }], text: 'CGM receiver' }, patient: b.subject }) },
  { outcome: 'conditional', criteria: { 'testing-cgm': 'not-documented' }, card: { indicator: WARN } });
threshold('cgm-ordered-with-pump', 'No fingerstick log and no testing attestation; a CGM supply allowance (A4239) is ordered with the pump — conditional: an order today is not past testing', `${CGM} (COVERAGE-MAP D7, S3b)`,
  { qr: noTestingAnswer },
  { outcome: 'conditional', criteria: { 'testing-cgm': 'not-documented' }, card: { indicator: WARN } },
  (b) => [pumpOrder(b), insulinOrder(b), supplyOrder(b, `dr-${b.slug}-cgm`, 'A4239', 'Supply allowance for non-adjunctive, non-implanted continuous glucose monitor, per 30 days')]);

// D13 / D14 — setting and other uses.
threshold('setting-skilled-nursing-stay', 'Every criterion met, but the pump is ordered during a skilled-nursing facility stay (Encounter class IMP at an SNF) — not covered as Part B DME',
  'NCD 280.14 B.1.e ("in the home setting"); UHC Medicare Advantage coverage summary (hospital / SNF stays: Part A / Part D) — COVERAGE-MAP D13, S8',
  { extra: (b) => b.add({ resourceType: 'Encounter', id: b.id('enc-snf'), status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
    type: [{ text: 'Skilled nursing facility stay' }], subject: b.subject, period: { start: '2026-03-28T10:00:00Z' } }) },
  { outcome: 'not-covered', criteria: { 'home-setting': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['inpatient or skilled-nursing stay'] } },
  (b) => [{ ...pumpOrder(b), encounter: { reference: `Encounter/${b.id('enc-snf')}` } }, insulinOrder(b)]);
{
  const name = 'ide-clinical-trial-attested';
  const b = lean(name, { cPeptide: false, insulin: () => undefined, qr: { 'education-completed': undefined as unknown as boolean, 'education-date': undefined as unknown as string, 'mdi-self-adjustment': undefined as unknown as boolean, 'smbg-4-per-day': undefined as unknown as boolean } });
  moreAnswers(b, { 'csii-ide-trial': true });
  const orders = [pumpOrder(b), insulinOrder(b)];
  add(name, {
    title: 'Pump used in a Category B IDE clinical trial (attested); the NCD B.1.e criteria are not documented — covered through the other-uses route',
    exercises: 'NCD 280.14 B.1.e "Other Uses of CSII" (Category B IDE clinical trial, or routine cost under NCD 310.1) as an attestation path (COVERAGE-MAP D14)',
    record: b.resources,
    draftOrders: orders,
    expected: { [`DeviceRequest/${orders[0]!.id}`]: { outcome: 'covered', criteria: { diagnosis: 'met', 'pump-code': 'met' }, card: null } },
  });
}

// D11 / D12 — coding.
threshold('pump-code-e0787', 'Every criterion met but the pump is ordered as E0787 — conditional: the code is not addressed by the policy documents, verify it with the DME MAC (no recode suggestion)',
  'COVERAGE-MAP D12 / A18: E0787 is in none of the source documents (NCD 280.14, MLN, UHC, NW)',
  {},
  { outcome: 'conditional', criteria: { 'pump-code': 'not-documented' }, card: { indicator: WARN, summaryIncludes: ['verify'] } },
  (b) => [pumpOrder(b, 'E0787', 'External ambulatory infusion pump, insulin, dosage rate adjustment using therapeutic continuous glucose sensing'), insulinOrder(b)]);
{
  const name = 'iv-pole-with-e0784';
  const b = lean(name);
  const orders = [pumpOrder(b), insulinOrder(b), supplyOrder(b, `dr-${name}-pole`, 'E0776', 'IV pole')];
  add(name, {
    title: 'E0784 ordered with an IV pole (E0776) — not covered as ordered: an IV pole is covered only with a stationary pump E0791',
    exercises: 'NW MISCELLANEOUS ("An IV pole (E0776) is covered only when a stationary infusion pump (E0791) is covered … not reasonable and necessary if billed with an ambulatory infusion pump (E0779, E0780, E0784, or K0456)") — COVERAGE-MAP D11, S10',
    record: b.resources,
    draftOrders: orders,
    expected: {
      [`DeviceRequest/${orders[0]!.id}`]: { outcome: 'not-covered', criteria: { 'supply-pairing': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['E0776'] } },
    },
  });
}

// Continued coverage: the initial qualification as one criterion, supplies against the pump on record, 3 months at most.
function onPump(name: string, o: { pumpHcpcs?: string; attest?: Record<string, boolean | string>; qr?: Record<string, boolean | string> } = {}): RecordBuilder {
  const b = new RecordBuilder(name, `pt-${name}`);
  b.patient('female', '1958-07-30', 'Casey').medicare('2023-08-01').diabetesType1('1985-02-14');
  b.pumpInsertion('2016-09-14');
  if (o.pumpHcpcs) {
    b.device('dev-pump', [{ system: SNOMED, code: '69805005', display: 'Insulin pump' }, { system: HCPCS, code: o.pumpHcpcs, display: 'External ambulatory infusion pump' }], 'Infusion pump (patient-owned)');
  } else b.insulinPumpDevice();
  b.insulin('ms-pump-lispro', '86009', 'insulin lispro', { start: '2016-09-14' }, 'Continuous subcutaneous infusion via insulin pump (basal + bolus)');
  b.hba1c('a1c-1', 7.4, '2025-12-01').encounter('enc-1', '2025-11-28').encounter('enc-2', '2026-03-05');
  b.attestations({ 'practitioner-csii-team': true, ...(o.qr ?? {}) });
  if (o.attest) moreAnswers(b, o.attest);
  return b;
}
const CC = 'NCD 280.14 B.1.e (continued coverage); MLN ("continued coverage of an external insulin pump and supplies")';
function refill(name: string, title: string, exercises: string, b: RecordBuilder, exp: OrderExpectation, weeks = 13, code = 'A4224', display = A4224): void {
  const order = supplyOrder(b, `dr-${name}`, code, display);
  (order.parameter as { valueQuantity: { value: number } }[])[0]!.valueQuantity.value = weeks;
  add(name, { title, exercises, record: b.resources, draftOrders: [order], expected: { [`DeviceRequest/${order.id}`]: exp } });
}
refill('refill-initial-criteria-not-documented', 'A4224 refill for a patient on a pump since 2016, seen 27 days ago; no records from before the pump and nothing attested about them — conditional: one gap, the initial criteria (no lab today can document them)',
  `${CC}; the initial coverage criteria as one criterion (COVERAGE-MAP S19: never suggest a lab today for a value from before the pump)`,
  onPump('refill-initial-criteria-not-documented'),
  { outcome: 'conditional', criteria: { 'initial-qualification': 'not-documented', 'continued-coverage-visit': 'met' }, card: { indicator: WARN, summaryIncludes: ['initial criteria from pump start'] } });
refill('refill-initial-criteria-attested', 'A4224 refill for a patient on a pump since 2016, seen 27 days ago; the practitioner attests the record documents the initial criteria from pump start — covered',
  `${CC}; the initial qualification met by attestation`,
  onPump('refill-initial-criteria-attested', { attest: { 'initial-criteria-documented': true } }),
  { outcome: 'covered', criteria: { 'initial-qualification': 'met', 'initial-qualification-attested': 'met', 'continued-coverage-visit': 'met', 'supply-pairing': 'met' }, card: null });
refill('refill-supplies-pump-on-record-e0781', 'A4224 insulin pump supplies refill for a patient whose pump on record is E0781 (not an insulin pump code) — not covered as coded',
  'NW MISCELLANEOUS ("A4224 and A4225 used with an external infusion pump other than HCPCS code E0784 will be denied as incorrect coding"), checked against the pump on record (COVERAGE-MAP D10, S21)',
  onPump('refill-supplies-pump-on-record-e0781', { pumpHcpcs: 'E0781', attest: { 'initial-criteria-documented': true } }),
  { outcome: 'not-covered', criteria: { 'supply-pairing': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['pump on record: A4224'] } });
refill('refill-supplies-13-weeks', 'A4224 refill of 13 weeks (3 months) for a patient on a pump, initial criteria attested — covered',
  'L33794 via POLICY-DIGEST G10 ("not dispense more than a 3-month quantity"): parameter supplyWeeksMax = 13 — at the limit',
  onPump('refill-supplies-13-weeks', { attest: { 'initial-criteria-documented': true } }),
  { outcome: 'covered', criteria: { 'supply-quantity': 'met' }, card: null }, 13);
refill('refill-supplies-14-weeks', 'A4224 refill of 14 weeks for a patient on a pump, initial criteria attested — not covered: more than a 3-month quantity',
  'L33794 via POLICY-DIGEST G10 ("not dispense more than a 3-month quantity"): parameter supplyWeeksMax = 13 — one week over',
  onPump('refill-supplies-14-weeks', { attest: { 'initial-criteria-documented': true } }),
  { outcome: 'not-covered', criteria: { 'supply-quantity': 'not-met' }, card: { indicator: WARN, summaryIncludes: ['3-month quantity'] } }, 14);
{
  // D9 — a phlebotomy-only visit is not an evaluation by the treating practitioner.
  const name = 'visit-phlebotomy-only';
  const b = onPumpSince2016(name, '2025-12-10');
  b.add({ resourceType: 'Encounter', id: b.id('enc-lab'), status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    type: [{ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '36415', display: 'Collection of venous blood by venipuncture' }], text: 'Lab draw' }],
    subject: b.subject, participant: [{ individual: { reference: 'Practitioner/phlebotomist-7' } }], period: { start: '2026-03-15T09:00:00Z', end: '2026-03-15T09:10:00Z' } });
  const order = supplyOrder(b, `dr-${name}`, 'A4224', A4224);
  add(name, {
    title: 'A4224 refill; last evaluation by the treating practitioner 2025-12-10 (over 3 months); a 10-minute blood draw with a phlebotomist 17 days ago — not covered',
    exercises: 'NCD 280.14 B.1.e continued coverage ("seen and evaluated by the treating physician"); MLN (treating practitioner) — COVERAGE-MAP D9, S7',
    record: b.resources,
    draftOrders: [order],
    expected: { [`DeviceRequest/${order.id}`]: { outcome: 'not-covered', criteria: { 'continued-coverage-visit': 'not-met' }, card: { indicator: WARN } } },
  });
}

// D8 — Medicare enrollment is the Part B entitlement, not a Medicare Advantage plan's start.
function maRecord(name: string, partBDate?: string): RecordBuilder {
  const b = new RecordBuilder(name, `pt-${name}`);
  b.patient('male', '1960-02-11', 'Jordan').diabetesType1('1988-04-20');
  b.add({ resourceType: 'Coverage', id: `cov-${name}`, status: 'active', type: { coding: [{ system: 'https://nahdo.org/sopt', code: '111', display: 'Medicare HMO' }] }, beneficiary: b.subject,
    relationship: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship', code: 'self' }] }, period: { start: '2025-03-01' },
    payor: [{ display: 'UnitedHealthcare Medicare Advantage' }], class: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: 'AARP Medicare Advantage Choice (PPO)', name: 'UnitedHealthcare Medicare Advantage' }] });
  b.cPeptideWithGlucose('2025-11-12', 0.3, 0.8, 128);
  b.pumpInsertion('2017-06-01').insulinPumpDevice();
  b.insulin('ms-pump-lispro', '86009', 'insulin lispro', { start: '2017-06-01' }, 'Continuous subcutaneous infusion via insulin pump (basal + bolus)');
  b.smbg('smbg-2023-07', '2023-07-01', '2023-08-01', [4]);
  b.hba1c('a1c-1', 7.6, '2026-01-20').encounter('enc-1', '2025-11-12').encounter('enc-2', '2026-03-05');
  b.attestations({ 'practitioner-csii-team': true });
  if (partBDate) moreAnswers(b, { 'medicare-part-b-date': partBDate });
  return b;
}
{
  const name = 'enrollment-cgm-before-part-b';
  const b = maRecord(name, '2023-08-01');
  const kept = b.resources.filter((r) => !(r.resourceType === 'Observation' && String(r.id).includes('smbg')));
  b.resources.length = 0;
  b.resources.push(...kept);
  b.add({ resourceType: 'Device', id: b.id('dev-cgm'), status: 'inactive', type: { coding: [{ system: HCPCS, code: 'K0554', display: 'Receiver (monitor), dedicated, for use with therapeutic glucose continuous monitor system' }], text: 'CGM receiver' }, patient: b.subject });
  b.add({ resourceType: 'DeviceUseStatement', id: b.id('dus-cgm'), status: 'completed', subject: b.subject, device: { reference: `Device/${b.id('dev-cgm')}` }, timingPeriod: { start: '2021-04-01', end: '2024-02-01' }, recordedOn: '2021-04-01' });
  const orders = [pumpOrder(b), insulinOrder(b)];
  add(name, {
    title: 'Medicare Advantage member, Part B since 2023-08-01 (attested); pump since 2017; no fingersticks on file but CGM use from 2021 to 2024 — covered',
    exercises: 'NCD 280.14 B.1.e Criterion B (testing in the month before Medicare enrollment); A52507 CGM use overlapping that month',
    record: b.resources,
    draftOrders: orders,
    expected: { [`DeviceRequest/${orders[0]!.id}`]: { outcome: 'covered', criteria: { 'testing-before-enrollment-cgm': 'met' }, card: null } },
  });
}
for (const [name, partB, outcome] of [
  ['enrollment-ma-part-b-date-attested', '2023-08-01', 'covered'],
  ['enrollment-ma-part-b-date-unknown', undefined, 'conditional'],
] as const) {
  const b = maRecord(name, partB);
  const orders = [pumpOrder(b), insulinOrder(b)];
  add(name, {
    title: partB
      ? 'UnitedHealthcare Medicare Advantage member (plan since 2025-03-01), Medicare Part B since 2023-08-01 (attested); pump since 2017 and 4 fingersticks/day in July 2023 — covered'
      : 'UnitedHealthcare Medicare Advantage member (plan since 2025-03-01), Medicare Part B date unknown; pump since 2017 — conditional: the plan start is not Medicare enrollment',
    exercises: 'NCD 280.14 B.1.e Criterion B ("on a pump prior to enrollment in Medicare", testing "during the month prior to Medicare enrollment"): the Medicare Part B entitlement date, not a Medicare Advantage plan start (COVERAGE-MAP D8, A11)',
    record: b.resources,
    draftOrders: orders,
    expected: {
      [`DeviceRequest/${orders[0]!.id}`]: partB
        ? { outcome, criteria: { 'initial-qualification': 'met' }, card: null }
        : { outcome, criteria: { 'initial-qualification': 'not-documented' }, card: { indicator: WARN } },
    },
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
