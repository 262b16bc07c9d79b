// docs/rules/*.md name criterion ids so that cards, the policy report and tests can be traced back to the rule sheets
// (docs/rules/README.md, "Criterion id"). Several ids were renamed while the policies were encoded and the sheets kept
// the old names; this test keeps them in step: every criterion id a sheet names is the id of a node some policy uses
// (criteria or definitions, fragments included), or that place in the sheet says the rule is "not encoded".
//
// What counts as a named criterion id:
// - every `id` in a table column whose header starts with "Criterion" (the rule tables, csii's decision table);
// - any other `id` in a sheet that carries an area prefix (ext-, ind1-, v-, vA-, excl-, edit-, impl-, uhc-, nw-, csii-)
//   and is not another kind of name: a value set, a questionnaire or one of its linkIds, a policy, a fragment, or an
//   attestation item the sheets themselves propose (`attest:<linkId>`, the "Attestation items" / "Questionnaire items"
//   sections).
// An id is marked when the words "not encoded" follow it in the same table cell or line, e.g.
// "`nw-state-quantity-limits` — not encoded (docs/COVERAGE.md G18)". Each place that names the id needs the mark.
//
// The same holds for the two other kinds of names the sheets give to the policy author (`namedLinkIds`,
// `namedParameters`): an attestation item is a linkId of a shipped questionnaire (policies/questionnaires/), a parameter
// is declared in some policy's `parameters` (fragments included), or the place says "not encoded".
// - linkIds: `attest:<linkId>` (`attest:<prefix>*` needs a linkId starting with the prefix), every backticked name in an
//   "Attestation items" / "Questionnaire items" section, and the names right after "attestation(s)", "attestation
//   item(s)" or "questionnaire item(s)" (a list joined by commas, "and", "or").
// - parameters: every backticked camelCase name, except the few that are fields of the policy format, of FHIR or of the
//   order set (`NOT_PARAMETERS`).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.js';
import { allFacts } from '../src/policy/facts/index.js';
import { loadPolicySet, questionnaireLinkIds, type PolicySet } from '../src/policy/loader.js';
import { policyCriteria } from './support/policy-criteria.js';

const SHEETS_DIR = path.join(projectRoot, 'docs', 'rules');
const AREA_PREFIX = /^(?:ext|ind\d*|v[A-J]?|excl|edit|impl|uhc|nw|csii)-[a-z0-9][a-z0-9-]*$/;
const NOT_ENCODED = /^\s*(?:[—–:(-]\s*)?not encoded\b/i;
const CODE = /`([^`]+)`/g;
const CAMEL_CASE = /^[a-z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*$/;
/** camelCase names the sheets use that are not parameters. */
const NOT_PARAMETERS = new Set([
  // fields of the policy format (docs/POLICY-FORMAT.md)
  'appliesTo',
  'billingNote',
  'notSupplied',
  'notWithValueSets',
  // FHIR elements
  'authoredOn',
  'boundsDuration',
  'durationUnit',
  // order-set field (src/orders)
  'pumpsOnRecord',
]);
const ATTESTATION_ITEMS_SECTION = /attestation items|questionnaire items/i;
const ATTESTATION_LIST = /\b(?:attestations?(?: items?)?|questionnaire items?)\s+((?:`[^`]+`(?:\s*(?:,|\band\b|\bor\b)\s*)?)+)/gi;

interface NamedId {
  id: string;
  /** `sheet.md:line`. */
  where: string;
  /** From a "Criterion" column (else named in prose or another column). */
  column: boolean;
  notEncoded: boolean;
}

/** Table cells of a markdown row, or undefined for a line that is not one. */
function cells(line: string): string[] | undefined {
  const t = line.trim();
  if (!t.startsWith('|') || !t.endsWith('|')) return undefined;
  return t.slice(1, -1).split('|');
}

/** Every backticked token of `text` with whether "not encoded" follows it there. */
function codeSpans(text: string): { token: string; notEncoded: boolean }[] {
  return [...text.matchAll(CODE)].map((m) => ({ token: m[1]!, notEncoded: NOT_ENCODED.test(text.slice(m.index! + m[0].length)) }));
}

/**
 * The criterion ids one sheet names (see the header comment), and the linkIds it proposes as attestation items.
 * `isOtherName` tells value sets, questionnaires, linkIds, policies and fragments apart from criterion ids.
 */
function namedIds(file: string, text: string, isOtherName: (token: string) => boolean): NamedId[] {
  const lines = text.split('\n');
  const proposedItems = new Set<string>();
  let section = '';
  for (const line of lines) {
    if (line.startsWith('#')) section = line;
    for (const m of line.matchAll(/`attest:([^`]+)`/g)) proposedItems.add(m[1]!);
    if (/attestation items|questionnaire items/i.test(section)) for (const { token } of codeSpans(line)) proposedItems.add(token);
  }

  const out: NamedId[] = [];
  let criterionColumn = -1;
  let inTable = false;
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const row = cells(line);
    if (!row) {
      inTable = false;
      for (const { token, notEncoded } of codeSpans(line)) {
        if (AREA_PREFIX.test(token) && !isOtherName(token) && !proposedItems.has(token)) out.push({ id: token, where, column: false, notEncoded });
      }
      return;
    }
    if (!inTable) {
      inTable = true;
      criterionColumn = row.findIndex((c) => /^criterion\b/i.test(c.trim()));
      return;
    }
    if (row.every((c) => /^\s*:?-+:?\s*$/.test(c))) return;
    row.forEach((cell, col) => {
      for (const { token, notEncoded } of codeSpans(cell)) {
        if (col === criterionColumn) out.push({ id: token, where, column: true, notEncoded });
        else if (AREA_PREFIX.test(token) && !isOtherName(token) && !proposedItems.has(token)) out.push({ id: token, where, column: false, notEncoded });
      }
    });
  });
  return out;
}

/** A linkId or parameter name a sheet names. */
interface NamedName {
  name: string;
  /** `sheet.md:line`. */
  where: string;
  notEncoded: boolean;
}

/** The table cells of a line, or the line itself when it is not a table row (the unit a "not encoded" mark is read in). */
function units(line: string): string[] {
  return cells(line) ?? [line];
}

/** The attestation items (questionnaire linkIds) one sheet names (see the header comment). */
function namedLinkIds(file: string, text: string): NamedName[] {
  const out: NamedName[] = [];
  let section = '';
  text.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.startsWith('#')) {
      section = line;
      return;
    }
    for (const unit of units(line)) {
      for (const { token, notEncoded } of codeSpans(unit)) {
        const attest = /^attest:(.+)$/.exec(token);
        if (attest) out.push({ name: attest[1]!, where, notEncoded });
        else if (ATTESTATION_ITEMS_SECTION.test(section)) out.push({ name: token, where, notEncoded });
      }
      if (ATTESTATION_ITEMS_SECTION.test(section)) continue;
      for (const m of unit.matchAll(ATTESTATION_LIST)) {
        const after = m.index! + m[0].length - m[1]!.length;
        for (const { token, notEncoded } of codeSpans(unit.slice(after))) {
          if (unit.slice(after).indexOf(`\`${token}\``) >= m[1]!.length) break;
          out.push({ name: token, where, notEncoded });
        }
      }
    }
  });
  return out;
}

/** The parameter names one sheet names (see the header comment). */
function namedParameters(file: string, text: string): NamedName[] {
  return text.split('\n').flatMap((line, i) =>
    units(line).flatMap((unit) =>
      codeSpans(unit)
        .filter(({ token }) => CAMEL_CASE.test(token) && !NOT_PARAMETERS.has(token))
        .map(({ token, notEncoded }) => ({ name: token, where: `${file}:${i + 1}`, notEncoded })),
    ),
  );
}

/** Every linkId of every shipped questionnaire. */
function shippedLinkIds(set: PolicySet): Set<string> {
  return new Set([...set.questionnaires.values()].flatMap((q) => [...questionnaireLinkIds(q)]));
}

/** Whether `name` is one of `known`; `prefix*` stands for any name starting with the prefix. */
function isKnown(name: string, known: Set<string>): boolean {
  if (!name.endsWith('*')) return known.has(name);
  const prefix = name.slice(0, -1);
  return [...known].some((k) => k.startsWith(prefix));
}

/** `sheet:line name` of every name that is neither known nor marked "not encoded", and of every known name so marked. */
function mismatches(names: NamedName[], known: Set<string>): { stale: string[]; wronglyMarked: string[] } {
  const show = (n: NamedName): string => `${n.where} \`${n.name}\``;
  return {
    stale: names.filter((n) => !n.notEncoded && !isKnown(n.name, known)).map(show),
    wronglyMarked: names.filter((n) => n.notEncoded && isKnown(n.name, known)).map(show),
  };
}

/** Ids of every criterion node of every loaded policy, definitions and included fragments included. */
function usedCriterionIds(set: PolicySet): Set<string> {
  const ids = new Set<string>();
  for (const p of set.policies) {
    for (const c of policyCriteria(p)) ids.add(c.id);
    for (const node of Object.values(p.definitions)) for (const c of policyCriteria({ criteria: node })) ids.add(c.id);
  }
  return ids;
}

function otherNames(set: PolicySet): (token: string) => boolean {
  const names = new Set<string>([...set.policies.map((p) => p.id), ...set.fragments.keys(), ...set.questionnaires.keys(), ...shippedLinkIds(set)]);
  return (token) => names.has(token) || set.valueSets.has(token);
}

describe('rule sheets (docs/rules)', () => {
  const set = loadPolicySet(path.join(projectRoot, 'policies'), { facts: allFacts });
  const used = usedCriterionIds(set);
  const isOther = otherNames(set);
  const sheets = readdirSync(SHEETS_DIR).filter((f) => f.endsWith('.md') && f !== 'README.md');
  const texts = sheets.map((f) => [f, readFileSync(path.join(SHEETS_DIR, f), 'utf8')] as const);
  const named = texts.flatMap(([f, text]) => namedIds(f, text, isOther));

  it('finds the criterion ids of every sheet', () => {
    for (const f of sheets) expect(named.filter((n) => n.column && n.where.startsWith(`${f}:`)).length, f).toBeGreaterThan(0);
  });

  it('name only criterion ids a policy uses, or say the rule is not encoded', () => {
    const stale = named.filter((n) => !used.has(n.id) && !n.notEncoded).map((n) => `${n.where} \`${n.id}\``);
    expect(stale, `criterion ids no policy uses (rename to the policy's id, or mark "not encoded"):\n${stale.join('\n')}`).toEqual([]);
  });

  it('mark as not encoded only ids no policy uses', () => {
    expect(named.filter((n) => n.notEncoded && used.has(n.id)).map((n) => `${n.where} \`${n.id}\``)).toEqual([]);
  });

  it('name only attestation items a shipped questionnaire has, or say the item is not encoded', () => {
    const linkIds = texts.flatMap(([f, text]) => namedLinkIds(f, text));
    expect(linkIds.length).toBeGreaterThan(0);
    const { stale, wronglyMarked } = mismatches(linkIds, shippedLinkIds(set));
    expect(stale, `linkIds no questionnaire has (rename to the questionnaire's linkId, or mark "not encoded"):\n${stale.join('\n')}`).toEqual([]);
    expect(wronglyMarked, 'linkIds marked "not encoded" that a questionnaire has').toEqual([]);
  });

  it('name only parameters a policy declares, or say the parameter is not encoded', () => {
    const parameters = texts.flatMap(([f, text]) => namedParameters(f, text));
    expect(parameters.length).toBeGreaterThan(0);
    const { stale, wronglyMarked } = mismatches(parameters, new Set(set.policies.flatMap((p) => Object.keys(p.parameters))));
    expect(stale, `parameters no policy declares (rename to the policy's parameter, or mark "not encoded"):\n${stale.join('\n')}`).toEqual([]);
    expect(wronglyMarked, 'parameters marked "not encoded" that a policy declares').toEqual([]);
  });
});

describe('namedIds', () => {
  const sheet = [
    '| Criterion id | Source | Remedy |',
    '|---|---|---|',
    '| `a-criterion` (`b-criterion`) | see `ext-home-setting` and `diabetes-dx` | `attest:vA-item` |',
    '| `nw-gone` — not encoded (docs/COVERAGE.md G18) | also `edit-gone`, not encoded | — |',
    '',
    'Prose naming `impl-old` and `vA-item` and `csii-documentation`.',
  ].join('\n');
  const ids = namedIds('s.md', sheet, (t) => t === 'diabetes-dx' || t === 'csii-documentation');

  it('reads the Criterion column and area-prefixed names elsewhere, not value sets, questionnaires or proposed items', () => {
    expect(ids.map((n) => [n.id, n.where, n.column, n.notEncoded])).toEqual([
      ['a-criterion', 's.md:3', true, false],
      ['b-criterion', 's.md:3', true, false],
      ['ext-home-setting', 's.md:3', false, false],
      ['nw-gone', 's.md:4', true, true],
      ['edit-gone', 's.md:4', false, false],
      ['impl-old', 's.md:6', false, false],
    ]);
  });
});

describe('namedLinkIds and namedParameters', () => {
  const sheet = [
    '| Criterion id | Rule | Remedy |',
    '|---|---|---|',
    '| `a-criterion` | attestation `item-a` = yes; attestations `item-b`, `item-c` and `item-d` ≥ `minDays`; `item-e` | `attest:item-f`, `attest:item-g*` |',
    '| `b-criterion` | parameter `oldName` — not encoded (reason); `appliesTo` of the policy | `attest:item-h` — not encoded (reason) |',
    '',
    '## Attestation items (for the policy author)',
    '',
    '`item-i` (decimal), `item-j`.',
  ].join('\n');

  it('reads attest:, the names after "attestation(s)" and the Attestation items section', () => {
    expect(namedLinkIds('s.md', sheet).map((n) => [n.name, n.where, n.notEncoded])).toEqual([
      ['item-a', 's.md:3', false],
      ['item-b', 's.md:3', false],
      ['item-c', 's.md:3', false],
      ['item-d', 's.md:3', false],
      ['item-f', 's.md:3', false],
      ['item-g*', 's.md:3', false],
      ['item-h', 's.md:4', true],
      ['item-i', 's.md:8', false],
      ['item-j', 's.md:8', false],
    ]);
  });

  it('reads camelCase names other than fields of the format, FHIR or the order set', () => {
    expect(namedParameters('s.md', sheet).map((n) => [n.name, n.where, n.notEncoded])).toEqual([
      ['minDays', 's.md:3', false],
      ['oldName', 's.md:4', true],
    ]);
  });

  it('treats prefix* as any linkId with that prefix', () => {
    expect(isKnown('pain-trial-*', new Set(['pain-trial-relief']))).toBe(true);
    expect(isKnown('other-use-*', new Set(['pain-trial-relief']))).toBe(false);
  });
});
