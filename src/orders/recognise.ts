// Order recognition: which draft orders are infusion-pump orders, and the whole order around each one — its order
// set (basedOn / groupIdentifier / the same draftOrders), its drug, its setting and the pumps already on record.
// Linear in the number of draft orders: groups come from one union-find pass, and what is the same for a whole group
// or request (companions, the group's drug, the record's drug, the setting of an encounter, pumps on record) is
// computed once and shared. Malformed input (wrong JSON types anywhere) is ignored, never thrown on.
import type { Coding, MedicationRequest } from 'fhir/r4';
import type { PatientRecord } from '../fhir/record.js';
import { canonicalSystem } from '../fhir/record.js';
import { CPT } from '../fhir/systems.js';
import { bestEntry, isHcpcs, type OrderCatalogue, type OrderCatalogueEntry } from './catalogue.js';
import type { DrugMatch } from './drugs.js';
import { pumpsOnRecord } from './pumps-on-record.js';
import { arr, type CodedCoding, codingsOf, conceptTexts, day, localReference, obj, type Obj, objs, refString, str, text } from './read.js';
import { createSettingReader } from './setting.js';
import type { Companion, DrugIdentification, OrderResource, PumpOrder, SetOrder } from './types.js';

export interface RecogniseOptions {
  /** order-select: `Type/id` of the orders the clinician just selected (absent: every order is selected). */
  selections?: readonly unknown[];
  /** The gathered record (drug from the record, setting from the encounter, pumps on record). */
  record?: PatientRecord;
  /** context.encounterId */
  encounterId?: unknown;
  /** Stands in for the order date when an order has no authoredOn (the 30-day window for a drug on record). */
  requestTime?: Date;
  /** Days before the order within which an active MedicationRequest on record counts as the pump's drug (default 30). */
  recordDrugWindowDays?: number;
}

const ORDER_TYPES = new Set(['DeviceRequest', 'MedicationRequest', 'ServiceRequest', 'SupplyRequest']);

const NOT_APPLICABLE: DrugIdentification = Object.freeze({ status: 'not-applicable', ingredients: [], names: [], hcpcs: [] }) as DrugIdentification;
const NOT_IDENTIFIED: DrugIdentification = Object.freeze({ status: 'not-identified', ingredients: [], names: [], hcpcs: [] }) as DrugIdentification;

interface DraftItem {
  index: number;
  ref: string;
  resource: Obj;
  type: string;
  groupId?: string;
}

/** `Type/id` of a draft entry: its id, else its fullUrl, else its position. */
function draftRef(resource: Obj, fullUrl: unknown, index: number, type: string): string {
  const id = text(resource.id);
  if (id) return `${type}/${id}`;
  return localReference(fullUrl) ?? text(fullUrl) ?? `${type}/#${index}`;
}

/** A contained resource named by a `#id` reference. */
function containedOf(owner: Obj, ref: unknown, type: string): Obj | undefined {
  const r = refString(ref);
  if (!r?.startsWith('#')) return undefined;
  const id = r.slice(1);
  return objs(owner.contained).find((c) => c.resourceType === type && c.id === id);
}

/** The Medication a medicationReference names: contained, else in the record. */
function medicationOf(owner: Obj, record: PatientRecord | undefined): Obj | undefined {
  const ref = owner.medicationReference;
  const c = containedOf(owner, ref, 'Medication');
  if (c) return c;
  const r = refString(ref);
  if (!r || r.startsWith('#') || !record) return undefined;
  const hit = record.resolve(r) as unknown;
  const o = obj(hit);
  return o && o.resourceType === 'Medication' ? o : undefined;
}

/** The codings that say what the order is. */
function orderCodings(item: DraftItem, record: PatientRecord | undefined): CodedCoding[] {
  const r = item.resource;
  switch (item.type) {
    case 'DeviceRequest':
      if (r.codeCodeableConcept !== undefined) return codingsOf(r.codeCodeableConcept);
      // codeReference is only usable when it points at a contained Device that says what it is.
      return codingsOf(containedOf(r, r.codeReference, 'Device')?.type);
    case 'MedicationRequest':
      if (r.medicationCodeableConcept !== undefined) return codingsOf(r.medicationCodeableConcept);
      return codingsOf(medicationOf(r, record)?.code);
    case 'ServiceRequest':
      return codingsOf(r.code);
    case 'SupplyRequest':
      if (r.itemCodeableConcept !== undefined) return codingsOf(r.itemCodeableConcept);
      return codingsOf(containedOf(r, r.itemReference, 'Device')?.type);
    default:
      return [];
  }
}

function labelFor(entry: OrderCatalogueEntry, coding: Coding): string {
  const code = (str(coding.code) ?? entry.code).trim().toUpperCase();
  const system = canonicalSystem(entry.system);
  if (isHcpcs(entry.system) || system === CPT) return `${code} ${entry.display}`;
  const name = system === 'http://snomed.info/sct' ? 'SNOMED CT' : system === 'http://www.nlm.nih.gov/research/umls/rxnorm' ? 'RxNorm' : system;
  return `${entry.display} (${name} ${code})`;
}

/** Union-find over draft items; path-halving keeps it effectively linear. */
class Groups {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]!]!;
      i = p[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

function groupIdentifierKey(resource: Obj): string | undefined {
  const g = obj(resource.groupIdentifier);
  const value = text(g?.value);
  if (!value) return undefined;
  return `${text(g?.system) ?? ''}|${value}`;
}

function basedOnRefs(resource: Obj): string[] {
  const out: string[] = [];
  for (const b of arr(resource.basedOn)) {
    const r = localReference(refString(b));
    if (r) out.push(r);
  }
  return out;
}

/**
 * The infusion-pump orders among the draft orders. The third argument is the options object, or (older callers)
 * the order-select selections.
 */
export function recogniseOrders(draftOrders: unknown, catalogue: OrderCatalogue, options?: RecogniseOptions | readonly unknown[]): PumpOrder[] {
  const opts: RecogniseOptions = Array.isArray(options) ? { selections: options } : ((options as RecogniseOptions | undefined) ?? {});
  const record = opts.record;
  const selected = Array.isArray(opts.selections)
    ? new Set(opts.selections.map((s) => (typeof s === 'string' ? (localReference(s) ?? s.trim()) : '')).filter(Boolean))
    : undefined;

  // 1. Draft items (every order resource, recognised or not: a companion MedicationRequest may carry the drug).
  const items: DraftItem[] = [];
  arr(obj(draftOrders)?.entry).forEach((e, index) => {
    const entry = obj(e);
    const resource = obj(entry?.resource);
    const type = str(resource?.resourceType);
    if (!resource || !type || !ORDER_TYPES.has(type)) return;
    if (resource.status === 'entered-in-error') return;
    const gid = groupIdentifierKey(resource);
    items.push({ index, ref: draftRef(resource, entry?.fullUrl, index, type), resource, type, ...(gid ? { groupId: gid } : {}) });
  });

  // 2. Order sets: basedOn links and shared groupIdentifier; whatever has neither is one set (the same draftOrders).
  const groups = new Groups(items.length);
  const byRef = new Map<string, number>();
  items.forEach((it, i) => {
    if (!byRef.has(it.ref)) byRef.set(it.ref, i);
  });
  const byGid = new Map<string, number>();
  const basedOnOf: string[][] = [];
  /** MedicationRequests that name an order in basedOn, by that order's ref. */
  const medsBasedOn = new Map<string, number[]>();
  items.forEach((it, i) => {
    if (it.groupId) {
      const first = byGid.get(it.groupId);
      if (first === undefined) byGid.set(it.groupId, i);
      else groups.union(first, i);
    }
    const refs = basedOnRefs(it.resource);
    basedOnOf.push(refs);
    for (const r of refs) {
      const j = byRef.get(r);
      if (j !== undefined) groups.union(i, j);
      if (it.type === 'MedicationRequest') {
        const list = medsBasedOn.get(r) ?? [];
        list.push(i);
        medsBasedOn.set(r, list);
      }
    }
  });
  const hasGid = new Map<number, string>();
  items.forEach((it, i) => {
    if (it.groupId && !hasGid.has(groups.find(i))) hasGid.set(groups.find(i), it.groupId);
  });
  let defaultRoot = -1;
  items.forEach((_, i) => {
    if (hasGid.has(groups.find(i))) return;
    if (defaultRoot < 0) defaultRoot = groups.find(i);
    else groups.union(defaultRoot, i);
  });
  const groupKeyOf = (i: number): string => {
    const root = groups.find(i);
    const gid = hasGid.get(root);
    return gid !== undefined ? `groupIdentifier:${gid}` : 'draftOrders';
  };

  // 3. Drugs: per MedicationRequest once, per group once, from the record once.
  const drugs = catalogue.drugs;
  const medDrug = new Map<number, DrugIdentification | null>();
  const identifyMed = (i: number, source: DrugIdentification['source']): DrugIdentification | null => {
    const key = source === 'order' ? -1 - i : i;
    if (medDrug.has(key)) return medDrug.get(key)!;
    const result = drugFromMedicationRequest(items[i]!.resource, items[i]!.ref, source, record, drugs);
    medDrug.set(key, result);
    return result;
  };
  const groupMeds = new Map<number, number[]>();
  items.forEach((it, i) => {
    if (it.type !== 'MedicationRequest') return;
    const root = groups.find(i);
    const list = groupMeds.get(root) ?? [];
    list.push(i);
    groupMeds.set(root, list);
  });
  const groupDrug = new Map<number, DrugIdentification | null>();
  let recordDrug: DrugIdentification | null | undefined;
  const fromRecord = (asOf: string | undefined): DrugIdentification | null => {
    if (!record) return null;
    if (recordDrug === undefined || asOf !== recordAsOf) {
      recordAsOf = asOf;
      recordDrug = drugFromRecord(record, asOf, opts.recordDrugWindowDays ?? 30, drugs);
    }
    return recordDrug;
  };
  let recordAsOf: string | undefined;
  const requestDay = opts.requestTime instanceof Date && !Number.isNaN(opts.requestTime.getTime()) ? opts.requestTime.toISOString().slice(0, 10) : undefined;

  // 4. Setting and pumps on record: once per encounter / once per request.
  const setting = createSettingReader(record, opts.encounterId);
  const pumps = pumpsOnRecord(record, catalogue);

  // 5. Every draft order of each set, recognised or not (an E/M visit ordered with a refill): one shared array per set.
  const setOrdersByRoot = new Map<number, SetOrder[]>();
  items.forEach((it, i) => {
    const root = groups.find(i);
    let list = setOrdersByRoot.get(root);
    if (!list) setOrdersByRoot.set(root, (list = []));
    const details = it.type === 'ServiceRequest' ? arr(it.resource.orderDetail).flatMap((d) => codingsOf(d)) : [];
    list.push({ ref: it.ref, type: it.type, codings: orderCodings(it, record), details });
  });

  /** The fields every recognised order has, from its draft item (steps 6 and 7 add what is their own). */
  const orderOf = (i: number, role: PumpOrder['role'], codings: PumpOrder['codings'], label: string, companions: Companion[], drug: DrugIdentification): PumpOrder => {
    const it = items[i]!;
    const r = it.resource;
    const order: PumpOrder = {
      ref: it.ref,
      resource: r as unknown as OrderResource,
      role,
      codings,
      label,
      insurance: insuranceRefs(r),
      companions,
      groupKey: groupKeyOf(i),
      drug,
      setting: setting(r),
      pumpsOnRecord: pumps,
      setOrders: setOrdersByRoot.get(groups.find(i)) ?? [],
      selected: selected ? selected.has(it.ref) : true,
    };
    const authoredOn = text(r.authoredOn);
    if (authoredOn) order.authoredOn = authoredOn;
    const requester = refString(r.requester);
    if (requester) order.requester = requester;
    return order;
  };

  // 6. Recognition.
  const found: PumpOrder[] = [];
  const recognised = new Set<number>();
  const companionsByRoot = new Map<number, Companion[]>();
  items.forEach((it, i) => {
    const codings = orderCodings(it, record);
    const hit = bestEntry(codings, catalogue);
    if (!hit) return;
    const r = it.resource;
    const role = hit.entry.role;
    const hcpcsCoding = isHcpcs(hit.coding.system) ? hit.coding : codings.find((c) => isHcpcs(c.system) && c.code.trim() !== '');
    const hcpcs = hcpcsCoding?.code.trim().toUpperCase();
    const cptCoding = canonicalSystem(hit.entry.system) === CPT ? hit.coding : codings.find((c) => canonicalSystem(c.system) === CPT && c.code.trim() !== '');
    const root = groups.find(i);
    let companions = companionsByRoot.get(root);
    if (!companions) companionsByRoot.set(root, (companions = []));

    let drug: DrugIdentification;
    if (hit.entry.carriesDrug === false) drug = NOT_APPLICABLE;
    else if (it.type === 'MedicationRequest') drug = identifyMed(i, 'order') ?? NOT_IDENTIFIED;
    else {
      let d: DrugIdentification | null = null;
      // Direct links first: the MedicationRequests this order is based on, and those based on this order.
      for (const ref of basedOnOf[i]!) {
        const j = byRef.get(ref);
        if (j !== undefined && items[j]!.type === 'MedicationRequest') d = identifyMed(j, 'companion');
        if (d) break;
      }
      if (!d) {
        for (const j of medsBasedOn.get(it.ref) ?? []) {
          d = identifyMed(j, 'companion');
          if (d) break;
        }
      }
      if (!d) {
        if (!groupDrug.has(root)) {
          let g: DrugIdentification | null = null;
          for (const j of groupMeds.get(root) ?? []) {
            g = identifyMed(j, 'companion');
            if (g) break;
          }
          groupDrug.set(root, g);
        }
        d = groupDrug.get(root)!;
      }
      d ??= drugFromOrderFields(r, it.ref, drugs);
      d ??= fromRecord(day(r.authoredOn) ?? requestDay);
      drug = d ?? NOT_IDENTIFIED;
    }

    const order = orderOf(i, role, codings, labelFor(hit.entry, hit.coding), companions, drug);
    if (hcpcs) order.hcpcs = hcpcs;
    const cpt = cptCoding?.code.trim().toUpperCase();
    if (cpt) order.cpt = cpt;
    if (role === 'pump' && hit.entry.pumpKind) order.pumpKind = hit.entry.pumpKind;
    if (hit.entry.noun) order.noun = hit.entry.noun;
    companions.push({ ref: order.ref, role, ...(order.hcpcs ? { hcpcs: order.hcpcs } : {}), codings, resource: order.resource });
    found.push(order);
    recognised.add(i);
  });

  // 7. A drug order written without a catalogue code ("Morphine sulfate 1 mg/mL in NS") in an order set with a pump is
  // that pump's drug order: recognised by the drug it names, so its line gets the set's coverage-information too. Alone
  // (no pump in its set) it stays unrecognised, as before.
  items.forEach((it, i) => {
    if (recognised.has(i) || it.type !== 'MedicationRequest') return;
    const companions = companionsByRoot.get(groups.find(i));
    if (!companions?.some((c) => c.role === 'pump')) return;
    const drug = identifyMed(i, 'order');
    if (!drug) return;
    const order = orderOf(i, 'drug', [], drug.display ?? drug.names.join(' + '), companions, drug);
    companions.push({ ref: order.ref, role: 'drug', codings: [], resource: order.resource });
    found.push(order);
  });
  return found;
}

function insuranceRefs(r: Obj): string[] {
  const out: string[] = [];
  for (const x of arr(r.insurance)) {
    const ref = localReference(refString(x));
    if (ref?.startsWith('Coverage/')) out.push(ref);
  }
  return out;
}

/**
 * Whether a match names the drug: an ingredient, or a HCPCS drug code that is not a not-otherwise-classified code (a
 * J-code names one drug even when drug-products.json does not list it, e.g. oxaliplatin J9263; J7799 names none).
 */
function names(match: DrugMatch | undefined, drugs: OrderCatalogue['drugs']): match is DrugMatch {
  return !!match && (match.ingredients.length > 0 || match.hcpcs.some((h) => !drugs.isNoc(h)));
}

function identification(match: DrugMatch, source: DrugIdentification['source'], ref: string, display: string | undefined, route: string[]): DrugIdentification {
  const ingredients: string[] = [];
  for (const i of match.ingredients) if (i.rxcui && !ingredients.includes(i.rxcui)) ingredients.push(i.rxcui);
  // The J-codes the order itself carried (an ingredient has several, e.g. insulin lispro J1817 / J1813). An ingredient
  // with no RXCUI, named in text only, is known by its J-code when it has exactly one (blinatumomab J9039), so value
  // sets and policy selection still recognise it; an ingredient with several (immune globulin: one per product) stays
  // without, because the product is what a policy would need.
  const hcpcs = [...match.hcpcs];
  for (const i of match.ingredients) if (!i.rxcui && i.hcpcs.length === 1 && !hcpcs.includes(i.hcpcs[0]!)) hcpcs.push(i.hcpcs[0]!);
  return {
    status: 'identified',
    ingredients,
    names: match.ingredients.map((i) => i.id),
    hcpcs,
    ...(display ? { display } : {}),
    ...(source ? { source } : {}),
    ref,
    ...(route.length > 0 ? { route } : {}),
    matchedBy: match.matchedBy,
  };
}

function routesOf(mr: Obj): string[] {
  const out: string[] = [];
  for (const d of objs(mr.dosageInstruction)) {
    const route = obj(d.route);
    for (const c of codingsOf(route)) if (!out.includes(c.code)) out.push(c.code);
    const t = text(route?.text);
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

/** The drug of a MedicationRequest: its code (or Medication, contained or on record, with its ingredients), else its name. */
function drugFromMedicationRequest(
  mr: Obj,
  ref: string,
  source: DrugIdentification['source'],
  record: PatientRecord | undefined,
  drugs: OrderCatalogue['drugs'],
): DrugIdentification | null {
  const codings = codingsOf(mr.medicationCodeableConcept);
  const texts = conceptTexts(mr.medicationCodeableConcept);
  const med = medicationOf(mr, record);
  if (med) {
    codings.push(...codingsOf(med.code));
    texts.push(...conceptTexts(med.code));
    for (const ing of objs(med.ingredient)) {
      codings.push(...codingsOf(ing.itemCodeableConcept));
      texts.push(...conceptTexts(ing.itemCodeableConcept));
    }
  }
  const display = refDisplay(mr.medicationReference);
  if (display) texts.push(display);
  const match = drugs.identify(codings, texts);
  if (!names(match, drugs)) return null;
  const found = identification(match, source, ref, texts[0], routesOf(mr));
  // A draft drug order (not one on record): its own elements (quantity, supply duration) are part of this order set.
  if (source !== 'record') found.resource = mr as unknown as MedicationRequest;
  return found;
}

function refDisplay(ref: unknown): string | undefined {
  return text(obj(ref)?.display);
}

/** The order's own fields: DeviceRequest/SupplyRequest.parameter, ServiceRequest.orderDetail, note. */
function drugFromOrderFields(r: Obj, ref: string, drugs: OrderCatalogue['drugs']): DrugIdentification | null {
  const codings: Coding[] = [];
  const texts: string[] = [];
  for (const p of objs(r.parameter)) {
    for (const cc of [p.code, p.valueCodeableConcept]) {
      codings.push(...codingsOf(cc));
      texts.push(...conceptTexts(cc));
    }
  }
  for (const cc of objs(r.orderDetail)) {
    codings.push(...codingsOf(cc));
    texts.push(...conceptTexts(cc));
  }
  for (const n of objs(r.note)) {
    const t = text(n.text);
    if (t) texts.push(t);
  }
  const match = drugs.identify(codings, texts);
  if (!names(match, drugs)) return null;
  return identification(match, 'order', ref, match.ingredients.map((i) => i.name).join(' + '), []);
}

/** An active MedicationRequest on record, started (authoredOn) within `windowDays` before the order date. */
function drugFromRecord(record: PatientRecord, asOf: string | undefined, windowDays: number, drugs: OrderCatalogue['drugs']): DrugIdentification | null {
  if (!asOf) return null;
  const end = Date.parse(`${asOf}T00:00:00Z`);
  if (Number.isNaN(end)) return null;
  const start = new Date(end - windowDays * 86_400_000).toISOString().slice(0, 10);
  let best: { day: string; drug: DrugIdentification } | undefined;
  for (const raw of record.all('MedicationRequest') as unknown[]) {
    const mr = obj(raw);
    if (!mr || mr.status !== 'active') continue;
    const bounds = obj(obj(obj(objs(mr.dosageInstruction)[0]?.timing)?.repeat)?.boundsPeriod);
    const started = day(mr.authoredOn) ?? day(bounds?.start);
    if (!started || started < start || started > asOf) continue;
    if (best && best.day >= started) continue;
    const ref = `MedicationRequest/${text(mr.id) ?? '?'}`;
    const drug = drugFromMedicationRequest(mr, ref, 'record', record, drugs);
    if (drug) best = { day: started, drug };
  }
  return best?.drug ?? null;
}
