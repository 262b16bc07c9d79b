import { describe, expect, it } from 'vitest';
import { csiiFacts } from './csii.js';
import { HCPCS, SNOMED, companion, coverage, ctxFor, device, deviceUse, obs, order, pumpInsertion, smbgReadings, formerFacts } from '../../../test/support/fact-fixtures.js';

const f = { ...csiiFacts, ...formerFacts };
// Order date 2026-11-24: the 2-month window is 2026-09-24 .. 2026-11-23 = 61 days.
const WINDOW: [string, string] = ['2026-09-24', '2026-11-24'];
const orderParams = { anchor: 'asOf', windowMonths: '%smbgWindowMonths' };

describe('glucoseSelfTesting (2 months before the order)', () => {
  const run = (resources: Parameters<typeof ctxFor>[0], parameters?: Record<string, number | string | boolean>) =>
    f.glucoseSelfTesting!(ctxFor(resources, parameters ? { parameters } : {}), orderParams);

  it('exactly 4.0/day (244 readings over 61 days) meets', () => {
    const r = run(smbgReadings(244, ...WINDOW));
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.value).toBe('244 readings over 61 days = 4/day');
  });

  it('3.99/day (243 readings) and 3.9/day (238) do not', () => {
    expect(run(smbgReadings(243, ...WINDOW)).status).toBe('not-met');
    const r = run(smbgReadings(238, ...WINDOW));
    expect(r.status).toBe('not-met');
    expect(r.reason).toContain('3.9/day');
  });

  it('counts only readings inside the window and each time stamp once', () => {
    const inWindow = smbgReadings(240, ...WINDOW);
    const outside = smbgReadings(100, '2026-07-01', '2026-09-23');
    const onOrderDay = smbgReadings(10, '2026-11-24', '2026-11-25');
    const duplicate = inWindow.slice(0, 10).map((o) => ({ ...o, id: `${o.id}-dup` }));
    expect(run([...inWindow, ...outside, ...onOrderDay, ...duplicate]).status).toBe('not-met');
    expect(run([...inWindow, ...smbgReadings(4, '2026-10-01', '2026-10-02', '2340-8')]).status).toBe('met');
  });

  it('molar capillary glucose readings count too', () => {
    expect(run(smbgReadings(250, WINDOW[0], WINDOW[1], '14743-9')).status).toBe('met');
  });

  it('no readings ⇒ not documented', () => {
    expect(run([]).status).toBe('not-documented');
  });

  it('smbgMinDaysWithReadings turns a handful of clinic readings into "not documented"', () => {
    const few = smbgReadings(3, '2026-10-01', '2026-10-02');
    // Default 50 days (issue 15 D6): readings on one day are not a log, so the attestation decides.
    expect(run(few).status).toBe('not-documented');
    expect(run(few, { smbgMinDaysWithReadings: 0 }).status).toBe('not-met');
  });
});

describe('glucoseSelfTesting (month before Medicare enrollment)', () => {
  const params = { anchor: 'medicare-enrollment', windowMonths: '%smbgEnrollmentWindowMonths' };

  it('uses the Coverage period start: February 2020 has 29 days, 116 readings = 4.0/day', () => {
    const ctx = ctxFor([coverage('2020-03-01'), ...smbgReadings(116, '2020-02-01', '2020-03-01')]);
    const r = f.glucoseSelfTesting!(ctx, params);
    expect(r.status).toBe('met');
    expect(r.evidence[0]!.value).toBe('116 readings over 29 days = 4/day');
    expect(r.evidence[1]).toMatchObject({ reference: 'Coverage/cov1', value: 'coverage start 2020-03-01' });
    expect(f.glucoseSelfTesting!(ctxFor([coverage('2020-03-01'), ...smbgReadings(115, '2020-02-01', '2020-03-01')]), params).status).toBe('not-met');
  });

  it('enrollment is the earliest Medicare (Part B) coverage start, not the Coverage the order names (issue 15 D8)', () => {
    const ctx = ctxFor([coverage('2010-01-01', 'old'), coverage('2020-03-01', 'cov1'), ...smbgReadings(116, '2020-02-01', '2020-03-01')], {
      order: order({ insurance: ['Coverage/cov1'] }),
    });
    // The readings are in February 2020; enrollment is 2010-01-01, so the month before it has none.
    expect(f.glucoseSelfTesting!(ctx, params).status).toBe('not-documented');
  });

  it('no Coverage start ⇒ not documented', () => {
    expect(f.glucoseSelfTesting!(ctxFor(smbgReadings(116, '2020-02-01', '2020-03-01')), params).status).toBe('not-documented');
  });
});

describe('cgmUse', () => {
  const run = (resources: Parameters<typeof ctxFor>[0], o = order(), params: Record<string, unknown> = { anchor: 'asOf' }) =>
    f.cgmUse!(ctxFor(resources, { order: o }), params);

  it('a CGM Device alone (undated) does not show use in the window; a use statement overlapping it does (issue 15 D7)', () => {
    expect(run([device(HCPCS, 'E2103')])).toMatchObject({ status: 'not-documented', finding: { kind: 'device', code: 'undated' } });
    const dev = device(HCPCS, 'E2103');
    const r = run([dev, deviceUse(dev, '2026-01-15')]);
    expect(r.status).toBe('met');
    expect(r.finding).toMatchObject({ kind: 'device', code: 'found' });
  });

  it('a DeviceUseStatement pointing at a CGM Device counts', () => {
    const dev = device(HCPCS, 'K0554', { status: 'inactive' });
    expect(run([dev, deviceUse(dev, '2025-01-01')]).status).toBe('met');
  });

  it('a CGM ordered with the pump is never past testing', () => {
    const o = order({ companions: [companion('supply', 'E2102')] });
    expect(run([], o).status).toBe('not-documented');
  });

  it('an insulin pump is not a CGM; none ⇒ not documented', () => {
    expect(run([device(SNOMED, '69805005')]).status).toBe('not-documented');
    expect(run([]).status).toBe('not-documented');
  });

  it('before enrollment: only CGM use dated on or before the Coverage start counts', () => {
    const dev = device(HCPCS, 'E2102');
    const params = { anchor: 'medicare-enrollment' };
    expect(run([coverage('2020-03-01'), dev, deviceUse(dev, '2019-06-01')], order(), params).status).toBe('met');
    expect(run([coverage('2020-03-01'), dev, deviceUse(dev, '2021-06-01')], order(), params).status).toBe('not-documented');
    expect(run([coverage('2020-03-01'), dev], order(), params).status).toBe('not-documented');
  });

  it('SMBG and CGM tests are not confused: glucose readings are not CGM', () => {
    expect(run([obs('41653-7', 120, 'mg/dL', '2026-11-01')]).status).toBe('not-documented');
  });
});

describe('glucoseSelfTesting (2 months before pump initiation, continued coverage)', () => {
  const params = { anchor: 'pump-initiation', windowMonths: '%smbgWindowMonths' };
  const refill = order({ role: 'supply', hcpcs: 'A4224' });
  const pump = device(SNOMED, '69805005');
  // Pump since 2025-01-15 ⇒ window 2024-11-15 .. 2025-01-14 = 61 days; recent readings (on the pump) do not count.
  const before = smbgReadings(244, '2024-11-15', '2025-01-15');
  const recent = smbgReadings(300, ...WINDOW);

  it('reads the window before the pump start, and says so', () => {
    const r = f.glucoseSelfTesting!(ctxFor([pump, pumpInsertion('2025-01-15'), ...before, ...recent], { order: refill }), params);
    expect(r.status).toBe('met');
    expect(r.evidence[0]).toMatchObject({ date: '2024-11-15/2025-01-14', value: '244 readings over 61 days = 4/day' });
    expect(r.finding?.window).toMatchObject({ anchor: 'pump-initiation', to: '2025-01-14' });
    expect(r.evidence.some((e) => e.note?.includes('as of pump initiation 2025-01-15'))).toBe(true);
    expect(r.evidence[1]!.note).toContain('as of pump initiation 2025-01-15');
  });

  it('readings only after the pump started ⇒ not documented', () => {
    const r = f.glucoseSelfTesting!(ctxFor([pump, pumpInsertion('2025-01-15'), ...recent], { order: refill }), params);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('between 2024-11-15 and 2025-01-14');
  });

  it('no pump start date ⇒ not documented; anchor asOf keeps the order date', () => {
    const r = f.glucoseSelfTesting!(ctxFor([pump, ...recent], { order: refill }), params);
    expect(r.status).toBe('not-documented');
    expect(r.reason).toContain('pump initiation date not documented');
    expect(f.glucoseSelfTesting!(ctxFor([pump, ...recent], { order: refill }), orderParams).status).toBe('met');
  });
});
