import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checklist, criterionShortName, escapeMarkdown, fitSummary, gapName, gapPhrase, md, mdLink, orderName, orderShort, topLevelRequirements, truncateText } from './text.js';
import { csiiTree, leaf, pumpOrder, pumpResource } from '../test/support/card-fixtures.js';

describe('truncateText', () => {
  it('leaves short text alone and collapses whitespace', () => {
    expect(truncateText('Insulin pump E0784:\n  all   criteria met')).toBe('Insulin pump E0784: all criteria met');
  });

  it('cuts on a word boundary and appends an ellipsis', () => {
    const text = 'Insulin pump E0784: ' + 'documentation '.repeat(20);
    const out = truncateText(text, 139);
    expect(out.length).toBeLessThanOrEqual(139);
    expect(out.endsWith('…')).toBe(true);
    expect(out).toMatch(/documentation…$/);
    expect(out).not.toMatch(/\s…$/);
  });

  it('cuts a single very long word and never splits a surrogate pair', () => {
    const out = truncateText('x'.repeat(137) + '😀😀😀', 139);
    expect(out.length).toBeLessThanOrEqual(139);
    expect(out).toBe('x'.repeat(137) + '…');
    const emoji = truncateText('😀'.repeat(100), 139);
    expect(emoji.length).toBeLessThanOrEqual(139);
    expect(emoji.slice(0, -1)).toBe('😀'.repeat(69));
  });

  it('keeps text of exactly the limit', () => {
    expect(truncateText('a'.repeat(139))).toBe('a'.repeat(139));
    expect(truncateText('a'.repeat(140))).toHaveLength(139);
  });

  it('drops trailing punctuation before the ellipsis', () => {
    expect(truncateText('alpha beta, gamma delta', 13)).toBe('alpha beta…');
  });
});

describe('fitSummary', () => {
  it('keeps the suffix whole when the body is cut', () => {
    const out = fitSummary('Insulin pump E0784: ' + 'very long reason '.repeat(20), '(+2 more gaps)');
    expect(out.length).toBeLessThanOrEqual(139);
    expect(out.endsWith('… (+2 more gaps)')).toBe(true);
  });
  it('joins body and suffix with a space', () => {
    expect(fitSummary('A', '(+1 more gap)')).toBe('A (+1 more gap)');
    expect(fitSummary('A')).toBe('A');
  });
});

describe('markdown helpers', () => {
  it('escapes only what markdown would interpret in policy text (a plain-text reader sees no backslashes)', () => {
    expect(md('a*b_c [x](y) <b> |')).toBe('a\\*b_c [x\\](y) \\<b> |');
    expect(md('_x_ `y`')).toBe('\\_x\\_ \\`y\\`');
    // Units, comparisons and ratios a clinician reads every day stay as they are.
    expect(md('0.4 [IU]/mL; eGFR > 50; HbA1c < 7.0%; snake_case')).toBe('0.4 [IU]/mL; eGFR > 50; HbA1c < 7.0%; snake_case');
    expect(md('> 200 mg/dL')).toBe('\\> 200 mg/dL');
  });
  it('returns text with nothing to escape unchanged, and anything else exactly as the full escaping would', () => {
    const alphabet = fc.constantFrom(...'ab _*`\\[]()<>~#!/?1\t\n\u00a0\u2028\u3000\ufeffé'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }), (chars) => {
        const t = chars.join('');
        expect(md(t)).toBe(escapeMarkdown(t));
      }),
      { seed: 20261206, numRuns: 2000 },
    );
  });
  it('builds links whose URL cannot break out', () => {
    expect(mdLink('NCD 280.14', 'https://x.org/a b')).toBe('[NCD 280.14](<https://x.org/a%20b>)');
  });
});

describe('order and criterion names', () => {
  it('names the order in human terms (dev-24)', () => {
    expect(orderName(pumpOrder())).toBe('E0784 External ambulatory infusion pump, insulin');
    expect(orderShort(pumpOrder())).toBe('Insulin pump E0784');
    expect(orderShort(pumpOrder(pumpResource('dr-9', 'E0782', 'Infusion pump, implantable, non-programmable'), { pumpKind: 'implantable', label: 'E0782 Infusion pump, implantable' }))).toBe(
      'Implantable infusion pump E0782',
    );
    expect(orderShort({ ...pumpOrder(), role: 'supply', hcpcs: 'A4224', label: 'A4224 Supplies for maintenance of insulin infusion catheter' })).toBe(
      'Insulin pump supplies A4224',
    );
  });

  it('shortens criterion text for summaries', () => {
    const tree = csiiTree();
    const cp = tree.children![2]!.children![0]!;
    expect(criterionShortName(cp)).toBe('fasting C-peptide');
    expect(criterionShortName(leaf('x', 'met', 'HbA1c > 7.0%'))).toBe('HbA1c');
    // An attestation leaf is named by what was attested, never "attested".
    expect(criterionShortName(leaf('x', 'not-met', 'Attested: on an external insulin pump before Medicare enrollment'), 60)).toBe(
      'on an external insulin pump before Medicare enrollment',
    );
    expect(criterionShortName(leaf('x', 'met', 'Diabetes education completed'))).toBe('diabetes education completed');
  });

  it('names a gap with its reason, else text and value', () => {
    expect(gapPhrase(leaf('x', 'not-met', 'Fasting C-peptide ≤ 110%', { reason: 'Fasting C-peptide 188% of lower limit.' }))).toBe('Fasting C-peptide 188% of lower limit');
    expect(gapPhrase(leaf('x', 'not-met', 'Glucose self-testing ≥ 4/day', { evidence: [{ value: '2.1 tests/day' }] }))).toBe('glucose self-testing 2.1 tests/day — not met');
    expect(gapPhrase(leaf('x', 'not-documented', 'Diabetes education completed'))).toBe('diabetes education completed not documented');
  });
});

describe('checklist', () => {
  it('renders one line per criterion, nested, with marks, evidence, dates and citations', () => {
    const text = checklist(csiiTree({ cpeptide: 'not-met', antibody: 'not-met', smbg: 'not-documented' }));
    const lines = text.split('\n');
    expect(lines).toHaveLength(14);
    expect(lines[0]).toBe('- ✗ Medicare CSII criteria for an external insulin pump _(LCD L33794 IV)_');
    expect(lines[1]).toBe('  - ✓ Insulin pump ordered as E0784 — E0784 _(LCD L33794 IV; A52507)_');
    expect(lines[4]).toBe(
      "    - ✗ Fasting C-peptide ≤ 110% of the lab's lower limit, with fasting glucose ≤ 225 mg/dL the same day — 1.5 ng/mL (ratio 188%) on 2026-01-15; needs ≤ 110% of lower limit 0.8 ng/mL — Fasting C-peptide 188% of lower limit — insulinopenia not shown _(LCD L33794 IV.A)_",
    );
    expect(lines.find((l) => l.includes('self-testing'))).toBe(
      '      - ? Glucose self-testing ≥ 4 times/day over the 2 months before the order (or CGM) — No glucose log or CGM use in the record _(NCD 280.14 B.1.e(1)(c))_',
    );
    expect(lines.find((l) => l.includes('before Medicare enrollment'))).toMatch(/^ {4}- \? On an insulin pump/);
  });
});

describe('gapName: what a summary names for an open requirement', () => {
  const node = (id: string, op: 'allOf' | 'anyOf', status: 'met' | 'not-met' | 'not-documented', children: ReturnType<typeof leaf>[], label?: string) => ({
    id,
    text: `${id} text`,
    citation: 'X',
    op,
    status,
    evidence: [],
    children,
    ...(label ? { label } : {}),
  });

  it('prefers the label over the text', () => {
    expect(criterionShortName({ ...leaf('c-peptide', 'not-documented', 'c-peptide text'), label: 'fasting C-peptide' })).toBe('fasting C-peptide');
  });

  it('descends into the only open part of an allOf', () => {
    const mdi = node('mdi', 'allOf', 'not-documented', [leaf('a', 'met', 'a text'), { ...leaf('education', 'not-documented', 'education text'), label: 'diabetes education' }], 'MDI pathway');
    expect(gapName(mdi)).toBe('diabetes education');
  });

  it('names the group when several parts of an allOf are open', () => {
    const mdi = node('mdi', 'allOf', 'not-documented', [leaf('a', 'not-documented', 'a text'), leaf('b', 'not-documented', 'b text')], 'MDI pathway');
    expect(gapName(mdi)).toBe('MDI pathway');
  });

  it('follows the alternative that is furthest along, else the first listed', () => {
    const mdi = node('mdi', 'allOf', 'not-documented', [leaf('m1', 'met', 'm1 text'), leaf('m2', 'met', 'm2 text'), { ...leaf('edu', 'not-documented', 'edu text'), label: 'education' }], 'MDI pathway');
    const prior = node('prior', 'allOf', 'not-documented', [{ ...leaf('p1', 'not-documented', 'p1 text'), label: 'prior pump' }], 'pump before Medicare');
    expect(gapName(node('path', 'anyOf', 'not-documented', [prior, mdi]))).toBe('education');
    const emptyMdi = node('mdi', 'allOf', 'not-documented', [leaf('m1', 'not-documented', 'm1 text'), leaf('m2', 'not-documented', 'm2 text')], 'MDI pathway');
    expect(gapName(node('path', 'anyOf', 'not-documented', [emptyMdi, prior]))).toBe('MDI pathway');
  });

  it('topLevelRequirements lists the root allOf children with a status', () => {
    const root = node('root', 'allOf', 'not-documented', [leaf('a', 'met', 'a text'), leaf('b', 'not-documented', 'b text'), leaf('c', 'not-met', 'c text')]);
    expect(topLevelRequirements(root, 'not-documented').map((c) => c.id)).toEqual(['b']);
    expect(topLevelRequirements(undefined, 'not-met')).toEqual([]);
  });
});

describe('checklist collapses what is already satisfied', () => {
  it('shows a met group as one line and expands open groups down to their leaves', () => {
    const met = { id: 'g1', text: 'Group one', citation: 'C1', op: 'allOf' as const, status: 'met' as const, evidence: [], children: [leaf('a', 'met', 'Leaf A')] };
    const open = { id: 'g2', text: 'Group two', citation: 'C2', op: 'allOf' as const, status: 'not-documented' as const, evidence: [], children: [leaf('b', 'met', 'Leaf B'), leaf('c', 'not-documented', 'Leaf C')] };
    const root = { id: 'r', text: 'Root', citation: 'R', op: 'allOf' as const, status: 'not-documented' as const, evidence: [], children: [met, open] };
    const text = checklist(root);
    expect(text).toContain('Group one');
    expect(text).not.toContain('Leaf A');
    expect(text).toContain('Leaf B');
    expect(text).toContain('Leaf C');
    expect(checklist(root, { expandMet: true })).toContain('Leaf A');
  });
});
