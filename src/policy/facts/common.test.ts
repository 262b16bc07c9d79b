import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {addMonths, ageOn, daysBetween, gt, lte, pct, recordedDay, utcDay} from './common.js';
import { SNOMED, companion, ctxFor, device, deviceUse, order, pumpInsertion } from '../../../test/support/fact-fixtures.js';

describe('decimal-safe comparison', () => {
  it('inclusive ≤ holds across binary noise in both directions', () => {
    expect(0.1 * 3 * (1.1 / 0.3)).toBeGreaterThan(1.1); // 1.1000000000000003 in binary floating point
    expect(lte(0.1 * 3 * (1.1 / 0.3), 1.1)).toBe(true);
    expect(lte(0.88 / 0.8, 1.1)).toBe(true);
    expect(lte(0.89 / 0.8, 1.1)).toBe(false);
  });

  it('strict > is not fooled by noise (HbA1c 7.0 reached through a conversion)', () => {
    expect(gt(0.7 * 10 + 1e-15, 7)).toBe(false);
    expect(gt(7.1, 7)).toBe(true);
  });

  it('formats ratios as percentages', () => {
    expect(pct(1.875)).toBe('187.5%');
    expect(pct(0.88 / 0.8)).toBe('110%');
  });
});

describe('calendar arithmetic', () => {
  it('adds calendar months with end-of-month clamping', () => {
    expect(addMonths('2026-11-24', -6)).toBe('2026-05-24');
    expect(addMonths('2026-08-31', -6)).toBe('2026-02-28');
    expect(addMonths('2024-03-31', -1)).toBe('2024-02-29');
    expect(addMonths('2026-01-15', -2)).toBe('2025-11-15');
  });

  it('counts days and ages', () => {
    expect(daysBetween('2026-09-24', '2026-11-24')).toBe(61);
    expect(ageOn('1956-06-01', '2026-05-31')).toBe(69);
    expect(ageOn('1956-06-01', '2026-06-01')).toBe(70);
    expect(ageOn(undefined, '2026-06-01')).toBeUndefined();
  });

  it('reads the calendar date as recorded, before any timezone shift', () => {
    expect(recordedDay('2026-10-01T23:30:00-05:00')).toBe('2026-10-01');
    expect(recordedDay('2026-10')).toBeUndefined();
  });
});

// The pump-initiation anchor is data in the CSII policy (anchors + the continued-coverage definition).
const initiation = (ctx: ReturnType<typeof ctxFor>) => ctx.anchor!('pump-initiation');

describe('pump-initiation anchor (the date criterion C is measured at)', () => {
  const pump = () => device(SNOMED, '69805005');
  const supply = () => order({ role: 'supply', hcpcs: 'A4224' });

  it('an initial pump order (no pump on record) is measured as of the order date', () => {
    const a = initiation(ctxFor([]));
    expect(a).toMatchObject({ isOrderDate: true, day: '2026-11-24', regimenDay: '2026-11-24' });
    expect(a.evidence).toEqual([]);
  });

  it('supplies ordered with the pump belong to the initial pump order', () => {
    const o = order({ role: 'supply', hcpcs: 'A4224', companions: [companion('pump', 'E0784')] });
    expect(initiation(ctxFor([], { order: o })).isOrderDate).toBe(true);
  });

  it('a supply refill is anchored at the earliest documented pump start (use statement or insertion procedure)', () => {
    const dev = pump();
    const proc = pumpInsertion('2025-01-15');
    const a = initiation(ctxFor([dev, deviceUse(dev, '2025-03-01'), proc], { order: supply() }));
    expect(a).toMatchObject({ isOrderDate: false, day: '2025-01-15', regimenDay: '2025-01-14', text: 'pump initiation' });
    expect(a.evidence[0]).toMatchObject({ reference: `Procedure/${proc.id}`, date: '2025-01-15' });
    expect(a.evidence[0]!.note).toContain('as of pump initiation 2025-01-15');
  });

  it('a pump start recorded only as DeviceUseStatement.timingPeriod.start is used', () => {
    const dev = pump();
    const a = initiation(ctxFor([dev, deviceUse(dev, '2025-03-01')], { order: supply() }));
    expect(a.day).toBe('2025-03-01');
    expect(a.evidence[0]!.reference).toMatch(/^DeviceUseStatement\//);
  });

  it('falls back to the attested pump start date when nothing structured dates it', () => {
    const qr = { resourceType: 'QuestionnaireResponse', id: 'qr-start', status: 'completed', questionnaire: 'csii-documentation', authored: '2026-11-01', item: [{ linkId: 'pump-start-date', answer: [{ valueDate: '2024-02-01' }] }] };
    const a = initiation(ctxFor([pump(), qr], { order: supply() }));
    expect(a).toMatchObject({ day: '2024-02-01', regimenDay: '2024-01-31' });
    expect(a.evidence[0]).toMatchObject({ reference: 'QuestionnaireResponse/qr-start' });
  });

  it('a pump order for a patient already on a pump (replacement) is anchored at initiation too', () => {
    const dev = pump();
    expect(initiation(ctxFor([dev, deviceUse(dev, '2019-06-01')])).day).toBe('2019-06-01');
    // A pump used in the past and ended is not "already on a pump": a new pump order is an initial order.
    const old = { ...deviceUse(dev, '2015-01-01', 'completed'), timingPeriod: { start: '2015-01-01', end: '2016-01-01' } };
    expect(initiation(ctxFor([{ ...dev, status: 'inactive' }, old])).isOrderDate).toBe(true);
  });

  it('on a pump with no dated start ⇒ missing, never the order date', () => {
    const a = initiation(ctxFor([pump()], { order: supply() }));
    expect(a.isOrderDate).toBe(false);
    expect(a.day).toBeUndefined();
    expect(a.missing).toContain('pump initiation date not documented');
    // A refill with no pump on record at all: the start is not documented either.
    expect(initiation(ctxFor([], { order: supply() })).missing).toContain('pump initiation date not documented');
  });

  it('is memoized per evaluation, like the continued-coverage definition', () => {
    const ctx = ctxFor([pump(), pumpInsertion('2025-01-15')], { order: supply() });
    expect(initiation(ctx)).toBe(initiation(ctx));
    expect(ctx.definition!('continued-coverage').status).toBe('met');
    expect(ctxFor([]).definition!('continued-coverage').status).toBe('not-met');
  });
});

describe('utcDay', () => {
  it('is the date part of toISOString for any date, and throws as it does for an invalid one', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(Date.UTC(-300, 0, 1)), max: new Date(Date.UTC(12000, 0, 1)), noInvalidDate: true }), (d) => {
        expect(utcDay(d)).toBe(d.toISOString().slice(0, 10));
      }),
      { seed: 20261206, numRuns: 3000 },
    );
    expect(() => utcDay(new Date(NaN))).toThrow(RangeError);
  });
});
