// The pump drug map (policies/drug-products.json): RxNorm ingredient, product-level RxNorm (SCD/SBD), HCPCS J-code
// and name → ingredient. Lookups are O(1) per coding; name matching scans a fixed list of names (constant per text).
import type { Coding } from 'fhir/r4';
import { canonicalSystem } from '../fhir/record.js';
import { HCPCS, RXNORM } from '../fhir/systems.js';

export interface DrugIngredient {
  id: string;
  name: string;
  rxcui?: string;
  hcpcs: string[];
  class: string;
  synonyms?: string[];
  source: string;
  note?: string;
}

export interface DrugProduct {
  system: string;
  code: string;
  display: string;
  ingredients: string[];
  source: string;
  note?: string;
}

export interface DrugProductsFile {
  description?: string;
  noc?: string[];
  ingredients: DrugIngredient[];
  products: DrugProduct[];
}

export interface DrugMatch {
  ingredients: DrugIngredient[];
  hcpcs: string[];
  matchedBy: 'rxnorm-ingredient' | 'rxnorm-product' | 'hcpcs' | 'name';
}

export interface DrugMap {
  ingredients: readonly DrugIngredient[];
  /** Identify a drug from codings first (RxNorm ingredient, RxNorm product, HCPCS J-code), else from texts by name. */
  identify(codings: readonly Coding[], texts: readonly string[]): DrugMatch | undefined;
  /** Whether an HCPCS code is a not-otherwise-classified drug code (identifies no ingredient). */
  isNoc(hcpcs: string): boolean;
}

function norm(code: unknown): string {
  return typeof code === 'string' ? code.trim().toUpperCase() : '';
}

export function buildDrugMap(file: DrugProductsFile): DrugMap {
  const byId = new Map(file.ingredients.map((i) => [i.id, i] as const));
  const byRxcui = new Map<string, DrugIngredient>();
  const byHcpcs = new Map<string, DrugIngredient[]>();
  const byProduct = new Map<string, DrugIngredient[]>();
  const needles: { needle: string; ingredient: DrugIngredient }[] = [];
  for (const ing of file.ingredients) {
    if (ing.rxcui) byRxcui.set(ing.rxcui, ing);
    for (const h of ing.hcpcs) {
      const list = byHcpcs.get(h) ?? [];
      list.push(ing);
      byHcpcs.set(h, list);
    }
    for (const n of [ing.name, ...(ing.synonyms ?? [])]) needles.push({ needle: n.toLowerCase(), ingredient: ing });
  }
  for (const p of file.products) {
    byProduct.set(`${canonicalSystem(p.system)}|${norm(p.code)}`, p.ingredients.map((id) => byId.get(id)!).filter(Boolean));
  }
  // Longest names first, so "insulin lispro" claims its text before "insulin" can.
  needles.sort((a, b) => b.needle.length - a.needle.length);
  const noc = new Set(file.noc ?? []);

  function byName(texts: readonly string[]): DrugIngredient[] {
    const found: DrugIngredient[] = [];
    for (const raw of texts) {
      const t = raw.toLowerCase();
      const claimed: [number, number][] = [];
      for (const { needle, ingredient } of needles) {
        let at = t.indexOf(needle);
        while (at >= 0) {
          const end = at + needle.length;
          const boundary = !/[a-z0-9]/.test(t[at - 1] ?? ' ') && !/[a-z0-9]/.test(t[end] ?? ' ');
          const inside = claimed.some(([s, e]) => at >= s && end <= e);
          if (boundary && !inside) {
            claimed.push([at, end]);
            if (!found.includes(ingredient)) found.push(ingredient);
            break;
          }
          at = t.indexOf(needle, at + 1);
        }
      }
    }
    return found;
  }

  return {
    ingredients: file.ingredients,
    isNoc: (h) => noc.has(h),
    identify(codings, texts) {
      const ingredients: DrugIngredient[] = [];
      const hcpcs: string[] = [];
      let matchedBy: DrugMatch['matchedBy'] | undefined;
      const add = (list: readonly DrugIngredient[], how: DrugMatch['matchedBy']) => {
        for (const i of list) if (!ingredients.includes(i)) ingredients.push(i);
        if (list.length > 0) matchedBy ??= how;
      };
      for (const c of codings) {
        const system = canonicalSystem(typeof c.system === 'string' ? c.system : undefined);
        const code = norm(c.code);
        if (!code) continue;
        if (system === RXNORM) {
          const ing = byRxcui.get(code);
          if (ing) add([ing], 'rxnorm-ingredient');
          else add(byProduct.get(`${system}|${code}`) ?? [], 'rxnorm-product');
        } else if (system === HCPCS) {
          if (/^[JQ]\d{4}$/.test(code) && !hcpcs.includes(code)) hcpcs.push(code);
          add(byHcpcs.get(code) ?? [], 'hcpcs');
        } else add(byProduct.get(`${system}|${code}`) ?? [], 'rxnorm-product');
      }
      if (ingredients.length === 0) add(byName(texts), 'name');
      if (ingredients.length === 0 && hcpcs.length === 0) return undefined;
      return { ingredients, hcpcs, matchedBy: matchedBy ?? 'hcpcs' };
    },
  };
}

export const EMPTY_DRUG_MAP: DrugMap = buildDrugMap({ ingredients: [], products: [] });
