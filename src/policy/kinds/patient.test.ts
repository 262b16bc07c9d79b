import { describe, expect, it } from 'vitest';
import { patient, runKind } from '../../../test/support/fact-fixtures.js';

describe('patient kind', () => {
  it('age in full years on the anchor day; no birth date is empty', () => {
    expect(runKind('patient', { age: { op: '>=', value: 70 } }, [patient('male', '1956-06-01')]).status).toBe('met');
    expect(runKind('patient', { age: { op: '>=', value: 71 } }, [patient('male', '1956-06-01')])).toMatchObject({ status: 'not-met', finding: { values: { age: 70 } } });
    expect(runKind('patient', { age: { op: '>=', value: 18 } }, [{ resourceType: 'Patient', id: 'p1' }]).empty).toBe(true);
    expect(runKind('patient', { gender: ['female'] }, [patient('male')]).status).toBe('not-met');
  });
});
