import { describe, expect, it } from 'vitest';
import { RXNORM, runKind } from '../../../test/support/fact-fixtures.js';

const allergy = (status?: string) => ({ resourceType: 'AllergyIntolerance', id: `a-${status}`, code: { coding: [{ system: RXNORM, code: '86009' }] }, ...(status ? { clinicalStatus: { coding: [{ code: status }] } } : {}) });

describe('allergy kind', () => {
  it('an active allergy is found; with expect none it is not met; inactive ones are ignored unless asked', () => {
    expect(runKind('allergy', { valueSet: 'insulin-drugs' }, [allergy('active')]).status).toBe('met');
    expect(runKind('allergy', { valueSet: 'insulin-drugs', expect: 'none' }, [allergy()]).status).toBe('not-met');
    expect(runKind('allergy', { valueSet: 'insulin-drugs', expect: 'none' }, [allergy('resolved')]).empty).toBe(true);
    expect(runKind('allergy', { valueSet: 'insulin-drugs', includeInactive: true }, [allergy('resolved')]).status).toBe('met');
  });
});
