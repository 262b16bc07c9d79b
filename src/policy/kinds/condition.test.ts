import { describe, expect, it } from 'vitest';
import { ICD10, condition, order, runKind } from '../../../test/support/fact-fixtures.js';

describe('condition kind', () => {
  it('an active coded condition meets; resolved only is empty (absent applies) with its own finding', () => {
    expect(runKind('condition', { valueSet: 'diabetes-dx' }, [condition(ICD10, 'E10.9')]).status).toBe('met');
    const resolved = condition(ICD10, 'E11.9', { clinicalStatus: { coding: [{ code: 'resolved' }] } });
    const r = runKind('condition', { valueSet: 'diabetes-dx' }, [resolved]);
    expect(r).toMatchObject({ status: 'not-documented', empty: true, finding: { code: 'only-inactive' } });
    expect(runKind('condition', { valueSet: 'diabetes-dx', status: 'any' }, [resolved]).status).toBe('met');
  });

  it('minCount, FHIRPath filter, window and the order reason', () => {
    const two = [condition(ICD10, 'E16.2'), condition(ICD10, 'E16.2')];
    expect(runKind('condition', { valueSet: 'hypoglycemia-dx', minCount: 2 }, two.slice(0, 1)).finding.code).toBe('too-few');
    expect(runKind('condition', { valueSet: 'hypoglycemia-dx', minCount: 2 }, two).status).toBe('met');
    expect(runKind('condition', { valueSet: 'diabetes-dx', where: "recordedDate > @2025-01-01" }, [condition(ICD10, 'E10.9')]).status).toBe('not-documented');
    expect(runKind('condition', { valueSet: 'diabetes-dx', window: { lookback: { years: 1 } } }, [condition(ICD10, 'E10.9')]).status).toBe('not-documented');
    const o = order({ reasonCode: [{ system: ICD10, code: 'E10.65' }] });
    expect(runKind('condition', { valueSet: 'diabetes-dx', orOrderReason: true }, [], { order: o }).status).toBe('met');
  });

  it('expect none: a contraindication on record is not met', () => {
    expect(runKind('condition', { valueSet: 'diabetes-dx', expect: 'none' }, [condition(ICD10, 'E10.9')])).toMatchObject({ status: 'not-met', finding: { code: 'present' } });
    expect(runKind('condition', { valueSet: 'diabetes-dx', expect: 'none' }, []).empty).toBe(true);
  });
});
