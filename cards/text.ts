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

/** Anything escapeMarkdown() would change: a whitespace run or other than a single space, a character markdown reads. */
const MD_SPECIAL = /[\\`*_\]<~>#\t\n\r\f\v\u00a0\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u1680]|  /;

/** Every escape md() stands for, applied unconditionally (md's fast path is held to it by a property test). */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[\\`*]/g, '\\$&')
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_')
    .replace(/\](?=[([])/g, '\\]')
    .replace(/<(?=[A-Za-z/!?])/g, '\\<')
    .replace(/~~/g, '\\~\\~')
    .replace(/^([>#])/, '\\$1');
}

/**
 * Text from policy files or the record, made safe for GitHub/CommonMark markdown with as few escapes as possible: a
 * clinician whose EHR shows the detail as plain text must not read "\\>" or "\\[IU\\]". Only what would change the
 * rendering is escaped: backslashes, code ticks and asterisks, underscores at a word boundary, a "]" that would close
 * a link, a "<" that would open a tag or autolink, "~~", and a ">"/"#" that would start a quote or heading.
 */
export function md(text: string): string {
  // Most card texts hold nothing to escape: returned as they are (six regular expressions on each were a tenth of
  // card building).
  return MD_SPECIAL.test(text) ? escapeMarkdown(text) : text;
}

/** Markdown link with a safe label; the URL is wrapped in <> so spaces or parentheses cannot break it. */
export function mdLink(label: string, url: string): string {
  return `[${md(label)}](<${url.replace(/[<>\s]/g, encodeURIComponent)}>)`;
}

export const MARK: Record<TriState, string> = { met: '✓', 'not-met': '✗', 'not-documented': '?' };

export const LEGEND = '✗ not met · ? not documented';

/** dev-24: the order in human terms, e.g. "E0784 External ambulatory infusion pump, insulin" (never its resource id). */
export function orderName(order: InfusionOrder): string {
  return String(order.label ?? '').replace(/\s+/g, ' ').trim() || orderShort(order);
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
  // A policy's label is its short name: kept whole up to 60 characters.
  if (c.label) return truncateText(c.label, Math.max(max, 60));
  // "Attested: on an external insulin pump before …" is named by what was attested, not "attested".
  let name = c.text.replace(/\s+/g, ' ').trim().replace(/^(?:attested|attestation)\s*:\s*/i, '');
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
export function gapName(node: CriterionResult, max?: number): string {
  const n = gapNode(node);
  // A group reported as one gap (collapseIf) is named as such; a finding may name what is actually missing (a renal
  // path without creatinine clearance: "creatinine clearance", not the C-peptide that is on file).
  const missing = n.collapsed ? undefined : n.finding?.values?.gapLabel;
  if (typeof missing === 'string' && missing) return truncateText(missing, 40);
  return criterionShortName(n, max);
}

/** The node `gapName` names: it stops at a group reported as one gap and at a finding that names the gap itself. */
export function gapNode(node: CriterionResult): CriterionResult {
  if (node.collapsed) return node;
  const missing = node.finding?.values?.gapLabel;
  if (typeof missing === 'string' && missing) return node;
  const children = node.children ?? [];
  if (node.op === 'allOf') {
    const open = children.filter((c) => c.status !== 'met');
    if (open.length === 1) return gapNode(open[0]!);
  } else if (node.op === 'anyOf') {
    // The alternative with the most progress (met leaves); on a tie the policy's own order decides (stable sort: it
    // lists the usual pathway first), so an empty record is asked for the usual pathway, not the shortest one.
    // Under an undocumented anyOf only the undocumented alternatives can still be satisfied by documentation.
    const ranked = children
      .filter((c) => (node.status === 'not-documented' ? c.status === 'not-documented' : c.status !== 'met'))
      .map((c) => ({ c, met: metLeaves(c) }))
      .sort((a, b) => b.met - a.met);
    if (ranked.length > 0) return gapNode(ranked[0]!.c);
  }
  return node;
}

/** The alternative of an undocumented anyOf that gapNode would descend into. */
function gapChoice(node: CriterionResult): CriterionResult | undefined {
  return (node.children ?? [])
    .filter((c) => c.status === 'not-documented')
    .map((c) => ({ c, met: metLeaves(c) }))
    .sort((a, b) => b.met - a.met)[0]?.c;
}

/** Whether `leaf` is `node` or below it. */
export function contains(node: CriterionResult, leaf: CriterionResult): boolean {
  return node === leaf || (node.children ?? []).some((c) => contains(c, leaf));
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
  // A `not` that fails states the prohibition in its own text ("Heparin by home infusion pump is not covered …"):
  // the policy author's sentence, not the opposite leaf below it.
  if (c.op === 'not' && c.status === 'not-met') return c.text.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  const reason = reasonText(c);
  // An answer in the documentation form says nothing without the question: name the criterion first.
  if (reason && c.finding?.kind === 'attestation') return `${criterionShortName(c, 60)} — ${reason.replace(/\s+/g, ' ').trim().replace(/\.$/, '')}`;
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

// ---------------------------------------------------------------------------------------------------------------
// Issue 12: what a clinician reads in five seconds — the open items only, summaries composed to fit.

export interface OpenChecklistOptions {
  /** Extra text after an open line (e.g. a link to the documentation form). */
  annotate?: (c: CriterionResult) => string | undefined;
  /** Levels shown below the top-level requirements (default 2). */
  maxDepth?: number;
  /** List only requirements of this status (a not-covered card lists what is not met); the others are counted. */
  only?: 'not-met' | 'not-documented';
  /** The day the determination was evaluated as of (YYYY-MM-DD): what a "met from" date is counted from. */
  day?: string;
}

/** The reason a node is open: its own, else (a `not`/`firstDocumented` node) the deciding child's. */
function openReason(c: CriterionResult): string | undefined {
  // A firstDocumented/not node: the deciding part's own words ("answered “no” …") before "decided by: …".
  if (c.op === 'firstDocumented' || c.op === 'not') {
    const children = c.children ?? [];
    const decider = children.find((k) => k.status !== 'not-documented') ?? children[0];
    const own = decider ? reasonText(decider) : undefined;
    if (own) return own;
  }
  return reasonText(c);
}

/**
 * The requirements that are still open, as a short markdown list: one line per open requirement (✗ not met, ?
 * not documented) with why, and below a group only its open parts (an alternative lists its options). Met
 * requirements are not listed — nor are checks that did not apply — only counted: `met` top-level requirements.
 */
export function openChecklist(root: CriterionResult, options: OpenChecklistOptions = {}): { list: string; met: number; notApplicable: number; open: number; hidden: number } {
  const maxDepth = options.maxDepth ?? 2;
  const lines: string[] = [];
  const walk = (c: CriterionResult, depth: number, alternative: boolean, collapse = false): void => {
    const children = c.children ?? [];
    // A part that does not apply to this order (its `onlyIf` is not met) is never shown, whatever its status.
    const open = children.filter((k) => k.status !== 'met' && !isNotApplicable(k));
    const group = open.length > 0 && (c.op === 'allOf' || c.op === 'anyOf');
    // A decided alternative (not met), a second-choice alternative or a group at the depth limit is one line, with
    // the reason that decided it: what is still undocumented below a failed alternative no longer matters.
    const expand = group && !collapse && depth < maxDepth && !(alternative && c.status === 'not-met');
    // A group with one open part is that part (its heading only repeats the part's words).
    if (expand && open.length === 1) return walk(open[0]!, depth, alternative);
    // A heading whose parts follow is named by its short label; a line that stands alone states the criterion.
    const name = expand && c.label ? c.label.charAt(0).toUpperCase() + c.label.slice(1) : c.text;
    const pieces = [`${MARK[c.status]} ${md(name)}`];
    // A question not yet answered needs no reason on its line: the mark says "not documented" and the card's lead
    // says to answer the open questions on the form.
    const unanswered = c.finding?.kind === 'attestation' && c.finding.code === 'none';
    let reason = expand || unanswered ? undefined : openReason(c);
    if (!expand && !reason && group) {
      const decider = firstOpenLeaf(c, c.status);
      if (decider) reason = openReason(decider) ?? gapPhrases(decider, options.day)[0];
    }
    if (reason) pieces.push(md(reason));
    else if (!group && !unanswered) {
      const evidence = c.evidence.map(evidenceText).filter(Boolean);
      if (evidence.length > 0) pieces.push(md(evidence.join(' · ')));
    }
    const extra = expand ? undefined : options.annotate?.(c);
    if (extra && !(reason ?? '').includes(extra.replace(/^.*?(?=documentation form)/, ''))) pieces.push(extra);
    let line = pieces.join(' — ');
    // The citation goes with the line that states the requirement in full (a heading's parts carry their own).
    if (c.citation && !expand) line += ` _(${md(c.citation)})_`;
    lines.push(`${'  '.repeat(depth)}- ${line}`);
    if (!expand) return;
    // Of undocumented alternatives, the one furthest along is spelled out; the others are one line each.
    const preferred = c.op === 'anyOf' && c.status === 'not-documented' ? gapChoice(c) : undefined;
    for (const child of open) {
      if (options.only && c.op === 'allOf' && child.status !== options.only) continue;
      walk(child, depth + 1, c.op === 'anyOf', preferred !== undefined && child !== preferred);
    }
  };
  const top = root.op === 'allOf' && root.children && root.children.length > 0 ? root.children : [root];
  const open = top.filter((c) => c.status !== 'met');
  const shown = options.only ? open.filter((c) => c.status === options.only) : open;
  for (const c of shown) walk(c, 0, false);
  const notApplicable = top.filter((c) => c.status === 'met' && isNotApplicable(c)).length;
  return { list: lines.join('\n'), met: top.length - open.length - notApplicable, notApplicable, open: shown.length, hidden: open.length - shown.length };
}

/** A check that did not apply to this order (met only because it was not applicable): never counted as met. */
export function isNotApplicable(c: CriterionResult): boolean {
  if (c.finding?.code === 'not-applicable') return true;
  const children = c.children ?? [];
  return children.length > 0 && c.op === 'allOf' && children.every(isNotApplicable);
}

/** The first leaf below `node` with `status` (what decided a group's status). */
export function firstOpenLeaf(node: CriterionResult, status: CriterionResult['status']): CriterionResult | undefined {
  const children = node.children ?? [];
  if (children.length === 0 || node.op === 'firstDocumented' || node.op === 'not') return node.status === status ? node : undefined;
  for (const c of children) {
    const hit = c.status === status ? firstOpenLeaf(c, status) : undefined;
    if (hit) return hit;
  }
  return undefined;
}

/** Kinds whose finding text does not name what it is about ("answered no"): a summary names the criterion first. */
const SUBJECTLESS_KINDS = new Set(['attestation', 'order-element']);

/**
 * Ways to name a leaf's gap in a summary, longest (most informative) first; each one a whole phrase. `day` is the day
 * the determination was evaluated as of (YYYY-MM-DD), never the clock: a "met from" date counted from another day
 * would disagree with the card's detail (without a day, no such phrase).
 */
export function gapPhrases(c: CriterionResult, day: string | undefined, as?: CriterionResult): string[] {
  // A `not` that fails states the prohibition in its own text ("Heparin by home infusion pump is not covered …"): the
  // policy author's sentence, then its first clause, not the opposite leaf below it.
  if (c.op === 'not' && c.status === 'not-met' && !as) {
    const sentence = c.text.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
    const clause = sentence.split(/ — |; /)[0]!.trim();
    return [...new Set([sentence, clause, `${criterionShortName(c, 60)} not met`])];
  }
  // A firstDocumented/not node speaks through the part that decided it, under its own name.
  if ((c.op === 'firstDocumented' || c.op === 'not') && c.children?.length) {
    const decider = c.children.find((k) => k.status !== 'not-documented') ?? c.children[0]!;
    return gapPhrases(decider, day, as ?? c);
  }
  const name = criterionShortName(as ?? c, 60);
  const out: string[] = [];
  const reason = reasonText(c)?.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  if (c.finding && SUBJECTLESS_KINDS.has(c.finding.kind)) {
    if (c.finding.kind === 'attestation' && c.finding.code === 'no') {
      // The answer as given ("answered 2 (at least 3 required)", "answered “Not favourable”"), else plain "no".
      const v = c.finding.values ?? {};
      if (v.answer !== undefined && v.min !== undefined) out.push(`${name}: answered ${v.answer} (at least ${v.min} required)`);
      if (v.answer !== undefined) out.push(`${name}: answered “${v.answer}”`);
      out.push(`${name}: answered “no”`);
    } else if (reason) out.push(`${name}: ${reason}`);
  } else if (reason) {
    // A treatment in use for too short a time: the day from which it will be met, when the order is the anchor.
    const from = day ? metFromDate(c, day) : undefined;
    if (from) out.push(`${reason.replace(/\s+/g, ' ').trim().replace(/\.$/, '')}: met from ${from}`);
    out.push(reason);
    // The first clause alone ("fasting C-peptide 187.5% of the lower limit (> 110%)") when the whole does not fit.
    const clause = reason.split(/; | — |, so /)[0]!.trim();
    if (clause && clause !== reason) out.push(clause);
  } else {
    const value = c.evidence.map((e) => e.value).find((v) => typeof v === 'string' && v);
    if (value && c.status === 'not-met') out.push(`${name} ${value} — not met`);
  }
  out.push(c.status === 'not-documented' ? `${name} not documented` : `${name} not met`);
  return [...new Set(out)];
}

/** The first of `candidates` that fits as `prefix + candidate + suffix`; a whole phrase, never cut mid-way. */
export function composeSummary(prefix: string, candidates: string[], suffix = ''): string {
  const tail = suffix ? ` ${suffix.trim()}` : '';
  // A candidate holding a name cut short ("on record…") is not a whole phrase: used only when nothing else fits.
  const whole = candidates.filter((c) => !c.includes(ELLIPSIS));
  if (whole.length > 0 && whole.length < candidates.length) candidates = [...whole, ...candidates.filter((c) => c.includes(ELLIPSIS))];
  for (const c of candidates) {
    const s = `${prefix}${c}${tail}`.replace(/\s+/g, ' ').trim();
    if (s.length <= SUMMARY_MAX) return s;
  }
  for (const c of candidates) {
    const s = `${prefix}${c}`.replace(/\s+/g, ' ').trim();
    if (s.length <= SUMMARY_MAX) return s;
  }
  return truncateText(`${prefix}${candidates.at(-1) ?? ''}`);
}

/** "a, b and c"; with `max` names shown, the rest as "and N more". */
export function nameList(names: string[], max = names.length): string {
  const shown = names.slice(0, max);
  const rest = names.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

/** ISO date `days` after `iso` (YYYY-MM-DD). */
export function addDays(iso: string, days: number): string {
  const t = Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) + days * 86_400_000;
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 10) : '';
}

/** Days from `a` to `b` (YYYY-MM-DD), NaN when either is not a date. */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b.slice(0, 10)}T00:00:00Z`) - Date.parse(`${a.slice(0, 10)}T00:00:00Z`)) / 86_400_000);
}

/**
 * For a leaf not met only because not enough time has passed (a treatment in use since X, needed since Y), the date
 * from which it will be met: X plus the time the criterion asks for. `asOf` is the day the determination was evaluated
 * as of (Y was counted back from it), so the date is only ever one after that day.
 */
export function metFromDate(c: CriterionResult, asOf: string): string | undefined {
  const f = c.finding;
  if (!f || c.status !== 'not-met' || f.kind !== 'medication' || f.code !== 'too-short') return undefined;
  // Only for a window that ends on the order date (one ending at an anchor such as "pump start" never moves later).
  if (f.window?.anchor && f.window.anchor !== 'order-date') return undefined;
  const since = String(f.values?.since ?? '');
  const needSince = String(f.values?.needSince ?? '');
  const day = asOf.slice(0, 10);
  const minMonths = Number(f.values?.minMonths);
  if (/^\d{4}-\d{2}-\d{2}/.test(since) && Number.isInteger(minMonths) && minMonths > 0) {
    const date = addMonthsIso(since.slice(0, 10), minMonths);
    return date > day ? date : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(since) || !/^\d{4}-\d{2}-\d{2}/.test(needSince) || needSince >= day) return undefined;
  // The span the criterion asks for, as the kind counts it (whole months back, then days).
  let months = (Number(day.slice(0, 4)) - Number(needSince.slice(0, 4))) * 12 + Number(day.slice(5, 7)) - Number(needSince.slice(5, 7));
  while (months > 0 && addMonthsIso(needSince, months) > day) months -= 1;
  const rest = daysBetween(addMonthsIso(needSince, months), day);
  const date = addDays(addMonthsIso(since.slice(0, 10), months), rest);
  return date && date > day ? date : undefined;
}

/** YYYY-MM-DD plus `months`, clamped to the end of a shorter month. */
function addMonthsIso(iso: string, months: number): string {
  const y = Number(iso.slice(0, 4));
  const m = Number(iso.slice(5, 7)) - 1 + months;
  const d = Number(iso.slice(8, 10));
  const yy = y + Math.floor(m / 12);
  const mm = ((m % 12) + 12) % 12;
  const last = new Date(Date.UTC(yy, mm + 1, 0)).getUTCDate();
  return `${String(yy).padStart(4, '0')}-${String(mm + 1).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

/**
 * The leaves still open that matter: below the open top-level requirements, skipping failed alternatives (what is
 * undocumented under an alternative already answered "no" cannot change the outcome).
 */
export function relevantOpenLeaves(root: CriterionResult | undefined, status: CriterionResult['status']): CriterionResult[] {
  if (!root) return [];
  const out: CriterionResult[] = [];
  const walk = (c: CriterionResult, alternative: boolean): void => {
    if (c.status === 'met') return;
    const children = c.children ?? [];
    if (children.length === 0 || c.op === 'firstDocumented' || c.op === 'not') {
      if (c.status === status) out.push(c);
      return;
    }
    if (alternative && c.status === 'not-met' && status !== 'not-met') return;
    for (const k of children) walk(k, c.op === 'anyOf');
  };
  walk(root, false);
  return out;
}

/** The parent of `node` under `root`. */
export function parentOf(root: CriterionResult, node: CriterionResult): CriterionResult | undefined {
  for (const c of root.children ?? []) {
    if (c === node) return root;
    const hit = parentOf(c, node);
    if (hit) return hit;
  }
  return undefined;
}
