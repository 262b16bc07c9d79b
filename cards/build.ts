// Determinations → CDS Hooks response: the cards a clinician reads and the CRD coverage-information system actions.
// Every card is shaped to one CRD response type (SPEC-DIGEST §2.8):
//   decisive card with lab suggestions      → Identify Additional Orders (all actions create ServiceRequest)
//   decisive card with order fixes only     → Propose Alternate Request (update, or delete [+ create])
//   decisive card with nothing to do in-EHR → Instructions (detail only)
//   policy text + documentation form        → External Reference (links all absolute), once per policy
//   SMART documentation app (if configured) → Launch SMART Application (links all smart), once per policy
import type { Action, Card, CdsResponse, Coding, Link, Suggestion } from '../src/cds/types.js';
import type { CriterionResult, Determination, PolicySummary } from '../src/policy/types.js';
import { coverageSystemAction } from './coverage-information.js';
import { reasonText } from './findings.js';
import { labSuggestions, orderFixSuggestions, type SuggestionContext } from './suggestions.js';
import {
  LEGEND,
  SUMMARY_MAX,
  checklist,
  criterionShortName,
  fitSummary,
  gapName,
  gapPhrase,
  lowerFirst,
  md,
  mdLink,
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
  /** YYYY-MM-DD */
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
  perOrder: { orderRef: string; assertionId?: string; cards: BuiltCard[] }[];
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

  for (const det of inScope) {
    const entry: BuiltResponse['perOrder'][number] = { orderRef: det.order.ref, cards: [] };
    perOrder.push(entry);
    if (!opts.configuration.coverageInfo) continue;
    pending.push(...(sign ? signCards(det, ctx) : selectCards(det, ctx)));
    if (det.coverageRef && det.policy && det.outcome !== 'no-policy') {
      const assertionId = opts.newAssertionId();
      const action = coverageSystemAction(det, {
        hook: opts.hook,
        crdVersion: opts.crdVersion,
        assertNoAuth: opts.assertNoAuth,
        questionnaireUrl: opts.questionnaireUrl,
        today: opts.today,
        assertionId,
      });
      if (action) {
        systemActions.push(action);
        entry.assertionId = assertionId;
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
    const entry = perOrder.find((e) => e.orderRef === p.orderRef);
    entry?.cards.push({
      uuid: p.card.uuid!,
      indicator: p.card.indicator,
      criteria: p.criteria,
      suggestionUuids: (p.card.suggestions ?? []).map((s) => s.uuid!),
    });
  }

  const response: CdsResponse = { cards: kept.map((p) => p.card) };
  if (systemActions.length > 0) response.systemActions = systemActions;
  return { response, perOrder };
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
  if (labs.length > 0) nextSteps.push('Order the missing tests with the suggestions on this card.');
  if (fixes.length > 0) {
    nextSteps.push(split ? 'Correct the order with the suggestion on the separate card for this order.' : 'Correct the order with the suggestion on this card.');
  }
  const decisive = orderCard(det, ctx, indicator, findingSummary(det), detailFor(det, ctx, verdict(det), nextSteps));
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
      `${md(det.policy?.payerLabel ?? 'The payer')} will not cover this order as written:`,
      why,
      'The suggestion corrects the order; the documentation checklist is on the other card for this order.',
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
  const n = topLevelRequirements(det.root, 'met').length;
  const payer = det.policy?.payerLabel ?? 'payer';
  const summary = fitSummary(`${orderShort(det.order)}: all ${n > 1 ? `${n} ` : ''}${payer} requirements documented`, det.policy ? `(${policyDocuments(det.policy)})` : '');
  const card = orderCard(det, ctx, 'info', summary, detailFor(det, ctx, verdict(det), []));
  return { card, rank: RANK.info, orderRef: det.order.ref, criteria: [] };
}

/** Covered, but resting on evidence a reviewer should confirm (a policy `review` text): an info card, never a warning. */
function reviewCard(det: Determination, ctx: Ctx): Pending {
  const first = det.review![0]!;
  const summary = fitSummary(`${orderShort(det.order)}: covered on ${criterionShortName(first)} — ${first.review}`);
  const card = orderCard(det, ctx, 'info', summary, detailFor(det, ctx, verdict(det), [`Review: ${md(first.text)} — ${md(first.review!)}.`]));
  return { card, rank: RANK.info, orderRef: det.order.ref, criteria: det.review!.map((c) => c.id) };
}

function selectCard(det: Determination, ctx: Ctx): Pending {
  const labs = labSuggestions(det, ctx, ctx.offeredLabs);
  const steps = labs.length > 0 ? ['The missing tests can be ordered now with the suggestions on this card.'] : [];
  const card = orderCard(det, ctx, 'info', selectSummary(det), detailFor(det, ctx, selectVerdict(det), steps));
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

function verdict(det: Determination): string {
  const p = det.policy;
  const against = p ? ` under ${md(p.sourceLabel)} (${md(p.title)}, version ${md(p.version)})` : '';
  const asOf = ` as of ${det.asOf.slice(0, 10)}`;
  if (det.outcome === 'covered') return `**All criteria documented**${against}${asOf}.`;
  if (det.outcome === 'not-covered') {
    const undoc = det.undocumented.length > 0 ? `, ${det.undocumented.length} not documented` : '';
    const unmet = det.unmet.length > 0 ? `: ${plural(det.unmet.length, 'criterion', 'criteria')} not met${undoc}` : '';
    return `**Not covered as ordered**${against}${asOf}${unmet}.`;
  }
  return (
    `**Documentation missing**${against}${asOf}: ${plural(det.undocumented.length, 'criterion is', 'criteria are')} ` +
    `not documented in this EHR. ${md(p?.payerLabel ?? 'The payer')} requires the documentation in the medical record.`
  );
}

function selectVerdict(det: Determination): string {
  const p = det.policy;
  const under = p ? ` under ${md(p.sourceLabel)} (${md(p.title)})` : '';
  if (det.outcome === 'covered') return `What this order will need${under}: everything is already on file.`;
  if (det.outcome === 'not-covered') return `What this order will need${under}: the record shows ${plural(det.unmet.length, 'criterion', 'criteria')} not met (✗).`;
  return `What this order will need${under}: ${plural(det.undocumented.length, 'item is', 'items are')} not yet on file (?); the rest is already on file (✓).`;
}

function detailFor(det: Determination, ctx: Ctx, headline: string, nextSteps: string[]): string {
  const parts = [`**${md(orderName(det.order))}**`, headline];
  const qUrl = det.policy?.questionnaireId ? formLink(ctx, det.policy.questionnaireId) : undefined;
  if (det.root) {
    parts.push(
      checklist(det.root, {
        annotate: (c) => (qUrl && c.status !== 'met' && hasQuestionnaireRemedy(c) ? `attest in the ${mdLink('documentation form', qUrl)}` : undefined),
      }),
    );
    parts.push(LEGEND);
  } else if (det.message) {
    parts.push(md(det.message));
  }
  const steps = [...nextSteps];
  if (qUrl && det.undocumented.length > 0) steps.push(`Record what the EHR cannot hold as data in the ${mdLink('documentation form', qUrl)}.`);
  if (steps.length > 0) parts.push(steps.join(' '));
  const links = policyLinksLine(det.policy, ctx);
  if (links) parts.push(links);
  return parts.join('\n\n');
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
  const first = det.unmet[0];
  if (first) {
    const extra = det.unmet.length - 1 + det.undocumented.length;
    return fitSummary(`${short}: ${lowerFirst(gapPhrase(first))}`, extra > 0 ? `(+${plural(extra, 'more gap', 'more gaps')})` : '');
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
  const n = topLevelRequirements(det.root, 'met').length;
  return fitSummary(`${short}: all ${n > 1 ? `${n} ` : ''}${payer} requirements already on file`);
}

/** "Insulin pump E0784: 3 Medicare criteria not documented (fasting C-peptide, glucose log, education)". */
function undocumentedSummary(det: Determination, hook: 'sign' | 'select'): string {
  const short = orderShort(det.order);
  const payer = det.policy?.payerLabel ?? 'payer';
  // Count requirements, not leaves: "C-peptide or antibody" is one requirement with two ways to meet it.
  const requirements = topLevelRequirements(det.root, 'not-documented');
  const names = [...new Set((requirements.length > 0 ? requirements.map(gapName) : det.undocumented.map((c) => criterionShortName(c))))];
  // A gap whose own reason is the advice (repeat an invalid test; a code the policy does not address: verify it) leads.
  const lead = det.undocumented.find((c) => c.retest || c.finding?.code === 'not-addressed');
  if (lead) {
    const more = det.undocumented.length - 1;
    return fitSummary(`${short}: ${lowerFirst(gapPhrase(lead))}`, more > 0 ? `(+${plural(more, 'more gap', 'more gaps')})` : '');
  }
  if (names.length === 1) {
    // A failed alternative explains why documentation is needed ("glucose log averages 2/day": CGM use would do).
    const context = det.unmet[0] ? lowerFirst(gapPhrase(det.unmet[0])) : undefined;
    if (context) {
      return hook === 'sign'
        ? fitSummary(`${short}: ${payer} needs ${names[0]} documented — ${context}`)
        : fitSummary(`${short}: ${payer} will also need ${names[0]} — ${context}`);
    }
    return hook === 'sign'
      ? fitSummary(`${short}: ${names[0]} not documented — required by ${payer}`)
      : fitSummary(`${short}: ${payer} will also need ${names[0]} (not yet on file)`);
  }
  const head =
    hook === 'sign'
      ? `${short}: ${names.length} ${payer} requirements not documented`
      : `${short}: ${payer} will need ${names.length} items not yet on file`;
  // As many names as fit, then '…' — the count already says how many there are.
  let list = '';
  for (let i = 0; i < names.length; i++) {
    const next = list ? `${list}, ${names[i]}` : names[i]!;
    const candidate = i === names.length - 1 ? `${head} (${next})` : `${head} (${next}, …)`;
    if (candidate.length > SUMMARY_MAX) {
      list = list ? `${list}, …` : '…';
      break;
    }
    list = next;
  }
  return truncateText(`${head} (${list})`);
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
    summary: fitSummary(`${policyPhrase(policy)} — ${what}`),
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
    summary: fitSummary(`Complete the ${policy.payerLabel} documentation form for ${policy.title}`),
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
