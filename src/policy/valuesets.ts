// Value sets as data (policies/valuesets/*.json): explicit codes plus code prefixes for ICD-10 groups such as E08–E13.
// contains() is a Set lookup plus a scan of a handful of prefixes, so facts can test every coding they meet.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { canonicalSystem, codeKey, type PatientRecord } from '../fhir/record.js';
import { displayPath, Problems, readDataFile, validateAgainst } from './schemas.js';
import type { ValueSetRegistry } from './types.js';

export interface ValueSetInclude {
  system: string;
  codes?: string[];
  /** Codes starting with the prefix are members (dot-insensitive, case-insensitive: E10 matches E10.65 and e1065). */
  prefixes?: string[];
}

export interface ValueSetDefinition {
  id: string;
  title: string;
  source?: string;
  include: ValueSetInclude[];
}

/** Dots and case are not significant in ICD-10-CM / HCPCS codes as EHRs send them (E10.65 = E1065, e0784 = E0784). */
export function looseCode(code: string): string {
  return code.trim().replace(/\./g, '').toUpperCase();
}

interface CompiledValueSet {
  definition: ValueSetDefinition;
  /** canonical system → explicit codes (two levels: a lookup builds no `system|code` string). */
  exact: Map<string, Set<string>>;
  /** canonical system → LOOSECODE of every explicit code, so E1065 still finds E10.65. */
  loose: Map<string, Set<string>>;
  /** canonical system → loose prefixes */
  prefixes: Map<string, string[]>;
  codings: { system: string; code: string }[];
}

export class ValueSetStore implements ValueSetRegistry {
  private readonly sets = new Map<string, CompiledValueSet>();

  constructor(definitions: Iterable<ValueSetDefinition> = []) {
    for (const d of definitions) this.add(d);
  }

  /** Adds codes to a loaded value set (the deployment's local-code map). */
  extend(id: string, include: ValueSetDefinition['include']): void {
    const current = this.sets.get(id);
    if (!current) throw new Error(`unknown value set "${id}"`);
    this.sets.delete(id);
    this.add({ ...current.definition, include: [...current.definition.include, ...include] });
  }

  /** Adds a value set; a duplicate id is an authoring error the loader reports with the file name. */
  add(definition: ValueSetDefinition): void {
    if (this.sets.has(definition.id)) throw new Error(`duplicate value set id "${definition.id}"`);
    const exact = new Map<string, Set<string>>();
    const loose = new Map<string, Set<string>>();
    const prefixes = new Map<string, string[]>();
    const codings: { system: string; code: string }[] = [];
    for (const inc of definition.include) {
      const system = canonicalSystem(inc.system);
      for (const raw of inc.codes ?? []) {
        const code = raw.trim();
        const codes = exact.get(system) ?? exact.set(system, new Set()).get(system)!;
        if (codes.has(code)) continue;
        codes.add(code);
        (loose.get(system) ?? loose.set(system, new Set()).get(system)!).add(looseCode(code));
        codings.push({ system, code });
      }
      if (inc.prefixes?.length) {
        const list = prefixes.get(system) ?? [];
        for (const p of inc.prefixes) list.push(looseCode(p));
        prefixes.set(system, list);
      }
    }
    this.sets.set(definition.id, { definition, exact, loose, prefixes, codings });
  }

  has(valueSetId: string): boolean {
    return this.sets.has(valueSetId);
  }

  ids(): string[] {
    return [...this.sets.keys()];
  }

  get(valueSetId: string): ValueSetDefinition | undefined {
    return this.sets.get(valueSetId)?.definition;
  }

  title(valueSetId: string): string {
    return this.sets.get(valueSetId)?.definition.title ?? valueSetId;
  }

  /** Explicit codes only: prefix members cannot be enumerated (see `hasPrefixes` / `selectInValueSet`). */
  codings(valueSetId: string): { system: string; code: string }[] {
    return this.sets.get(valueSetId)?.codings ?? [];
  }

  hasPrefixes(valueSetId: string): boolean {
    return (this.sets.get(valueSetId)?.prefixes.size ?? 0) > 0;
  }

  contains(valueSetId: string, coding: { system?: string; code?: string }): boolean {
    const vs = this.sets.get(valueSetId);
    if (!vs || typeof coding?.code !== 'string') return false;
    const system = canonicalSystem(coding.system);
    const code = coding.code.trim();
    if (code === '') return false;
    if (vs.exact.get(system)?.has(code)) return true;
    const prefixes = vs.prefixes.get(system);
    const looseCodes = vs.loose.get(system);
    if (!looseCodes && !prefixes) return false;
    const lc = looseCode(code);
    if (looseCodes?.has(lc)) return true;
    if (prefixes) for (const p of prefixes) if (lc.startsWith(p)) return true;
    return false;
  }

  /** Whether any coding of a list is a member. */
  containsAny(valueSetId: string, codings: readonly { system?: string; code?: string }[] | undefined): boolean {
    for (const c of codings ?? []) if (this.contains(valueSetId, c)) return true;
    return false;
  }
}

/**
 * Resources of a type coded in a value set. Explicit codes go through the record's code index; value sets with
 * prefixes (ICD-10 groups) cannot be enumerated, so those walk the type's list once and test each coding.
 */
export function selectInValueSet<T extends Resource = Resource>(
  record: PatientRecord,
  resourceType: string,
  valueSets: ValueSetRegistry,
  valueSetId: string,
): T[] {
  const store = valueSets instanceof ValueSetStore ? valueSets : undefined;
  const needsScan = store ? store.hasPrefixes(valueSetId) : true;
  if (!needsScan) return record.byCodes<T>(resourceType, valueSets.codings(valueSetId));
  // A scan also catches loose spellings (E1065 for E10.65) that the exact index misses.
  const out: T[] = [];
  for (const r of record.all<T>(resourceType)) {
    if (resourceCodings(r).some((c) => valueSets.contains(valueSetId, c))) out.push(r);
  }
  return out;
}

/** The codings of the element a resource is selected on (the same element PatientRecord indexes). */
export function resourceCodings(r: unknown): { system?: string; code?: string }[] {
  const res = r as Record<string, any>;
  const concepts: unknown[] = (() => {
    switch (res.resourceType) {
      case 'MedicationStatement':
      case 'MedicationRequest':
      case 'MedicationAdministration':
        return [res.medicationCodeableConcept];
      case 'Device':
        return [res.type];
      case 'DeviceRequest':
        return [res.codeCodeableConcept];
      case 'DeviceUseStatement':
        return [res.device?.concept];
      case 'Encounter':
        return Array.isArray(res.type) ? res.type : [];
      case 'Coverage':
        return [res.type];
      default:
        return [res.code];
    }
  })();
  const out: { system?: string; code?: string }[] = [];
  for (const cc of concepts) {
    const coding = (cc as { coding?: unknown } | undefined)?.coding;
    if (Array.isArray(coding)) for (const c of coding) if (c && typeof c === 'object') out.push(c as { system?: string; code?: string });
  }
  return out;
}

/** Key used by the record index, re-exported so callers need not import record.ts for it. */
export { codeKey };

/** Value set files of a directory (JSON, or YAML for hand-written ones), sorted for a stable load order. */
export function valueSetFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.(json|ya?ml)$/i.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Read, validate and index value set files, adding problems (file + JSON path) instead of throwing. */
export function readValueSets(dir: string, problems: Problems, store = new ValueSetStore()): ValueSetStore {
  const origin = new Map<string, string>();
  for (const file of valueSetFiles(dir)) {
    const data = readDataFile(file, problems);
    if (data === undefined || !validateAgainst('valueset', data, file, problems)) continue;
    const def = data as ValueSetDefinition;
    const first = origin.get(def.id);
    if (first || store.has(def.id)) {
      problems.add(file, '/id', `duplicate value set id "${def.id}"${first ? ` (also in ${displayPath(first)})` : ''}`);
      continue;
    }
    origin.set(def.id, file);
    store.add(def);
  }
  return store;
}

export interface LocalCodeEntry { system: string; code: string; display?: string; valueSet: string | string[]; note?: string }

/**
 * The deployment's local-code map (policies/local-codes.json, optional): each entry adds a laboratory-local system|code
 * to the named value set(s). Validated against schema/local-codes.schema.json; an unknown value set is a load error.
 * Applied before anything reads the value sets, so the prefetch and fallback queries ask for the local codes too.
 */
export function applyLocalCodes(file: string, store: ValueSetStore, problems: Problems): number {
  if (!existsSync(file)) return 0;
  const data = readDataFile(file, problems);
  if (data === undefined || !validateAgainst('local-codes', data, file, problems)) return 0;
  const extra = new Map<string, { system: string; codes: string[] }[]>();
  (data as { codes: LocalCodeEntry[] }).codes.forEach((e, i) => {
    for (const id of Array.isArray(e.valueSet) ? e.valueSet : [e.valueSet]) {
      if (!store.has(id)) {
        problems.add(file, `/codes/${i}/valueSet`, `unknown value set "${id}"`);
        continue;
      }
      const list = extra.get(id) ?? [];
      list.push({ system: e.system, codes: [e.code] });
      extra.set(id, list);
    }
  });
  for (const [id, include] of extra) store.extend(id, include);
  return [...extra.values()].reduce((n, l) => n + l.length, 0);
}

/** Load every value set of a directory (policies/valuesets); throws PolicyLoadError naming file and JSON path. */
export function loadValueSets(dir: string): ValueSetStore {
  const problems = new Problems();
  const store = readValueSets(dir, problems);
  problems.throwIfAny();
  return store;
}
