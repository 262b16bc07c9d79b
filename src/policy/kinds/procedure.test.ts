import { describe, expect, it } from 'vitest';
import { HCPCS, runKind } from '../../../test/support/fact-fixtures.js';

const proc = (status: string, day = '2025-03-01') => ({ resourceType: 'Procedure', id: `pr-${status}-${day}`, status, code: { coding: [{ system: HCPCS, code: 'G0108' }] }, performedDateTime: day });

describe('procedure kind', () => {
  it('completed procedures in the window meet; others are empty', () => {
    expect(runKind('procedure', { valueSet: 'dsmt-procedures' }, [proc('completed')]).status).toBe('met');
    expect(runKind('procedure', { valueSet: 'dsmt-procedures' }, [proc('in-progress')]).empty).toBe(true);
    expect(runKind('procedure', { valueSet: 'dsmt-procedures', window: { lookback: { months: 6 } } }, [proc('completed', '2025-03-01')]).empty).toBe(true);
  });

  it('a finished encounter typed with the code counts with orEncounterType', () => {
    const enc = { resourceType: 'Encounter', id: 'e1', status: 'finished', type: [{ coding: [{ system: HCPCS, code: 'G0108' }] }], period: { start: '2025-04-01' } };
    expect(runKind('procedure', { valueSet: 'dsmt-procedures' }, [enc]).empty).toBe(true);
    expect(runKind('procedure', { valueSet: 'dsmt-procedures', orEncounterType: true }, [enc]).status).toBe('met');
  });

  it('minCount: sessions on fewer distinct days are not documented (too-few), never not met', () => {
    const p = { valueSet: 'dsmt-program', minCount: 2 };
    expect(runKind('procedure', p, [proc('completed', '2025-03-01')])).toMatchObject({ status: 'not-documented', finding: { code: 'too-few', values: { count: 1, min: 2 } } });
    expect(runKind('procedure', p, [proc('completed', '2025-03-01'), proc('completed', '2025-03-08')]).status).toBe('met');
  });
});

describe('procedure kind: expect none', () => {
  it('a completed procedure contradicts; none is empty', () => {
    expect(runKind('procedure', { valueSet: 'dsmt-procedures', expect: 'none' }, [proc('completed')])).toMatchObject({ status: 'not-met', finding: { code: 'present' } });
    expect(runKind('procedure', { valueSet: 'dsmt-procedures', expect: 'none' }, [proc('in-progress')]).empty).toBe(true);
  });
});
