// PatientRecord: one indexed snapshot of the patient's resources, built once per request.
// Lookups by type, by `system|code` and by reference are O(1); policy facts select small candidate sets here before
// running FHIRPath or arithmetic on them, so cost grows linearly with record size.
import type { CodeableConcept, Coding, FhirResource, Patient, Reference, Resource } from 'fhir/r4';
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

// Untrusted data: a `system` or `code` that is not a string (a number, `true`, an object) counts as absent, never throws.
export function canonicalSystem(system: string | undefined): string {
  const s = typeof system === 'string' ? system.trim() : '';
  return SYSTEM_ALIASES[s] ?? s;
}

export function codeKey(system: string | undefined, code: string | undefined): string {
  return `${canonicalSystem(system)}|${typeof code === 'string' ? code.trim() : ''}`;
}

/** The codings of a CodeableConcept read structurally: only objects from an array (`coding: {}`, `5`, `[null]` → none). */
export function codingsOf(cc: unknown): Coding[] {
  const codings = (cc as { coding?: unknown } | null | undefined)?.coding;
  return Array.isArray(codings) ? (codings.filter((c) => typeof c === 'object' && c !== null && !Array.isArray(c)) as Coding[]) : [];
}

/** `value` if it is an array, else `[value]` when present (a CodeableConcept sent where a list belongs), else `[]`. */
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

/** The code-bearing elements indexed per resource type (the element the policies select on). */
const CODE_PATHS: Record<string, (r: any) => (CodeableConcept | undefined)[]> = {
  Observation: (r) => [r.code],
  Condition: (r) => [r.code],
  Procedure: (r) => [r.code],
  MedicationStatement: (r) => [r.medicationCodeableConcept],
  MedicationRequest: (r) => [r.medicationCodeableConcept],
  MedicationAdministration: (r) => [r.medicationCodeableConcept],
  Device: (r) => [r.type],
  DeviceRequest: (r) => [r.codeCodeableConcept],
  DeviceUseStatement: (r) => [r.device?.concept],
  ServiceRequest: (r) => [r.code],
  Encounter: (r) => listOf(r.type) as CodeableConcept[],
  AllergyIntolerance: (r) => [r.code],
  Coverage: (r) => [r.type],
  QuestionnaireResponse: () => [],
};

export class PatientRecord {
  readonly patientId: string;
  readonly patient?: Patient;
  readonly gaps: RecordGap[];
  private readonly byType = new Map<string, Resource[]>();
  private readonly byTypeAndCode = new Map<string, Resource[]>();
  private readonly byRef = new Map<string, Resource>();

  constructor(patientId: string, resources: Iterable<FhirResource | Resource>, gaps: RecordGap[] = []) {
    this.patientId = patientId;
    this.gaps = gaps;
    for (const resource of resources) this.add(resource);
    const patient = this.resolve(`Patient/${patientId}`) ?? this.all('Patient')[0];
    if (patient) this.patient = patient as Patient;
  }

  private add(resource: Resource): void {
    if (!resource || typeof resource.resourceType !== 'string') return;
    if (resource.id) {
      const ref = `${resource.resourceType}/${resource.id}`;
      if (this.byRef.has(ref)) return; // same resource from two prefetch keys / pages
      this.byRef.set(ref, resource);
    }
    let list = this.byType.get(resource.resourceType);
    if (!list) this.byType.set(resource.resourceType, (list = []));
    list.push(resource);
    const paths = CODE_PATHS[resource.resourceType];
    if (!paths) return;
    // Runs once per resource of a record of thousands: no per-resource allocations beyond the keys themselves.
    for (const cc of paths(resource)) {
      for (const coding of codingsOf(cc)) {
        const key = `${resource.resourceType}#${codeKey(coding.system, coding.code)}`;
        let bucket = this.byTypeAndCode.get(key);
        if (!bucket) this.byTypeAndCode.set(key, (bucket = []));
        // The same coding twice on one resource: buckets are filled resource by resource, so a repeat is the last one.
        if (bucket[bucket.length - 1] !== resource) bucket.push(resource);
      }
    }
  }

  /** Every resource of a type, in the order received. */
  all<T extends Resource = Resource>(resourceType: string): T[] {
    return (this.byType.get(resourceType) ?? []) as T[];
  }

  /** Resources of `resourceType` carrying any of the codings (system aliases folded; codes trimmed). */
  byCodes<T extends Resource = Resource>(resourceType: string, codings: Iterable<{ system?: string; code?: string }>): T[] {
    const out: Resource[] = [];
    const seen = new Set<Resource>();
    for (const c of codings) {
      for (const r of this.byTypeAndCode.get(`${resourceType}#${codeKey(c.system, c.code)}`) ?? []) {
        if (!seen.has(r)) {
          seen.add(r);
          out.push(r);
        }
      }
    }
    return out as T[];
  }

  /** Resolve `Type/id` (or a Reference) against the record. Absolute and contained references are not followed. */
  resolve<T extends Resource = Resource>(ref: string | Reference | undefined): T | undefined {
    const s = typeof ref === 'string' ? ref : ref?.reference;
    if (typeof s !== 'string' || !s) return undefined;
    const m = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(\/_history\/.*)?$/.exec(s);
    return m ? (this.byRef.get(m[1]!) as T | undefined) : undefined;
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
