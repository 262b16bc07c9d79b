import { describe, expect, it } from 'vitest';
import { addMonths, ageOn, daysBetween, gt, lte, pct, recordedDay } from './common.js';

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
