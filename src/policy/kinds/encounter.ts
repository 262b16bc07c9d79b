// encounter: a visit (finished Encounter, optionally typed in a value set, optionally with the ordering practitioner)
// within a window. The newest visit decides: inside the window ⇒ met, only older ones ⇒ not met.
import type { Resource } from 'fhir/r4';
import { dayOf, filterWith, none, refOf, resolveWindow, result, type WindowParams } from './common.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface EncounterParams {
  valueSet?: string;
  status?: string[];
  window?: WindowParams;
  performerIsOrderer?: boolean;
  /** With performerIsOrderer: other participants that count too (comma-separated references, e.g. the CSII team). */
  performerAlso?: string;
  where?: string | string[];
}

interface Enc { resourceType: string; id?: string; status?: string; period?: { start?: string; end?: string }; participant?: { individual?: { reference?: string } }[] }

export const encounter: CriterionKind<EncounterParams> = {
  name: 'encounter',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      valueSet: S.valueSet,
      status: { type: 'array', minItems: 1, items: { enum: ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'] } },
      window: S.window,
      performerIsOrderer: S.bool,
      performerAlso: S.str(),
      where: S.where,
    },
  },
  dataRequirements: (p) => [p.valueSet ? { type: 'Encounter', valueSets: [p.valueSet], codeParam: 'type' } : { type: 'Encounter' }],
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'encounter', p.window);
    if (!w.ok) return w.outcome;
    const win = w.window;
    const statuses = new Set(p.status ?? ['finished']);
    const pass = filterWith(ctx);
    const o = ctx.order;
    const requester = o.requester ?? (o.resource as { requester?: { reference?: string } }).requester?.reference;
    const performers = new Set([requester, ...(p.performerAlso ?? '').split(',').map((s) => s.trim())].filter((s): s is string => !!s));
    const list = p.valueSet ? ctx.record.byCodes<Resource>('Encounter', ctx.valueSets.codings(p.valueSet)) : ctx.record.all<Resource>('Encounter');
    const visits = list
      .map((r) => ({ r, e: r as unknown as Enc }))
      .filter(({ e }) => statuses.has(e.status ?? ''))
      .map((x) => ({ ...x, day: dayOf(x.e.period?.end ?? x.e.period?.start) }))
      .filter((x): x is typeof x & { day: string } => !!x.day && x.day <= win.to)
      .filter((x) => !p.performerIsOrderer || (Array.isArray(x.e.participant) ? x.e.participant : []).some((pp) => performers.has(pp?.individual?.reference ?? '')))
      .filter((x) => pass(x.r))
      .sort((a, b) => b.day.localeCompare(a.day));
    const values = { performerIsOrderer: !!p.performerIsOrderer, ...(win.from ? { earliest: win.from } : {}) };
    const last = visits[0];
    if (!last) return none('encounter', [], values, win);
    const daysBefore = Math.round((Date.parse(`${win.to}T00:00:00Z`) - Date.parse(`${last.day}T00:00:00Z`)) / 86_400_000);
    const ev = { reference: refOf(last.e), date: last.day, value: `last visit ${last.day} (${daysBefore} days before ${win.anchor.isOrderDate ? 'the order' : win.anchor.text})`, threshold: win.from ? `on or after ${win.from}` : 'any' };
    const v = { ...values, last: last.day, daysBefore };
    return !win.from || last.day >= win.from ? result('met', 'encounter', 'found', [ev], v, win) : result('not-met', 'encounter', 'too-old', [ev], v, win);
  },
};
