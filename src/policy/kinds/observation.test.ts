import { describe, expect, it } from 'vitest';
import { obs, runKind, smbgReadings, withRange } from '../../../test/support/fact-fixtures.js';

describe('observation kind', () => {
  it('value with UCUM conversion: latest decides; max/any select', () => {
    const older = obs('4548-4', 8.1, '%', '2026-01-10');
    const newer = obs('4548-4', 6.5, '%', '2026-10-10');
    const p = { valueSet: 'hba1c', value: { unit: '%', op: '>', value: 7 } };
    expect(runKind('observation', p, [older, newer])).toMatchObject({ status: 'not-met', finding: { code: 'fails', values: { read: '6.5 %' } } });
    expect(runKind('observation', { ...p, select: 'max' }, [older, newer]).status).toBe('met');
    expect(runKind('observation', { ...p, select: 'any' }, [older, newer]).status).toBe('met');
    // mmol/L glucose compared in mg/dL through UCUM with the molecular weight.
    const g = obs('1558-6', 6.9, 'mmol/L', '2026-10-01'); // 124.3 mg/dL
    expect(runKind('observation', { valueSet: 'fasting-glucose', molecularWeight: 180.156, value: { unit: 'mg/dL', op: '<=', value: 126 } }, [g]).status).toBe('met');
  });

  it('an unconvertible unit is unreadable (not documented), never a guess', () => {
    const r = runKind('observation', { valueSet: 'hba1c', value: { unit: '%', op: '>', value: 7 } }, [obs('4548-4', 9, 'g/dL', '2026-10-10')]);
    expect(r).toMatchObject({ status: 'not-documented', finding: { code: 'unreadable' } });
  });

  it('ratio to the reference range, interpretation, window', () => {
    const cp = withRange(obs('13037-7', 0.88, 'ng/mL', '2026-10-01'), 0.8);
    expect(runKind('observation', { valueSet: 'c-peptide-fasting', ratioToReferenceRange: { bound: 'low', op: '<=', value: 1.1 } }, [cp]).status).toBe('met');
    const ab = obs('13926-1', undefined, undefined, '2026-09-01', { interpretation: [{ coding: [{ code: 'POS' }] }] });
    expect(runKind('observation', { valueSet: 'beta-cell-autoantibodies', interpretation: 'positive' }, [ab]).status).toBe('met');
    expect(runKind('observation', { valueSet: 'hba1c', window: { lookback: { months: 3 } } }, [obs('4548-4', 8, '%', '2026-01-10')]).empty).toBe(true);
  });

  it('components', () => {
    const bp = obs('85354-9', undefined, undefined, '2026-10-01', { component: [{ code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] }, valueQuantity: { value: 8, unit: '%', system: 'http://unitsofmeasure.org', code: '%' } }] });
    expect(runKind('observation', { valueSet: 'smbg-glucose', component: { valueSet: 'hba1c' }, value: { unit: '%', op: '>', value: 7 } }, [bp]).status).toBe('met');
  });

  it('readings per day over a window before an anchor', () => {
    const p = { valueSet: 'smbg-glucose', window: { lookback: { months: 2 }, excludeAnchorDay: true }, readingsPerDay: { min: 4 } };
    const days = 61; // 2026-09-24 .. 2026-11-23
    expect(runKind('observation', p, smbgReadings(4 * days, '2026-09-24', '2026-11-24')).status).toBe('met');
    expect(runKind('observation', p, smbgReadings(2 * days, '2026-09-24', '2026-11-24'))).toMatchObject({ status: 'not-met', finding: { code: 'rate-fails', values: { perDay: 2 } } });
  });
});
