// medication: a drug in use, used continuously for a minimum duration, or ended / failed — from MedicationStatement,
// MedicationRequest and MedicationAdministration, coded directly or through medicationReference → Medication.
import type { Resource } from 'fhir/r4';
import type { Evidence } from '../types.js';
import { addDays, addMonths } from '../facts/common.js';
import { anchorEvidence, capEvidence, codedIn, dayOf, filterWith, none, refOf, resolveWindow, result, type Duration, type WindowParams } from './common.js';
import { title } from './condition.js';
import { S } from './schema.js';
import type { CriterionKind, KindContext } from './types.js';

const TYPES = ['MedicationStatement', 'MedicationRequest', 'MedicationAdministration'] as const;

export interface MedicationParams {
  valueSet: string;
  resourceTypes?: (typeof TYPES)[number][];
  state?: 'any' | 'in-use' | 'ended-or-failed';
  minDuration?: Duration;
  window?: WindowParams;
  where?: string | string[];
}

interface Use { r: Resource; start?: string; end?: string; ongoing: boolean; failed: boolean; text: string }

const ENDED = new Set(['completed', 'stopped', 'cancelled', 'not-taken', 'on-hold']);
const EXCLUDED = new Set(['entered-in-error', 'intended', 'draft']);

export const medication: CriterionKind<MedicationParams> = {
  name: 'medication',
  paramsSchema: {
    type: 'object',
    required: ['valueSet'],
    additionalProperties: false,
    properties: {
      valueSet: S.valueSet,
      resourceTypes: { type: 'array', minItems: 1, items: { enum: [...TYPES] } },
      state: { enum: ['any', 'in-use', 'ended-or-failed'] },
      minDuration: S.duration,
      window: S.window,
      where: S.where,
    },
  },
  dataRequirements: (p) =>
    (p.resourceTypes ?? [...TYPES]).flatMap((type) => [
      { type, valueSets: [p.valueSet], codeParam: 'code', include: [`${type}:medication`] },
    ]),
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'medication', p.window);
    if (!w.ok) return w.outcome;
    const win = w.window;
    const day = win.to;
    const uses = usesOf(ctx, p).filter((u) => u.start && u.start <= day && (!win.from || !u.end || u.end >= win.from));
    const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), state: p.state ?? 'any' };
    const ev = (u: Use): Evidence => ({ reference: refOf(u.r as { resourceType: string; id?: string }), ...(u.start ? { date: u.start } : {}), value: u.text, note: u.end ? `until ${u.end}` : u.ongoing ? 'ongoing' : 'ended' });
    const extra = anchorEvidence(win);
    if (uses.length === 0) return none('medication', extra, values, win);
    const state = p.state ?? 'any';
    if (state === 'ended-or-failed') {
      const ended = uses.filter((u) => u.failed || (!u.ongoing) || (u.end !== undefined && u.end < day));
      if (ended.length && p.minDuration) {
        // A trial that ended or failed: the course itself (start → end, or → the anchor day while still taken) must
        // have lasted at least minDuration ("at least a 6-week trial").
        const lasted = (u: Use) => daysBetween(u.start!, u.end && u.end < day ? u.end : day);
        const longest = [...ended].sort((a, b) => lasted(b) - lasted(a))[0]!;
        const end = longest.end && longest.end < day ? longest.end : day;
        const need = plus(longest.start!, p.minDuration);
        const v = { ...values, days: lasted(longest), needDays: daysBetween(longest.start!, need), since: longest.start!, until: end, needUntil: need };
        return need <= end
          ? result('met', 'medication', 'found', [ev(longest), ...extra], v, win)
          : result('not-met', 'medication', 'course-too-short', [...capEvidence(ended.map(ev), 3), ...extra], v, win);
      }
      return ended.length
        ? result('met', 'medication', 'found', [...capEvidence(ended.map(ev), 3), ...extra], values, win)
        : result('not-met', 'medication', 'still-in-use', [...capEvidence(uses.map(ev), 3), ...extra], values, win);
    }
    const active = uses.filter((u) => u.start! <= day && (u.end === undefined ? u.ongoing : u.end >= day));
    if (state === 'in-use' && active.length === 0) return result('not-met', 'medication', 'not-in-use', [...capEvidence(uses.map(ev), 3), ...extra], values, win);
    if (p.minDuration) {
      // Continuous use ending on the anchor day: walk back through overlapping / adjacent uses.
      const pool = uses;
      let start: string | undefined;
      if (active.length) {
        start = active.map((u) => u.start!).sort()[0]!;
        let moved = true;
        while (moved) {
          moved = false;
          for (const u of pool) {
            const end = u.end ?? (u.ongoing ? day : u.start!);
            if (u.start! < start && addDays(end, 1) >= start) {
              start = u.start!;
              moved = true;
            }
          }
        }
      }
      let need = day;
      if (p.minDuration.years) need = addMonths(need, -12 * p.minDuration.years);
      if (p.minDuration.months) need = addMonths(need, -p.minDuration.months);
      if (p.minDuration.days) need = addDays(need, -p.minDuration.days);
      const v = { ...values, since: start ?? '', needSince: need };
      if (!start) return result('not-met', 'medication', 'not-in-use', [...capEvidence(uses.map(ev), 3), ...extra], v, win);
      return start <= need
        ? result('met', 'medication', 'found', [...capEvidence(active.map(ev), 3), ...extra], v, win)
        : result('not-met', 'medication', 'too-short', [...capEvidence(active.map(ev), 3), ...extra], v, win);
    }
    const shown = state === 'in-use' ? active : uses;
    return result('met', 'medication', 'found', [...capEvidence(shown.map(ev), 3), ...extra], values, win);
  },
};

function plus(day: string, d: Duration): string {
  let out = day;
  if (d.years) out = addMonths(out, 12 * d.years);
  if (d.months) out = addMonths(out, d.months);
  if (d.days) out = addDays(out, d.days);
  return out;
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

function conceptOf(ctx: KindContext, m: Record<string, any>): unknown {
  if (m.medicationCodeableConcept) return m.medicationCodeableConcept;
  const med = ctx.record.resolve<Resource>(m.medicationReference) as Record<string, any> | undefined;
  return med?.code;
}

function usesOf(ctx: KindContext, p: MedicationParams): Use[] {
  const pass = filterWith(ctx);
  const out: Use[] = [];
  const seen = new Set<Resource>();
  for (const type of p.resourceTypes ?? TYPES) {
    const candidates = [
      ...ctx.record.byCodes<Resource>(type, ctx.valueSets.codings(p.valueSet)),
      // medicationReference is not in the code index: resolve the (few) referenced Medications.
      ...ctx.record.all<Resource>(type).filter((r) => (r as Record<string, any>).medicationReference),
    ];
    for (const r of candidates) {
      if (seen.has(r)) continue;
      seen.add(r);
      const m = r as Record<string, any>;
      if (typeof m.status === 'string' && EXCLUDED.has(m.status)) continue;
      if (type === 'MedicationRequest' && m.intent === 'proposal') continue;
      const concept = conceptOf(ctx, m);
      if (!codedIn(ctx, p.valueSet, concept) || !pass(r)) continue;
      const dosage = (type === 'MedicationRequest' ? m.dosageInstruction : m.dosage) as any[] | undefined;
      const bounds = (Array.isArray(dosage) ? dosage : []).map((d) => d?.timing?.repeat?.boundsPeriod).find((b) => b?.start || b?.end);
      const start = dayOf(type === 'MedicationRequest'
        ? (bounds?.start ?? m.dispenseRequest?.validityPeriod?.start ?? m.authoredOn)
        : (m.effectivePeriod?.start ?? m.effectiveDateTime ?? bounds?.start ?? m.dateAsserted));
      const end = dayOf(type === 'MedicationRequest' ? (bounds?.end ?? m.dispenseRequest?.validityPeriod?.end) : (m.effectivePeriod?.end ?? bounds?.end));
      const ongoing = m.status === undefined || m.status === 'active' || m.status === 'unknown' || (type === 'MedicationAdministration' && m.status === 'in-progress');
      const failed = !!m.statusReason;
      const cc = concept as { text?: string; coding?: { display?: string; code?: string }[] } | undefined;
      out.push({ r, ...(start ? { start } : {}), ...(end ? { end } : {}), ongoing: ongoing && !ENDED.has(m.status), failed, text: cc?.text ?? cc?.coding?.[0]?.display ?? cc?.coding?.[0]?.code ?? 'medication' });
    }
  }
  return out;
}

