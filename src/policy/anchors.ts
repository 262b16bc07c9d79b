// Named dates as data (policy "anchors"): the order date, the Coverage start (Medicare enrollment), pump initiation
// (DeviceUseStatement timing / insertion Procedure / an attested date, with a fallback), the last refill ... Each is
// resolved once per order and memoised; a window on an anchor that has no date is "not documented".
import type { Coverage, Resource } from 'fhir/r4';
import { asOfDay, deviceUses, orderCoverage, questionnaireResponses, recordedDay, refOf as factRef } from './facts/common.js';
import { addDays } from './facts/common.js';
import type { AnchorValue, KindContext } from './kinds/types.js';
import type { Evidence } from './types.js';

export interface DateSource {
  orderDate?: true;
  /**
   * true: the period start of the Coverage the order is judged under. `{ match }`: the earliest period start of any
   * Coverage on record whose class value/name matches `classPattern` (case-insensitive) or whose type has one of
   * `typeCodes`, or whose payor display / reference matches `payorPattern` — e.g. the Medicare Part B entitlement,
   * not a Medicare Advantage plan's start.
   */
  coverageStart?: true | { match: { classPattern?: string; typeCodes?: string[]; payorPattern?: string } };
  anchor?: string;
  attestation?: { linkId: string; questionnaire?: string };
  device?: { valueSet: string };
  procedure?: { valueSet: string };
  medication?: { valueSet: string; date?: 'start' | 'last-dispense' };
}

export interface AnchorStep { earliest?: DateSource[]; latest?: DateSource[]; source?: DateSource; when?: string; unless?: string }
export interface AnchorSpec { text: string; firstOf: AnchorStep[]; dayBefore?: boolean }

export const BUILTIN_ANCHORS: Readonly<Record<string, AnchorSpec>> = Object.freeze({
  'order-date': { text: 'the order', firstOf: [{ source: { orderDate: true } }] },
  'coverage-start': { text: 'the coverage start', firstOf: [{ source: { coverageStart: true } }] },
});

interface Dated { day: string; evidence: Evidence; isOrderDate?: boolean }

export function resolveAnchor(ctx: KindContext, name: string, specs: Readonly<Record<string, AnchorSpec>>, depth = 0): AnchorValue {
  const key = `anchor:${name}`;
  const hit = ctx.memo.get(key) as AnchorValue | undefined;
  if (hit) return hit;
  const spec = specs[name] ?? BUILTIN_ANCHORS[name];
  if (!spec) throw new Error(`unknown anchor "${name}"`);
  if (depth > 8) throw new Error(`anchor "${name}" refers to itself`);
  const context: Evidence[] = [];
  let value: AnchorValue | undefined;
  for (const step of spec.firstOf) {
    if (step.when && ctx.definition(step.when).status !== 'met') continue;
    if (step.unless) {
      const d = ctx.definition(step.unless);
      if (d.status === 'met') {
        context.push(...d.evidence.slice(0, 2));
        continue;
      }
    }
    const sources = step.source ? [step.source] : (step.earliest ?? step.latest ?? []);
    const dated = sources.flatMap((s) => datesOf(ctx, s, specs, depth)).sort((a, b) => a.day.localeCompare(b.day) || (a.evidence.reference ?? '').localeCompare(b.evidence.reference ?? ''));
    const pick = step.latest ? dated[dated.length - 1] : dated[0];
    if (!pick) continue;
    const isOrderDate = !!pick.isOrderDate;
    const note = isOrderDate ? `as of the order date ${pick.day}` : `as of ${spec.text} ${pick.day}`;
    value = {
      name,
      text: spec.text,
      day: pick.day,
      isOrderDate,
      regimenDay: spec.dayBefore && !isOrderDate ? addDays(pick.day, -1) : pick.day,
      evidence: isOrderDate ? [] : [{ ...pick.evidence, note: `${note}${pick.evidence.note ? `: ${pick.evidence.note}` : ''}${context[0]?.note ? ` (${context[0].note})` : ''}` }],
    };
    break;
  }
  value ??= { name, text: spec.text, isOrderDate: false, evidence: context, missing: `${spec.text} date not documented` };
  ctx.memo.set(key, value);
  return value;
}

function datesOf(ctx: KindContext, s: DateSource, specs: Readonly<Record<string, AnchorSpec>>, depth: number): Dated[] {
  const today = asOfDay(ctx);
  if (s.orderDate) return [{ day: today, evidence: { reference: ctx.order.ref, date: today, value: 'order date' }, isOrderDate: true }];
  if (s.coverageStart && s.coverageStart !== true) {
    const m = s.coverageStart.match;
    const re = m.classPattern ? new RegExp(m.classPattern, 'i') : undefined;
    const payorRe = m.payorPattern ? new RegExp(m.payorPattern, 'i') : undefined;
    const out: Dated[] = [];
    for (const c of ctx.record.all<Coverage & { resourceType: 'Coverage' }>('Coverage')) {
      if (c.status === 'entered-in-error') continue;
      const classes = (Array.isArray(c.class) ? c.class : []).flatMap((k) => [k?.value, k?.name]).filter((x): x is string => typeof x === 'string');
      const types = (Array.isArray(c.type?.coding) ? c.type!.coding : []).map((x) => x?.code).filter((x): x is string => typeof x === 'string');
      const payors = (Array.isArray(c.payor) ? c.payor : []).flatMap((x) => [x?.display, x?.reference]).filter((x): x is string => typeof x === 'string');
      const hit = (re && classes.some((x) => re.test(x))) || (m.typeCodes ?? []).some((t) => types.includes(t)) || (payorRe && payors.some((x) => payorRe.test(x)));
      const day = recordedDay(c.period?.start);
      if (!hit || !day || day > today) continue;
      out.push({ day, evidence: { reference: `Coverage/${c.id}`, date: c.period!.start!, value: `coverage start ${day}`, note: `${classes[0] ?? types[0] ?? "Coverage"} period start` } });
    }
    return out;
  }
  if (s.coverageStart) {
    const { coverage, note } = orderCoverage(ctx);
    const day = recordedDay(coverage?.period?.start);
    if (!coverage || !day) return [];
    return [{ day, evidence: { reference: factRef(coverage), date: coverage.period!.start!, value: `coverage start ${day}`, note: `taken as the Coverage period start; ${note ?? ''}`.trim() } }];
  }
  if (s.anchor) {
    const a = resolveAnchor(ctx, s.anchor, specs, depth + 1);
    return a.day ? [{ day: a.day, evidence: a.evidence[0] ?? { value: a.text }, isOrderDate: a.isOrderDate }] : [];
  }
  if (s.device) {
    return deviceUses(ctx, s.device.valueSet)
      .filter((u) => u.kind === 'DeviceUseStatement' && u.startDay)
      .map((u) => ({ day: u.startDay!, evidence: { reference: u.ref, date: u.startDay!, value: `${u.label} (${u.kind})`, note: 'earliest documented start' } }));
  }
  if (s.procedure) {
    const out: Dated[] = [];
    for (const r of ctx.record.byCodes<Resource>('Procedure', ctx.valueSets.codings(s.procedure.valueSet))) {
      const p = r as Record<string, any>;
      if (p.status !== 'completed') continue;
      const day = recordedDay(p.performedDateTime ?? p.performedPeriod?.start);
      if (!day || day > today) continue;
      out.push({ day, evidence: { reference: `Procedure/${p.id}`, date: day, value: `${p.code?.text ?? p.code?.coding?.[0]?.display ?? 'procedure'} (Procedure)` } });
    }
    return out;
  }
  if (s.attestation) {
    const q = s.attestation.questionnaire ?? ctx.questionnaire;
    if (!q) return [];
    for (const qr of questionnaireResponses(ctx, q)) {
      const a = findAnswer((qr as { item?: unknown[] }).item, s.attestation.linkId);
      const day = recordedDay(a?.valueDate ?? a?.valueDateTime);
      if (day && day <= today) return [{ day, evidence: { reference: factRef(qr), date: day, value: `${s.attestation.linkId}: ${day}`, note: 'attested date' } }];
    }
    return [];
  }
  if (s.medication) {
    const out: Dated[] = [];
    const vs = s.medication.valueSet;
    const types = s.medication.date === 'last-dispense' ? ['MedicationDispense'] : ['MedicationStatement', 'MedicationRequest'];
    for (const t of types) {
      for (const r of ctx.record.byCodes<Resource>(t, ctx.valueSets.codings(vs))) {
        const m = r as Record<string, any>;
        if (m.status === 'entered-in-error') continue;
        const day = recordedDay(t === 'MedicationDispense' ? (m.whenHandedOver ?? m.whenPrepared) : (m.effectivePeriod?.start ?? m.effectiveDateTime ?? m.authoredOn));
        if (!day || day > today) continue;
        out.push({ day, evidence: { reference: `${t}/${m.id}`, date: day, value: m.medicationCodeableConcept?.text ?? m.medicationCodeableConcept?.coding?.[0]?.display ?? 'medication' } });
      }
    }
    return out;
  }
  return [];
}

interface Answer { valueDate?: string; valueDateTime?: string }

function findAnswer(items: unknown, linkId: string): Answer | undefined {
  for (const it of Array.isArray(items) ? items : []) {
    const i = it as { linkId?: string; answer?: (Answer & { item?: unknown })[]; item?: unknown };
    if (i?.linkId === linkId && Array.isArray(i.answer) && i.answer.length) return i.answer[0];
    const nested = findAnswer(i?.item, linkId) ?? (Array.isArray(i?.answer) ? i.answer.map((a) => findAnswer(a?.item, linkId)).find(Boolean) : undefined);
    if (nested) return nested;
  }
  return undefined;
}

/** Names an anchor spec refers to (for the loader). */
export function anchorReferences(spec: AnchorSpec): { pointer: string; kind: 'valueSet' | 'linkId' | 'anchor' | 'definition' | 'questionnaire'; value: string }[] {
  const out: ReturnType<typeof anchorReferences> = [];
  spec.firstOf.forEach((step, i) => {
    const at = `/firstOf/${i}`;
    if (step.when) out.push({ pointer: `${at}/when`, kind: 'definition', value: step.when });
    if (step.unless) out.push({ pointer: `${at}/unless`, kind: 'definition', value: step.unless });
    const lists: [string, DateSource[]][] = step.source ? [['source', [step.source]]] : step.earliest ? [['earliest', step.earliest]] : [['latest', step.latest ?? []]];
    for (const [key, list] of lists) {
      list.forEach((s, j) => {
        const p = key === 'source' ? `${at}/source` : `${at}/${key}/${j}`;
        if (s.anchor) out.push({ pointer: `${p}/anchor`, kind: 'anchor', value: s.anchor });
        if (s.device) out.push({ pointer: `${p}/device/valueSet`, kind: 'valueSet', value: s.device.valueSet });
        if (s.procedure) out.push({ pointer: `${p}/procedure/valueSet`, kind: 'valueSet', value: s.procedure.valueSet });
        if (s.medication) out.push({ pointer: `${p}/medication/valueSet`, kind: 'valueSet', value: s.medication.valueSet });
        if (s.attestation) {
          out.push({ pointer: `${p}/attestation/linkId`, kind: 'linkId', value: s.attestation.linkId });
          if (s.attestation.questionnaire) out.push({ pointer: `${p}/attestation/questionnaire`, kind: 'questionnaire', value: s.attestation.questionnaire });
        }
      });
    }
  });
  return out;
}

/** What the anchor sources read from the record. */
export function anchorRequirements(spec: AnchorSpec): { type: string; valueSets?: string[]; codeParam?: string; include?: string[] }[] {
  const out: ReturnType<typeof anchorRequirements> = [];
  for (const step of spec.firstOf) {
    for (const s of step.source ? [step.source] : (step.earliest ?? step.latest ?? [])) {
      if (s.coverageStart) out.push({ type: 'Coverage' });
      if (s.device) out.push({ type: 'DeviceUseStatement', include: ['DeviceUseStatement:device'] }, { type: 'Device', valueSets: [s.device.valueSet], codeParam: 'type' });
      if (s.procedure) out.push({ type: 'Procedure', valueSets: [s.procedure.valueSet] });
      if (s.attestation) out.push({ type: 'QuestionnaireResponse' });
      if (s.medication) {
        for (const type of s.medication.date === 'last-dispense' ? ['MedicationDispense'] : ['MedicationStatement', 'MedicationRequest']) {
          out.push({ type, valueSets: [s.medication.valueSet] });
        }
      }
    }
  }
  return out;
}
