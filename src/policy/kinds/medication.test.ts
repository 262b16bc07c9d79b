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
