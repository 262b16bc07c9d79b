// The real policies/ directory loaded with the real fact registry, evaluated end to end through the engine.
import { describe, expect, it } from 'vitest';
import { PatientRecord } from '../../fhir/record.js';
import { determine } from '../engine.js';
import { loadPolicySet } from '../loader.js';
import { recogniseOrders } from '../orders.js';
import type { CriterionResult, Determination } from '../types.js';
import { allFacts } from './index.js';
import {
  AS_OF,
  GLARGINE,
  HCPCS,
  ICD10,
  LISPRO,
  SNOMED,
  condition,
  coverage,
  cPeptide,
  device,
  deviceUse,
  encounter,
  fastingGlucose,
  medStatement,
  obs,
  patient,
  POLICIES_DIR,
  questionnaireResponse,
  smbgReadings,
} from '../../../test/support/fact-fixtures.js';

const set = loadPolicySet(POLICIES_DIR, { facts: { ...allFacts } });
const REQ = 'PractitionerRole/endo-1';
/** An evaluation visit (SNOMED follow-up encounter) with the ordering practitioner. */
const visit = (day: string) => encounter(day, { type: [{ coding: [{ system: SNOMED, code: '390906007' }] }], participant: [{ individual: { reference: REQ } }] });
type R = Record<string, unknown> & { resourceType: string; id: string };

function draft(id: string, code: string, system = HCPCS, type: 'DeviceRequest' | 'MedicationRequest' = 'DeviceRequest'): R {
  const concept = { coding: [{ system, code }] };
  return {
    resourceType: type,
    id,
    status: 'draft',
    intent: 'original-order',
    subject: { reference: 'Patient/p1' },
    authoredOn: AS_OF,
    requester: { reference: REQ },
    insurance: [{ reference: 'Coverage/cov1' }],
    ...(type === 'DeviceRequest' ? { codeCodeableConcept: concept } : { medicationCodeableConcept: concept }),
  };
}

function evaluate(resources: R[], drafts: R[] = [draft('pump', 'E0784')], ref = `DeviceRequest/${drafts[0]!.id}`): Determination {
  const orders = recogniseOrders({ resourceType: 'Bundle', type: 'collection', entry: drafts.map((resource) => ({ resource })) } as never, set.orderCatalogue!);
  const o = orders.find((x) => x.ref === ref);
  if (!o) throw new Error(`order ${ref} not recognised`);
  const [d] = determine(o, new PatientRecord('p1', resources as never), set, { requestTime: new Date(AS_OF) });
  return d!;
}

/** Everything NCD 280.14 / LCD L33794 IV asks for, via the MDI pathway (order date 2026-11-24). */
function completeRecord(): R[] {
  return [
    patient('male', '1956-06-01'),
    coverage('2021-06-01'),
    condition(ICD10, 'E10.9'),
    cPeptide(0.5, 'ng/mL', '2026-10-01T08:00:00Z', 0.8),
    fastingGlucose(98, 'mg/dL', '2026-10-01T08:00:00Z'),
    medStatement(GLARGINE, '2025-01-01', { frequency: 1, period: 1, periodUnit: 'd' }),
    medStatement(LISPRO, '2025-01-01', { when: ['ACM', 'ACD', 'ACV'] }),
    ...smbgReadings(250, '2026-09-24', '2026-11-24'),
    obs('4548-4', 8.1, '%', '2026-09-01'),
    questionnaireResponse({ 'education-completed': true, 'mdi-self-adjustment': true, 'practitioner-csii-team': true }),
  ];
}

const ids = (list: CriterionResult[]) => list.map((c) => c.id);
const find = (r: CriterionResult | undefined, id: string): CriterionResult | undefined => {
  if (!r) return undefined;
  if (r.id === id) return r;
  for (const c of r.children ?? []) {
    const hit = find(c, id);
    if (hit) return hit;
  }
  return undefined;
};

describe('medicare-csii policy (real policies/ directory)', () => {
  it('loads with the fact registry, its value sets and its questionnaire', () => {
    const policy = set.policies.find((p) => p.id === 'medicare-csii');
    expect(policy?.questionnaire).toBe('csii-documentation');
    expect(set.questionnaires.get('csii-documentation')?.status).toBe('active');
    expect(policy?.parameters.cPeptideRatioMax).toBe(1.1);
  });

  it('all criteria met ⇒ covered', () => {
    const d = evaluate(completeRecord());
    expect(d.policy?.id).toBe('medicare-csii');
    expect([ids(d.unmet), ids(d.undocumented)]).toEqual([[], []]);
    expect(d.outcome).toBe('covered');
    // An initial order: the continued-coverage visit rule does not apply (onlyIf continued-coverage).
    expect(find(d.root, 'continued-coverage-visit')?.finding).toMatchObject({ code: 'not-applicable', values: { definition: 'continued-coverage' } });
  });

  it('missing C-peptide ⇒ conditional, asking for the C-peptide or an autoantibody', () => {
    const record = completeRecord().filter((r) => !(r.resourceType === 'Observation' && JSON.stringify(r.code).includes('13037-7')));
    const d = evaluate(record);
    expect(d.outcome).toBe('conditional');
    expect(ids(d.undocumented)).toEqual(['c-peptide', 'antibody-gad65', 'antibody-ia2', 'antibody-znt8']);
    expect(d.undocumented[0]!.remedies?.[0]).toMatchObject({ type: 'order-lab', label: 'Fasting C-peptide with concurrent fasting glucose' });
  });

  it('C-peptide 188% of the lower limit with normal renal function ⇒ not covered', () => {
    const record = completeRecord().map((r) => (r.resourceType === 'Observation' && JSON.stringify(r.code).includes('13037-7') ? cPeptide(1.5, 'ng/mL', '2026-10-01T08:00:00Z', 0.8) : r));
    const renal = obs('2164-2', 95, 'mL/min', '2026-10-01');
    // An autoantibody could still qualify: with none on record the order is only missing documentation.
    const open = evaluate([...record, renal]);
    expect(open.outcome).toBe('conditional');
    expect(ids(open.undocumented)).toEqual(['antibody-gad65', 'antibody-ia2', 'antibody-znt8']);
    const neg = (code: string) => ({ ...obs(code, 0.2, 'U/mL', '2026-10-01'), referenceRange: [{ high: { value: 5, unit: 'U/mL' } }] });
    // GAD65 alone negative: IA-2 and ZnT8 could still qualify (issue 15 D3).
    const partial = evaluate([...record, renal, neg('13926-1')]);
    expect(partial.outcome).toBe('conditional');
    expect(ids(partial.undocumented)).toEqual(['antibody-ia2', 'antibody-znt8']);
    const d = evaluate([...record, renal, neg('13926-1'), neg('56718-0'), neg('76651-9')]);
    expect(d.outcome).toBe('not-covered');
    expect(ids(d.unmet)).toEqual(['c-peptide', 'antibody-gad65', 'antibody-ia2', 'antibody-znt8']); // IAA and ICA: not tested, not gaps
    expect(d.unmet[0]!.reason).toContain('187.5%');
  });

  it('the practitioner\'s answer outranks billing codes: a "no" stands against DSMT sessions; unanswered, 2 sessions meet', () => {
    const record = completeRecord().map((r) =>
      r.resourceType === 'QuestionnaireResponse'
        ? questionnaireResponse({ 'education-completed': false, 'mdi-self-adjustment': true, 'practitioner-csii-team': true, 'pump-before-medicare': false })
        : r,
    );
    const without = evaluate(record);
    expect(without.outcome).toBe('not-covered');
    expect(ids(without.unmet)).toEqual(['education-attested', 'pump-before-enrollment-attested']);
    const dsmt = (id: string, day: string) => ({ resourceType: 'Procedure', id, status: 'completed', code: { coding: [{ system: HCPCS, code: 'G0108' }] }, performedDateTime: day });
    const sessions = [dsmt('dsmt1', '2024-05-01'), dsmt('dsmt2', '2024-05-15')];
    expect(evaluate([...record, ...sessions]).outcome).toBe('not-covered');
    const unanswered = completeRecord().map((r) =>
      r.resourceType === 'QuestionnaireResponse' ? questionnaireResponse({ 'mdi-self-adjustment': true, 'practitioner-csii-team': true }) : r,
    );
    const d = evaluate([...unanswered, ...sessions]);
    expect(d.outcome).toBe('covered');
    expect(find(d.root, 'education')?.reason).toContain('decided by');
    expect(evaluate([...unanswered, sessions[0]!]).outcome).toBe('conditional');
  });

  it('advice fits the gap: renal path without creatinine clearance ⇒ a serum creatinine, not a repeat C-peptide; invalid ⇒ repeat', () => {
    const record = completeRecord().map((r) => (r.resourceType === 'Observation' && JSON.stringify(r.code).includes('13037-7') ? cPeptide(1.3, 'ng/mL', '2026-10-01T08:00:00Z', 0.8) : r));
    const renal = evaluate(record).undocumented.find((c) => c.id === 'c-peptide')!;
    expect(renal.reason).toContain('creatinine clearance not documented');
    expect(renal.remedies?.map((r) => (r as { label: string }).label)).toEqual(['Serum creatinine (creatinine clearance by Cockcroft-Gault, with weight)']);
    const invalid = completeRecord().map((r) => (r.resourceType === 'Observation' && JSON.stringify(r.code).includes('1558-6') ? fastingGlucose(260, 'mg/dL', '2026-10-01T08:00:00Z') : r));
    const d = evaluate(invalid);
    const cp = d.undocumented.find((c) => c.id === 'c-peptide')!;
    expect(cp.retest).toBe(true);
    expect(cp.remedies?.map((r) => (r as { label: string }).label)).toEqual(['Fasting C-peptide with concurrent fasting glucose']);
  });

  it('E0787 is not addressed by the policy documents: not documented, and no recode remedy', () => {
    const d = evaluate(completeRecord(), [draft('pump', 'E0787'), draft('ins', 'J1817', HCPCS, 'MedicationRequest')]);
    expect(d.outcome).toBe('conditional');
    expect(ids(d.undocumented)).toEqual(['pump-code']);
    expect(d.undocumented[0]!.remedies).toBeUndefined();
  });

  it('an insulin pump ordered as E0781 with pump insulin ⇒ not covered, remedy: change the code to E0784', () => {
    const d = evaluate(completeRecord(), [draft('pump', 'E0781'), draft('ins', 'J1817', HCPCS, 'MedicationRequest')]);
    expect(d.outcome).toBe('not-covered');
    expect(ids(d.unmet)).toEqual(['pump-code']);
    expect(d.unmet[0]!.remedies).toEqual([{ type: 'change-order-code', to: { system: HCPCS, code: 'E0784', display: 'External ambulatory infusion pump, insulin' } }]);
  });

  it('an implantable insulin pump ⇒ not covered (NCD C.2.b), remedy: remove the order', () => {
    const d = evaluate(completeRecord(), [draft('pump', 'E0783'), draft('ins', 'J1817', HCPCS, 'MedicationRequest')]);
    expect(d.outcome).toBe('not-covered');
    expect(ids(d.unmet)).toEqual(['not-implantable']);
    expect(d.unmet[0]!.citation).toContain('C.2.b');
    expect(d.unmet[0]!.remedies).toEqual([{ type: 'remove-order' }]);
  });

  it('a non-insulin supply ordered with E0784 ⇒ not covered (A52507)', () => {
    const d = evaluate(completeRecord(), [draft('pump', 'E0784'), draft('sup', 'A4221')]);
    expect(d.outcome).toBe('not-covered');
    expect(ids(d.unmet)).toEqual(['supply-pairing']);
  });

  it('pump supplies for a patient last seen 4 months ago ⇒ not covered (continued coverage)', () => {
    const pump = device(SNOMED, '69805005');
    // Criterion C is read before the pump start (2025-12-01): the self-testing log and an HbA1c from the MDI period.
    const beforePump = [...smbgReadings(250, '2025-10-01', '2025-12-01'), obs('4548-4', 8.3, '%', '2025-09-02')];
    const record = [...completeRecord(), ...beforePump, pump, deviceUse(pump, '2025-12-01'), visit('2026-07-20')];
    const d = evaluate(record, [draft('sup', 'A4224')], 'DeviceRequest/sup');
    expect(d.outcome).toBe('not-covered');
    expect(ids(d.unmet)).toEqual(['continued-coverage-visit']);
    expect(evaluate([...record, visit('2026-10-01')], [draft('sup', 'A4224')], 'DeviceRequest/sup').outcome).toBe('covered');
    // A blood draw is no evaluation visit (issue 15 D9).
    expect(evaluate([...record, encounter('2026-11-10')], [draft('sup', 'A4224')], 'DeviceRequest/sup').outcome).toBe('not-covered');
  });

  it('A4224 refill after the MDI pathway: criterion C is read before pump initiation, not on the refill date', () => {
    // MDI 2024-03-01 .. 2025-01-14, insulin pump inserted 2025-01-15, seen 24 days ago, supplies ordered 2026-11-24.
    const ended = { status: 'completed', effectivePeriod: { start: '2024-03-01', end: '2025-01-14' } };
    const base = completeRecord()
      .filter((r) => r.resourceType !== 'MedicationStatement')
      .concat([
        medStatement(GLARGINE, '2024-03-01', { frequency: 1, period: 1, periodUnit: 'd' }, ended),
        medStatement(LISPRO, '2024-03-01', { when: ['ACM', 'ACD', 'ACV'] }, ended),
        device(SNOMED, '69805005'),
        visit('2026-10-31'),
      ]);
    const start = { resourceType: 'Procedure', id: 'pump-start', status: 'completed', code: { coding: [{ system: SNOMED, code: '443263006' }] }, performedDateTime: '2025-01-15' };
    const qualified = [...base, start, ...smbgReadings(300, '2024-11-15', '2025-01-15'), obs('4548-4', 8.6, '%', '2024-10-08')];
    const d = evaluate(qualified, [draft('sup', 'A4224')], 'DeviceRequest/sup');
    expect([ids(d.unmet), ids(d.undocumented)]).toEqual([[], []]);
    expect(d.outcome).toBe('covered');
    for (const id of ['mdi-frequency', 'mdi-duration', 'testing-computed', 'c1-hba1c']) {
      expect(find(d.root, id)?.evidence.some((e) => e.reference === 'Procedure/pump-start' && e.note?.includes('as of pump initiation 2025-01-15'))).toBe(true);
    }
    // Only data from the pump period (the recent log and HbA1c of completeRecord): criterion C is not documented.
    const onlyRecent = evaluate([...base, start], [draft('sup', 'A4224')], 'DeviceRequest/sup');
    expect(onlyRecent.outcome).toBe('conditional');
    // Continued coverage: the initial qualification is one gap (no lab today can document a value from before the pump).
    expect(ids(onlyRecent.undocumented)).toEqual(['initial-qualification']);
    expect(onlyRecent.undocumented[0]!.remedies).toEqual([{ type: 'questionnaire', linkId: 'initial-criteria-documented' }]);
    for (const id of ['testing-computed', 'c1-hba1c']) expect(find(onlyRecent.root, id)?.status).toBe('not-documented');
    expect(find(onlyRecent.root, 'mdi-frequency')?.status).not.toBe('not-met');
    expect(find(onlyRecent.root, 'c1-hba1c')?.remedies ?? []).toEqual([]);
    // No dated pump start: the MDI criteria are not documented rather than measured against the refill date.
    const undated = evaluate(qualified.filter((r) => r !== start), [draft('sup', 'A4224')], 'DeviceRequest/sup');
    expect(undated.outcome).toBe('conditional');
    expect(find(undated.root, 'mdi-duration')?.reason).toContain('pump initiation date not documented');
  });

  it('pump before Medicare (criterion D) instead of the MDI pathway ⇒ covered', () => {
    const pump = device(SNOMED, '69805005');
    const record: R[] = [
      patient('female', '1950-02-01'),
      coverage('2021-06-01'),
      condition(ICD10, 'E10.9'),
      cPeptide(0.5, 'ng/mL', '2026-10-01T08:00:00Z', 0.8),
      fastingGlucose(98, 'mg/dL', '2026-10-01T08:00:00Z'),
      pump,
      deviceUse(pump, '2015-03-01'),
      ...smbgReadings(124, '2021-05-01', '2021-06-01'),
      visit('2026-11-01'),
      questionnaireResponse({ 'practitioner-csii-team': true }),
    ];
    const d = evaluate(record);
    expect(d.outcome).toBe('covered');
    expect(find(d.root, 'mdi-pathway')?.status).not.toBe('met');
    expect(find(d.root, 'pump-before-medicare')?.status).toBe('met');
  });

  it('HbA1c exactly 7.0% and no other C criterion ⇒ not covered', () => {
    const record = completeRecord().map((r) => (r.resourceType === 'Observation' && JSON.stringify(r.code).includes('4548-4') ? obs('4548-4', 7.0, '%', '2026-09-01') : r));
    const withAnswers = record.map((r) =>
      r.resourceType === 'QuestionnaireResponse'
        ? questionnaireResponse({
            'education-completed': true,
            'mdi-self-adjustment': true,
            'practitioner-csii-team': true,
            'c2-recurring-hypoglycemia': false,
            'c3-premeal-fluctuations': false,
            'c4-dawn-phenomenon': false,
            'c5-severe-excursions': false,
            'pump-before-medicare': false,
          })
        : r,
    );
    const d = evaluate(withAnswers);
    expect(d.outcome).toBe('not-covered');
    expect(ids(d.unmet)).toContain('c1-hba1c');
    // Without the "no" answers the same record is only missing documentation.
    expect(evaluate(record).outcome).toBe('conditional');
  });

  it('evaluates a 5,000-Observation record (linear selection through the code index)', () => {
    const noise: R[] = [];
    for (let i = 0; i < 4800; i += 1) noise.push(obs('2345-7', 100 + (i % 50), 'mg/dL', `2026-0${1 + (i % 9)}-1${i % 10}T08:00:00Z`));
    const record = [...completeRecord(), ...noise];
    expect(record.filter((r) => r.resourceType === 'Observation').length).toBeGreaterThanOrEqual(5000);
    expect(evaluate(record).outcome).toBe('covered');
  });
});
