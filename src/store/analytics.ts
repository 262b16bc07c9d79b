// Override analytics: per payer policy, criterion and ISO week (of when the card was shown), how many cards were
// shown and what clinicians answered. A card counts once per criterion it speaks for; when a card received several
// feedback items, its latest outcome (by outcomeTimestamp) counts.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './db.js';

export interface OverrideReasonCount {
  system?: string;
  code: string;
  display?: string;
  count: number;
}

export interface OverrideAnalyticsRow {
  /** Payer policy id, or "(none)" for cards emitted without a policy. */
  policyId: string;
  /** Criterion id, or "(none)" for cards that speak for no criterion. */
  criterion: string;
  /** ISO week of the assertion, e.g. "2025-W03" (UTC). */
  week: string;
  /** Monday of that week, YYYY-MM-DD. */
  weekStart: string;
  cardsShown: number;
  accepted: number;
  overridden: number;
  /** Cards shown that received no feedback (yet). */
  noFeedback: number;
  /** overridden / (accepted + overridden); null when no card received feedback. */
  overrideRate: number | null;
  /** Most frequent coded override reasons (top 3; uncoded overrides are not listed). */
  topOverrideReasons: OverrideReasonCount[];
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

interface CountRow {
  policy_id: string;
  criterion: string;
  week: string;
  week_start: string;
  shown: number;
  accepted: number;
  overridden: number;
}

interface ReasonRow {
  policy_id: string;
  criterion: string;
  week: string;
  override_system: string | null;
  override_code: string;
  override_display: string | null;
  n: number;
}

export async function overrideAnalytics(db: Kysely<Database>, filter: AnalyticsFilter = {}): Promise<OverrideAnalyticsRow[]> {
  const f = validateFilter(filter);
  const where: RawBuilder<unknown>[] = [sql`true`];
  if (f.from) where.push(sql`a.created_at >= ${f.from.toISOString()}::timestamptz`);
  if (f.toExclusive) where.push(sql`a.created_at < ${f.toExclusive.toISOString()}::timestamptz`);
  if (f.policyId) where.push(sql`a.policy_id = ${f.policyId}`);

  const ctes = sql`
    with shown as (
      select distinct
        coalesce(a.policy_id, '(none)') as policy_id,
        crit as criterion,
        to_char(a.created_at at time zone 'UTC', 'IYYY-"W"IW') as week,
        to_char(date_trunc('week', a.created_at at time zone 'UTC'), 'YYYY-MM-DD') as week_start,
        c.card_uuid
      from assertions a
      join assertion_cards c on c.assertion_id = a.id
      cross join lateral unnest(
        case when cardinality(c.criteria) = 0 then array['(none)']::text[] else c.criteria end
      ) as crit
      where ${sql.join(where, sql` and `)}
    ),
    latest as (
      select distinct on (f.card_uuid)
        f.card_uuid, f.outcome, f.override_system, f.override_code, f.override_display
      from feedback f
      where f.card_uuid in (select card_uuid from shown)
      order by f.card_uuid, f.outcome_timestamp desc, f.id desc
    )`;

  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const counts = await sql<CountRow>`${ctes}
        select s.policy_id, s.criterion, s.week, s.week_start,
          count(*)::int as shown,
          (count(*) filter (where l.outcome = 'accepted'))::int as accepted,
          (count(*) filter (where l.outcome = 'overridden'))::int as overridden
        from shown s
        left join latest l on l.card_uuid = s.card_uuid
        group by s.policy_id, s.criterion, s.week, s.week_start
        order by s.week_start, s.policy_id collate "C", s.criterion collate "C"`.execute(trx);
      const reasons = await sql<ReasonRow>`${ctes}
        select s.policy_id, s.criterion, s.week, l.override_system, l.override_code,
          max(l.override_display) as override_display, count(*)::int as n
        from shown s
        join latest l on l.card_uuid = s.card_uuid
        where l.outcome = 'overridden' and l.override_code is not null
        group by s.policy_id, s.criterion, s.week, l.override_system, l.override_code
        order by n desc, l.override_code collate "C", l.override_system collate "C"`.execute(trx);

      const key = (r: { policy_id: string; criterion: string; week: string }) => `${r.policy_id}\u0000${r.criterion}\u0000${r.week}`;
      const top = new Map<string, OverrideReasonCount[]>();
      for (const r of reasons.rows) {
        const list = top.get(key(r)) ?? [];
        if (list.length < 3) {
          const reason: OverrideReasonCount = { code: r.override_code, count: Number(r.n) };
          if (r.override_system) reason.system = r.override_system;
          if (r.override_display) reason.display = r.override_display;
          list.push(reason);
        }
        top.set(key(r), list);
      }
      return counts.rows.map((r) => {
        const shown = Number(r.shown);
        const accepted = Number(r.accepted);
        const overridden = Number(r.overridden);
        const answered = accepted + overridden;
        return {
          policyId: r.policy_id,
          criterion: r.criterion,
          week: r.week,
          weekStart: r.week_start,
          cardsShown: shown,
          accepted,
          overridden,
          noFeedback: shown - answered,
          overrideRate: answered === 0 ? null : Math.round((overridden / answered) * 10_000) / 10_000,
          topOverrideReasons: top.get(key(r)) ?? [],
        };
      });
    });
}
