// Issue 12 card wording: the open-items checklist, summaries composed from whole phrases, the date a time-based
// criterion will be met, the payer's financial-responsibility note, and no re-prompt of an answered question.
import { describe, expect, it } from 'vitest';
import type { CriterionResult } from '../src/policy/types.js';
import { buildHookResponse } from './build.js';
import { composeSummary, gapPhrases, metFromDate, nameList, openChecklist, relevantOpenLeaves, SUMMARY_MAX } from './text.js';
import { csiiTree, determination, group, leaf, options, policy } from '../test/support/card-fixtures.js';

const attestedNo = (id: string, text: string): CriterionResult => ({
  ...leaf(id, 'not-met', text, { citation: 'NCD 280.14 B.1.e' }),
  finding: { kind: 'attestation', code: 'no', values: { linkId: id, questionnaire: 'q' } },
});

describe('openChecklist: the open items only', () => {
  it('lists what is open, counts what is met, and never ticks a met or not-applicable check', () => {
    const root = group('root', 'allOf', 'All', [
      leaf('a', 'met', 'Diagnosis on record'),
      { ...leaf('n-a', 'met', 'Seen within 3 months (continued coverage)'), finding: { kind: 'engine', code: 'not-applicable' } },
      leaf('b', 'not-documented', 'Fasting C-peptide', { reason: 'no fasting C-peptide on record' }),
      leaf('c', 'not-met', 'HbA1c above 7%', { reason: 'highest HbA1c 6.8%' }),
    ]);
    const { list, met, notApplicable, open } = openChecklist(root);
    expect(list).toBe(['- ? Fasting C-peptide — no fasting C-peptide on record _(LCD L33794 IV)_', '- ✗ HbA1c above 7% — highest HbA1c 6.8% _(LCD L33794 IV)_'].join('\n'));
    // The continued-coverage visit did not apply to this order: not counted as met.
    expect([met, notApplicable, open]).toEqual([1, 1, 2]);
    expect(list).not.toContain('✓');
  });

  it('shows a failed alternative as one line with what decided it, not the documentation below it', () => {
    const root = group('root', 'allOf', 'All', [
      group('path', 'anyOf', 'MDI pathway, or on a pump before Medicare', [
        group('mdi', 'allOf', 'MDI pathway', [leaf('edu', 'not-documented', 'Diabetes education', { reason: 'no education on record' }), leaf('inj', 'met', 'Injections')]),
        group('before', 'allOf', 'On a pump before Medicare', [attestedNo('pump-before', 'Attested: on a pump before Medicare'), leaf('log', 'not-documented', 'Testing log before enrollment')]),
      ]),
    ]);
    const { list } = openChecklist(root);
    // The MDI group has one open part: that part is the line. The failed alternative is closed: its log is moot.
    expect(list).toContain('  - ? Diabetes education — no education on record');
    expect(list).toContain('  - ✗ On a pump before Medicare — answered “no” in the documentation questionnaire');
    expect(list).not.toContain('Testing log');
    expect(relevantOpenLeaves(root, 'not-documented').map((c) => c.id)).toEqual(['edu']);
  });
});

describe('summaries from whole phrases', () => {
  it('takes the longest phrase that fits, then a shorter whole one — never a cut', () => {
    const long = 'fasting C-peptide 187.5% of the lower limit (> 110%); creatinine clearance 92 mL/min > 50, so the 200% limit does not apply';
    const c = leaf('cp', 'not-met', 'Fasting C-peptide ≤ 110%', { reason: long });
    const phrases = gapPhrases(c, '2026-04-01');
    expect(phrases[0]).toBe(long);
    expect(phrases[1]).toBe('fasting C-peptide 187.5% of the lower limit (> 110%)');
    const s = composeSummary('Insulin pump E0784: ', phrases, '(+1 more gap)');
    expect(s).toBe('Insulin pump E0784: fasting C-peptide 187.5% of the lower limit (> 110%) (+1 more gap)');
    expect(s.length).toBeLessThanOrEqual(SUMMARY_MAX);
    expect(s).not.toContain('…');
  });

  it('names an answered attestation by its criterion, never by its linkId', () => {
    const c = { ...attestedNo('practitioner-csii-team', 'Practitioner works with a CSII team'), label: 'CSII team attestation' };
    expect(gapPhrases(c, '2026-04-01')[0]).toBe('CSII team attestation: answered “no”');
  });

  it('lists names with "and", counting the rest', () => {
    expect(nameList(['a', 'b', 'c'])).toBe('a, b and c');
    expect(nameList(['a', 'b', 'c', 'd'], 2)).toBe('a, b and 2 more');
    expect(nameList(['a'])).toBe('a');
  });
});

describe('metFromDate: when a time-based criterion will be met', () => {
  const tooShort = (values: Record<string, string | number>) =>
    ({ ...leaf('mdi', 'not-met', 'MDI ≥ 6 months'), finding: { kind: 'medication', code: 'too-short', values } }) as CriterionResult;
  it('adds the months the criterion asks for to the start of the treatment', () => {
    expect(metFromDate(tooShort({ since: '2025-12-15', needSince: '2025-10-01', minMonths: 6 }), '2026-04-01')).toBe('2026-06-15');
    // One day short of 6 months: met tomorrow.
    expect(metFromDate(tooShort({ since: '2025-10-02', needSince: '2025-10-01', minMonths: 6 }), '2026-04-01')).toBe('2026-04-02');
  });
  it('without the months, counts the span back from the order date', () => {
    expect(metFromDate(tooShort({ since: '2025-12-15', needSince: '2025-10-01' }), '2026-04-01')).toBe('2026-06-15');
  });
  it('says nothing for other findings or unreadable dates', () => {
    expect(metFromDate(leaf('x', 'not-met', 'x'), '2026-04-01')).toBeUndefined();
    expect(metFromDate(tooShort({ since: 'soon', needSince: '2025-10-01', minMonths: 6 }), '2026-04-01')).toBeUndefined();
  });
  it('is named in a summary phrase counted from the evaluation day given, not from the clock', () => {
    // Evaluated as of 2020-01-15, years before any clock this runs on: 6 months back is 2019-07-15. Counted from a
    // month later the same finding would give 2020-05-01, and from the clock no date at all (it would be past).
    const c = { ...tooShort({ since: '2019-10-01', needSince: '2019-07-15' }), reason: 'on MDI since 2019-10-01: less than 6 months' };
    expect(gapPhrases(c, '2020-01-15')[0]).toBe('on MDI since 2019-10-01: less than 6 months: met from 2020-04-01');
    expect(gapPhrases(c, '2020-02-15')[0]).toBe('on MDI since 2019-10-01: less than 6 months: met from 2020-05-01');
    expect(gapPhrases(c, undefined)[0]).toBe('on MDI since 2019-10-01: less than 6 months');
  });
});

describe('decisive card detail', () => {
  const build = (root: CriterionResult, extra: Parameters<typeof options>[0] = {}, det: Partial<Parameters<typeof determination>[1]> = {}) =>
    buildHookResponse([determination(root, det)], options(extra)).response.cards[0]!;

  it("puts the payer's financial-responsibility note on a not-covered card only", () => {
    const notice = 'If the patient still wants it, the supplier gives an ABN before delivery.';
    const withNotice = { policy: { ...policy, liabilityNotice: notice } };
    expect(build(csiiTree({ cpeptide: 'not-met', antibody: 'not-met' }), {}, withNotice).detail).toContain(notice);
    expect(build(csiiTree({ cpeptide: 'not-documented' }), {}, withNotice).detail).not.toContain(notice);
  });

  it('says from when a too-short treatment will be met', () => {
    const root = group('root', 'allOf', 'All', [
      { ...leaf('mdi', 'not-met', 'MDI for at least 6 months', { reason: 'on MDI since 2025-12-15: less than 6 months' }), label: 'MDI ≥ 6 months', finding: { kind: 'medication', code: 'too-short', values: { since: '2025-12-15', needSince: '2025-10-01', minMonths: 6 } } },
    ]);
    expect(build(root).detail).toContain('MDI ≥ 6 months will be met from 2026-06-15.');
  });

  it('dates "met from" in the summary and the detail alike, from the day the determination was evaluated as of', () => {
    // Evaluated as of the order date 2020-01-15 (years before any clock this runs on), answered on a later request day
    // (a replay): one date in both places, counted from the evaluation day — not from the clock, not from the request.
    const root = group('root', 'allOf', 'All', [
      { ...leaf('mdi', 'not-met', 'MDI for at least 6 months', { reason: 'on MDI since 2019-10-01: less than 6 months' }), label: 'MDI ≥ 6 months', finding: { kind: 'medication', code: 'too-short', values: { since: '2019-10-01', needSince: '2019-07-15' } } },
    ]);
    const card = build(root, { today: '2020-02-15' }, { asOf: '2020-01-15' });
    expect(card.summary).toContain('less than 6 months: met from 2020-04-01');
    expect(card.detail).toContain('MDI ≥ 6 months will be met from 2020-04-01.');
  });

  it('never offers the form next to a question answered "no"; offers it where an answer is missing', () => {
    const root = group('root', 'allOf', 'All', [
      attestedNo('team', 'Practitioner works with a CSII team'),
      leaf('edu', 'not-documented', 'Diabetes education', { reason: 'no education on record', remedies: [{ type: 'questionnaire', linkId: 'education' }] }),
    ]);
    // Not covered (the "no" decides): nothing undocumented can change that, so the form is offered nowhere.
    const notCovered = build(root).detail!;
    expect(notCovered.split('\n').find((l) => l.includes('CSII team'))).toContain('answered “no”');
    expect(notCovered).not.toMatch(/documentation form|\]\(/);
    expect(notCovered).toContain('1 other requirement is not documented.');
    // Conditional (the "no" was one of two ways): the open way is offered on the form, the answered one is not.
    const alternatives = group('root', 'allOf', 'All', [
      group('either', 'anyOf', 'Team or education', [
        attestedNo('team', 'Practitioner works with a CSII team'),
        leaf('edu', 'not-documented', 'Diabetes education', { reason: 'no education on record', remedies: [{ type: 'questionnaire', linkId: 'education' }] }),
      ]),
    ]);
    const lines = build(alternatives).detail!.split('\n');
    const no = lines.find((l) => l.includes('CSII team'))!;
    expect(no).toContain('answered “no”');
    expect(no).not.toMatch(/documentation form|\]\(/);
    expect(lines.find((l) => l.includes('Diabetes education'))).toContain('can be answered in the documentation form');
  });

  it('counts a check that did not apply apart from what is met', () => {
    const root = group('root', 'allOf', 'All', [
      leaf('dx', 'met', 'Diagnosis on record'),
      { ...leaf('visit', 'met', 'Seen within 3 months'), finding: { kind: 'engine', code: 'not-applicable' } },
      leaf('cp', 'not-met', 'Fasting C-peptide', { reason: 'fasting C-peptide 188% of the lower limit' }),
    ]);
    expect(build(root).detail).toContain('1 other requirement met; 1 check does not apply to this order.');
  });

  it('keeps the policy links in the detail when there is no reference card', () => {
    const tree = csiiTree({ cpeptide: 'not-met', antibody: 'not-met' });
    expect(build(tree).detail).not.toContain('Policy: [');
    expect(build(tree, { configuration: { coverageInfo: true, guideline: false, maxCards: 10 } }).detail).toContain('Policy: [NCD 280.14 Infusion Pumps]');
  });
});
