// Determinations → CDS Hooks response: the cards a clinician reads and the CRD coverage-information system actions.
// Every card is shaped to one CRD response type (SPEC-DIGEST §2.8):
//   decisive card with lab suggestions      → Identify Additional Orders (all actions create ServiceRequest)
//   decisive card with order fixes only     → Propose Alternate Request (update, or delete [+ create])
//   decisive card with nothing to do in-EHR → Instructions (detail only)
//   policy text + documentation form        → External Reference (links all absolute), once per policy
//   SMART documentation app (if configured) → Launch SMART Application (links all smart), once per policy
import type { Action, Card, CdsResponse, Coding, Link, Suggestion } from '../src/cds/types.js';
import type { CriterionResult, Determination, PolicySummary } from '../src/policy/types.js';
import { companionLines, coverageSystemAction } from './coverage-information.js';
import { reasonText } from './findings.js';
import { labSuggestions, orderFixSuggestions, type SuggestionContext } from './suggestions.js';
import {
  LEGEND,
  SUMMARY_MAX,
  composeSummary,
  contains,
  firstOpenLeaf,
  isNotApplicable,
  parentOf,
  criterionShortName,
  fitSummary,
  gapName,
  gapNode,
  gapPhrases,
  lowerFirst,
  md,
  mdLink,
  metFromDate,
  nameList,
  openChecklist,
  relevantOpenLeaves,
  orderName,
  orderNoun,
  orderShort,
  plural,
  policyDocuments,
  policyPhrase,
  topLevelRequirements,
  truncateText,
} from './text.js';

export interface BuildOptions {
  hook: 'order-select' | 'order-sign';
  crdVersion: '2.0.1' | '2.2';
  topicSystem: string;
  findingIndicator: 'info' | 'warning' | 'critical';
  infoWhenCovered: boolean;
  assertNoAuth: boolean;
  /** Canonical url of a questionnaire (coverage-information `questionnaire`, the SMART appContext). */
  questionnaireUrl: (id: string) => string;
  /** Where a clinician opens the questionnaire as a fillable form (links); default: questionnaireUrl. */
  formUrl?: (id: string) => string;
  smartAppUrl?: string;
  configuration: { coverageInfo: boolean; guideline: boolean; maxCards: number };
  newUuid: () => string;
  newAssertionId: () => string;
  /**
   * The request day (YYYY-MM-DD): the date of what the response creates (coverage-information, suggested orders). What
   * a determination found is dated from the day it was evaluated as of (`Determination.asOf`), not from this one.
   */
  today: string;
  patientRef: string;
}

export interface BuiltCard {
  uuid: string;
  indicator: string;
  /** Criterion ids the card speaks for (override analytics). */
  criteria: string[];
  suggestionUuids: string[];
}

export interface BuiltResponse {
  response: CdsResponse;
  /** `determinationRef`: a drug or supply line that carries its pump's determination (no determination of its own). */
  perOrder: { orderRef: string; determinationRef?: string; assertionId?: string; cards: BuiltCard[] }[];
}

export const OVERRIDE_REASON_SYSTEM = 'http://pumpcheck.example.org/CodeSystem/override-reason';

/** Reasons a clinician would actually pick when going ahead despite a coverage finding. */
export const OVERRIDE_REASONS: readonly Coding[] = Object.freeze([
  { system: OVERRIDE_REASON_SYSTEM, code: 'documented-elsewhere', display: 'Documentation exists outside this EHR' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'abn-signed', display: 'Patient accepts financial responsibility (ABN signed)' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'clinical-judgement', display: 'Clinical judgement: proceed as ordered' },
  { system: OVERRIDE_REASON_SYSTEM, code: 'not-this-payer', display: "Patient's coverage is not the payer shown" },
]);

const TOPIC_DISPLAY: Record<string, string> = { 'coverage-info': 'Coverage Information', guideline: 'Guideline' };

/** Lower rank = kept first when `maxCards` cuts (warnings before info, shared reference cards last). */
const RANK = { critical: 0, warning: 1, info: 2, smart: 3, reference: 4 } as const;

interface Pending {
  card: Card;
  rank: number;
  orderRef?: string;
  /** Other orders of the same order set the card also speaks for (same policies, outcome and findings). */
  alsoFor?: string[];
  criteria: string[];
}

interface Ctx extends SuggestionContext {
  opts: BuildOptions;
  offeredLabs: Set<string>;
}

export function buildHookResponse(determinations: Determination[], opts: BuildOptions): BuiltResponse {
  const sign = opts.hook === 'order-sign';
  // order-select: requirements SHOULD be limited to the selected orders (CRD hook-34).
  const inScope = sign ? determinations : determinations.filter((d) => d.order.selected);
  const ctx: Ctx = { opts, newUuid: opts.newUuid, today: opts.today, patientRef: opts.patientRef, offeredLabs: new Set() };
  const pending: Pending[] = [];
  const systemActions: Action[] = [];
  const perOrder: BuiltResponse['perOrder'] = [];

  // One card per order set: orders of one set judged alike (e.g. an implantable pump and its implant procedure) share
  // their cards; each keeps its own determination and coverage-information.
  const sameFindings = new Map<string, Pending[]>();
  // Lines of an order set without a determination of their own get their pump's coverage-information (once).
  const ownDeterminations = new Set(determinations.map((d) => d.order.ref));
  const doneLines = new Set<string>();
  for (const det of inScope) {
    const entry: BuiltResponse['perOrder'][number] = { orderRef: det.order.ref, cards: [] };
    perOrder.push(entry);
    if (!opts.configuration.coverageInfo) continue;
    const key = findingsKey(det);
    const shared = key ? sameFindings.get(key) : undefined;
    if (shared) {
      for (const p of shared) shareCard(p, det);
    } else {
      const cards = sign ? signCards(det, ctx) : selectCards(det, ctx);
      pending.push(...cards);
      if (key && cards.every((p) => !p.card.suggestions?.length)) sameFindings.set(key, cards);
    }
    if (det.coverageRef && det.policy && det.outcome !== 'no-policy') {
      const assertionId = opts.newAssertionId();
      const ciOpts = { hook: opts.hook, crdVersion: opts.crdVersion, assertNoAuth: opts.assertNoAuth, questionnaireUrl: opts.questionnaireUrl, today: opts.today };
      const action = coverageSystemAction(det, { ...ciOpts, assertionId });
      if (action) {
        systemActions.push(action);
        entry.assertionId = assertionId;
        doneLines.add(det.order.ref);
        // order-sign only: order-select limits its requirements to the orders the clinician selected (CRD hook-34).
        for (const line of sign ? companionLines(det, ciOpts, opts.newAssertionId, ownDeterminations, doneLines) : []) {
          systemActions.push(line.action);
          perOrder.push({ orderRef: line.orderRef, determinationRef: line.determinationRef, assertionId: line.assertionId, cards: [] });
        }
      }
    }
  }

  for (const [policy, dets] of byPolicy(inScope.filter((d) => wantsCard(d, opts)))) {
    if (opts.configuration.coverageInfo) {
      const smart = smartCard(policy, dets, ctx);
      if (smart) pending.push(smart);
    }
    if (opts.configuration.guideline) {
      const reference = referenceCard(policy, dets, ctx);
      if (reference) pending.push(reference);
    }
  }

  const requested = opts.configuration.maxCards;
  const max = Number.isFinite(requested) ? Math.max(0, Math.floor(requested)) : Infinity;
  const kept = pending
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.rank - b.p.rank || a.i - b.i)
    .slice(0, max)
    .map(({ p }) => p);

  for (const p of kept) {
    if (!p.orderRef) continue;
    for (const ref of [p.orderRef, ...(p.alsoFor ?? [])]) {
      const entry = perOrder.find((e) => e.orderRef === ref);
      entry?.cards.push({
        uuid: p.card.uuid!,
        indicator: p.card.indicator,
        criteria: p.criteria,
        suggestionUuids: (p.card.suggestions ?? []).map((s) => s.uuid!),
      });
    }
  }

  const response: CdsResponse = { cards: kept.map((p) => p.card) };
  if (systemActions.length > 0) response.systemActions = systemActions;
  return { response, perOrder };
}

/**
 * Orders of one set whose determinations say the same thing (policies, outcome, the same gaps) get one card. Cards
 * with suggestions act on their own order's resource, so they are never shared (the caller checks).
 */
function findingsKey(det: Determination): string | undefined {
  if (!det.policy || det.outcome === 'no-policy' || det.outcome === 'indeterminate') return undefined;
  const ids = (list: { id: string }[]) => list.map((c) => c.id).join(',');
  return [det.order.groupKey, det.outcome, (det.policies ?? [det.policy]).map((p) => p.id).join(','), ids(det.unmet), ids(det.undocumented)].join('|');
}

function shareCard(p: Pending, det: Determination): void {
  (p.alsoFor ??= []).push(det.order.ref);
  const ext = p.card.extension as Record<string, { reference: string }[]> | undefined;
  ext?.['davinci-crd.associated-resource']?.push({ reference: det.order.ref });
  if (p.card.detail) p.card.detail = `${p.card.detail}\n\nAlso for **${md(orderName(det.order))}** (same order set, same findings).`;
}

// ---------------------------------------------------------------------------------------------------------------
// Per-order cards

function signCards(det: Determination, ctx: Ctx): Pending[] {
  switch (det.outcome) {
    case 'no-policy':
      return [noPolicyCard(det, ctx)];
    case 'indeterminate':
      return [indeterminateCard(det, ctx)];
    case 'covered':
      if (det.review?.length) return [reviewCard(det, ctx)];
      return ctx.opts.infoWhenCovered ? [coveredCard(det, ctx)] : [];
    default:
      return findingCards(det, ctx);
  }
}

function selectCards(det: Determination, ctx: Ctx): Pending[] {
  if (det.outcome === 'no-policy') return [noPolicyCard(det, ctx)];
  if (det.outcome === 'indeterminate') return [indeterminateCard(det, ctx)];
  return [selectCard(det, ctx)];
}

/** Whether the order gets (or, with coverage-info cards switched on, would get) a card — reference cards follow it. */
function wantsCard(det: Determination, opts: BuildOptions): boolean {
  if (!det.policy || det.outcome === 'no-policy') return false;
  if (opts.hook === 'order-select') return true;
  return det.outcome !== 'covered' || opts.infoWhenCovered || !!det.review?.length;
}

function topic(ctx: Ctx, code: 'coverage-info' | 'guideline'): Coding {
  return { system: ctx.opts.topicSystem, code, display: TOPIC_DISPLAY[code]! };
}

function orderCard(det: Determination, ctx: Ctx, indicator: Card['indicator'], summary: string, detail: string): Card {
  return {
    uuid: ctx.newUuid(),
    summary,
    indicator,
    detail,
    source: { label: det.policy?.sourceLabel ?? 'pumpcheck', topic: topic(ctx, 'coverage-info') },
    extension: { 'davinci-crd.associated-resource': [{ reference: det.order.ref }] },
  };
}

function withSuggestions(card: Card, suggestions: Suggestion[]): void {
  if (suggestions.length === 0) return;
  card.suggestions = suggestions;
  card.selectionBehavior = 'any';
}

function withOverrides(card: Card): void {
  card.overrideReasons = OVERRIDE_REASONS.map((r) => ({ ...r }));
}

function rankOf(indicator: Card['indicator']): number {
  return RANK[indicator];
}

function findingCards(det: Determination, ctx: Ctx): Pending[] {
  const indicator = ctx.opts.findingIndicator;
  const labs = labSuggestions(det, ctx, ctx.offeredLabs);
  const fixes = orderFixSuggestions(det, ctx);
  // A card holding both creates and order changes would fit no CRD response type: split the fix off.
  const split = labs.length > 0 && fixes.length > 0;
  const onDecisive = labs.length > 0 ? labs : fixes;

  const nextSteps: string[] = [];
  if (labs.length > 0) {
    const retests = labs.filter((l) => det.unmet.some((u) => u.retest && l.criteria.includes(u.id)));
    if (retests.length > 0) nextSteps.push('Repeat the test with the suggestion on this card: a new valid result can change this.');
    if (retests.length < labs.length) nextSteps.push('Order the missing tests with the suggestions on this card.');
  }
  if (fixes.length > 0) {
    const removes = fixes.every((f) => f.suggestion.actions?.every((a) => a.type === 'delete'));
    const verb = removes ? 'Remove the order' : 'Correct the order';
    nextSteps.push(split ? `${verb} with the suggestion on the separate card for this order.` : `${verb} with the suggestion on this card.`);
  }
  const decisive = orderCard(det, ctx, indicator, findingSummary(det), detailFor(det, ctx, 'sign', nextSteps));
  withSuggestions(decisive, onDecisive.map((s) => s.suggestion));
  withOverrides(decisive);
  const out: Pending[] = [
    { card: decisive, rank: rankOf(indicator), orderRef: det.order.ref, criteria: decisiveCriteria(det) },
  ];
  if (split) {
    const first = fixes[0]!.suggestion;
    const fixedLeaves = det.unmet.filter((l) => fixes.some((f) => f.criteria.includes(l.id)));
    const why = fixedLeaves.map((l) => `- ✗ ${md(l.text)}${reasonText(l) ? ` — ${md(reasonText(l)!)}` : ''} _(${md(l.citation)})_`).join('\n');
    const detail = [
      `**${md(orderName(det.order))}**`,
      `${md(det.policy?.payerLabel ?? 'The payer')} will not cover this order as written. The suggestion on this card corrects it; ` +
        'the documentation still missing is on the other card for this order.',
      why,
    ].join('\n\n');
    const alternate = orderCard(det, ctx, indicator, fitSummary(`${orderShort(det.order)}: ${lowerFirst(first.label)}`), detail);
    withSuggestions(alternate, fixes.map((f) => f.suggestion));
    withOverrides(alternate);
    out.push({ card: alternate, rank: rankOf(indicator), orderRef: det.order.ref, criteria: fixes.flatMap((f) => f.criteria) });
  }
  return out;
}

function decisiveCriteria(det: Determination): string[] {
  return [...det.unmet, ...det.undocumented].map((c) => c.id);
}

function coveredCard(det: Determination, ctx: Ctx): Pending {
  const n = topLevelRequirements(det.root, 'met').filter((c) => !isNotApplicable(c)).length;
  const payer = det.policy?.payerLabel ?? 'payer';
  // Whole phrases: the documents when they fit after the statement, else the statement alone.
  const statement = `${orderShort(det.order)}: all ${n > 1 ? `${n} ` : ''}${payer} requirements documented`;
  const summary = composeSummary('', [...(det.policy ? [`${statement} (${policyDocuments(det.policy)})`] : []), statement, `${orderShort(det.order)}: all requirements documented`]);
  const card = orderCard(det, ctx, 'info', summary, detailFor(det, ctx, 'sign', []));
  return { card, rank: RANK.info, orderRef: det.order.ref, criteria: [] };
}

/** Covered, but resting on evidence a reviewer should confirm (a policy `review` text): an info card, never a warning. */
function reviewCard(det: Determination, ctx: Ctx): Pending {
  const first = det.review![0]!;
  const summary = fitSummary(`${orderShort(det.order)}: covered on ${criterionShortName(first)} — ${first.review}`);
  const card = orderCard(det, ctx, 'info', summary, detailFor(det, ctx, 'sign', [`Review: ${md(first.text)} — ${md(first.review!)}.`]));
  return { card, rank: RANK.info, orderRef: det.order.ref, criteria: det.review!.map((c) => c.id) };
}

function selectCard(det: Determination, ctx: Ctx): Pending {
  const labs = labSuggestions(det, ctx, ctx.offeredLabs);
  const steps = labs.length > 0 ? ['The missing tests can be ordered now with the suggestions on this card.'] : [];
  const card = orderCard(det, ctx, 'info', selectSummary(det), detailFor(det, ctx, 'select', steps));
  withSuggestions(card, labs.map((l) => l.suggestion));
  return { card, rank: RANK.info, orderRef: det.order.ref, criteria: decisiveCriteria(det) };
}

function noPolicyCard(det: Determination, ctx: Ctx): Pending {
  const payer = det.policy?.payerLabel ?? "this patient's payer";
  const summary = fitSummary(`No coverage policy configured for ${payer} — ${orderNoun(det.order)} not checked`);
  const detail = [
    `**${md(orderName(det.order))}**`,
    `pumpcheck has no coverage policy configured for ${md(payer)}${det.message ? ` (${md(det.message)})` : ''}, ` +
      `so this ${orderNoun(det.order)} was not checked against coverage criteria. Check the payer's requirements directly before the order is sent.`,
  ].join('\n\n');
  return { card: orderCard(det, ctx, 'info', summary, detail), rank: RANK.info, orderRef: det.order.ref, criteria: [] };
}

function indeterminateCard(det: Determination, ctx: Ctx): Pending {
  const payer = det.policy?.payerLabel ?? 'Coverage';
  const summary = fitSummary(`${orderShort(det.order)}: ${payer} coverage check could not be completed`);
  const parts = [
    `**${md(orderName(det.order))}**`,
    `The coverage check could not be completed${det.message ? `: ${md(det.message.replace(/\.?\s*$/, '.'))}` : '.'}`,
    'Nothing was concluded about this order. It can still be signed; check the criteria manually or try again later.',
  ];
  const links = policyLinksLine(det.policy, ctx);
  if (links) parts.push(links);
  return { card: orderCard(det, ctx, 'info', summary, parts.join('\n\n')), rank: RANK.info, orderRef: det.order.ref, criteria: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// Wording

/** The top-level requirements still open, named in a few words ("fasting C-peptide", "diabetes education"). */
function openNames(det: Determination, status?: CriterionResult['status']): string[] {
  if (!det.root) return [...new Set([...det.unmet, ...det.undocumented].filter((c) => !status || c.status === status).map((c) => criterionShortName(c)))];
  const open = topLevelRequirements(det.root, status ?? 'not-met').concat(status ? [] : topLevelRequirements(det.root, 'not-documented'));
  return [...new Set(open.map((r) => criterionShortName(gapNode(r), 90)))];
}

/**
 * The day the determination was evaluated as of (YYYY-MM-DD): the day the engine counted its windows back from, so the
 * one day a "met from" date is counted from — in the summary and the detail alike, never the clock or the request day.
 */
function evaluationDay(det: Determination): string {
  return det.asOf.slice(0, 10);
}

/** What is wrong with each unmet top-level requirement, in the words of the leaf that decided it. */
function unmetPhrases(det: Determination): string[] {
  const day = evaluationDay(det);
  if (!det.root) return det.unmet.map((c) => gapPhrases(c, day)[0]!);
  return topLevelRequirements(det.root, 'not-met').map((top) => {
    const leaf = firstOpenLeaf(top, 'not-met');
    return leaf ? gapPhrases(leaf, day)[0]! : criterionShortName(top);
  });
}

/** The first paragraph after the order's name: the verdict, what is open, and what to do — before any checklist. */
function lead(det: Determination, ctx: Ctx, hook: 'sign' | 'select', nextSteps: string[]): string {
  const p = det.policy;
  const under = p ? ` under ${md(p.sourceLabel)}` : '';
  const payer = md(p?.payerLabel ?? 'The payer');
  const unmet = openNames(det, 'not-met').map(md);
  const undocumented = openNames(det, 'not-documented').map(md);
  const sentences: string[] = [];
  if (det.outcome === 'covered') {
    const n = topLevelRequirements(det.root, 'met').filter((c) => !isNotApplicable(c)).length;
    sentences.push(
      hook === 'select'
        ? `**What this order will need**${under}: everything is already on file.`
        : `**All criteria documented**${under} as of ${evaluationDay(det)}${n > 0 ? ` (${plural(n, 'requirement', 'requirements')} met)` : ''}.`,
    );
    return sentences.join(' ');
  }
  if (hook === 'select') {
    const items = [
      ...(unmet.length > 0 ? [`${nameList(unmet, 3)} not met`] : []),
      ...(undocumented.length > 0 ? [`${nameList(undocumented, 4)} not yet on file`] : []),
    ];
    sentences.push(`**What this order will need**${under}: ${items.join('; ') || 'see below'}.`);
  } else if (det.outcome === 'not-covered') {
    const why = unmetPhrases(det).map((p) => md(lowerFirst(p)));
    sentences.push(`**Not covered as ordered**${under}: ${why.length > 0 ? why.slice(0, 2).join('; ') + (why.length > 2 ? `; and ${why.length - 2} more` : '') : 'a requirement is not met'}.`);
  } else {
    sentences.push(`**Documentation missing**${under}: ${nameList(undocumented.length > 0 ? undocumented : unmet, 3)} ${undocumented.length === 1 ? 'is' : 'are'} not documented in this EHR.`);
  }
  sentences.push(...nextSteps);
  // Time-based criteria: the date from which they will be met (the order can be signed again then).
  const day = evaluationDay(det);
  for (const leaf of det.unmet) {
    const from = metFromDate(leaf, day);
    if (from) sentences.push(`${md(capitalise(criterionShortName(leaf, 60)))} will be met from ${from}.`);
  }
  const qUrl = p?.questionnaireId ? formLink(ctx, p.questionnaireId) : undefined;
  // Not covered: the root is not met, and no answer to an open question can change that (three-valued logic) — so no
  // invitation to fill the form, which would read as an invitation to change the answers that decided it.
  const open = det.outcome === 'not-covered' ? [] : relevantOpenLeaves(det.root, 'not-documented');
  const form = qUrl && open.some(formAnswers);
  const data = open.some((c) => !formAnswers(c) && !(c.remedies ?? []).some((r) => r.type === 'order-lab'));
  const again = hook === 'sign' ? ', then sign again' : '';
  if (form && data) sentences.push(`Add what is missing to the record, or answer it in the ${mdLink('documentation form', qUrl)}${again}.`);
  else if (form) sentences.push(`Answer the open questions in the ${mdLink('documentation form', qUrl)}${again}.`);
  else if (data) sentences.push(`Add what is missing to the record (results, notes or history)${again}.`);
  if (det.outcome === 'not-covered' && hook === 'sign') {
    if (nextSteps.length === 0 && !det.unmet.some((l) => metFromDate(l, day))) {
      sentences.push(`If the record is wrong, correct it and sign again; otherwise ${payer} is expected to deny this order as written.`);
    }
    if (p?.liabilityNotice) sentences.push(md(p.liabilityNotice));
  }
  return sentences.join(' ');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function detailFor(det: Determination, ctx: Ctx, hook: 'sign' | 'select', nextSteps: string[]): string {
  const parts = [`**${md(orderName(det.order))}**`, lead(det, ctx, hook, nextSteps)];
  if (det.root && det.outcome !== 'covered') {
    const qUrl = det.policy?.questionnaireId ? formLink(ctx, det.policy.questionnaireId) : undefined;
    // The form is offered only where an answer is missing: never next to a question already answered (a "no" is an answer).
    // Not covered: only what is not met is listed — what is undocumented cannot change the outcome, and listing it
    // (with the form next to it) would invite answers that change nothing.
    const notCovered = det.outcome === 'not-covered';
    const { list, met, notApplicable, hidden } = openChecklist(det.root, {
      ...(notCovered ? { only: 'not-met' as const } : {}),
      day: evaluationDay(det),
      // A bare question (an attestation leaf) is covered by the lead's "answer the open questions on the form"; a
      // requirement the record or the form can meet says so on its line.
      annotate: (c) =>
        !notCovered && qUrl && (c.op === 'firstDocumented' || c.op === 'not' || (c.op === 'leaf' && c.finding?.kind !== 'attestation')) && formAnswers(c)
          ? 'can be answered in the documentation form'
          : undefined,
    });
    if (list) parts.push(list);
    const rest = [
      met > 0 ? `${plural(met, 'other requirement', 'other requirements')} met` : '',
      notApplicable > 0 ? `${plural(notApplicable, 'check does', 'checks do')} not apply to this order` : '',
      hidden > 0 ? `${plural(hidden, 'other requirement is', 'other requirements are')} not documented` : '',
    ].filter(Boolean);
    parts.push([rest.length > 0 ? `${rest.join('; ')}.` : '', list ? `(${LEGEND})` : ''].filter(Boolean).join(' '));
  } else if (det.message) {
    parts.push(md(det.message));
  }
  // Where the claim goes (implantable pumps: the A/B MAC, not the DME MAC), cited.
  const billing = billingNoteOf(det);
  if (billing) parts.push(`**Billing:** ${md(billing)}`);
  // The policy links are on the reference card; without it (guideline cards switched off) they close the detail.
  if (!ctx.opts.configuration.guideline) {
    const links = policyLinksLine(det.policy, ctx);
    if (links) parts.push(links);
  }
  return parts.filter(Boolean).join('\n\n');
}

/** An undocumented criterion the documentation form can answer (itself or an undocumented part of it). */
function formAnswers(c: CriterionResult): boolean {
  if (c.status !== 'not-documented') return false;
  // Already answered (a "no" that leaves it undocumented, another answer): never offered again.
  if (c.finding?.kind === 'attestation' && c.finding.code !== 'none') return false;
  return hasQuestionnaireRemedy(c) || (c.children ?? []).some(formAnswers);
}

/** Where the claim goes (a policy's billingNote, e.g. implantable pumps: the A/B MAC, not the DME MAC). */
export function billingNoteOf(det: Determination): string | undefined {
  return det.policies?.find((p) => p.billingNote)?.billingNote ?? det.policy?.billingNote;
}

function hasQuestionnaireRemedy(c: CriterionResult): boolean {
  return (c.remedies ?? []).some((r) => r.type === 'questionnaire');
}

function policyLinksLine(policy: PolicySummary | undefined, ctx: Ctx): string | undefined {
  if (!policy) return undefined;
  const links = absoluteLinks(policy, ctx).map((l) => mdLink(l.label, l.url));
  return links.length > 0 ? `Policy: ${links.join(' · ')}` : undefined;
}

function findingSummary(det: Determination): string {
  const short = orderShort(det.order);
  // On a conditional outcome the unmet leaves are failed alternatives (a "no" on the prior-pump pathway); the
  // headline is what documentation would still decide it.
  if (det.outcome === 'conditional' && det.undocumented.length > 0) return undocumentedSummary(det, 'sign');
  const topUnmet = topLevelRequirements(det.root, 'not-met')[0];
  const first = (topUnmet && firstOpenLeaf(topUnmet, 'not-met')) ?? det.unmet[0];
  if (first) {
    // Not covered: the other reasons it is not covered count; undocumented items cannot change it and do not.
    const extra = openNames(det, det.outcome === 'not-covered' ? 'not-met' : undefined).length - 1;
    return composeSummary(`${short}: `, gapPhrases(first, evaluationDay(det)).map(lowerFirst), extra > 0 ? `(+${plural(extra, 'more gap', 'more gaps')})` : '');
  }
  if (det.undocumented.length > 0) return undocumentedSummary(det, 'sign');
  if (det.policy) return fitSummary(`${short}: not covered as ordered under ${policyPhrase(det.policy)}`);
  return fitSummary(`${short}: not covered as ordered`);
}

function selectSummary(det: Determination): string {
  const short = orderShort(det.order);
  const payer = det.policy?.payerLabel ?? 'The payer';
  if (det.outcome === 'conditional' && det.undocumented.length > 0) return undocumentedSummary(det, 'select');
  if (det.unmet.length > 0 || det.outcome === 'not-covered') return findingSummary(det);
  if (det.undocumented.length > 0) return undocumentedSummary(det, 'select');
  const n = topLevelRequirements(det.root, 'met').filter((c) => !isNotApplicable(c)).length;
  return composeSummary('', [`${short}: all ${n > 1 ? `${n} ` : ''}${payer} requirements already on file`, `${short}: all requirements already on file`]);
}

/** "Insulin pump E0784: 3 Medicare criteria not documented (fasting C-peptide, glucose log, education)". */
function undocumentedSummary(det: Determination, hook: 'sign' | 'select'): string {
  const short = orderShort(det.order);
  const payer = det.policy?.payerLabel ?? 'payer';
  // Count requirements, not leaves: "C-peptide or antibody" is one requirement with two ways to meet it.
  const requirements = topLevelRequirements(det.root, 'not-documented');
  // Names as long as a summary can hold (a name cut short is not a whole phrase).
  const names = [...new Set((requirements.length > 0 ? requirements.map((r) => gapName(r, 90)) : det.undocumented.map((c) => criterionShortName(c, 90))))];
  // A gap whose own reason is the advice (repeat an invalid test; a code the policy does not address: verify it) leads.
  const lead = det.undocumented.find((c) => c.retest || c.finding?.code === 'not-addressed');
  if (lead) {
    const more = det.undocumented.length - 1;
    return composeSummary(`${short}: `, gapPhrases(lead, evaluationDay(det)).map(lowerFirst), more > 0 ? `(+${plural(more, 'more gap', 'more gaps')})` : '');
  }
  if (names.length === 1) {
    // A failed alternative explains why documentation is needed ("glucose log averages 2/day": CGM use would do).
    // Only a failed alternative within the gap itself: an unrelated "no" elsewhere would join two facts.
    // Or a failed sibling alternative ("log averages 2/day" next to "CGM use not documented").
    const gaps = topLevelRequirements(det.root, 'not-documented').map(gapNode);
    const siblings = gaps.flatMap((g) => {
      const parent = det.root ? parentOf(det.root, g) : undefined;
      return parent?.op === 'anyOf' ? (parent.children ?? []).filter((k) => k !== g && k.status === 'not-met') : [];
    });
    const failed = det.unmet.find((u) => gaps.some((g) => contains(g, u))) ?? siblings[0];
    const context = failed ? gapPhrases(failed, evaluationDay(det)).map(lowerFirst) : [];
    const candidates =
      hook === 'sign'
        ? [
            ...context.map((c) => `${c}; ${names[0]} not documented`),
            ...context.map((c) => `${payer} needs ${names[0]} documented — ${c}`),
            `${names[0]} not documented — required by ${payer}`,
            ...context.map((c) => `${c}; a ${payer} requirement is not documented`),
            `a ${payer} requirement is not documented`,
          ]
        : [
            ...context.map((c) => `${payer} will also need ${names[0]} — ${c}`),
            `${payer} will also need ${names[0]} (not yet on file)`,
            `${payer} will also need an item not yet on file`,
          ];
    return composeSummary(`${short}: `, candidates);
  }
  const head =
    hook === 'sign'
      ? `${names.length} ${payer} requirements not documented`
      : `${payer} will need ${names.length} items not yet on file`;
  // As many names as fit, the rest counted ("and 2 more"); never a list cut mid-name.
  const candidates: string[] = [];
  for (let shown = names.length; shown >= 1; shown--) candidates.push(`${head} (${nameList(names, shown)})`);
  candidates.push(head);
  return composeSummary(`${short}: `, candidates);
}

// ---------------------------------------------------------------------------------------------------------------
// Shared cards (once per policy per response)

function byPolicy(dets: Determination[]): Map<PolicySummary, Determination[]> {
  const byId = new Map<string, { policy: PolicySummary; dets: Determination[] }>();
  for (const det of dets) {
    if (!det.policy) continue;
    const group = byId.get(det.policy.id) ?? { policy: det.policy, dets: [] };
    group.dets.push(det);
    byId.set(det.policy.id, group);
  }
  return new Map([...byId.values()].map((g) => [g.policy, g.dets]));
}

function absoluteLinks(policy: PolicySummary, ctx: Ctx): Link[] {
  const links: Link[] = policy.links
    .filter((l) => isHttpUrl(l.url))
    .map((l) => ({ label: truncateText(l.label, 120), url: l.url, type: 'absolute' as const }));
  if (policy.questionnaireId) {
    const url = formLink(ctx, policy.questionnaireId);
    if (isHttpUrl(url)) links.push({ label: 'Documentation form (FHIR Questionnaire)', url, type: 'absolute' });
  }
  return links;
}

function formLink(ctx: Ctx, questionnaireId: string): string {
  return ctx.opts.formUrl?.(questionnaireId) ?? ctx.opts.questionnaireUrl(questionnaireId);
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function associated(dets: Determination[]): Record<string, unknown> {
  return { 'davinci-crd.associated-resource': dets.map((d) => ({ reference: d.order.ref })) };
}

/** External Reference: policy text and documentation form, links all absolute, no suggestions. */
function referenceCard(policy: PolicySummary, dets: Determination[], ctx: Ctx): Pending | undefined {
  const links = absoluteLinks(policy, ctx);
  if (links.length === 0) return undefined;
  const what = policy.questionnaireId ? 'policy text and documentation form' : 'policy text';
  const detail = [
    `Coverage criteria applied: ${md(policy.title)} (version ${md(policy.version)}), for ${dets.map((d) => md(orderName(d.order))).join('; ')}.`,
    links.map((l) => `- ${mdLink(l.label, l.url)}`).join('\n'),
  ].join('\n\n');
  const card: Card = {
    uuid: ctx.newUuid(),
    summary: composeSummary('', [`${policyPhrase(policy)} — ${what}`, `${policy.payerLabel} coverage policy — ${what}`]),
    indicator: 'info',
    detail,
    source: { label: policy.sourceLabel, topic: topic(ctx, 'guideline') },
    links,
    extension: associated(dets),
  };
  return { card, rank: RANK.reference, criteria: [] };
}

/** Launch SMART Application: the configured app that helps complete the documentation form. */
function smartCard(policy: PolicySummary, dets: Determination[], ctx: Ctx): Pending | undefined {
  const url = ctx.opts.smartAppUrl;
  if (!url || !policy.questionnaireId) return undefined;
  const needing = dets.filter((d) => d.undocumented.length > 0 && (d.outcome === 'conditional' || d.outcome === 'not-covered'));
  if (needing.length === 0) return undefined;
  const questionnaire = ctx.opts.questionnaireUrl(policy.questionnaireId);
  const card: Card = {
    uuid: ctx.newUuid(),
    // Whole phrases only; "… for External insulin pump (CSII, E0784) — Medicare" already names the payer: not twice.
    summary: composeSummary('', [
      policy.title.includes(policy.payerLabel)
        ? `Complete the documentation form for ${policy.title}`
        : `Complete the ${policy.payerLabel} documentation form for ${policy.title}`,
      `Complete the ${policy.payerLabel} documentation form for ${policy.title.split(/ — | \(/)[0]!.trim()}`,
      `Complete the ${policy.payerLabel} documentation form`,
    ]),
    indicator: 'info',
    detail:
      `Opens the documentation app with the ${md(policy.title)} form, to record what the EHR cannot hold as data, for ` +
      `${needing.map((d) => md(orderName(d.order))).join('; ')}.`,
    source: { label: policy.sourceLabel, topic: topic(ctx, 'coverage-info') },
    links: [
      {
        label: 'Complete the documentation form',
        url,
        type: 'smart',
        appContext: JSON.stringify({ questionnaire, orders: needing.map((d) => d.order.ref) }),
      },
    ],
    extension: associated(needing),
  };
  return { card, rank: RANK.smart, criteria: [] };
}
