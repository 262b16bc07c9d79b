// Clinician-facing wording: summaries, order names, criterion labels, the markdown checklist. Pure string functions.
import { reasonText } from './findings.js';
import type { CriterionResult, Evidence, InfusionOrder, PolicySummary, TriState } from '../src/policy/types.js';

/** CDS Hooks: "<140 characters"; Inferno counts code points, JS counts UTF-16 units — 139 units is safe for both. */
export const SUMMARY_MAX = 139;

const ELLIPSIS = '…';

/**
 * Fit `text` into `max` UTF-16 code units: collapse whitespace, cut on a word boundary when there is one in the
 * second half, never split a surrogate pair, and mark the cut with '…'.
 */
export function truncateText(text: string, max: number = SUMMARY_MAX): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  if (max <= ELLIPSIS.length) return ELLIPSIS.slice(0, Math.max(0, max));
  let cut = max - ELLIPSIS.length;
  // A high surrogate as the last kept unit would leave half a character.
  if (isHighSurrogate(clean.charCodeAt(cut - 1))) cut -= 1;
  let head = clean.slice(0, cut);
  const space = head.lastIndexOf(' ');
  // Only cut on the word boundary when the next character does not already start a new word.
  if (clean[cut] !== ' ' && space >= Math.floor(max / 2)) head = head.slice(0, space);
  head = head.replace(/[\s,;:—–(\-·/+]+$/u, '');
  return head + ELLIPSIS;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Summary = `body` cut to fit, with `suffix` always kept whole (e.g. "(+2 more gaps)"). */
export function fitSummary(body: string, suffix = ''): string {
  const tail = suffix ? ` ${suffix.trim()}` : '';
  if (tail.length >= SUMMARY_MAX - 10) return truncateText(body + tail);
  return truncateText(body, SUMMARY_MAX - tail.length) + tail;
}

/** Escape the characters GitHub markdown would interpret in text that comes from policy files or the record. */
export function md(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/([\\`*_[\]<>|~#])/g, '\\$1');
}

/** Markdown link with a safe label; the URL is wrapped in <> so spaces or parentheses cannot break it. */
export function mdLink(label: string, url: string): string {
  return `[${md(label)}](<${url.replace(/[<>\s]/g, encodeURIComponent)}>)`;
}

export const MARK: Record<TriState, string> = { met: '✓', 'not-met': '✗', 'not-documented': '?' };

export const LEGEND = '✓ met · ✗ not met · ? not documented';

/** dev-24: the order in human terms, e.g. "DeviceRequest dr-1: E0784 External ambulatory infusion pump, insulin". */
export function orderName(order: InfusionOrder): string {
  const [type, id] = splitRef(order.ref);
  return `${type} ${id}: ${order.label}`;
}

export function splitRef(ref: string): [string, string] {
  const slash = ref.indexOf('/');
  return slash < 0 ? ['Resource', ref] : [ref.slice(0, slash), ref.slice(slash + 1)];
}

/** Short name that leads a summary: "Insulin pump E0784", "Implantable insulin pump", "Pump supplies A4224". */
export function orderShort(order: InfusionOrder): string {
  const code = order.hcpcs ?? '';
  const insulin = /(?<!non-)insulin/i.test(order.label) || code === 'E0784';
  let noun: string;
  if (order.role === 'pump') {
    noun = `${order.pumpKind === 'implantable' ? 'Implantable ' : ''}${insulin ? 'insulin pump' : 'infusion pump'}`;
  } else if (order.role === 'supply') {
    noun = insulin ? 'Insulin pump supplies' : 'Pump supplies';
  } else if (order.role === 'procedure') {
    noun = order.noun ?? 'Pump procedure';
    if (order.cpt) return `${noun.charAt(0).toUpperCase()}${noun.slice(1)} ${order.cpt}`;
  } else {
    noun = 'Pump drug';
  }
  noun = noun.charAt(0).toUpperCase() + noun.slice(1);
  if (code) return `${noun} ${code}`;
  if (order.role === 'drug') return truncateText(`${noun} ${order.label}`, 60);
  return noun;
}

/** "pump order", "supply order", "drug order" — used where the order is referred to generically. */
export function orderNoun(order: InfusionOrder): string {
  if (order.role === 'procedure') return `${order.noun ?? 'pump procedure'} order`;
  return order.role === 'pump' ? 'pump order' : order.role === 'supply' ? 'pump supply order' : 'pump drug order';
}

const KEEP_CAPITAL = /^(Medicare|Medicaid|CSII|CGM|MDI|HbA1c|GAD65|IA-2|ZnT8|ICD|HCPCS|NCD|LCD|[A-Z0-9-]{2,})\b/;

/** A criterion named in a few words for summaries: its text up to the first comparison or clause break. */
export function criterionShortName(c: CriterionResult, max = 40): string {
  if (c.label) return truncateText(c.label, max);
  let name = c.text.replace(/\s+/g, ' ').trim();
  const stop = name.search(/\s*(?:[≤≥<>=(;:,]| — | - | – |\bwith(?:in)?\b|\bof at least\b|\bat least\b)/u);
  if (stop > 3) name = name.slice(0, stop);
  name = name.replace(/[.\s]+$/, '');
  return truncateText(lowerFirst(name), max);
}

/** Leaves under `node` that are met: how far along an alternative is. */
function metLeaves(node: CriterionResult): number {
  if (!node.children || node.children.length === 0) return node.status === 'met' ? 1 : 0;
  return node.children.reduce((n, c) => n + metLeaves(c), 0);
}

/**
 * Names what is missing under a requirement in a few words: descends while one path is the gap (the only unmet part
 * of an allOf; the alternative of an anyOf furthest along, the first listed on a tie), else names the node.
 * "Diabetes education" tells the clinician more than "MDI history or pump before Medicare"; the checklist in the
 * detail still lists every alternative.
 */
export function gapName(node: CriterionResult): string {
  // A group reported as one gap (collapseIf) is named as such; a finding may name what is actually missing (a renal
  // path without creatinine clearance: "creatinine clearance", not the C-peptide that is on file).
  if (node.collapsed) return criterionShortName(node);
  const missing = node.finding?.values?.gapLabel;
  if (typeof missing === 'string' && missing) return truncateText(missing, 40);
  const children = node.children ?? [];
  if (node.op === 'allOf') {
    const open = children.filter((c) => c.status !== 'met');
    if (open.length === 1) return gapName(open[0]!);
  } else if (node.op === 'anyOf') {
    // The alternative with the most progress (met leaves); on a tie the policy's own order decides (stable sort: it
    // lists the usual pathway first), so an empty record is asked for the usual pathway, not the shortest one.
    // Under an undocumented anyOf only the undocumented alternatives can still be satisfied by documentation.
    const ranked = children
      .filter((c) => (node.status === 'not-documented' ? c.status === 'not-documented' : c.status !== 'met'))
      .map((c) => ({ c, met: metLeaves(c) }))
      .sort((a, b) => b.met - a.met);
    if (ranked.length > 0) return gapName(ranked[0]!.c);
  }
  return criterionShortName(node);
}

/** The top-level requirements of a determination (children of the root allOf) that have the given status. */
export function topLevelRequirements(root: CriterionResult | undefined, status: CriterionResult['status']): CriterionResult[] {
  if (!root) return [];
  const top = root.op === 'allOf' && root.children ? root.children : [root];
  return top.filter((c) => c.status === status);
}

/** Lower-case the first letter for use mid-sentence, unless the first word is an acronym or a name. */
export function lowerFirst(text: string): string {
  if (KEEP_CAPITAL.test(text) || !/^[A-Z][a-z]/.test(text)) return text;
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** One evidence item in a checklist line: value (note) on date; threshold. */
export function evidenceText(e: Evidence): string {
  const parts: string[] = [];
  // h13: evidence echoes record data; anything that is not a string (a numeric onsetDateTime, an object) is left out
  // rather than thrown on or printed as "[object Object]".
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  let head = str(e.value);
  const note = str(e.note);
  const date = str(e.date);
  if (note) head = head ? `${head} (${note})` : note;
  if (date) head = head ? `${head} on ${date.slice(0, 10)}` : `dated ${date.slice(0, 10)}`;
  if (head) parts.push(head);
  if (str(e.threshold)) parts.push(`needs ${e.threshold}`);
  return parts.join('; ');
}

/** Leaf phrase that names the gap with its values, for a summary: the reason when given, else text + value. */
export function gapPhrase(c: CriterionResult): string {
  const reason = reasonText(c);
  if (reason) return reason.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  const value = c.evidence.map((e) => e.value).find((v) => v);
  const name = criterionShortName(c, 60);
  if (c.status === 'not-documented') return `${name} not documented`;
  return value ? `${name} ${value} — not met` : `${name} not met`;
}

export interface ChecklistOptions {
  /** Also list the parts of met groups (default: a met group below the root is a single line). */
  expandMet?: boolean;
  /** Extra text after a line, per criterion id (e.g. a link to the documentation form). */
  annotate?: (c: CriterionResult) => string | undefined;
}

/** The criteria tree as a nested GitHub markdown list, one line per criterion: mark, text, evidence, citation. */
export function checklist(root: CriterionResult, options: ChecklistOptions = {}): string {
  const lines: string[] = [];
  const walk = (c: CriterionResult, depth: number): void => {
    const pieces = [`${MARK[c.status]} ${md(c.text)}`];
    const evidence = c.evidence.map(evidenceText).filter(Boolean);
    if (evidence.length > 0) pieces.push(md(evidence.join(' · ')));
    const reason = c.status !== 'met' && (c.op === 'leaf' || !c.children?.length) ? reasonText(c) : undefined;
    if (reason) pieces.push(md(reason));
    const extra = options.annotate?.(c);
    if (extra) pieces.push(extra);
    let line = pieces.join(' — ');
    if (c.citation) line += ` _(${md(c.citation)})_`;
    lines.push(`${'  '.repeat(depth)}- ${line}`);
    // A met group is one line: the clinician needs the detail of what is open, not of what is already satisfied.
    if (depth > 0 && c.status === 'met' && options.expandMet !== true) return;
    for (const child of c.children ?? []) walk(child, depth + 1);
  };
  walk(root, 0);
  return lines.join('\n');
}

/** Every leaf of a tree (for counts). */
export function leaves(root: CriterionResult | undefined): CriterionResult[] {
  if (!root) return [];
  if (!root.children || root.children.length === 0) return [root];
  return root.children.flatMap(leaves);
}

/** "Medicare — NCD 280.14 / LCD L33794" → "Medicare NCD 280.14 / LCD L33794" (for sentences that add their own dash). */
export function policyPhrase(policy: PolicySummary): string {
  return policy.sourceLabel.replace(/\s+—\s+/, ' ');
}

/** "Medicare — NCD 280.14 / LCD L33794" → "NCD 280.14 / LCD L33794" (the documents, without the payer). */
export function policyDocuments(policy: PolicySummary): string {
  const dash = policy.sourceLabel.indexOf(' — ');
  return dash >= 0 ? policy.sourceLabel.slice(dash + 3).trim() : policy.title;
}

/** The criteria named with their citation, for coverage-information `reason.text`. */
export function criteriaWithCitations(criteria: CriterionResult[]): string {
  return criteria.map((c) => (c.citation ? `${criterionShortName(c, 80)} (${c.citation})` : criterionShortName(c, 80))).join('; ');
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
