// Order recognition: which draft orders are infusion-pump orders (pumps, pump supplies, pump drugs), read from the
// catalogue in policies/orders.json. Every draftOrders entry is examined; HCPCS arrives under three system URIs and
// with stray whitespace, so codes are trimmed and systems folded before lookup.
import path from 'node:path';
import type { Bundle, Coding, DeviceRequest, MedicationRequest, Reference, Resource } from 'fhir/r4';
import { canonicalSystem, codingsOf } from '../fhir/record.js';
import { Problems, ptr, readDataFile, validateAgainst } from './schemas.js';
import type { InfusionOrder } from './types.js';

import { HCPCS as HCPCS_SYSTEM } from '../fhir/systems.js';

export type OrderRole = 'pump' | 'supply' | 'drug';

export interface OrderCatalogueEntry {
  system: string;
  code: string;
  role: OrderRole;
  pumpKind?: 'external' | 'implantable';
  display: string;
  tags?: string[];
  source?: string;
}

export interface OrderCatalogue {
  entries: OrderCatalogueEntry[];
  /** `canonicalSystem|CODE` → entry. */
  lookup(coding: { system?: string; code?: string }): OrderCatalogueEntry | undefined;
}

function key(system: string | undefined, code: string | undefined): string {
  // h13: untrusted draft orders — a non-string code (`code: true`) is no code, never a TypeError.
  return `${canonicalSystem(system)}|${typeof code === 'string' ? code.trim().toUpperCase() : ''}`;
}

export function buildOrderCatalogue(entries: OrderCatalogueEntry[]): OrderCatalogue {
  const map = new Map<string, OrderCatalogueEntry>();
  for (const e of entries) map.set(key(e.system, e.code), e);
  return {
    entries,
    lookup: (c) => (typeof c?.code === 'string' ? map.get(key(c.system, c.code)) : undefined),
  };
}

/** Reads and validates `<dir>/orders.json`; throws PolicyLoadError naming the file and JSON path. */
export function loadOrderCatalogue(dir: string): OrderCatalogue {
  const problems = new Problems();
  const file = path.join(dir, 'orders.json');
  const data = readDataFile(file, problems);
  if (data !== undefined && validateAgainst('orders', data, file, problems)) {
    const entries = (data as { entries: OrderCatalogueEntry[] }).entries;
    const seen = new Map<string, number>();
    entries.forEach((e, i) => {
      const k = key(e.system, e.code);
      const first = seen.get(k);
      if (first !== undefined) problems.add(file, ptr('entries', i, 'code'), `duplicate entry for ${e.code} (also /entries/${first})`);
      else seen.set(k, i);
      if (e.role !== 'pump' && e.pumpKind) problems.add(file, ptr('entries', i, 'pumpKind'), 'pumpKind is only for pumps');
    });
    problems.throwIfAny();
    return buildOrderCatalogue(entries);
  }
  problems.throwIfAny();
  throw new Error('unreachable');
}

function isHcpcs(system: string | undefined): boolean {
  return canonicalSystem(system) === HCPCS_SYSTEM;
}

/** `Type/id` of a reference (absolute URLs and _history suffixes stripped), as the record and selections use. */
export function localReference(ref: string | undefined): string | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(ref.trim());
  return m ? m[1] : undefined;
}

/** A contained resource named by a `#id` reference. */
function contained<T extends Resource>(owner: { contained?: Resource[] }, ref: Reference | undefined, type: string): T | undefined {
  const r = typeof ref?.reference === 'string' ? ref.reference.trim() : undefined; // h13: untrusted shape
  if (!r?.startsWith('#')) return undefined;
  const hit = (Array.isArray(owner.contained) ? owner.contained : []).find((c) => c?.resourceType === type && c.id === r.slice(1));
  return hit as T | undefined;
}

function orderCodings(resource: DeviceRequest | MedicationRequest): Coding[] {
  if (resource.resourceType === 'DeviceRequest') {
    // h13: codingsOf reads untrusted codings structurally (`coding: 5`, `{}`, `[null]` → no codings).
    if (resource.codeCodeableConcept) return codingsOf(resource.codeCodeableConcept);
    // codeReference is only usable when it points at a contained Device that says what it is.
    const device = contained<{ resourceType: 'Device'; type?: { coding?: Coding[] } } & Resource>(resource, resource.codeReference, 'Device');
    return codingsOf(device?.type);
  }
  if (resource.medicationCodeableConcept) return codingsOf(resource.medicationCodeableConcept);
  const med = contained<{ resourceType: 'Medication'; code?: { coding?: Coding[] } } & Resource>(resource, resource.medicationReference, 'Medication');
  return codingsOf(med?.code);
}

/** Pump entries of the catalogue win over supply/drug ones; among equals HCPCS wins (it is what the claim carries). */
function bestEntry(codings: Coding[], catalogue: OrderCatalogue): { entry: OrderCatalogueEntry; coding: Coding } | undefined {
  let best: { entry: OrderCatalogueEntry; coding: Coding; rank: number } | undefined;
  for (const coding of codings) {
    const entry = catalogue.lookup(coding);
    if (!entry) continue;
    const rank = (entry.role === 'pump' ? 4 : entry.role === 'drug' ? 2 : 3) * 2 + (isHcpcs(entry.system) ? 1 : 0);
    if (!best || rank > best.rank) best = { entry, coding, rank };
  }
  return best ? { entry: best.entry, coding: best.coding } : undefined;
}

function labelFor(entry: OrderCatalogueEntry, coding: Coding): string {
  const code = (typeof coding.code === 'string' ? coding.code : entry.code).trim().toUpperCase();
  if (isHcpcs(entry.system)) return `${code} ${entry.display}`;
  const system = canonicalSystem(entry.system);
  const name = system === 'http://snomed.info/sct' ? 'SNOMED CT' : system === 'http://www.nlm.nih.gov/research/umls/rxnorm' ? 'RxNorm' : system;
  return `${entry.display} (${name} ${code})`;
}

/**
 * The infusion-pump orders among the draft orders. `selections` (order-select) marks which ones the clinician is
 * looking at; companions are the other recognised orders of the same bundle (a pump's supplies and drug, and back).
 */
export function recogniseOrders(draftOrders: Bundle, catalogue: OrderCatalogue, selections?: string[]): InfusionOrder[] {
  const selected = selections === undefined ? undefined : new Set(selections.map((s) => localReference(s) ?? s.trim()));
  const found: InfusionOrder[] = [];
  (draftOrders?.entry ?? []).forEach((entry, index) => {
    const resource = entry?.resource as DeviceRequest | MedicationRequest | undefined;
    if (!resource || (resource.resourceType !== 'DeviceRequest' && resource.resourceType !== 'MedicationRequest')) return;
    if (resource.status === 'entered-in-error') return;
    const codings = orderCodings(resource);
    const hit = bestEntry(codings, catalogue);
    if (!hit) return;
    const ref = typeof resource.id === 'string' && resource.id ? `${resource.resourceType}/${resource.id}` : (localReference(entry.fullUrl) ?? entry.fullUrl ?? `${resource.resourceType}/#${index}`);
    const hcpcsCoding = isHcpcs(hit.coding.system) ? hit.coding : codings.find((c) => isHcpcs(c.system) && typeof c.code === 'string' && c.code.trim() !== '');
    const hcpcs = hcpcsCoding?.code?.trim().toUpperCase();
    const order: InfusionOrder = {
      ref,
      resource,
      role: hit.entry.role,
      codings,
      label: labelFor(hit.entry, hit.coding),
      // h13: `insurance: "Coverage/x"` or `[null]` from an untrusted client is no insurance reference, not a TypeError.
      insurance: (Array.isArray(resource.insurance) ? resource.insurance : [])
        .map((r) => localReference(r?.reference))
        .filter((r): r is string => !!r && r.startsWith('Coverage/')),
      companions: [],
      selected: selected ? selected.has(ref) : true,
    };
    if (hcpcs) order.hcpcs = hcpcs;
    if (hit.entry.role === 'pump' && hit.entry.pumpKind) order.pumpKind = hit.entry.pumpKind;
    if (typeof resource.authoredOn === 'string') order.authoredOn = resource.authoredOn;
    if (typeof resource.requester?.reference === 'string' && resource.requester.reference) order.requester = resource.requester.reference;
    found.push(order);
  });
  for (const order of found) {
    order.companions = found
      .filter((o) => o !== order)
      .map((o) => ({ ref: o.ref, role: o.role, ...(o.hcpcs ? { hcpcs: o.hcpcs } : {}), codings: o.codings }));
  }
  return found;
}

/** Catalogue entry of an order (for tags such as `insulin`). */
export function catalogueEntryFor(order: Pick<InfusionOrder, 'codings'>, catalogue: OrderCatalogue): OrderCatalogueEntry | undefined {
  return bestEntry(order.codings, catalogue)?.entry;
}
