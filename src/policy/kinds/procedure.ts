// procedure: a completed Procedure coded in a value set (or a finished Encounter typed with the code, as education
// visits often are), performed in a window.
import type { Resource } from 'fhir/r4';
import type { Evidence } from '../types.js';
import { anchorEvidence, capEvidence, dayOf, filterWith, inWindow, none, refOf, resolveWindow, result, type WindowParams } from './common.js';
import { title } from './condition.js';
import { S } from './schema.js';
import type { CriterionKind } from './types.js';

export interface ProcedureParams { valueSet: string; status?: string[]; orEncounterType?: boolean; window?: WindowParams; where?: string | string[]; expect?: 'present' | 'none'; minCount?: number }

interface Proc { resourceType: string; id?: string; status?: string; code?: { text?: string; coding?: { display?: string; code?: string }[] }; performedDateTime?: string; performedPeriod?: { start?: string; end?: string } }
interface Enc { resourceType: string; id?: string; status?: string; type?: { text?: string; coding?: { display?: string; code?: string }[] }[]; period?: { start?: string; end?: string } }

const text = (cc: Proc['code']) => cc?.text ?? cc?.coding?.[0]?.display ?? cc?.coding?.[0]?.code;

export const procedure: CriterionKind<ProcedureParams> = {
  name: 'procedure',
  paramsSchema: {
    type: 'object',
    required: ['valueSet'],
    additionalProperties: false,
    properties: {
      valueSet: S.valueSet,
      status: { type: 'array', minItems: 1, items: { enum: ['preparation', 'in-progress', 'not-done', 'on-hold', 'stopped', 'completed', 'entered-in-error', 'unknown'] } },
      orEncounterType: { type: 'boolean' },
      window: S.window,
      where: S.where,
      expect: { enum: ['present', 'none'] },
      minCount: S.num,
    },
  },
  dataRequirements: (p) => [
    { type: 'Procedure', valueSets: [p.valueSet] },
    ...(p.orEncounterType ? [{ type: 'Encounter', valueSets: [p.valueSet], codeParam: 'type' }] : []),
  ],
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'procedure', p.window);
    if (!w.ok) return w.outcome;
    const win = w.window;
    const statuses = new Set(p.status ?? ['completed']);
    const pass = filterWith(ctx);
    const evidence: Evidence[] = [];
    for (const r of ctx.record.byCodes<Resource>('Procedure', ctx.valueSets.codings(p.valueSet))) {
      const pr = r as unknown as Proc;
      const when = pr.performedDateTime ?? pr.performedPeriod?.end ?? pr.performedPeriod?.start;
      const day = dayOf(when);
      if (!statuses.has(pr.status ?? '') || (day ? !inWindow(day, win) : !!win.from) || !pass(r)) continue;
      evidence.push({ reference: refOf(pr), ...(when ? { date: when } : {}), value: text(pr.code) ?? 'procedure', note: pr.status ?? '' });
    }
    if (p.orEncounterType) {
      for (const r of ctx.record.byCodes<Resource>('Encounter', ctx.valueSets.codings(p.valueSet))) {
        const e = r as unknown as Enc;
        const when = e.period?.end ?? e.period?.start;
        const day = dayOf(when);
        if (e.status !== 'finished' || (day ? !inWindow(day, win) : !!win.from) || !pass(r)) continue;
        evidence.push({ reference: refOf(e), ...(when ? { date: when } : {}), value: text(e.type?.[0]) ?? 'encounter', note: 'finished encounter' });
      }
    }
    // minCount: distinct days with a session (one session is not a program); fewer is not documented, not a "no".
    const days = new Set(evidence.map((e) => (e.date ?? '').slice(0, 10)));
    const min = p.minCount ?? 1;
    const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), count: days.size, min };
    if (evidence.length === 0) return none('procedure', anchorEvidence(win), values, win);
    evidence.sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
    // expect none: a recorded procedure contradicts the criterion (e.g. another programmable device implanted).
    if (p.expect === 'none') return result('not-met', 'procedure', 'present', [...capEvidence(evidence, 3), ...anchorEvidence(win)], values, win);
    if (days.size < min) return result('not-documented', 'procedure', 'too-few', [...capEvidence(evidence, 3), ...anchorEvidence(win)], values, win);
    return result('met', 'procedure', 'found', [...capEvidence(evidence, 3), ...anchorEvidence(win)], values, win);
  },
};
