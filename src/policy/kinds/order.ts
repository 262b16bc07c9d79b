// order: checks on the order set itself — pump codes, forbidden pumps, the supply/pump pairing table, required or
// forbidden companions, the number of pumps (with those on record), the setting and the identified drug. Reads the
// PumpOrder fields of src/orders/ (interfaces.md); a field today's order model does not provide is unknown, so the
// check is not documented rather than a guess.
import type { Coding } from 'fhir/r4';
import { HCPCS } from '../../fhir/systems.js';
import { drugCodings } from '../../orders/types.js';
import type { Evidence, InfusionOrder } from '../types.js';
import { none, result } from './common.js';
import { S } from './schema.js';
import type { CriterionKind, KindContext, KindOutcome } from './types.js';

type Check = 'has-pump' | 'pump-code' | 'forbidden-pump' | 'pairing' | 'companion' | 'pump-count' | 'setting' | 'drug' | 'code' | 'in-set';

export interface OrderParams {
  check: Check;
  valueSet?: string;
  skipValueSet?: string;
  /** pump-code: pumps coded in this set are not addressed by the policy documents (not documented; no recode). */
  notAddressedValueSet?: string;
  pumpKind?: 'external' | 'implantable';
  uncoded?: 'met' | 'not-documented' | 'not-met';
  table?: { supplies: string; onlyWith?: string; neverWith?: string }[];
  required?: boolean;
  max?: number;
  includeOnRecord?: boolean;
  allowed?: ('home' | 'institutional')[];
  unknown?: 'met' | 'not-documented' | 'not-met';
  /** drug: the drug in `valueSet` is what the rule forbids (an exclusion list): in the set ⇒ not met, otherwise met. */
  forbidden?: boolean;
  /** in-set: the order of the set must also carry a detail (ServiceRequest.orderDetail, e.g. a CPT modifier) in this set. */
  detailValueSet?: string;
  /** in-set: what a sibling without that detail means (default not-met). */
  missingDetail?: 'not-documented' | 'not-met';
}

/** The PumpOrder fields of interfaces.md, all optional here: absent ⇒ unknown. */
interface PumpOrderFields {
  drug?: { status?: string; ingredients?: string[]; hcpcs?: string[]; display?: string; source?: string; ref?: string };
  setting?: { value?: string; source?: string; detail?: string };
  pumpsOnRecord?: { ref: string; hcpcs?: string; codings?: Coding[]; kind?: string }[];
}

const status = { enum: ['met', 'not-documented', 'not-met'] };

export const order: CriterionKind<OrderParams> = {
  name: 'order',
  paramsSchema: {
    type: 'object',
    required: ['check'],
    additionalProperties: false,
    properties: {
      check: { enum: ['has-pump', 'pump-code', 'forbidden-pump', 'pairing', 'companion', 'pump-count', 'setting', 'drug', 'code', 'in-set'] },
      valueSet: S.valueSet,
      skipValueSet: S.valueSet,
      notAddressedValueSet: S.valueSet,
      pumpKind: { enum: ['external', 'implantable'] },
      uncoded: S.str(['met', 'not-documented', 'not-met']),
      table: {
        type: 'array',
        minItems: 1,
        items: { type: 'object', required: ['supplies'], additionalProperties: false, minProperties: 2, properties: { supplies: S.valueSet, onlyWith: S.valueSet, neverWith: S.valueSet } },
      },
      required: { type: 'boolean' },
      max: S.num,
      includeOnRecord: { type: 'boolean' },
      allowed: { type: 'array', minItems: 1, items: { enum: ['home', 'institutional'] } },
      unknown: status,
      forbidden: { type: 'boolean' },
      detailValueSet: S.valueSet,
      missingDetail: { enum: ['not-documented', 'not-met'] },
    },
    allOf: [
      { if: { properties: { check: { enum: ['pump-code', 'companion', 'code', 'in-set'] } } }, then: { required: ['valueSet'] } },
      { if: { properties: { check: { const: 'forbidden-pump' } } }, then: { anyOf: [{ required: ['valueSet'] }, { required: ['pumpKind'] }] } },
      { if: { properties: { check: { const: 'pairing' } } }, then: { required: ['table'] } },
      { if: { properties: { check: { const: 'pump-count' } } }, then: { required: ['max'] } },
      { if: { properties: { check: { const: 'setting' } } }, then: { required: ['allowed'] } },
    ],
  },
  // The order set is in the request; pumps on record come from the order model's own requirements (src/orders/).
  dataRequirements: (p) => ((p.check === 'pump-count' || p.check === 'pairing') && p.includeOnRecord ? [{ type: 'Device', codeParam: 'type' }] : []),
  evaluate(ctx, p) {
    switch (p.check) {
      case 'has-pump': return hasPump(ctx, p);
      case 'pump-code': return pumpCode(ctx, p);
      case 'forbidden-pump': return forbiddenPump(ctx, p);
      case 'pairing': return pairing(ctx, p);
      case 'companion': return companion(ctx, p);
      case 'pump-count': return pumpCount(ctx, p);
      case 'setting': return setting(ctx, p);
      case 'drug': return drug(ctx, p);
      case 'code': return ownCode(ctx, p);
      case 'in-set': return inOrderSet(ctx, p);
    }
  },
};

interface Item { ref: string; role: string; hcpcs?: string; codings: Coding[]; label: string; pumpKind?: string }

function codingsOf(i: { hcpcs?: string; codings: readonly Coding[] }): Coding[] {
  return [...i.codings, ...(i.hcpcs ? [{ system: HCPCS, code: i.hcpcs }] : [])];
}

function inSet(ctx: KindContext, vs: string | undefined, i: { hcpcs?: string; codings: readonly Coding[] }): boolean {
  return !!vs && codingsOf(i).some((c) => ctx.valueSets.contains(vs, c));
}

function self(o: InfusionOrder): Item {
  return { ref: o.ref, role: o.role, ...(o.hcpcs ? { hcpcs: o.hcpcs } : {}), codings: o.codings, label: o.label, ...(o.pumpKind ? { pumpKind: o.pumpKind } : {}) };
}

function companions(o: InfusionOrder): Item[] {
  return o.companions.filter((c) => c.ref !== o.ref).map((c) => ({ ref: c.ref, role: c.role, ...(c.hcpcs ? { hcpcs: c.hcpcs } : {}), codings: c.codings, label: c.hcpcs ?? c.codings[0]?.code ?? c.ref }));
}

/**
 * The pumps a pump check judges: a pump order its own pump only (another pump in the request gets its own
 * determination), a supply or drug order the pumps ordered with it.
 */
function pumps(o: InfusionOrder): Item[] {
  return o.role === 'pump' ? [self(o)] : companions(o).filter((c) => c.role === 'pump');
}

const notApplicable = (ctx: KindContext, check: string): KindOutcome =>
  result('met', 'order', 'not-applicable', [{ reference: ctx.order.ref, value: ctx.order.label }], { check });

/** A pump is in the order set (the order itself or one ordered with it); not met for a refill of supplies or drug. */
function hasPump(ctx: KindContext, p: OrderParams): KindOutcome {
  const list = [self(ctx.order), ...companions(ctx.order)].filter((i) => i.role === 'pump' && (!p.valueSet || inSet(ctx, p.valueSet, i)));
  return list.length
    ? result('met', 'order', 'ok', list.map((x) => ({ reference: x.ref, value: x.label })), {})
    : result('not-met', 'order', 'no-pump', [{ reference: ctx.order.ref, value: ctx.order.label, note: 'no pump in this order set' }], {});
}

function pumpCode(ctx: KindContext, p: OrderParams): KindOutcome {
  const list = pumps(ctx.order);
  if (list.length === 0) return notApplicable(ctx, 'pump-code');
  const evidence: Evidence[] = [];
  let st: KindOutcome['status'] = 'met';
  let code = 'ok';
  const values: Record<string, string> = { valueSet: p.valueSet!, expected: codesOf(ctx, p.valueSet!) };
  for (const pump of list) {
    if (pump.pumpKind === 'implantable' || inSet(ctx, p.skipValueSet, pump)) {
      evidence.push({ reference: pump.ref, value: pump.label, note: `${pump.pumpKind === 'implantable' ? 'implantable pump: ' : ''}judged by another criterion` });
    } else if (inSet(ctx, p.valueSet, pump)) {
      evidence.push({ reference: pump.ref, value: pump.label, threshold: values.expected });
    } else if (inSet(ctx, p.notAddressedValueSet, pump)) {
      // A code the policy documents do not address: neither covered nor denied here, and never recoded into one.
      evidence.push({ reference: pump.ref, value: pump.hcpcs ? `HCPCS ${pump.hcpcs}` : pump.label, note: 'code not addressed by the policy documents' });
      if (st === 'met') {
        st = 'not-documented';
        code = 'not-addressed';
        values.ordered = pump.hcpcs ?? pump.label;
      }
    } else if (!pump.hcpcs) {
      evidence.push({ reference: pump.ref, value: pump.label, threshold: values.expected, note: 'ordered without a HCPCS code' });
      const u = p.uncoded ?? 'met';
      if (u !== 'met' && st === 'met') {
        st = u;
        code = 'uncoded';
      }
    } else {
      evidence.push({ reference: pump.ref, value: `HCPCS ${pump.hcpcs}`, threshold: values.expected });
      st = 'not-met';
      code = 'wrong-code';
      values.ordered = pump.hcpcs;
    }
  }
  return result(st, 'order', code, evidence, values);
}

function codesOf(ctx: KindContext, vs: string): string {
  const codes = ctx.valueSets.codings(vs).filter((c) => c.system === HCPCS).map((c) => c.code);
  return codes.length ? `HCPCS ${codes.join('/')}` : vs;
}

function forbiddenPump(ctx: KindContext, p: OrderParams): KindOutcome {
  const list = pumps(ctx.order);
  if (list.length === 0) return notApplicable(ctx, 'forbidden-pump');
  const bad = list.filter((x) => (p.pumpKind && x.pumpKind === p.pumpKind) || inSet(ctx, p.valueSet, x));
  if (bad.length) return result('not-met', 'order', 'forbidden', bad.map((x) => ({ reference: x.ref, value: x.label })), { ...(p.valueSet ? { valueSet: p.valueSet } : {}), ...(p.pumpKind ? { pumpKind: p.pumpKind } : {}) });
  return result('met', 'order', 'ok', list.map((x) => ({ reference: x.ref, value: x.label })), {});
}

function pairing(ctx: KindContext, p: OrderParams): KindOutcome {
  const o = ctx.order;
  const items = [self(o), ...companions(o)];
  let pumpItems = items.filter((i) => i.role === 'pump');
  // includeOnRecord: a refill (no pump in the order set) is judged against the patient's pumps on record.
  const onRecord = p.includeOnRecord && pumpItems.length === 0 ? ((o as InfusionOrder & PumpOrderFields).pumpsOnRecord ?? []) : [];
  if (onRecord.length > 0) {
    pumpItems = onRecord.map((x) => ({ ref: x.ref, role: 'pump', ...(x.hcpcs ? { hcpcs: x.hcpcs } : {}), codings: x.codings ?? [], label: x.hcpcs ?? 'pump on record' }));
  }
  const bad: Evidence[] = [];
  const codes: string[] = [];
  for (const s of items.filter((i) => i.role === 'supply')) {
    for (const row of p.table!) {
      if (!inSet(ctx, row.supplies, s)) continue;
      const others = row.onlyWith ? pumpItems.filter((x) => x.hcpcs && !inSet(ctx, row.onlyWith, x)) : [];
      if (others.length) {
        bad.push({ reference: s.ref, value: `HCPCS ${s.label}`, threshold: `only with ${codesOf(ctx, row.onlyWith!)}`, note: `${onRecord.length ? 'the pump on record is' : 'ordered with'} ${others.map((x) => x.hcpcs).join(', ')}` });
        codes.push(s.hcpcs ?? s.label);
      }
      const forbidden = row.neverWith ? pumpItems.filter((x) => inSet(ctx, row.neverWith, x)) : [];
      if (forbidden.length) {
        bad.push({ reference: s.ref, value: `HCPCS ${s.label}`, threshold: `never with ${codesOf(ctx, row.neverWith!)}`, note: `ordered with ${forbidden.map((x) => x.hcpcs ?? x.label).join(', ')}` });
        codes.push(s.hcpcs ?? s.label);
      }
    }
  }
  if (bad.length) return result('not-met', 'order', 'unpaired', bad, { supplies: [...new Set(codes)].join(', '), ...(onRecord.length ? { against: 'on record' } : {}) });
  return result('met', 'order', 'ok', [{ reference: o.ref, value: o.label, note: items.length > 1 ? 'supplies match the pump ordered' : 'no pump/supply combination in this order set' }], {});
}

function companion(ctx: KindContext, p: OrderParams): KindOutcome {
  const found = companions(ctx.order).filter((c) => inSet(ctx, p.valueSet, c));
  const values = { valueSet: p.valueSet!, required: p.required !== false };
  const ev = found.map((c) => ({ reference: c.ref, value: c.label }));
  if (p.required === false) return found.length ? result('not-met', 'order', 'forbidden-companion', ev, values) : result('met', 'order', 'ok', [{ reference: ctx.order.ref, value: ctx.order.label }], values);
  return found.length ? result('met', 'order', 'ok', ev, values) : { ...none('order', [], values), finding: { kind: 'order', code: 'missing-companion', values } };
}

function pumpCount(ctx: KindContext, p: OrderParams): KindOutcome {
  const o = ctx.order;
  const fields = o as InfusionOrder & PumpOrderFields;
  const inSetPumps = [self(o), ...companions(o)].filter((i) => i.role === 'pump' && (!p.valueSet || inSet(ctx, p.valueSet, i)));
  const onRecord = p.includeOnRecord ? fields.pumpsOnRecord : [];
  const counted = [...inSetPumps.map((x) => ({ reference: x.ref, value: x.label, note: 'ordered' })), ...(onRecord ?? []).filter((x) => !p.valueSet || inSet(ctx, p.valueSet, { ...(x.hcpcs ? { hcpcs: x.hcpcs } : {}), codings: x.codings ?? [] })).map((x) => ({ reference: x.ref, value: x.hcpcs ?? 'pump', note: 'on record' }))];
  const values = { count: counted.length, max: p.max! };
  if (counted.length > p.max!) return result('not-met', 'order', 'too-many', counted, values);
  if (onRecord === undefined) return { ...none('order', counted, values), finding: { kind: 'order', code: 'unknown', values: { ...values, field: 'pumpsOnRecord' } } };
  return result('met', 'order', 'ok', counted, values);
}

function setting(ctx: KindContext, p: OrderParams): KindOutcome {
  const s = (ctx.order as InfusionOrder & PumpOrderFields).setting;
  const value = s?.value;
  const ev = [{ reference: ctx.order.ref, value: value ?? 'unknown', ...(s?.source ? { note: `from ${s.source}${s.detail ? `: ${s.detail}` : ''}` } : {}) }];
  const values = { setting: value ?? 'unknown', allowed: p.allowed!.join(', ') };
  if (!value || value === 'unknown') return { status: p.unknown ?? 'not-documented', finding: { kind: 'order', code: 'setting-unknown', values }, evidence: ev };
  return (p.allowed as string[]).includes(value) ? result('met', 'order', 'ok', ev, values) : result('not-met', 'order', 'setting', ev, values);
}

function drug(ctx: KindContext, p: OrderParams): KindOutcome {
  const o = ctx.order as InfusionOrder & PumpOrderFields;
  const d = o.drug;
  if (d?.status === 'not-applicable') return notApplicable(ctx, 'drug');
  let codings: Coding[] = [];
  let ev: Evidence[] = [];
  if (d?.status === 'identified') {
    // The same codings policy selection uses (loader orderInScope): a drug this check recognises selects its policies.
    codings = drugCodings({ status: d.status, ingredients: d.ingredients ?? [], hcpcs: d.hcpcs ?? [] });
    ev = [{ reference: d.ref ?? o.ref, value: d.display ?? codings.map((c) => c.code).join(', '), ...(d.source ? { note: `drug from the ${d.source}` } : {}) }];
  } else if (d === undefined) {
    // Today's order model: the order itself when it is the drug, else drugs ordered with it.
    const drugs = o.role === 'drug' ? [self(o)] : companions(o).filter((c) => c.role === 'drug');
    codings = drugs.flatMap(codingsOf);
    ev = drugs.map((x) => ({ reference: x.ref, value: x.label }));
  }
  const values = { ...(p.valueSet ? { valueSet: p.valueSet } : {}), ...(d?.status === 'identified' && d.display ? { drug: d.display } : {}) };
  if (codings.length === 0) return { status: 'not-documented', empty: true, finding: { kind: 'order', code: 'drug-not-identified', values }, evidence: [{ reference: o.ref, value: o.label }] };
  const inList = !p.valueSet || codings.some((c) => ctx.valueSets.contains(p.valueSet!, c));
  if (p.forbidden && p.valueSet) return inList ? result('not-met', 'order', 'forbidden-drug', ev, values) : result('met', 'order', 'ok', ev, values);
  if (inList) return result('met', 'order', 'ok', ev, values);
  return result('not-met', 'order', 'drug-not-in-set', ev, values);
}

/** The order itself is coded in the value set (e.g. a refill code rather than an interrogation-only code). */
function ownCode(ctx: KindContext, p: OrderParams): KindOutcome {
  const o = ctx.order;
  const ev = [{ reference: o.ref, value: o.label }];
  return inSet(ctx, p.valueSet, self(o)) ? result('met', 'order', 'ok', ev, { valueSet: p.valueSet! }) : result('not-met', 'order', 'other-code', ev, { valueSet: p.valueSet! });
}

/**
 * Another draft order of the same set, recognised or not, is coded in the value set (an E/M visit ordered with a
 * refill); with `detailValueSet` it must carry that detail too (modifier 25). None in the set ⇒ empty (`absent`).
 */
function inOrderSet(ctx: KindContext, p: OrderParams): KindOutcome {
  const o = ctx.order;
  const set = o.setOrders;
  const values = { valueSet: p.valueSet!, ...(p.detailValueSet ? { detailValueSet: p.detailValueSet } : {}) };
  if (set === undefined) return { status: 'not-documented', finding: { kind: 'order', code: 'unknown', values: { ...values, field: 'setOrders' } }, evidence: [] };
  const found = set.filter((x) => x.ref !== o.ref && x.codings.some((c) => ctx.valueSets.contains(p.valueSet!, c)));
  if (found.length === 0) return { ...none('order', [], values), finding: { kind: 'order', code: 'not-in-set', values } };
  const label = (x: (typeof found)[number]) => x.codings.map((c) => c.code).join(', ');
  if (!p.detailValueSet) return result('met', 'order', 'ok', found.map((x) => ({ reference: x.ref, value: label(x) })), values);
  const withDetail = found.filter((x) => x.details.some((c) => ctx.valueSets.contains(p.detailValueSet!, c)));
  if (withDetail.length > 0) return result('met', 'order', 'ok', withDetail.map((x) => ({ reference: x.ref, value: label(x), note: 'with the required modifier' })), values);
  return result(p.missingDetail ?? 'not-met', 'order', 'missing-detail', found.map((x) => ({ reference: x.ref, value: label(x), note: 'without the required modifier' })), values);
}
