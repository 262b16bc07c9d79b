import { describe, expect, it } from 'vitest';
import { addMonths, ageOn, continuedCoverage, daysBetween, gt, initiationDate, lte, pct, recordedDay } from './common.js';
import { SNOMED, companion, ctxFor, device, deviceUse, order, pumpInsertion } from './fixtures.js';

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

describe('initiationDate (the date criterion C is measured at)', () => {
  const pump = () => device(SNOMED, '69805005');
  const supply = () => order({ role: 'supply', hcpcs: 'A4224' });

  it('an initial pump order (no pump on record) is measured as of the order date', () => {
    const a = initiationDate(ctxFor([]));
    expect(a).toMatchObject({ kind: 'order', day: '2026-11-24', regimenDay: '2026-11-24', before: 'the order', note: 'as of the order date 2026-11-24' });
    expect(a.evidence).toEqual([]);
  });

  it('supplies ordered with the pump belong to the initial pump order', () => {
    const o = order({ role: 'supply', hcpcs: 'A4224', companions: [companion('pump', 'E0784')] });
    expect(initiationDate(ctxFor([], { order: o })).kind).toBe('order');
  });

  it('a supply refill is anchored at the earliest documented pump start (use statement or insertion procedure)', () => {
    const dev = pump();
    const proc = pumpInsertion('2025-01-15');
    const a = initiationDate(ctxFor([dev, deviceUse(dev, '2025-03-01'), proc], { order: supply() }));
    expect(a).toMatchObject({ kind: 'initiation', day: '2025-01-15', regimenDay: '2025-01-14', before: 'pump initiation 2025-01-15' });
    expect(a.evidence[0]).toMatchObject({ reference: `Procedure/${proc.id}`, date: '2025-01-15' });
    expect(a.evidence[0]!.note).toContain('as of pump initiation 2025-01-15');
  });

  it('a pump order for a patient already on a pump (replacement) is anchored at initiation too', () => {
    const dev = pump();
    expect(initiationDate(ctxFor([dev, deviceUse(dev, '2019-06-01')])).day).toBe('2019-06-01');
    // A pump used in the past and ended is not "already on a pump": a new pump order is an initial order.
    const old = { ...deviceUse(dev, '2015-01-01', 'completed'), timingPeriod: { start: '2015-01-01', end: '2016-01-01' } };
    expect(initiationDate(ctxFor([{ ...dev, status: 'inactive' }, old])).kind).toBe('order');
  });

  it('on a pump with no dated start ⇒ missing ("pump start date not documented"), never the order date', () => {
    const a = initiationDate(ctxFor([pump()], { order: supply() }));
    expect(a.kind).toBe('initiation');
    expect(a.day).toBeUndefined();
    expect(a.missing).toContain('pump start date not documented');
    // A refill with no pump on record at all: the start is not documented either.
    expect(initiationDate(ctxFor([], { order: supply() })).missing).toContain('pump start date not documented');
  });

  it('is memoized per evaluation and shared with the continued-coverage test', () => {
    const ctx = ctxFor([pump(), pumpInsertion('2025-01-15')], { order: supply() });
    expect(initiationDate(ctx)).toBe(initiationDate(ctx));
    expect(continuedCoverage(ctx).applies).toBe(true);
    expect(continuedCoverage(ctxFor([])).applies).toBe(false);
  });
});
