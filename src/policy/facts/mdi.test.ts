import { describe, expect, it } from 'vitest';
import { csiiFacts, timingPerDay } from './csii.js';
import { GLARGINE, LISPRO, SNOMED, ctxFor, device, medRequest, medStatement, order, pumpInsertion, formerFacts } from '../../../test/support/fact-fixtures.js';

const f = { ...csiiFacts, ...formerFacts };
const basal = (start = '2025-01-01') => medStatement(GLARGINE, start, { frequency: 1, period: 1, periodUnit: 'd' });

describe('timingPerDay', () => {
  it('reads frequency/period in d, h and wk, timeOfDay, when[] and GTS codes', () => {
    expect(timingPerDay({ repeat: { frequency: 3, period: 1, periodUnit: 'd' } }).perDay).toBe(3);
    expect(timingPerDay({ repeat: { frequency: 1, period: 8, periodUnit: 'h' } }).perDay).toBe(3);
    expect(timingPerDay({ repeat: { frequency: 14, period: 1, periodUnit: 'wk' } }).perDay).toBe(2);
    expect(timingPerDay({ repeat: { timeOfDay: ['08:00:00', '12:00:00', '18:00:00'] } }).perDay).toBe(3);
    expect(timingPerDay({ repeat: { when: ['ACM', 'ACD', 'ACV'] } }).perDay).toBe(3);
    // Evidence speaks clinical words, never the HL7 TimingEvent codes.
    expect(timingPerDay({ repeat: { when: ['ACM', 'ACD', 'ACV'] } }).how).toBe('before breakfast, before lunch and before dinner');
    expect(timingPerDay({ repeat: { frequency: 3, period: 1, periodUnit: 'd' } }).how).toBe('3 per day');
    expect(timingPerDay({ code: { coding: [{ code: 'TID' }] } }).perDay).toBe(3);
    expect(timingPerDay({ repeat: {} }).perDay).toBeUndefined();
    expect(timingPerDay(undefined).perDay).toBeUndefined();
  });
});

describe('mdiInjectionsPerDay', () => {
  const run = (resources: Parameters<typeof ctxFor>[0]) => f.mdiInjectionsPerDay!(ctxFor(resources), {});

  it('basal once daily + prandial before three meals = 4/day ⇒ met', () => {
    const r = run([basal(), medStatement(LISPRO, '2025-01-01', { when: ['ACM', 'ACD', 'ACV'] })]);
    expect(r.status).toBe('met');
    expect(r.reason).toBe('4 insulin injections/day');
    expect(r.evidence.map((e) => e.value)).toContain('insulin lispro: 3/day (before breakfast, before lunch and before dinner)');
  });

  it('3/day meets, 2/day does not', () => {
    expect(run([basal(), medStatement(LISPRO, '2025-01-01', { code: 'BID' })]).status).toBe('met');
    const two = run([basal(), medStatement(LISPRO, '2025-01-01', { frequency: 1, period: 1, periodUnit: 'd' })]);
    expect(two.status).toBe('not-met');
    expect(two.reason).toContain('2 insulin injections/day (< 3)');
  });

  it('the same insulin as statement and request counts once', () => {
    const r = run([
      basal(),
      medRequest(GLARGINE, '2025-01-01', { frequency: 1, period: 1, periodUnit: 'd' }),
      medStatement(LISPRO, '2025-01-01', { frequency: 1, period: 1, periodUnit: 'd' }),
      medRequest(LISPRO, '2025-01-01', { frequency: 1, period: 1, periodUnit: 'd' }),
    ]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('2 insulin injections/day');
  });

  it('no insulin on record ⇒ not documented; insulin without timing ⇒ not documented', () => {
    expect(run([]).status).toBe('not-documented');
    const r = run([medStatement(LISPRO, '2025-01-01', undefined)]);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('no dosage timing');
  });

  it('known injections short of 3 plus an insulin without timing ⇒ not documented', () => {
    expect(run([basal(), medStatement(LISPRO, '2025-01-01', undefined)]).status).toBe('not-documented');
  });

  it('a stopped regimen no longer counts', () => {
    const stopped = medStatement(LISPRO, '2025-01-01', { frequency: 3, period: 1, periodUnit: 'd' }, { status: 'completed', effectivePeriod: { start: '2025-01-01', end: '2026-03-01' } });
    expect(run([basal(), stopped]).status).toBe('not-met');
  });

  it('entered-in-error statements and draft requests are ignored', () => {
    expect(run([basal(), medStatement(LISPRO, '2025-01-01', { code: 'TID' }, { status: 'entered-in-error' })]).status).toBe('not-met');
    expect(run([basal(), medRequest(LISPRO, '2025-01-01', { code: 'TID' }, { status: 'draft' })]).status).toBe('not-met');
  });

  it('reads insulin named through medicationReference', () => {
    const med = { resourceType: 'Medication', id: 'med1', code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: LISPRO }] } };
    const ms = { ...medStatement(LISPRO, '2025-01-01', { code: 'TID' }), medicationCodeableConcept: undefined, medicationReference: { reference: 'Medication/med1' } };
    expect(run([med, basal(), ms]).status).toBe('met');
  });
});

describe('mdiDuration', () => {
  // Order date 2026-11-24 ⇒ the MDI regimen must run since 2026-05-24 or earlier.
  const run = (resources: Parameters<typeof ctxFor>[0]) => f.mdiDuration!(ctxFor(resources), {});
  const prandial = (start: string) => medStatement(LISPRO, start, { frequency: 3, period: 1, periodUnit: 'd' });

  it('exactly 6 months meets; one day short does not', () => {
    expect(run([basal('2020-01-01'), prandial('2026-05-24')]).status).toBe('met');
    const short = run([basal('2020-01-01'), prandial('2026-05-25')]);
    expect(short.status).toBe('not-met');
    expect(short.reason).toContain('since 2026-05-25');
    expect(short.reason).toContain('less than 6 months');
  });

  it('the run starts when the count first reached 3/day, not when basal insulin began', () => {
    const r = run([basal('2018-01-01'), prandial('2026-07-01')]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('since 2026-07-01');
  });

  it('consecutive regimens without a gap form one run', () => {
    const first = medStatement(LISPRO, '2025-01-01', { code: 'TID' }, { status: 'completed', effectivePeriod: { start: '2025-01-01', end: '2026-06-30' } });
    const second = medStatement(LISPRO, '2026-07-01', { code: 'QID' });
    expect(run([first, second]).status).toBe('met');
    const gap = medStatement(LISPRO, '2026-07-05', { code: 'QID' });
    const r = run([first, gap]);
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('since 2026-07-05');
  });

  it('not currently on MDI ⇒ not met; no dosing ⇒ not documented', () => {
    expect(run([basal('2020-01-01')]).status).toBe('not-met');
    expect(run([]).status).toBe('not-documented');
  });

  it('honours the mdiMonthsMin parameter', () => {
    const ctx = ctxFor([basal('2020-01-01'), prandial('2026-08-24')], { parameters: { mdiMonthsMin: 3 } });
    expect(f.mdiDuration!(ctx, {}).status).toBe('met');
  });
});

describe('MDI as of pump initiation (continued coverage)', () => {
  // MDI 2024-03-01 .. 2025-01-14, pump since 2025-01-15, supplies ordered on 2026-11-24.
  const ended = { status: 'completed', effectivePeriod: { start: '2024-03-01', end: '2025-01-14' } };
  const mdiThenPump = () => [
    medStatement(GLARGINE, '2024-03-01', { frequency: 1, period: 1, periodUnit: 'd' }, ended),
    medStatement(LISPRO, '2024-03-01', { when: ['ACM', 'ACD', 'ACV'] }, ended),
    device(SNOMED, '69805005'),
    pumpInsertion('2025-01-15'),
  ];
  const refill = order({ role: 'supply', hcpcs: 'A4224' });

  it('a refill is judged on the regimen before the pump, with the anchor in the evidence', () => {
    const ctx = ctxFor(mdiThenPump(), { order: refill });
    const freq = f.mdiInjectionsPerDay!(ctx, {});
    expect(freq.status).toBe('met');
    expect(freq.reason).toBe('4 insulin injections/day before pump initiation 2025-01-15');
    expect(freq.evidence.at(-1)?.note).toContain('as of pump initiation 2025-01-15');
    const dur = f.mdiDuration!(ctx, {});
    expect(dur.status).toBe('met');
    expect(dur.reason).toContain('since 2024-03-01 (320 days before pump initiation 2025-01-15)');
    expect(dur.evidence[0]!.threshold).toContain('since 2024-07-15 or earlier');
    // The old reading — as of the refill date, when the patient is on the pump — finds no MDI at all.
    expect(f.mdiInjectionsPerDay!(ctxFor(mdiThenPump(), { order: refill }), { anchor: 'asOf' }).status).toBe('not-met');
  });

  it('a pump replacement for a patient already on a pump is anchored at initiation too', () => {
    expect(f.mdiDuration!(ctxFor(mdiThenPump()), {}).status).toBe('met');
  });

  it('less than 6 months of MDI before initiation is not met, whatever happened since', () => {
    const short = { status: 'completed', effectivePeriod: { start: '2024-09-01', end: '2025-01-14' } };
    const r = f.mdiDuration!(
      ctxFor([medStatement(LISPRO, '2024-09-01', { code: 'QID' }, short), device(SNOMED, '69805005'), pumpInsertion('2025-01-15')], { order: refill }),
      {},
    );
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('less than 6 months before pump initiation 2025-01-15');
  });

  it('on a pump with no documented start ⇒ not documented, not measured against the order date', () => {
    const undated = mdiThenPump().filter((r) => r.resourceType !== 'Procedure');
    for (const fact of [f.mdiInjectionsPerDay!, f.mdiDuration!]) {
      const r = fact(ctxFor(undated, { order: refill }), {});
      expect(r.status).toBe('not-documented');
      expect(r.reason).toContain('pump initiation date not documented');
    }
  });

  it('an initial pump order is still measured as of the order date', () => {
    const r = f.mdiInjectionsPerDay!(ctxFor(mdiThenPump().filter((x) => x.resourceType === 'MedicationStatement')), {});
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('on the order date');
  });
});
