import { describe, expect, it } from 'vitest';
import {
  C_PEPTIDE_MOLECULAR_WEIGHT,
  convertQuantity,
  CREATININE_MOLECULAR_WEIGHT,
  GLUCOSE_MOLECULAR_WEIGHT,
  hba1cToPercent,
  normaliseUnit,
} from './units.js';

const UCUM = 'http://unitsofmeasure.org';

function value(r: ReturnType<typeof convertQuantity>): number {
  if (!r.ok) throw new Error(`expected a conversion, got: ${r.reason}`);
  return r.value;
}

describe('convertQuantity — C-peptide', () => {
  const mw = { molecularWeight: C_PEPTIDE_MOLECULAR_WEIGHT };

  it('keeps ng/mL as is (no float noise)', () => {
    expect(convertQuantity({ value: 0.88, unit: 'ng/mL', system: UCUM, code: 'ng/mL' }, 'ng/mL')).toEqual({ ok: true, value: 0.88, unit: 'ng/mL' });
  });

  it('converts nmol/L and pmol/L to ng/mL with the molecular weight 3020.3 g/mol', () => {
    expect(value(convertQuantity({ value: 0.5, system: UCUM, code: 'nmol/L' }, 'ng/mL', mw))).toBeCloseTo(1.51015, 6);
    expect(value(convertQuantity({ value: 500, unit: 'pmol/L' }, 'ng/mL', mw))).toBeCloseTo(1.51015, 6);
    expect(value(convertQuantity({ value: 1.51015, unit: 'ng/mL' }, 'pmol/L', mw))).toBeCloseTo(500, 6);
  });

  it('accepts lower-case spellings (ng/ml, pmol/l)', () => {
    expect(value(convertQuantity({ value: 1.2, unit: 'ng/ml' }, 'ng/mL'))).toBe(1.2);
    expect(value(convertQuantity({ value: 331, unit: 'pmol/l' }, 'ng/mL', mw))).toBeCloseTo(0.99972, 4);
  });

  it('refuses mass ↔ molar without a molecular weight, saying why', () => {
    const r = convertQuantity({ value: 0.5, unit: 'nmol/L' }, 'ng/mL');
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('molecular weight') });
  });
});

describe('convertQuantity — glucose', () => {
  it('mg/dL stays, mg/dl is read as mg/dL', () => {
    expect(value(convertQuantity({ value: 225, unit: 'mg/dL' }, 'mg/dL'))).toBe(225);
    expect(value(convertQuantity({ value: 225, unit: 'mg/dl' }, 'mg/dL'))).toBe(225);
  });

  it('mmol/L → mg/dL with 180.156 g/mol (12.5 mmol/L = 225.195 mg/dL)', () => {
    expect(value(convertQuantity({ value: 12.5, unit: 'mmol/L' }, 'mg/dL', { molecularWeight: GLUCOSE_MOLECULAR_WEIGHT }))).toBeCloseTo(225.195, 6);
    expect(value(convertQuantity({ value: 5, system: UCUM, code: 'mmol/L', unit: 'millimoles per litre' }, 'mg/dL', { molecularWeight: GLUCOSE_MOLECULAR_WEIGHT }))).toBeCloseTo(90.078, 6);
  });
});

describe('convertQuantity — creatinine', () => {
  it('creatinine clearance mL/min stays, mL/s × 60, mL/min spelled ml/min', () => {
    expect(value(convertQuantity({ value: 50, unit: 'mL/min' }, 'mL/min'))).toBe(50);
    expect(value(convertQuantity({ value: 50, unit: 'ml/min' }, 'mL/min'))).toBe(50);
    expect(value(convertQuantity({ value: 0.83, system: UCUM, code: 'mL/s' }, 'mL/min'))).toBeCloseTo(49.8, 9);
    expect(value(convertQuantity({ value: 1, unit: 'mL/s' }, 'mL/min'))).toBe(60);
  });

  it('serum creatinine µmol/L (micro sign, Greek mu or u) → mg/dL with 113.12 g/mol', () => {
    const mw = { molecularWeight: CREATININE_MOLECULAR_WEIGHT };
    expect(value(convertQuantity({ value: 88.4, unit: 'µmol/L' }, 'mg/dL', mw))).toBeCloseTo(1.0, 3);
    expect(value(convertQuantity({ value: 88.4, unit: 'μmol/L' }, 'mg/dL', mw))).toBeCloseTo(1.0, 3);
    expect(value(convertQuantity({ value: 88.4, unit: 'umol/L' }, 'mg/dL', mw))).toBeCloseTo(1.0, 3);
  });

  it('does not read an eGFR (mL/min/1.73 m²) as a creatinine clearance', () => {
    const r = convertQuantity({ value: 40, system: UCUM, code: 'mL/min/{1.73_m2}' }, 'mL/min');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/body surface/);
    expect(convertQuantity({ value: 40, unit: 'mL/min/1.73m2' }, 'mL/min').ok).toBe(false);
  });
});

describe('convertQuantity — failures', () => {
  it('unit that is not UCUM', () => {
    const r = convertQuantity({ value: 3, unit: 'furlongs per fortnight' }, 'mg/dL');
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('furlongs per fortnight') });
  });

  it('incompatible dimensions', () => {
    const r = convertQuantity({ value: 3, unit: 'kg' }, 'mg/dL');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/cannot convert kg to mg\/dL/);
  });

  it('no value, no unit, no quantity', () => {
    expect(convertQuantity(undefined, 'mg/dL')).toEqual({ ok: false, reason: 'no numeric value' });
    expect(convertQuantity({ unit: 'mg/dL' }, 'mg/dL')).toEqual({ ok: false, reason: 'no numeric value' });
    expect(convertQuantity({ value: 3 }, 'mg/dL')).toEqual({ ok: false, reason: 'value 3 has no unit' });
  });

  it('HbA1c mmol/mol is never turned into % by UCUM (different scales)', () => {
    const r = convertQuantity({ value: 53, unit: 'mmol/mol' }, '%');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/hba1cToPercent/);
  });

  it('uses the UCUM code over a free-text unit, and the unit when the code is not UCUM', () => {
    expect(value(convertQuantity({ value: 1, unit: 'whatever', system: UCUM, code: 'mL/s' }, 'mL/min'))).toBe(60);
    expect(value(convertQuantity({ value: 1, unit: 'mL/s', system: 'http://example.org/units', code: 'X1' }, 'mL/min'))).toBe(60);
  });
});

describe('hba1cToPercent', () => {
  it('% passes through unchanged (7.0 stays 7.0, so "> 7.0" stays false)', () => {
    expect(hba1cToPercent({ value: 7.0, unit: '%', system: UCUM, code: '%' })).toEqual({ ok: true, value: 7.0, unit: '%' });
    expect(hba1cToPercent({ value: 7.4, unit: '% of total Hgb' })).toEqual({ ok: true, value: 7.4, unit: '%' });
  });

  it('IFCC mmol/mol → NGSP % by the master equation, one decimal', () => {
    const r = hba1cToPercent({ value: 53, unit: 'mmol/mol' });
    expect(r).toMatchObject({ ok: true, value: 7.0, unit: '%' });
    expect(r.ok && r.note).toMatch(/IFCC-NGSP master equation/);
    expect(hba1cToPercent({ value: 58, system: UCUM, code: 'mmol/mol' })).toMatchObject({ ok: true, value: 7.5 });
    expect(hba1cToPercent({ value: 48, unit: 'mmol/mol' })).toMatchObject({ ok: true, value: 6.5 });
  });

  it('other units are not converted', () => {
    expect(hba1cToPercent({ value: 7, unit: 'mg/dL' })).toEqual({ ok: false, reason: expect.stringContaining('mg/dL') });
    expect(hba1cToPercent(undefined)).toEqual({ ok: false, reason: 'no numeric value' });
  });
});

describe('normaliseUnit', () => {
  it('maps common EHR spellings to UCUM', () => {
    expect(normaliseUnit(' mg/dl ')).toBe('mg/dL');
    expect(normaliseUnit('ML/MIN')).toBe('mL/min');
    expect(normaliseUnit('µmol/L')).toBe('umol/L');
    expect(normaliseUnit('%')).toBe('%');
    expect(normaliseUnit('mmol/mol')).toBe('mmol/mol');
  });
});
