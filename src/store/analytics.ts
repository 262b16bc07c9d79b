// Override analytics for compliance analysts. The unit is the card: every card an order's finding produced counts
// once — a card that speaks for six criteria is one card, not six overrides; its criteria are a breakdown.
//
// The rule for a card's response, whatever the order the feedback arrived in:
//   accepted     some response accepted it (a suggestion taken stands even if the card is then dismissed — EHRs and
//                the sandbox send "overridden" when a card is closed after its suggestion was applied);
//   overridden   it was only ever overridden; the reason counted is that of its latest override;
//   no feedback  nothing came back (yet).
// Override rate = overridden ÷ (accepted + overridden). Shared cards (the policy reference card, the SMART form card)
// are recorded against their assertion too, but are counted apart: dismissing a reference card is not an override of
// a finding. Weeks are ISO weeks (UTC) of when the card was shown.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './db.js';

export interface OverrideReasonCount {
  system?: string;
  code: string;
  display?: string;
  count: number;
}

export interface Counts {
  cardsShown: number;
  accepted: number;
  overridden: number;
  /** Cards shown that received no feedback (yet). */
  noFeedback: number;
  /** overridden / (accepted + overridden); null when no card received feedback. */
  overrideRate: number | null;
}

export interface CriterionCounts extends Counts {
  criterion: string;
}

export interface OverrideAnalyticsRow extends Counts {
  /** Payer policy id, or "(none)" for cards emitted without a policy. */
  policyId: string;
  /** ISO week of the assertion, e.g. "2025-W03" (UTC). */
  week: string;
  /** Monday of that week, YYYY-MM-DD. */
  weekStart: string;
  /** Most frequent coded override reasons (top 3; uncoded overrides are not listed). */
  topOverrideReasons: OverrideReasonCount[];
  /** The same cards by the criteria they speak for (a card counts under each of its criteria, once). */
  criteria: CriterionCounts[];
}

export interface BreakdownRow extends Counts {
  key: string;
}

export interface SharedCardCounts {
  kind: 'reference' | 'smart';
  cardsShown: number;
  accepted: number;
  dismissed: number;
}

export interface AnalyticsReport {
  rows: OverrideAnalyticsRow[];
  /** Totals per policy and criterion over the whole period. */
  criteria: (CriterionCounts & { policyId: string })[];
  /** By the assertion's coverage outcome (conditional, not-covered, …). */
  byOutcome: BreakdownRow[];
  /** By ordering practitioner: a keyed hash, shortened; "(unknown)" when the order named none. */
  byPractitioner: BreakdownRow[];
  /** By ordering site (Organization reference); "(unknown)" when the record did not say. */
  bySite: BreakdownRow[];
  sharedCards: SharedCardCounts[];
}

export interface AnalyticsFilter {
  /** First day included, YYYY-MM-DD (UTC). */
  from?: string;
  /** Last day included, YYYY-MM-DD (UTC). */
  to?: string;
  policyId?: string;
}

export class InvalidFilterError extends Error {
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
    this.name = 'InvalidFilterError';
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const POLICY_ID = /^[\p{L}\p{N}._:/()-]{1,200}$/u;
/** Hex digits of the practitioner hash shown (enough to tell practitioners apart, not to look anyone up). */
export const PRACTITIONER_KEY_LENGTH = 12;

function checkDay(name: string, value: string): Date {
  const date = new Date(`${value}T00:00:00Z`);
  if (!DAY.test(value) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    throw new InvalidFilterError(`${name} must be a calendar date YYYY-MM-DD (got "${value}")`, name);
  }
  return date;
}

/** Validates a filter (throws InvalidFilterError naming the parameter). */
export function validateFilter(filter: AnalyticsFilter): { from?: Date; toExclusive?: Date; policyId?: string } {
  const out: { from?: Date; toExclusive?: Date; policyId?: string } = {};
  if (filter.from !== undefined) out.from = checkDay('from', filter.from);
  if (filter.to !== undefined) out.toExclusive = new Date(checkDay('to', filter.to).getTime() + 86_400_000);
  if (out.from && out.toExclusive && out.from >= out.toExclusive) {
    throw new InvalidFilterError('from must not be after to', 'from');
  }
  if (filter.policyId !== undefined) {
    if (!POLICY_ID.test(filter.policyId)) throw new InvalidFilterError('policyId is not a valid policy id', 'policyId');
    out.policyId = filter.policyId;
  }
  return out;
}

export type CardResponse = 'accepted' | 'overridden' | 'none';

/** The explicit rule above, for one card's feedback outcomes (in any order). */
export function cardResponse(outcomes: readonly string[]): CardResponse {
  if (outcomes.includes('accepted')) return 'accepted';
  if (outcomes.includes('overridden')) return 'overridden';
  return 'none';
}

interface CardRow {
  card_uuid: string;
  kind: 'finding' | 'reference' | 'smart';
  policy_id: string;
  outcome: string;
  practitioner: string;
  site: string;
  week: string;
  week_start: string;
  criteria: string[];
  outcomes: string[] | null;
  override_system: string | null;
  override_code: string | null;
  override_display: string | null;
}

const rate = (c: Counts) => {
  const answered = c.accepted + c.overridden;
  return answered === 0 ? null : Math.round((c.overridden / answered) * 10_000) / 10_000;
};

const empty = (): Counts => ({ cardsShown: 0, accepted: 0, overridden: 0, noFeedback: 0, overrideRate: null });

function add(c: Counts, response: CardResponse): void {
  c.cardsShown++;
  if (response === 'accepted') c.accepted++;
  else if (response === 'overridden') c.overridden++;
  else c.noFeedback++;
}

const finish = <T extends Counts>(c: T): T => ({ ...c, overrideRate: rate(c) });
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function breakdown(cards: { key: string; response: CardResponse }[]): BreakdownRow[] {
  const m = new Map<string, BreakdownRow>();
  for (const c of cards) {
    const row = m.get(c.key) ?? { key: c.key, ...empty() };
    add(row, c.response);
    m.set(c.key, row);
  }
  return [...m.values()].map(finish).sort((a, b) => b.cardsShown - a.cardsShown || byName(a.key, b.key));
}

export async function overrideAnalytics(db: Kysely<Database>, filter: AnalyticsFilter = {}): Promise<AnalyticsReport> {
  const f = validateFilter(filter);
  const where: RawBuilder<unknown>[] = [sql`true`];
  if (f.from) where.push(sql`a.created_at >= ${f.from.toISOString()}::timestamptz`);
  if (f.toExclusive) where.push(sql`a.created_at < ${f.toExclusive.toISOString()}::timestamptz`);
  if (f.policyId) where.push(sql`a.policy_id = ${f.policyId}`);

  // One row per card shown (a shared card once, at its first assertion), with every feedback outcome it received and
  // the reason of its latest override.
  const result = await sql<CardRow>`
    with cards as (
      select distinct on (c.card_uuid)
        c.card_uuid, c.kind, c.criteria,
        coalesce(a.policy_id, '(none)') as policy_id,
        a.outcome,
        coalesce(a.practitioner_hash, '(unknown)') as practitioner,
        coalesce(a.site, '(unknown)') as site,
        to_char(a.created_at at time zone 'UTC', 'IYYY-"W"IW') as week,
        to_char(date_trunc('week', a.created_at at time zone 'UTC'), 'YYYY-MM-DD') as week_start
      from assertions a
      join assertion_cards c on c.assertion_id = a.id
      where ${sql.join(where, sql` and `)}
      order by c.card_uuid, a.created_at, a.id
    ),
    responses as (
      select f.card_uuid, array_agg(distinct f.outcome) as outcomes
      from feedback f
      where f.card_uuid in (select card_uuid from cards)
      group by f.card_uuid
    ),
    last_override as (
      select distinct on (f.card_uuid) f.card_uuid, f.override_system, f.override_code, f.override_display
      from feedback f
      where f.outcome = 'overridden' and f.card_uuid in (select card_uuid from cards)
      order by f.card_uuid, f.outcome_timestamp desc, f.id desc
    )
    select c.*, r.outcomes, o.override_system, o.override_code, o.override_display
    from cards c
    left join responses r on r.card_uuid = c.card_uuid
    left join last_override o on o.card_uuid = c.card_uuid`.execute(db);

  const rows = new Map<string, OverrideAnalyticsRow & { reasons: Map<string, OverrideReasonCount>; crit: Map<string, CriterionCounts> }>();
  const totals = new Map<string, CriterionCounts & { policyId: string }>();
  const findings: { card: CardRow; response: CardResponse }[] = [];
  const shared = new Map<'reference' | 'smart', SharedCardCounts>();

  for (const card of result.rows) {
    const response = cardResponse(card.outcomes ?? []);
    if (card.kind !== 'finding') {
      const s = shared.get(card.kind) ?? { kind: card.kind, cardsShown: 0, accepted: 0, dismissed: 0 };
      s.cardsShown++;
      if (response === 'accepted') s.accepted++;
      else if (response === 'overridden') s.dismissed++;
      shared.set(card.kind, s);
      continue;
    }
    findings.push({ card, response });
    const key = `${card.policy_id}\u0000${card.week}`;
    const row =
      rows.get(key) ??
      { policyId: card.policy_id, week: card.week, weekStart: card.week_start, ...empty(), topOverrideReasons: [], criteria: [], reasons: new Map(), crit: new Map() };
    rows.set(key, row);
    add(row, response);
    if (response === 'overridden' && card.override_code) {
      const rk = `${card.override_system ?? ''}|${card.override_code}`;
      const reason = row.reasons.get(rk) ?? { code: card.override_code, count: 0, ...(card.override_system ? { system: card.override_system } : {}) };
      if (card.override_display && !reason.display) reason.display = card.override_display;
      reason.count++;
      row.reasons.set(rk, reason);
    }
    const criteria = card.criteria.length === 0 ? ['(none)'] : [...new Set(card.criteria)];
    for (const criterion of criteria) {
      const c = row.crit.get(criterion) ?? { criterion, ...empty() };
      add(c, response);
      row.crit.set(criterion, c);
      const tk = `${card.policy_id}\u0000${criterion}`;
      const t = totals.get(tk) ?? { policyId: card.policy_id, criterion, ...empty() };
      add(t, response);
      totals.set(tk, t);
    }
  }

  const out: OverrideAnalyticsRow[] = [...rows.values()]
    .sort((a, b) => byName(a.weekStart, b.weekStart) || byName(a.policyId, b.policyId))
    .map(({ reasons, crit, ...row }) => ({
      ...finish(row),
      topOverrideReasons: [...reasons.values()]
        .sort((a, b) => b.count - a.count || byName(a.code, b.code) || byName(a.system ?? '', b.system ?? ''))
        .slice(0, 3),
      criteria: [...crit.values()].map(finish).sort((a, b) => byName(a.criterion, b.criterion)),
    }));

  return {
    rows: out,
    criteria: [...totals.values()]
      .map(finish)
      .sort((a, b) => (b.overrideRate ?? -1) - (a.overrideRate ?? -1) || b.cardsShown - a.cardsShown || byName(a.policyId, b.policyId) || byName(a.criterion, b.criterion)),
    byOutcome: breakdown(findings.map((x) => ({ key: x.card.outcome, response: x.response }))),
    byPractitioner: breakdown(
      findings.map((x) => ({ key: x.card.practitioner === '(unknown)' ? '(unknown)' : x.card.practitioner.slice(0, PRACTITIONER_KEY_LENGTH), response: x.response })),
    ),
    bySite: breakdown(findings.map((x) => ({ key: x.card.site, response: x.response }))),
    sharedCards: [...shared.values()].sort((a, b) => byName(a.kind, b.kind)),
  };
}
