import { describe, expect, it } from 'vitest';
import { HCPCS, SNOMED, companion, coverage, device, deviceUse, order, runKind } from '../../../test/support/fact-fixtures.js';

describe('device kind', () => {
  const pump = () => device(SNOMED, '69805005');
  it('on record, in use, ordered with the order', () => {
    expect(runKind('device', { valueSet: 'cgm-devices' }, [device(HCPCS, 'E2103')]).status).toBe('met');
    expect(runKind('device', { valueSet: 'insulin-pump-devices', state: 'in-use' }, [{ ...pump(), status: 'inactive' }]).status).toBe('not-met');
    const o = order({ companions: [companion('supply', 'A4239')] });
    expect(runKind('device', { valueSet: 'cgm-devices', orderedWith: true }, [], { order: o }).status).toBe('met');
    expect(runKind('device', { valueSet: 'cgm-devices', orderedWith: false }, [], { order: o }).empty).toBe(true);
  });

  it('dated: a start in the window relative to a named anchor; an undated device does not count', () => {
    const dev = pump();
    const p = { valueSet: 'insulin-pump-devices', state: 'dated', window: { anchor: 'medicare-enrollment', excludeAnchorDay: true } };
    expect(runKind('device', p, [coverage('2020-03-01'), dev, deviceUse(dev, '2018-05-01')]).status).toBe('met');
    expect(runKind('device', p, [coverage('2020-03-01'), dev, deviceUse(dev, '2021-05-01')])).toMatchObject({ empty: true, finding: { code: 'undated' } });
    expect(runKind('device', p, [dev, deviceUse(dev, '2018-05-01')])).toMatchObject({ status: 'not-documented', finding: { code: 'anchor-missing' } });
  });

  it('overlaps: a use period overlapping the window (ongoing while current); a Device or an order is no dated use', () => {
    const cgm = device(HCPCS, 'E2103');
    const p = { valueSet: 'cgm-devices', state: 'overlaps', window: { lookback: { months: 2 }, excludeAnchorDay: true } };
    // Order date 2026-11-24: window 2026-09-24 .. 2026-11-23.
    expect(runKind('device', p, [cgm, deviceUse(cgm, '2025-01-01')]).status).toBe('met');
    const ended = (end: string) => ({ ...deviceUse(cgm, '2025-01-01', 'completed'), timingPeriod: { start: '2025-01-01', end } });
    expect(runKind('device', p, [cgm, ended('2026-09-24')]).status).toBe('met');
    expect(runKind('device', p, [cgm, ended('2026-09-23')]).status).toBe('not-documented');
    expect(runKind('device', p, [cgm]).status).toBe('not-documented');
    const o = order({ companions: [companion('supply', 'A4239')] });
    expect(runKind('device', p, [], { order: o }).status).toBe('not-documented');
  });
});

describe('device kind: expect none (a contraindicating device)', () => {
  it('a device in use contradicts; none, or only an inactive one, is empty', () => {
    const pacer = device(SNOMED, '14106009');
    const p = { valueSet: 'implanted-programmable-devices', state: 'in-use', expect: 'none' };
    expect(runKind('device', p, [pacer])).toMatchObject({ status: 'not-met', finding: { code: 'present' } });
    expect(runKind('device', p, [{ ...pacer, status: 'inactive' }]).empty).toBe(true);
    expect(runKind('device', p, []).empty).toBe(true);
  });
});
