import { describe, expect, it } from 'vitest';
import { encounter, order, runKind } from '../../../test/support/fact-fixtures.js';

describe('encounter kind', () => {
  const p = { window: { lookback: { days: 91 } } };
  it('the newest finished visit decides: within the window met, older not met, none empty', () => {
    expect(runKind('encounter', p, [encounter('2026-08-25')]).status).toBe('met');
    expect(runKind('encounter', p, [encounter('2026-08-20')])).toMatchObject({ status: 'not-met', finding: { code: 'too-old', values: { daysBefore: 96 } } });
    expect(runKind('encounter', p, [encounter('2026-10-01', { status: 'planned' })]).empty).toBe(true);
  });

  it('performerIsOrderer: a participant must be the requester', () => {
    const o = order({ requester: 'Practitioner/dr1' });
    const seen = encounter('2026-10-01', { participant: [{ individual: { reference: 'Practitioner/dr1' } }] });
    expect(runKind('encounter', { ...p, performerIsOrderer: true }, [encounter('2026-10-01')], { order: o }).empty).toBe(true);
    expect(runKind('encounter', { ...p, performerIsOrderer: true }, [seen], { order: o }).status).toBe('met');
  });

  it('performerAlso: other participants (e.g. the CSII team) count too', () => {
    const o = order({ requester: 'Practitioner/dr1' });
    const nurse = encounter('2026-10-01', { participant: [{ individual: { reference: 'PractitionerRole/cde-1' } }] });
    expect(runKind('encounter', { ...p, performerIsOrderer: true }, [nurse], { order: o }).empty).toBe(true);
    expect(runKind('encounter', { ...p, performerIsOrderer: true, performerAlso: 'PractitionerRole/rd-2, PractitionerRole/cde-1' }, [nurse], { order: o }).status).toBe('met');
  });

  it('a lookback in calendar months and days: 3 months before 2026-11-24 is 2026-08-24 (inclusive)', () => {
    const months = { window: { lookback: { months: 3, days: 0 } } };
    expect(runKind('encounter', months, [encounter('2026-08-24')]).status).toBe('met');
    expect(runKind('encounter', months, [encounter('2026-08-23')])).toMatchObject({ status: 'not-met', finding: { values: { earliest: '2026-08-24' } } });
  });
});
