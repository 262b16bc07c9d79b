import { describe, expect, it } from 'vitest';
import { GLARGINE, medStatement, runKind } from '../../../test/support/fact-fixtures.js';

describe('medication kind', () => {
  const daily = { frequency: 1, period: 1, periodUnit: 'd' };
  it('in use, continuous duration, ended', () => {
    const ongoing = medStatement(GLARGINE, '2026-01-01', daily);
    expect(runKind('medication', { valueSet: 'insulin-drugs', state: 'in-use' }, [ongoing]).status).toBe('met');
    expect(runKind('medication', { valueSet: 'insulin-drugs', state: 'in-use', minDuration: { months: 6 } }, [ongoing]).status).toBe('met');
    expect(runKind('medication', { valueSet: 'insulin-drugs', state: 'in-use', minDuration: { months: 12 } }, [ongoing])).toMatchObject({ status: 'not-met', finding: { code: 'too-short' } });
    const stopped = medStatement(GLARGINE, '2025-01-01', daily, { status: 'stopped', effectivePeriod: { start: '2025-01-01', end: '2025-06-01' } });
    expect(runKind('medication', { valueSet: 'insulin-drugs', state: 'in-use' }, [stopped]).status).toBe('not-met');
    expect(runKind('medication', { valueSet: 'insulin-drugs', state: 'ended-or-failed' }, [stopped]).status).toBe('met');
    expect(runKind('medication', { valueSet: 'insulin-drugs' }, []).empty).toBe(true);
  });
});

describe('medication kind: an ended or failed trial of a minimum length', () => {
  const daily = { frequency: 1, period: 1, periodUnit: 'd' };
  const course = (start: string, end: string, extra: Record<string, unknown> = {}) =>
    medStatement(GLARGINE, start, daily, { status: 'stopped', effectivePeriod: { start, end }, ...extra });
  const p = { valueSet: 'insulin-drugs', state: 'ended-or-failed', minDuration: { days: 42 } };

  it('42 days meets 6 weeks, 41 days does not (the longest course decides)', () => {
    expect(runKind('medication', p, [course('2026-01-01', '2026-02-12')])).toMatchObject({ status: 'met', finding: { values: { days: 42 } } });
    expect(runKind('medication', p, [course('2026-01-01', '2026-02-11')])).toMatchObject({ status: 'not-met', finding: { code: 'course-too-short', values: { days: 41 } } });
    expect(runKind('medication', p, [course('2026-01-01', '2026-02-11'), course('2026-03-01', '2026-04-15')]).status).toBe('met');
  });

  it('a failed course still taken counts up to the anchor day', () => {
    const failing = medStatement(GLARGINE, '2026-10-01', daily, { status: 'active', statusReason: [{ text: 'drowsiness' }], effectivePeriod: { start: '2026-10-01' } });
    expect(runKind('medication', p, [failing]).status).toBe('met');
    const recent = medStatement(GLARGINE, '2026-11-01', daily, { status: 'active', statusReason: [{ text: 'drowsiness' }], effectivePeriod: { start: '2026-11-01' } });
    expect(runKind('medication', p, [recent]).status).toBe('not-met');
  });
});
