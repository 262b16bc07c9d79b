// The order catalogue (policies/orders.json): which codes make a draft order an infusion-pump order, in which role;
// and the pump drug map (policies/drug-products.json). HCPCS arrives under three system URIs and with stray
// whitespace, so codes are trimmed and systems folded before lookup.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Coding } from 'fhir/r4';
import { canonicalSystem } from '../fhir/record.js';
import { HCPCS as HCPCS_SYSTEM } from '../fhir/systems.js';
import { Problems, ptr, readDataFile, validateAgainst } from '../policy/schemas.js';
import { buildDrugMap, type DrugMap, type DrugProductsFile, EMPTY_DRUG_MAP } from './drugs.js';
import type { OrderRole, PumpKind } from './types.js';

export interface OrderCatalogueEntry {
  system: string;
  code: string;
  role: OrderRole;
  pumpKind?: PumpKind;
  display: string;
  /** How card text names an order of this code. */
  noun?: string;
  /** false: the item carries no drug (IV pole, batteries), so its drug is not applicable. */
  carriesDrug?: boolean;
  tags?: string[];
  source?: string;
}

export interface OrderCatalogue {
  entries: OrderCatalogueEntry[];
  /** `canonicalSystem|CODE` → entry. */
  lookup(coding: { system?: unknown; code?: unknown } | undefined): OrderCatalogueEntry | undefined;
  /** policies/drug-products.json (empty when the policy directory has none). */
  drugs: DrugMap;
}

export function codeKey(system: unknown, code: unknown): string {
  return `${canonicalSystem(typeof system === 'string' ? system : undefined)}|${(typeof code === 'string' ? code : '').trim().toUpperCase()}`;
}

export function buildOrderCatalogue(entries: OrderCatalogueEntry[], drugs: DrugMap = EMPTY_DRUG_MAP): OrderCatalogue {
  const map = new Map<string, OrderCatalogueEntry>();
  for (const e of entries) map.set(codeKey(e.system, e.code), e);
  return {
    entries,
    drugs,
    lookup: (c) => (c && typeof c.code === 'string' ? map.get(codeKey(c.system, c.code)) : undefined),
  };
}

/** Reads and validates `<dir>/orders.json` (and `<dir>/drug-products.json` when present); throws PolicyLoadError naming the file and JSON path. */
export function loadOrderCatalogue(dir: string): OrderCatalogue {
  const problems = new Problems();
  const file = path.join(dir, 'orders.json');
  const data = readDataFile(file, problems);
  let entries: OrderCatalogueEntry[] = [];
  if (data !== undefined && validateAgainst('orders', data, file, problems)) {
    entries = (data as { entries: OrderCatalogueEntry[] }).entries;
    const seen = new Map<string, number>();
    entries.forEach((e, i) => {
      const k = codeKey(e.system, e.code);
      const first = seen.get(k);
      if (first !== undefined) problems.add(file, ptr('entries', i, 'code'), `duplicate entry for ${e.code} (also /entries/${first})`);
      else seen.set(k, i);
      if (e.role !== 'pump' && e.pumpKind) problems.add(file, ptr('entries', i, 'pumpKind'), 'pumpKind is only for pumps');
    });
  }
  const drugs = loadDrugProducts(dir, problems);
  problems.throwIfAny();
  return buildOrderCatalogue(entries, drugs);
}

function loadDrugProducts(dir: string, problems: Problems): DrugMap {
  const file = path.join(dir, 'drug-products.json');
  if (!existsSync(file)) return EMPTY_DRUG_MAP;
  const data = readDataFile(file, problems);
  if (data === undefined || !validateAgainst('drug-products', data, file, problems)) return EMPTY_DRUG_MAP;
  const d = data as DrugProductsFile;
  const ids = new Map<string, number>();
  d.ingredients.forEach((ing, i) => {
    const first = ids.get(ing.id);
    if (first !== undefined) problems.add(file, ptr('ingredients', i, 'id'), `duplicate ingredient id "${ing.id}" (also /ingredients/${first})`);
    else ids.set(ing.id, i);
  });
  d.products.forEach((p, i) => {
    p.ingredients.forEach((id, j) => {
      if (!ids.has(id)) problems.add(file, ptr('products', i, 'ingredients', j), `unknown ingredient id "${id}"`);
    });
  });
  return buildDrugMap(d);
}

export function isHcpcs(system: unknown): boolean {
  return typeof system === 'string' && canonicalSystem(system) === HCPCS_SYSTEM;
}

/** Pump and procedure entries win over supply/drug ones; among equals HCPCS wins (it is what the claim carries). */
export function bestEntry<C extends Coding>(codings: readonly C[], catalogue: OrderCatalogue): { entry: OrderCatalogueEntry; coding: C } | undefined {
  let best: { entry: OrderCatalogueEntry; coding: C; rank: number } | undefined;
  for (const coding of codings) {
    const entry = catalogue.lookup(coding);
    if (!entry) continue;
    const rank = (entry.role === 'pump' || entry.role === 'procedure' ? 4 : entry.role === 'drug' ? 2 : 3) * 2 + (isHcpcs(entry.system) ? 1 : 0);
    if (!best || rank > best.rank) best = { entry, coding, rank };
  }
  return best ? { entry: best.entry, coding: best.coding } : undefined;
}

/** Catalogue entry of an order (for tags such as `insulin`). */
export function catalogueEntryFor(order: { codings: readonly Coding[] }, catalogue: OrderCatalogue): OrderCatalogueEntry | undefined {
  return bestEntry(order.codings, catalogue)?.entry;
}
