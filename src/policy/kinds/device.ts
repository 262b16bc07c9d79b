// device: a device on record, in use, or in use from a date in a window — Device (typed in the value set),
// DeviceUseStatement (its Device's type, or device.concept), optionally insertion Procedures, device orders on record
// and a device ordered in the same order set.
import { deviceUses, type DeviceUse } from '../facts/common.js';
import type { Coding } from 'fhir/r4';
import { HCPCS } from '../../fhir/systems.js';
import type { Evidence } from '../types.js';
import { anchorEvidence, capEvidence, inWindow, none, resolveWindow, result, type WindowParams } from './common.js';
import { title } from './condition.js';
import { S } from './schema.js';
import type { CriterionKind, KindContext } from './types.js';

export interface DeviceParams {
  valueSet: string;
  procedureValueSet?: string;
  includeRequests?: boolean;
  orderedWith?: boolean;
  state?: 'on-record' | 'in-use' | 'dated' | 'overlaps';
  window?: WindowParams;
  /** none: a device found contradicts the criterion (e.g. another implanted programmable device). */
  expect?: 'present' | 'none';
}

export const device: CriterionKind<DeviceParams> = {
  name: 'device',
  paramsSchema: {
    type: 'object',
    required: ['valueSet'],
    additionalProperties: false,
    properties: {
      valueSet: S.valueSet,
      procedureValueSet: S.valueSet,
      includeRequests: { type: 'boolean' },
      orderedWith: S.bool,
      state: { enum: ['on-record', 'in-use', 'dated', 'overlaps'] },
      window: S.window,
      expect: { enum: ['present', 'none'] },
    },
  },
  dataRequirements: (p) => [
    { type: 'Device', valueSets: [p.valueSet], codeParam: 'type' },
    { type: 'DeviceUseStatement', include: ['DeviceUseStatement:device'] },
    ...(p.procedureValueSet ? [{ type: 'Procedure', valueSets: [p.procedureValueSet] }] : []),
    ...(p.includeRequests ? [{ type: 'DeviceRequest', valueSets: [p.valueSet] }] : []),
  ],
  evaluate(ctx, p) {
    const w = resolveWindow(ctx, 'device', p.window);
    if (!w.ok) return w.outcome;
    const win = w.window;
    const state = p.state ?? 'on-record';
    const uses = deviceUses(ctx, p.valueSet, p.procedureValueSet, !!p.includeRequests).filter((u) => !u.startDay || u.startDay <= win.to);
    const values = { valueSet: p.valueSet, title: title(ctx, p.valueSet), state };
    const ev = (u: DeviceUse, note: string): Evidence => ({ reference: u.ref, ...(u.startDay ? { date: u.startDay } : {}), value: u.label, note });
    const extra = anchorEvidence(win);
    if (state === 'dated' || state === 'overlaps') {
      // dated: started in the window. overlaps: a use period (start, end — or ongoing while current) that overlaps
      // the window; only device use statements have one (a Device or an order is no dated use).
      const overlaps = (u: DeviceUse): boolean => {
        if (u.kind !== 'DeviceUseStatement' || !u.startDay || u.startDay > win.to) return false;
        const end = u.endDay ?? (u.current ? win.to : u.startDay);
        return !win.from || end >= win.from;
      };
      const dated = uses.filter((u) => (state === 'dated' ? u.kind !== 'Device' && inWindow(u.startDay, win) : overlaps(u)));
      if (dated.length) return result('met', 'device', 'found', [...capEvidence(dated.map((u) => ev(u, u.kind)), 3), ...extra], values, win);
      const other = capEvidence(uses.map((u) => ev(u, u.startDay ? 'started outside the window' : 'undated')), 3);
      return { ...none('device', [...other, ...extra], values, win), ...(uses.length ? { finding: { kind: 'device', code: 'undated', values, window: { ...(win.from ? { from: win.from } : {}), to: win.to, anchor: win.anchor.name, anchorText: win.anchor.text } } } : {}) };
    }
    const chosen = state === 'in-use' ? uses.filter((u) => u.current && u.kind !== 'Procedure') : uses;
    const evidence = chosen.map((u) => ev(u, `${u.kind}${u.current ? '' : ', not current'}`));
    if (p.orderedWith) evidence.push(...orderedWith(ctx, p.valueSet));
    if (p.expect === 'none') {
      return evidence.length ? result('not-met', 'device', 'present', [...capEvidence(evidence, 3), ...extra], values, win) : none('device', extra, values, win);
    }
    if (evidence.length) return result('met', 'device', 'found', [...capEvidence(evidence, 3), ...extra], values, win);
    if (state === 'in-use' && uses.length) return result('not-met', 'device', 'not-in-use', capEvidence(uses.map((u) => ev(u, 'not current')), 3), values, win);
    return none('device', extra, values, win);
  },
};

/** Companion orders in the same order set coded in the value set ("ordered with the pump"). */
function orderedWith(ctx: KindContext, vs: string): Evidence[] {
  const out: Evidence[] = [];
  for (const c of ctx.order.companions) {
    if (c.ref === ctx.order.ref) continue;
    const codings: Coding[] = [...c.codings, ...(c.hcpcs ? [{ system: HCPCS, code: c.hcpcs }] : [])];
    if (codings.some((x) => ctx.valueSets.contains(vs, x))) out.push({ reference: c.ref, value: c.hcpcs ?? c.codings[0]?.code ?? 'device', note: 'ordered with this order' });
  }
  return out;
}
