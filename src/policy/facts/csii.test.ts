import { describe, expect, it } from 'vitest';
import { csiiFacts } from './csii.js';
import {
  HCPCS,
  ICD10,
  SNOMED,
  companion,
  condition,
  cPeptide,
  ctxFor,
  device,
  fastingGlucose,
  obs,
  order,
  patient,
  pumpInsertion,
  withRange,
  formerFacts,
} from '../../../test/support/fact-fixtures.js';

const f = { ...csiiFacts, ...formerFacts };
const DAY = '2026-10-01';
const at = (time: string) => `${DAY}T${time}:00-05:00`;

describe('fastingCPeptideInsulinopenia', () => {
  const run = (resources: Parameters<typeof ctxFor>[0], parameters?: Record<string, number | string | boolean>) =>
    f.fastingCPeptideInsulinopenia!(ctxFor(resources, parameters ? { parameters } : {}), {});

  it('meets at exactly 110% of the lower limit (0.88 vs 0.80 ng/mL) and reports the ratio', () => {
    const cp = cPeptide(0.88, 'ng/mL', at('08:00'), 0.8);
    const r = run([cp, fastingGlucose(98, 'mg/dL', at('08:00'))]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]).toMatchObject({ reference: `Observation/${cp.id}`, value: '0.88 ng/mL' });
    expect(r.evidence[0]!.note).toContain('ratio 110% of lower limit 0.8 ng/mL');
    expect(r.evidence[0]!.threshold).toContain('≤ 110%');
  });

  it('does not meet at 0.89 (111%) when creatinine clearance is normal', () => {
    const r = run([cPeptide(0.89, 'ng/mL', at('08:00'), 0.8), fastingGlucose(98, 'mg/dL', at('08:00')), obs('2164-2', 90, 'mL/min', at('09:00'))]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toMatch(/111\.3% .*creatinine clearance 90 mL\/min > 50/);
  });

  it('between 110% and 200% without any renal data is not documented (the renal path could apply)', () => {
    const r = run([cPeptide(0.89, 'ng/mL', at('08:00'), 0.8), fastingGlucose(98, 'mg/dL', at('08:00'))]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('creatinine clearance ≤ 50');
  });

  it('renal path: 188% meets with measured creatinine clearance 50 mL/min, not with 51', () => {
    const base = [cPeptide(1.5, 'ng/mL', at('08:00'), 0.8), fastingGlucose(110, 'mg/dL', at('08:00'))];
    const met = run([...base, obs('2164-2', 50, 'mL/min', '2026-09-20')]);
    expect(met.status).toBe('met');
    expect(met.reason).toContain('187.5%');
    expect(met.evidence.some((e) => e.threshold === '≤ 50 mL/min')).toBe(true);
    expect(run([...base, obs('2164-2', 51, 'mL/min', '2026-09-20')]).status).toBe('not-met');
  });

  it('above 200% is not met even with renal insufficiency', () => {
    const r = run([cPeptide(1.61, 'ng/mL', at('08:00'), 0.8), fastingGlucose(110, 'mg/dL', at('08:00')), obs('2164-2', 30, 'mL/min', DAY)]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('201.3%');
  });

  it('computes Cockcroft-Gault for a man: (140−70)×70 / (72×1.96) = 34.7 mL/min ⇒ renal path met', () => {
    const r = run([
      patient('male', '1956-06-01'),
      cPeptide(1.5, 'ng/mL', at('08:00'), 0.8),
      fastingGlucose(110, 'mg/dL', at('08:00')),
      obs('2160-0', 1.96, 'mg/dL', at('08:00')),
      obs('29463-7', 70, 'kg', '2026-09-15'),
    ]);
    expect(r.status).toBe('met');
    const cg = r.evidence.find((e) => e.note?.startsWith('Cockcroft-Gault'));
    expect(cg?.note).toContain('age 70, male, 70 kg');
    expect(cg?.note).toContain('→ 34.7 mL/min');
  });

  it('Cockcroft-Gault applies × 0.85 for a woman: 56.7 mL/min (man, not renal) vs 48.2 (woman, renal)', () => {
    const labs = [
      cPeptide(1.5, 'ng/mL', at('08:00'), 0.8),
      fastingGlucose(110, 'mg/dL', at('08:00')),
      obs('2160-0', 106.1, 'umol/L', at('08:00')), // 1.2 mg/dL
      obs('29463-7', 154.32, '[lb_av]', '2026-09-15'), // 70 kg
    ];
    const man = run([patient('male', '1956-06-01'), ...labs]);
    expect(man.status).toBe('not-met');
    expect(man.evidence.find((e) => e.note?.startsWith('Cockcroft-Gault'))?.note).toContain('→ 56.7 mL/min');
    const woman = run([patient('female', '1956-06-01'), ...labs]);
    expect(woman.status).toBe('met');
    expect(woman.evidence.find((e) => e.note?.startsWith('Cockcroft-Gault'))?.note).toContain('→ 48.2 mL/min');
  });

  it('Cockcroft-Gault without weight is not computable ⇒ not documented, naming what is missing', () => {
    const r = run([cPeptide(1.5, 'ng/mL', at('08:00'), 0.8), fastingGlucose(110, 'mg/dL', at('08:00')), obs('2160-0', 1.96, 'mg/dL', DAY)]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('body weight');
  });

  it('a creatinine far from the C-peptide date is not used (crclMaxDaysFromCPeptide)', () => {
    const r = run([cPeptide(1.5, 'ng/mL', at('08:00'), 0.8), fastingGlucose(110, 'mg/dL', at('08:00')), obs('2164-2', 30, 'mL/min', '2025-01-01')]);
    expect(r.status).toBe('not-documented');
  });

  it('concurrent fasting glucose 225 mg/dL keeps the test valid; 226 makes it invalid (not documented: repeat)', () => {
    const cp = cPeptide(0.5, 'ng/mL', at('08:00'), 0.8);
    expect(run([cp, fastingGlucose(225, 'mg/dL', at('08:00'))]).status).toBe('met');
    const bad = run([cp, fastingGlucose(226, 'mg/dL', at('08:00'))]);
    // NCD: "only considered valid" with glucose ≤ 225 — an invalid test is no evidence either way (issue 15 D1).
    expect(bad.status).toBe('not-documented');
    expect(bad.reason).toContain('invalid');
    expect(bad.reason).toContain('repeat');
    expect(bad.finding?.code).toBe('invalid-concurrent-glucose');
    expect(bad.evidence.some((e) => e.value === '226 mg/dL' && e.threshold === '≤ 225 mg/dL')).toBe(true);
    // Invalid is retestable; a valid result above the limit is not.
    expect(bad.retest).toBe(true);
    expect(run([cPeptide(1.5, 'ng/mL', at('08:00'), 0.8), fastingGlucose(110, 'mg/dL', at('08:00'))]).retest).toBeUndefined();
  });

  it('converts a molar glucose: 12.4 mmol/L (223 mg/dL) valid, 12.5 mmol/L (225.2 mg/dL) invalid', () => {
    const cp = cPeptide(0.5, 'ng/mL', at('08:00'), 0.8);
    expect(run([cp, fastingGlucose(12.4, 'mmol/L', at('08:00'), '14771-0')]).status).toBe('met');
    expect(run([cp, fastingGlucose(12.5, 'mmol/L', at('08:00'), '14771-0')]).status).toBe('not-documented');
  });

  it('needs the glucose on the same calendar date: the day before ⇒ not documented', () => {
    const r = run([cPeptide(0.5, 'ng/mL', at('08:00'), 0.8), fastingGlucose(98, 'mg/dL', '2026-09-30T08:00:00-05:00')]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('no fasting glucose drawn the same day');
  });

  it('same calendar date as recorded, even when the times differ', () => {
    expect(run([cPeptide(0.5, 'ng/mL', at('07:30'), 0.8), fastingGlucose(98, 'mg/dL', at('11:00'))]).status).toBe('met');
  });

  it('without referenceRange.low the ratio cannot be formed ⇒ not documented', () => {
    const r = run([cPeptide(0.5, 'ng/mL', at('08:00'), undefined), fastingGlucose(98, 'mg/dL', at('08:00'))]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('referenceRange.low');
  });

  it('no C-peptide at all ⇒ not documented', () => {
    expect(run([]).status).toBe('not-documented');
  });

  it('units: nmol/L against an nmol/L limit', () => {
    expect(run([cPeptide(0.28, 'nmol/L', at('08:00'), 0.26, undefined, '42180-0'), fastingGlucose(98, 'mg/dL', at('08:00'))]).status).toBe('met');
  });

  it('units: pmol/L value against an ng/mL limit (290 pmol/L = 0.876 ng/mL = 109.5%)', () => {
    const r = run([cPeptide(290, 'pmol/L', at('08:00'), 0.8, 'ng/mL', '42180-0'), fastingGlucose(98, 'mg/dL', at('08:00'))]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.note).toContain('109.5%');
    const r2 = run([cPeptide(300, 'pmol/L', at('08:00'), 0.8, 'ng/mL', '42180-0'), fastingGlucose(98, 'mg/dL', at('08:00')), obs('2164-2', 95, 'mL/min', DAY)]);
    expect(r2.status).toBe('not-met');
  });

  it('an unconvertible unit ⇒ not documented with the reason', () => {
    const r = run([cPeptide(0.5, 'furlongs', at('08:00'), 0.8, 'ng/mL'), fastingGlucose(98, 'mg/dL', at('08:00'))]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('not convertible');
  });

  it('any valid qualifying level decides (documented once); "newest" is a parameter; an invalid newer test hides nothing', () => {
    const older = [cPeptide(0.5, 'ng/mL', '2025-03-01T08:00:00Z', 0.8), fastingGlucose(100, 'mg/dL', '2025-03-01T08:00:00Z')];
    const newerInvalid = [cPeptide(0.4, 'ng/mL', at('08:00'), 0.8), fastingGlucose(300, 'mg/dL', at('08:00'))];
    const r = run([...older, ...newerInvalid]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.date).toBe('2025-03-01T08:00:00Z');
    const newerHigh = [cPeptide(2.0, 'ng/mL', at('08:00'), 0.8), fastingGlucose(100, 'mg/dL', at('08:00'))];
    expect(run([...older, ...newerHigh]).status).toBe('met');
    expect(run([...older, ...newerHigh]).evidence[0]!.date).toBe('2025-03-01T08:00:00Z');
    expect(run([...older, ...newerHigh], { cPeptideSelection: 'newest' }).status).toBe('not-met');
  });

  it('no look-back limit: a C-peptide from 2015 still counts', () => {
    expect(run([cPeptide(0.3, 'ng/mL', '2015-02-02T08:00:00Z', 0.8), fastingGlucose(90, 'mg/dL', '2015-02-02T08:00:00Z')]).status).toBe('met');
  });

  it('results after the order date are ignored', () => {
    expect(run([cPeptide(0.3, 'ng/mL', '2026-12-02T08:00:00Z', 0.8), fastingGlucose(90, 'mg/dL', '2026-12-02T08:00:00Z')]).status).toBe('not-documented');
  });

  it('untimed C-peptide 1986-9 counts only when its specimen is recorded as fasting', () => {
    const cp = cPeptide(0.5, 'ng/mL', at('08:00'), 0.8, undefined, '1986-9');
    const glucose = fastingGlucose(98, 'mg/dL', at('08:00'));
    const notFasting = run([cp, glucose]);
    expect(notFasting.status).toBe('not-documented');
    expect(notFasting.reason).toContain('non-fasting');
    const specimen = {
      resourceType: 'Specimen',
      id: 'sp1',
      collection: { fastingStatusCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0916', code: 'F' }] } },
    };
    expect(run([{ ...cp, specimen: { reference: 'Specimen/sp1' } }, glucose, specimen]).status).toBe('met');
    expect(run([{ ...cp, specimen: { reference: 'Specimen/sp1' } }, glucose, specimen], { cPeptideAcceptUntimedIfSpecimenFasting: false }).status).toBe('not-documented');
  });

  it('ignores entered-in-error and preliminary results', () => {
    const cp = { ...cPeptide(0.5, 'ng/mL', at('08:00'), 0.8), status: 'entered-in-error' };
    expect(run([cp, fastingGlucose(98, 'mg/dL', at('08:00'))]).status).toBe('not-documented');
  });
});

describe('betaCellAutoantibodyPositive', () => {
  const run = (resources: Parameters<typeof ctxFor>[0]) => f.betaCellAutoantibodyPositive!(ctxFor(resources), {});

  it('positive by interpretation code', () => {
    const ab = obs('13926-1', 3, 'U/mL', '2024-05-01', {
      interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'POS' }] }],
    });
    const r = run([ab]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.note).toContain('interpretation POS');
  });

  it('positive by value above the reference range high (strictly above); GAD65 alone negative leaves IA-2 and ZnT8 not documented', () => {
    expect(run([withRange(obs('13926-1', 12, '[IU]/mL', '2024-05-01'), undefined, 5)]).status).toBe('met');
    expect(run([withRange(obs('13926-1', 5, '[IU]/mL', '2024-05-01'), undefined, 5)]).status).toBe('not-documented');
  });

  it('positive by coded value (SNOMED 10828004 Positive)', () => {
    expect(run([obs('101233-5', undefined, undefined, '2024-05-01', { valueCodeableConcept: { coding: [{ system: SNOMED, code: '10828004' }] } })]).status).toBe('met');
  });

  it('the panel (GAD65, IA-2, ZnT8) negative ⇒ not met; only IAA/ICA negative ⇒ not documented; one positive ⇒ met', () => {
    const neg = obs('8072-1', undefined, undefined, '2024-05-01', { valueCodeableConcept: { coding: [{ system: SNOMED, code: '260385009' }] } });
    const neg2 = withRange(obs('13927-9', 0.5, '{titer}', '2024-05-01'), undefined, 1);
    expect(run([neg, neg2]).status).toBe('not-documented');
    const panel = ['13926-1', '56718-0', '76651-9'].map((code) => withRange(obs(code, 0.1, 'U/mL', '2024-05-01'), undefined, 5));
    expect(run([neg, neg2, ...panel]).status).toBe('not-met');
    expect(run(panel.slice(0, 2)).status).toBe('not-documented');
    const pos = obs('13927-9', undefined, undefined, '2023-01-01', { valueString: 'Positive' });
    expect(run([neg, neg2, pos]).status).toBe('met');
  });

  it('none on record ⇒ not documented; uninterpretable ⇒ not documented', () => {
    expect(run([]).status).toBe('not-documented');
    expect(run([obs('13926-1', 7, 'U/mL', '2024-05-01')]).status).toBe('not-documented');
  });
});

describe('hba1cAboveDuringMdi', () => {
  const mdi = {
    resourceType: 'MedicationStatement',
    id: 'ms-mdi',
    status: 'active',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '86009' }] },
    effectivePeriod: { start: '2025-06-01' },
    dosage: [{ timing: { repeat: { frequency: 4, period: 1, periodUnit: 'd' } } }],
  };
  const run = (resources: Parameters<typeof ctxFor>[0]) => f.hba1cAboveDuringMdi!(ctxFor([mdi, ...resources]), {});

  it('7.0% is not > 7.0 (strict); 7.1% is', () => {
    expect(run([obs('4548-4', 7.0, '%', '2026-08-01')]).status).toBe('not-met');
    const r = run([obs('4548-4', 7.1, '%', '2026-08-01')]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.threshold).toBe('> 7% during the MDI period');
  });

  it('IFCC mmol/mol: 53 (7.0%) not met, 54 (7.1%) met', () => {
    expect(run([obs('59261-8', 53, 'mmol/mol', '2026-08-01')]).status).toBe('not-met');
    const r = run([obs('59261-8', 54, 'mmol/mol', '2026-08-01')]);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.note).toContain('NGSP');
  });

  it('an HbA1c before the MDI period does not count', () => {
    const r = run([obs('4548-4', 9.5, '%', '2025-01-15')]);
    expect(r.status).toBe('not-documented');
  });

  it('mass/volume HbA1c (g/dL) is not convertible ⇒ not documented', () => {
    const r = run([obs('41995-2', 0.9, 'g/dL', '2026-08-01')]);
    expect(r.status).toBe('not-documented');
    expect(r.evidence[0]!.note).toContain('not convertible');
  });

  it('JDS/JSCC % is converted to NGSP (6.9 JDS = 7.29 NGSP)', () => {
    expect(run([obs('62388-4', 6.9, '%', '2026-08-01')]).status).toBe('met');
  });

  it('C1 reads the MDI period computed from the insulin value set, with the policy leaf params (valueSet = hba1c)', () => {
    // MDI since 2025-06-01; an HbA1c of 8.4% 8 months before the order is inside it, though outside the last 6 months.
    const leaf = { valueSet: 'hba1c', mdiValueSet: 'insulin-drugs' };
    const r = f.hba1cAboveDuringMdi!(ctxFor([mdi, obs('4548-4', 8.4, '%', '2026-03-20')]), leaf);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.note).toBe('MDI period since 2025-06-01');
    // Without mdiValueSet the insulin value set is still the default (never the HbA1c value set).
    expect(f.hba1cAboveDuringMdi!(ctxFor([mdi, obs('4548-4', 8.4, '%', '2026-03-20')]), { valueSet: 'hba1c' }).status).toBe('met');
  });

  it('C1 shares the memoized MDI analysis with the mdi-frequency / mdi-duration leaves', () => {
    const ctx = ctxFor([mdi, obs('4548-4', 8.4, '%', '2026-03-20')]);
    f.mdiDuration!(ctx, { valueSet: 'insulin-drugs' });
    const keys = [...ctx.memo.keys()].filter((k) => k.startsWith('facts:mdi:'));
    f.hba1cAboveDuringMdi!(ctx, { valueSet: 'hba1c', mdiValueSet: 'insulin-drugs' });
    expect([...ctx.memo.keys()].filter((k) => k.startsWith('facts:mdi:'))).toEqual(keys);
    expect(keys).toEqual(['facts:mdi:insulin-drugs:3:2026-11-24']);
  });

  it('continued coverage: C1 looks at the MDI period before pump initiation, not at HbA1c on the pump', () => {
    const ended = { ...mdi, status: 'completed', effectivePeriod: { start: '2024-03-01', end: '2025-01-14' } };
    const refill = order({ role: 'supply', hcpcs: 'A4224' });
    const onPump = [ended, device(SNOMED, '69805005'), pumpInsertion('2025-01-15')];
    const during = f.hba1cAboveDuringMdi!(ctxFor([...onPump, obs('4548-4', 8.6, '%', '2024-10-08')], { order: refill }), { valueSet: 'hba1c' });
    expect(during.status).toBe('met');
    expect(during.evidence[0]!.note).toBe('MDI period since 2024-03-01 until 2025-01-14');
    expect(during.evidence.at(-1)?.note).toContain('as of pump initiation 2025-01-15');
    const after = f.hba1cAboveDuringMdi!(ctxFor([...onPump, obs('4548-4', 8.6, '%', '2026-08-01')], { order: refill }), { valueSet: 'hba1c' });
    expect(after.status).toBe('not-documented');
    const undated = f.hba1cAboveDuringMdi!(ctxFor([ended, device(SNOMED, '69805005'), obs('4548-4', 8.6, '%', '2024-10-08')], { order: refill }), { valueSet: 'hba1c' });
    expect(undated.status).toBe('not-documented');
    expect(undated.reason).toContain('pump initiation date not documented');
  });

  it('without an MDI history it looks at the 6 months before the order', () => {
    const r = f.hba1cAboveDuringMdi!(ctxFor([obs('4548-4', 8.2, '%', '2026-10-01')]), {});
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.note).toContain('MDI period not established');
  });
});

describe('insulinPumpCode / notImplantableInsulinPump', () => {
  it('E0784 meets', () => {
    expect(f.insulinPumpCode!(ctxFor([], { order: order({ hcpcs: 'E0784' }) }), {}).status).toBe('met');
  });

  it('an insulin pump ordered as E0781 is not met (coding error)', () => {
    const r = f.insulinPumpCode!(ctxFor([], { order: order({ hcpcs: 'E0781', companions: [companion('drug', 'J1817')] }) }), {});
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('E0781');
    expect(f.notImplantableInsulinPump!(ctxFor([], { order: order({ hcpcs: 'E0781' }) }), {}).status).toBe('met');
  });

  it('pump insulin ordered with an E0779 pump: the companion pump is judged', () => {
    const o = order({ role: 'drug', hcpcs: 'J1817', companions: [companion('pump', 'E0779')] });
    expect(f.insulinPumpCode!(ctxFor([], { order: o }), {}).status).toBe('not-met');
  });

  it('implantable insulin pump: not covered (NCD C.2.b); the pump-code leaf defers to it', () => {
    const o = order({ hcpcs: 'E0783', pumpKind: 'implantable', companions: [companion('drug', 'J1817')] });
    const r = f.notImplantableInsulinPump!(ctxFor([], { order: o }), {});
    expect(r.status).toBe('not-met');
    expect(r.finding).toMatchObject({ code: 'forbidden', values: { pumpKind: 'implantable' } });
    const code = f.insulinPumpCode!(ctxFor([], { order: o }), {});
    expect(code.status).toBe('met');
    expect(code.evidence[0]!.note).toContain('implantable');
  });

  it('an implantable code is caught even when the order was not tagged implantable', () => {
    expect(f.notImplantableInsulinPump!(ctxFor([], { order: order({ hcpcs: 'E0782' }) }), {}).status).toBe('not-met');
    const drug = order({ role: 'drug', hcpcs: 'J1817', companions: [companion('pump', 'E0783')] });
    expect(f.notImplantableInsulinPump!(ctxFor([], { order: drug }), {}).status).toBe('not-met');
  });

  it('two pumps in one request: each pump order is judged on its own pump only', () => {
    const e0784 = order({ hcpcs: 'E0784', companions: [companion('pump', 'E0783'), companion('drug', 'J1817')] });
    expect(f.insulinPumpCode!(ctxFor([], { order: e0784 }), {}).status).toBe('met');
    const external = f.notImplantableInsulinPump!(ctxFor([], { order: e0784 }), {});
    expect(external.status).toBe('met');
    expect(external.evidence.map((e) => e.reference)).toEqual(['DeviceRequest/draft1']);
    const e0783 = order({ hcpcs: 'E0783', pumpKind: 'implantable', companions: [companion('pump', 'E0784')] });
    expect(f.notImplantableInsulinPump!(ctxFor([], { order: e0783 }), {}).status).toBe('not-met');
    // E0784 next to an E0781: the E0781 is the one with the wrong code.
    expect(f.insulinPumpCode!(ctxFor([], { order: order({ hcpcs: 'E0784', companions: [companion('pump', 'E0781')] }) }), {}).status).toBe('met');
    expect(f.insulinPumpCode!(ctxFor([], { order: order({ hcpcs: 'E0781', companions: [companion('pump', 'E0784')] }) }), {}).status).toBe('not-met');
  });

  it('a drug or supply ordered with two pumps is judged on both (it is covered only with a covered pump)', () => {
    const drug = order({ role: 'drug', hcpcs: 'J1817', companions: [companion('pump', 'E0784'), companion('pump', 'E0783')] });
    expect(f.notImplantableInsulinPump!(ctxFor([], { order: drug }), {}).status).toBe('not-met');
    expect(f.insulinPumpCode!(ctxFor([], { order: drug }), {}).status).toBe('met');
  });

  it('SNOMED-only insulin pump order: met by default, not documented when configured', () => {
    const o = order({ codings: [{ system: SNOMED, code: '69805005' }] });
    expect(f.insulinPumpCode!(ctxFor([], { order: o }), {}).status).toBe('met');
    expect(f.insulinPumpCode!(ctxFor([], { order: o, parameters: { uncodedInsulinPumpOrder: 'not-documented' } }), {}).status).toBe('not-documented');
  });

  it('a supply order with no pump in the set: nothing to check', () => {
    expect(f.insulinPumpCode!(ctxFor([], { order: order({ role: 'supply', hcpcs: 'A4224' }) }), {}).status).toBe('met');
  });
});

describe('supplyPumpPairing', () => {
  const run = (o: ReturnType<typeof order>) => f.supplyPumpPairing!(ctxFor([], { order: o }), {});

  it('E0784 with A4224/A4225 is fine', () => {
    expect(run(order({ hcpcs: 'E0784', companions: [companion('supply', 'A4224'), companion('supply', 'A4225')] })).status).toBe('met');
  });

  it('E0784 with A4221 / K0552 is incorrect coding', () => {
    const r = run(order({ hcpcs: 'E0784', companions: [companion('supply', 'A4224'), companion('supply', 'A4221'), companion('supply', 'K0552')] }));
    expect(r.status).toBe('not-met');
    expect(r.evidence.map((e) => e.reference)).toEqual(['DeviceRequest/a4221', 'DeviceRequest/k0552']);
  });

  it('A4224 ordered with an E0781 pump is incorrect coding', () => {
    const r = run(order({ role: 'supply', hcpcs: 'A4224', companions: [companion('pump', 'E0781')] }));
    expect(r.status).toBe('not-met');
    expect(r.evidence[0]).toMatchObject({ reference: 'DeviceRequest/draft1', value: 'HCPCS A4224' });
  });

  it('A4224 alone (refill for an existing pump) is fine', () => {
    expect(run(order({ role: 'supply', hcpcs: 'A4224' })).status).toBe('met');
  });
});

describe('diabetesDiagnosis', () => {
  const run = (resources: Parameters<typeof ctxFor>[0], o = order()) => f.diabetesDiagnosis!(ctxFor(resources, { order: o }), {});

  it('active E10.9 meets; dotless E1065 and missing clinicalStatus are accepted', () => {
    expect(run([condition(ICD10, 'E10.9')]).status).toBe('met');
    const c = condition(ICD10, 'E1065');
    delete (c as Record<string, unknown>).clinicalStatus;
    expect(run([c]).status).toBe('met');
  });

  it('SNOMED type 2 diabetes meets', () => {
    expect(run([condition(SNOMED, '44054006')]).status).toBe('met');
  });

  it('resolved or entered-in-error diabetes does not; a non-diabetes code does not', () => {
    const resolved = condition(ICD10, 'E11.9', { clinicalStatus: { coding: [{ code: 'resolved' }] } });
    const eie = condition(ICD10, 'E11.9', { verificationStatus: { coding: [{ code: 'entered-in-error' }] } });
    const r = run([resolved, eie, condition(ICD10, 'I10')]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('inactive');
  });

  it('a diabetes code on the order reason meets', () => {
    expect(run([], order({ reasonCode: [{ system: ICD10, code: 'E10.65' }] })).status).toBe('met');
    expect(run([], order({ reasonCode: [{ system: ICD10, code: 'E16.2' }] })).status).toBe('not-documented');
  });

  it('HCPCS folding: an order coded under the bluebutton system is still E0784', () => {
    const o = order({ codings: [{ system: 'https://bluebutton.cms.gov/resources/codesystem/hcpcs', code: 'E0784' }] });
    expect(f.insulinPumpCode!(ctxFor([], { order: { ...o, hcpcs: 'E0784' } }), {}).status).toBe('met');
    expect(HCPCS).toBe('http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets');
  });
});
