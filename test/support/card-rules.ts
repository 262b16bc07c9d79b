// The card rules of issue 12 as one function: every problem a clinician would see on one card (test/card-rules.test.ts
// applies it to the cards of every policy test case; other tests may apply it to the cards they render).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { QuestionnaireResponse, QuestionnaireResponseItem, Resource } from 'fhir/r4';
import type { Card } from '../../src/cds/types.js';
import { loadConfig, projectRoot } from '../../src/config.js';
import { allFacts } from '../../src/policy/facts/index.js';
import { loadPolicySet } from '../../src/policy/loader.js';
import { policyCriteria } from './policy-criteria.js';

/** The "typical length under 1,500 characters": most details fit it, none runs past DETAIL_MAX. */
export const DETAIL_TYPICAL = 1500;
export const DETAIL_MAX = 2000;
const POLICY_SET = loadPolicySet(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }).policyDir, { facts: allFacts });

// ---------------------------------------------------------------------------------------------------------------
// Internal identifiers a clinician must never read: every id the policy data defines that looks like an id.

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsonFiles(path.join(dir, e.name)) : e.name.endsWith('.json') ? [path.join(dir, e.name)] : [],
  );
}

function linkIds(items: { linkId?: string; item?: unknown[] }[] | undefined, out: Set<string>): void {
  for (const i of items ?? []) {
    if (i.linkId) out.add(i.linkId);
    linkIds(i.item as never, out);
  }
}

/** Ids with a hyphen or digit (a plain word such as "education" can be both an id and clinical English). */
export const INTERNAL_IDS: string[] = (() => {
  const ids = new Set<string>();
  const policiesDir = path.join(projectRoot, 'policies');
  for (const f of jsonFiles(path.join(policiesDir, 'valuesets'))) {
    const vs = JSON.parse(readFileSync(f, 'utf8')) as { id?: string };
    ids.add(vs.id ?? path.basename(f, '.json'));
  }
  for (const f of jsonFiles(path.join(policiesDir, 'questionnaires'))) {
    const q = JSON.parse(readFileSync(f, 'utf8')) as { id?: string; item?: never[] };
    if (q.id) ids.add(q.id);
    linkIds(q.item, ids);
  }
  for (const p of POLICY_SET.policies) {
    ids.add(p.id);
    for (const c of policyCriteria(p)) ids.add(c.id);
  }
  // An id the policy itself uses as words ("self-adjustment") is English, not a leak.
  const prose = jsonFiles(policiesDir)
    .filter((f) => !f.includes(`${path.sep}tests${path.sep}`))
    .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/"(?:text|label|title)"\s*:\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]))
    .join(' ')
    .toLowerCase();
  return [...ids].filter((id) => /^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/.test(id) && !new RegExp(`(?<![\\w-])${id}(?![\\w-])`).test(prose));
})();

/** `practitioner-csii-team:` — but not English words with a prefix ("non-covered:", "self-reported:"). */
const ID_LIKE = /\b(?!(?:non|self|re|co|pre|post|anti|multi|semi|sub|inter|intra|over|under|well)-)[a-z]+(?:-[a-z0-9]+)+:/;
/** HL7 v3 TimingEvent codes (Timing.repeat.when) as they would leak from an order's dosage. */
const TIMING_CODES = /(?<![\w-])(?:ACM|ACD|ACV|PCM|PCD|PCV|HS|WAKE|ICM|ICV|CM|CD|CV|AC|PC|MORN|AFT|EVE|NIGHT|PHS)\b(?:\s*,\s*[A-Z]{2,5})*/;
const MARKDOWN_ESCAPE = /\\[\\`*_{}[\]()<>#+\-.!|~]/;
const BROKEN_VALUES = /\bundefined\b|\bNaN\b|\[object Object\]|\bnull\b/;

/** Clinician-visible text without URLs (a URL may legitimately carry an id). */
function visible(text: string): string {
  return text
    .replace(/\]\(<[^>]*>\)/g, ']')
    .replace(/\]\([^)]*\)/g, ']')
    .replace(/https?:\/\/\S+/g, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Questions the record already answers "no".

function answeredNo(record: Resource[]): { linkId: string; text: string }[] {
  const texts = new Map<string, string>();
  for (const f of jsonFiles(path.join(projectRoot, 'policies', 'questionnaires'))) {
    const walk = (items: { linkId: string; text?: string; item?: never[] }[] | undefined): void => {
      for (const i of items ?? []) {
        if (i.text) texts.set(i.linkId, i.text);
        walk(i.item);
      }
    };
    walk((JSON.parse(readFileSync(f, 'utf8')) as { item?: never[] }).item);
  }
  const out: { linkId: string; text: string }[] = [];
  const walk = (items: QuestionnaireResponseItem[] | undefined): void => {
    for (const i of items ?? []) {
      if ((i.answer ?? []).some((a) => a.valueBoolean === false)) out.push({ linkId: i.linkId, text: texts.get(i.linkId) ?? i.linkId });
      walk(i.item);
    }
  };
  for (const r of record) if (r.resourceType === 'QuestionnaireResponse') walk((r as QuestionnaireResponse).item);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

/** Every problem a clinician would see on one card (empty = fine). */
export function cardProblems(card: Card, c: { record: Resource[] }): string[] {
  const p: string[] = [];
  const summary = card.summary ?? '';
  const detail = card.detail ?? '';
  if (summary.length === 0 || summary.length > 139) p.push(`summary is ${summary.length} characters`);
  if (summary.includes('…')) p.push(`summary cut mid-phrase: ${summary}`);
  if (/[\\*_`]/.test(summary)) p.push(`markdown in the plain-text summary: ${summary}`);
  if (detail.length > DETAIL_MAX) p.push(`detail is ${detail.length} characters (> ${DETAIL_MAX})`);
  if (detail.includes('✓')) p.push('detail ticks met items (✓): met requirements are one count line, not-applicable ones are not shown');

  const texts: [string, string][] = [
    ['summary', summary],
    ['detail', visible(detail)],
    ...(card.suggestions ?? []).flatMap((s, i): [string, string][] => [
      [`suggestions[${i}].label`, s.label],
      ...(s.actions ?? []).map((a, j): [string, string] => [`suggestions[${i}].actions[${j}].description`, a.description ?? '']),
    ]),
    ...(card.links ?? []).map((l, i): [string, string] => [`links[${i}].label`, l.label]),
    ...(card.overrideReasons ?? []).map((r, i): [string, string] => [`overrideReasons[${i}].display`, r.display ?? '']),
  ];
  for (const [where, text] of texts) {
    const id = ID_LIKE.exec(text);
    if (id) p.push(`${where}: internal id "${id[0]}"`);
    for (const internal of INTERNAL_IDS) {
      if (new RegExp(`(?<![\\w-])${internal}(?![\\w-])`).test(text)) p.push(`${where}: internal id "${internal}"`);
    }
    const timing = TIMING_CODES.exec(text);
    if (timing) p.push(`${where}: raw timing code "${timing[0]}"`);
    const escape = MARKDOWN_ESCAPE.exec(text);
    if (escape) p.push(`${where}: markdown escape "${escape[0]}"`);
    const broken = BROKEN_VALUES.exec(text);
    if (broken) p.push(`${where}: "${broken[0]}"`);
  }

  // Coverage finding cards: the first thing after the order's name is the gap and what to do, not the checklist.
  if (card.source.topic?.code === 'coverage-info' && card.indicator !== 'info') {
    const paragraphs = detail.split(/\n\n+/);
    const lead = paragraphs.slice(0, 2).join('\n\n');
    if (/^\s*- /m.test(lead)) p.push('detail leads with a checklist instead of what is missing and what to do');
  }

  // Never re-prompt a question the record answers "no".
  for (const no of answeredNo(c.record)) {
    for (const line of detail.split('\n')) {
      const mentions = line.includes(no.text) || /answer(?:ed|s)? ["“]no["”]/i.test(line);
      if (mentions && /\]\(|documentation form|\battest (?:in|on|it)\b|complete the|fill in/i.test(line)) p.push(`re-prompts "${no.text}", already answered no: ${line}`);
    }
  }
  return p;
}

