// PatientRecord: one indexed snapshot of the patient's resources, built once per request.
// Lookups by type, by `system|code` (own code, referenced Medication/Device code, Observation component code) and by
// reference are O(1); policy facts select small candidate sets here before running FHIRPath or arithmetic on them, so
// cost grows linearly with record size. Malformed elements are ignored, never an exception.
import type { FhirResource, Patient, Reference, Resource } from 'fhir/r4';
import { HCPCS, HCPCS_BLUEBUTTON, HCPCS_CRD, LOINC, SNOMED } from './systems.js';

/** A part of the record that could not be read (prefetch key missing and the FHIR query failed, timed out, ...). */
export interface RecordGap {
  /** Prefetch key, e.g. `observations`. */
  key: string;
  /** Resource type the key would have returned. */
  resourceType: string;
  reason: string;
}

/** Code system URIs treated as the same system (HCPCS is spelled three ways in the wild). */
const SYSTEM_ALIASES: Record<string, string> = {
  [HCPCS_CRD]: HCPCS,
  [HCPCS_BLUEBUTTON]: HCPCS,
  [HCPCS_BLUEBUTTON.replace('https:', 'http:')]: HCPCS,
  'https://loinc.org': LOINC,
  'https://snomed.info/sct': SNOMED,
};

export function canonicalSystem(system: string | undefined): string {
  const s = typeof system === 'string' ? system.trim() : '';
  return SYSTEM_ALIASES[s] ?? s;
}

/**
 * The spellings a FHIR search must ask for a system's codes under: HCPCS is really sent three ways (THO, CRD, Blue
 * Button), so each is asked; the other aliases folded above are defensive and not worth longer URLs.
 */
const SEARCH_SPELLINGS: Record<string, string[]> = { [HCPCS]: [HCPCS, HCPCS_CRD, HCPCS_BLUEBUTTON] };

export function systemSpellings(system: string): string[] {
  const canonical = canonicalSystem(system);
  return SEARCH_SPELLINGS[canonical] ?? [canonical];
}

export function codeKey(system: string | undefined, code: string | undefined): string {
  return `${canonicalSystem(system)}|${typeof code === 'string' ? code.trim() : ''}`;
}

/** Where a coding was found: the resource's own code element(s), or an Observation component's code. */
export type CodeElement = 'code' | 'component';

/** The code-bearing elements indexed per resource type (the element the policies select on). */
const CODE_PATHS: Record<string, (r: any) => unknown[]> = {
  Observation: (r) => [r.code],
  Condition: (r) => [r.code],
  Procedure: (r) => [r.code],
  MedicationStatement: (r) => [r.medicationCodeableConcept],
  MedicationRequest: (r) => [r.medicationCodeableConcept],
  MedicationAdministration: (r) => [r.medicationCodeableConcept],
  Medication: (r) => [r.code],
  Device: (r) => [r.type],
  DeviceRequest: (r) => [r.codeCodeableConcept],
  DeviceUseStatement: (r) => [r.device?.concept],
  ServiceRequest: (r) => [r.code],
  Encounter: (r) => (Array.isArray(r.type) ? r.type : []),
  AllergyIntolerance: (r) => [r.code],
  Coverage: (r) => [r.type],
  Specimen: (r) => [r.type],
  QuestionnaireResponse: () => [],
};

/**
 * Resource types whose code may instead sit on a referenced resource: indexed under the referenced resource's codes
 * once the whole record is in (a MedicationRequest by its Medication's code, a DeviceUseStatement by its Device's type),
 * so byCodes finds them either way. Contained resources (`#id`) are followed too.
 */
const CODE_BY_REFERENCE: Record<string, (r: any) => unknown> = {
  MedicationStatement: (r) => r.medicationReference,
  MedicationRequest: (r) => r.medicationReference,
  MedicationAdministration: (r) => r.medicationReference,
  DeviceUseStatement: (r) => r.device,
};

const REF_TAIL = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/;

export class PatientRecord {
  readonly patientId: string;
  readonly patient?: Patient;
  readonly gaps: RecordGap[];
  private readonly byType = new Map<string, Resource[]>();
  /** `Type#system|code` → resources whose own code element carries the coding. */
  private readonly byTypeAndCode = new Map<string, Resource[]>();
  /** `Type#system|code` → Observations with a component coded so. */
  private readonly byComponentCode = new Map<string, Resource[]>();
  /** type → id → resource (two levels: no `Type/id` string is built per resource while indexing). */
  private readonly byRef = new Map<string, Map<string, Resource>>();
  /** `Type#system|code` keys, built once per distinct (type, system, code): thousands of readings share a few codes. */
  private readonly keyCache = new Map<string, Map<string, Map<string, string>>>();
  /** Buckets that may hold a resource twice (own code and a referenced resource's code alike). */
  private readonly mayRepeat = new Set<Resource[]>();

  /** Never throws on malformed resources: elements of the wrong shape are ignored (not indexed, not resolvable). */
  constructor(patientId: string, resources: Iterable<FhirResource | Resource>, gaps: RecordGap[] = []) {
    this.patientId = patientId;
    this.gaps = gaps;
    for (const resource of resources) this.add(resource);
    for (const [type, pick] of Object.entries(CODE_BY_REFERENCE)) {
      for (const r of this.byType.get(type) ?? []) {
        const target = this.resolve(pick(r) as Reference | undefined, r);
        const paths = target ? CODE_PATHS[target.resourceType] : undefined;
        if (paths) for (const cc of paths(target)) this.index(this.byTypeAndCode, type, r, cc, true);
      }
    }
    const patient = this.resolve(`Patient/${patientId}`) ?? this.all('Patient')[0];
    if (patient) this.patient = patient as Patient;
  }

  private add(resource: Resource): void {
    if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') return;
    const type = resource.resourceType;
    const id: unknown = resource.id;
    if (typeof id === 'string' ? id !== '' : typeof id === 'number') {
      const key = String(id);
      let ids = this.byRef.get(type);
      if (!ids) this.byRef.set(type, (ids = new Map()));
      if (ids.has(key)) return; // same resource from two prefetch keys / pages
      ids.set(key, resource);
    }
    let list = this.byType.get(type);
    if (!list) this.byType.set(type, (list = []));
    list.push(resource);
    const paths = CODE_PATHS[type];
    if (paths) for (const cc of paths(resource)) this.index(this.byTypeAndCode, type, resource, cc);
    if (type === 'Observation') {
      const components: unknown = (resource as { component?: unknown }).component;
      if (Array.isArray(components)) {
        for (const c of components) if (c && typeof c === 'object') this.index(this.byComponentCode, type, resource, (c as { code?: unknown }).code);
      }
    }
  }

  // Runs once per resource of a record of thousands: no per-resource allocations beyond the keys themselves. Codings
  // that are not objects with a string code (malformed data) are skipped.
  private index(map: Map<string, Resource[]>, type: string, resource: Resource, cc: unknown, byReference = false): void {
    const coding = cc && typeof cc === 'object' ? (cc as { coding?: unknown }).coding : undefined;
    if (!Array.isArray(coding)) return;
    for (const c of coding as { system?: unknown; code?: unknown }[]) {
      if (!c || typeof c !== 'object' || typeof c.code !== 'string') continue;
      const key = this.typedCodeKey(type, typeof c.system === 'string' ? c.system : '', c.code);
      let bucket = map.get(key);
      if (!bucket) map.set(key, (bucket = []));
      // The same coding twice on one resource: buckets are filled resource by resource, so a repeat is the last one.
      if (bucket[bucket.length - 1] !== resource) {
        bucket.push(resource);
        // Indexed again by its referenced Medication / Device: it may already be in this bucket, not last.
        if (byReference) this.mayRepeat.add(bucket);
      }
    }
  }

  /** `${type}#${codeKey(system, code)}`, from the cache when this (type, system, code) was seen before. */
  private typedCodeKey(type: string, system: string, code: string): string {
    let bySystem = this.keyCache.get(type);
    if (!bySystem) this.keyCache.set(type, (bySystem = new Map()));
    let byCode = bySystem.get(system);
    if (!byCode) bySystem.set(system, (byCode = new Map()));
    let key = byCode.get(code);
    if (key === undefined) byCode.set(code, (key = `${type}#${codeKey(system, code)}`));
    return key;
  }

  /** Every resource of a type, in the order received. */
  all<T extends Resource = Resource>(resourceType: string): T[] {
    return (this.byType.get(resourceType) ?? []) as T[];
  }

  /**
   * Resources of `resourceType` carrying any of the codings (system aliases folded; codes trimmed): on their own code
   * element (for medication and device-use resources, also the referenced Medication's / Device's code), or, for
   * Observations, on a component. `element` restricts the match to one of the two.
   */
  byCodes<T extends Resource = Resource>(
    resourceType: string,
    codings: Iterable<{ system?: string; code?: string }>,
    element?: CodeElement,
  ): T[] {
    const maps = element === 'code' ? [this.byTypeAndCode] : element === 'component' ? [this.byComponentCode] : [this.byTypeAndCode, this.byComponentCode];
    const buckets: Resource[][] = [];
    for (const c of codings) {
      if (!c || typeof c.code !== 'string') continue;
      // Policies ask with the same value-set codings request after request: the key comes from the cache.
      const key = this.typedCodeKey(resourceType, typeof c.system === 'string' ? c.system : '', c.code);
      for (const map of maps) {
        const bucket = map.get(key);
        if (bucket && !buckets.includes(bucket)) buckets.push(bucket);
      }
    }
    // One bucket (thousands of glucose readings under one LOINC code): its resources are distinct already. Only
    // several buckets need de-duplicating — a Set of 20,000 resources cost more than the rest of the lookup.
    if (buckets.length === 0) return [];
    if (buckets.length === 1 && !this.mayRepeat.has(buckets[0]!)) return buckets[0]!.slice() as T[];
    const out: Resource[] = [];
    const seen = new Set<Resource>();
    for (const bucket of buckets) {
      for (const r of bucket) {
        if (!seen.has(r)) {
          seen.add(r);
          out.push(r);
        }
      }
    }
    return out as T[];
  }

  /**
   * Resolve `Type/id`, an absolute URL ending in `Type/id`, or a Reference against the record. A contained reference
   * (`#id`) is resolved in `from.contained` when the owning resource is given.
   */
  resolve<T extends Resource = Resource>(ref: string | Reference | undefined, from?: Resource): T | undefined {
    const s: unknown = typeof ref === 'string' ? ref : ref && typeof ref === 'object' ? ref.reference : undefined;
    if (typeof s !== 'string' || !s) return undefined;
    if (s.startsWith('#')) {
      const contained: unknown = (from as { contained?: unknown } | undefined)?.contained;
      if (!Array.isArray(contained)) return undefined;
      const id = s.slice(1);
      const hit = contained.find((c) => c && typeof c === 'object' && typeof c.resourceType === 'string' && c.id === id);
      return hit as T | undefined;
    }
    const m = REF_TAIL.exec(s);
    if (!m) return undefined;
    const slash = m[1]!.indexOf('/');
    return this.byRef.get(m[1]!.slice(0, slash))?.get(m[1]!.slice(slash + 1)) as T | undefined;
  }

  /** Whether resources of this type could not be read (a gap), so "absent" must not be read as "none exists". */
  gapFor(resourceType: string): RecordGap | undefined {
    return this.gaps.find((g) => g.resourceType === resourceType);
  }

  get size(): number {
    let n = 0;
    for (const list of this.byType.values()) n += list.length;
    return n;
  }
}
