// Prefetch templates the services advertise in discovery, derived from what the loaded policies read (their
// DataRequirements, src/policy/requirements.ts), and the CDS Hooks 2.0 token expansion used when pumpcheck has to run a
// template itself (key absent from the request). The same templates are the fallback queries, so prefetch and
// fallback always deliver the same record. Only 2.0 tokens are produced and accepted: clients such as the CDS Hooks
// sandbox silently drop keys with tokens they do not understand, and then every call would fall back to querying.
import type { DataRequirement } from '../policy/requirements.js';
import { systemSpellings } from './record.js';

export interface PrefetchTemplate {
  /** Prefetch key as advertised in discovery (e.g. `coverage`). */
  key: string;
  /** Relative FHIR read or search URL with CDS Hooks 2.0 tokens. */
  template: string;
  /** The resource type the template returns (a search returns a Bundle of these). */
  resourceType: string;
  /** Without it no determination is possible: if it can be neither prefetched nor fetched the answer is 412. */
  required: boolean;
  kind: 'read' | 'search';
  /** Types the template's `_include`s add to the Bundle (kept with the matches, e.g. Specimen, Medication). */
  includedTypes: string[];
  /** Search parameter and codes the search is restricted to; absent = every resource of the type for the patient. */
  codes?: { param: string; codings: { system: string; code: string }[] };
  /** Who needs the data (DataRequirement.purpose of every requirement the template serves). */
  purpose: string[];
}

/** Code-list searches are split into several keys of one type so no template exceeds this many characters. */
export const MAX_TEMPLATE_LENGTH = 1500;

const P = '{{context.patientId}}';

interface TypeSearch {
  /** Prefetch key of the (first) search of the type. */
  key: string;
  /** Token search parameter of the type's code; null = the type has none (all resources of the patient are asked). */
  codeParam: string | null;
  /** Fixed search parameters (statuses every reader needs, sort order). */
  extra?: string;
  /** Its code may be a reference (medication[x]): a code search would miss those resources, so none is made. */
  codeByReference?: boolean;
}

/**
 * How each type is searched. Keys keep the names EHR integrations already configured. The fixed parameters encode
 * what every reader of the type assumes: Coverage `status=active` (the CRD standard coverage prefetch, which CRD
 * clients must serve verbatim), completed/amended QuestionnaireResponses (an attestation in progress is not one),
 * Encounters newest first.
 */
const TYPE_SEARCH: Record<string, TypeSearch> = {
  Coverage: { key: 'coverage', codeParam: null, extra: '&status=active' },
  Condition: { key: 'conditions', codeParam: 'code' },
  Observation: { key: 'observations', codeParam: 'code' },
  MedicationStatement: { key: 'medicationStatements', codeParam: 'code', codeByReference: true },
  MedicationRequest: { key: 'medicationRequests', codeParam: 'code', codeByReference: true },
  MedicationAdministration: { key: 'medicationAdministrations', codeParam: 'code', codeByReference: true },
  Procedure: { key: 'procedures', codeParam: 'code' },
  Encounter: { key: 'encounters', codeParam: 'type', extra: '&_sort=-date&_count=100' },
  Device: { key: 'devices', codeParam: 'type' },
  DeviceUseStatement: { key: 'deviceUseStatements', codeParam: null },
  DeviceRequest: { key: 'deviceRequests', codeParam: 'code' },
  ServiceRequest: { key: 'serviceRequests', codeParam: 'code' },
  AllergyIntolerance: { key: 'allergies', codeParam: 'code' },
  QuestionnaireResponse: { key: 'questionnaireResponses', codeParam: null, extra: '&status=completed,amended' },
  Specimen: { key: 'specimens', codeParam: 'type' },
};

/** Types that cannot be searched by patient: a requirement reaches them through an `_include`. */
const NOT_BY_PATIENT = new Set(['Medication', 'Organization', 'Practitioner', 'PractitionerRole', 'Location', 'Substance']);

/** `_include` values pumpcheck knows the target type of (gather keeps exactly these types with the matches). */
const INCLUDE_TARGET: Record<string, string> = {
  'Observation:specimen': 'Specimen',
  'Observation:device': 'Device',
  'MedicationRequest:medication': 'Medication',
  'MedicationStatement:medication': 'Medication',
  'MedicationAdministration:medication': 'Medication',
  'DeviceUseStatement:device': 'Device',
  'DeviceRequest:device': 'Device',
  'Procedure:focal-device': 'Device',
  'ServiceRequest:specimen': 'Specimen',
  'Coverage:payor': 'Organization',
};

/** What buildPrefetchTemplates needs of the value sets: their explicit codes, and whether they also hold prefixes. */
export interface ValueSetCodes {
  codings(valueSetId: string): { system: string; code: string }[];
  has(valueSetId: string): boolean;
  /** ICD-10 groups (E08–E13) cannot be listed in a search: such a value set makes the search unrestricted. */
  hasPrefixes?(valueSetId: string): boolean;
}

/** FHIR search escaping (`\`, `,`, `|`, `$`), then percent-encoding of anything that would break the URL. */
function tokenPart(s: string): string {
  const escaped = s.replace(/[\\,|$]/g, (c) => `\\${c}`);
  return escaped.replace(/[^A-Za-z0-9\-._~:/@!*'()+;=]/g, (c) => encodeURIComponent(c));
}

interface Group {
  type: string;
  /** null = unrestricted. */
  codeParam: string | null;
  include: string[];
  tokens: string[];
  codings: { system: string; code: string }[];
  purpose: string[];
}

const addAll = (into: string[], from: readonly string[] | undefined) => {
  for (const x of from ?? []) if (!into.includes(x)) into.push(x);
};

/**
 * The templates for the order-select / order-sign services, from the data requirements: one search per type read
 * (Patient is a read), restricted to the codes of the requirements' value sets when every reader of the type names
 * value sets whose codes can be listed, otherwise every resource of the type for the patient. The `_include`s its readers
 * want (e.g. the untimed C-peptide's Specimen) go on the type's search: one query per type, as a server scans (and an
 * EHR fills) each key separately; long code lists are split over several keys (`observations`, `observations2`, …). Every HCPCS/LOINC/SNOMED code is
 * asked under each spelling of its system seen in the wild. Patient and Coverage are always asked for (required).
 * Throws for a requirement that cannot be expressed (a type not searchable by patient, an unknown `_include`).
 */
export function buildPrefetchTemplates(
  requirements: readonly DataRequirement[],
  valueSets: ValueSetCodes,
  maxLength = MAX_TEMPLATE_LENGTH,
): PrefetchTemplate[] {
  const byType = new Map<string, DataRequirement[]>();
  const order: string[] = ['Patient', 'Coverage'];
  for (const r of requirements) {
    if (typeof r?.type !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(r.type)) throw new Error(`data requirement with an invalid type "${String(r?.type)}"`);
    if (NOT_BY_PATIENT.has(r.type)) {
      throw new Error(`${r.type} cannot be searched by patient (${r.purpose.join('; ')}): reach it through an _include`);
    }
    for (const inc of r.include ?? []) {
      if (!INCLUDE_TARGET[inc]) throw new Error(`unknown _include "${inc}" (${r.purpose.join('; ')})`);
      if (!inc.startsWith(`${r.type}:`)) throw new Error(`_include "${inc}" does not start from ${r.type} (${r.purpose.join('; ')})`);
    }
    for (const id of r.valueSets ?? []) {
      if (!valueSets.has(id)) throw new Error(`unknown value set "${id}" in a data requirement (${r.purpose.join('; ')})`);
    }
    if (!byType.has(r.type)) byType.set(r.type, []);
    byType.get(r.type)!.push(r);
    if (!order.includes(r.type)) order.push(r.type);
  }

  const templates: PrefetchTemplate[] = [];
  const purposeOf = (reqs: readonly DataRequirement[]) => {
    const out: string[] = [];
    for (const r of reqs) addAll(out, r.purpose);
    return out;
  };
  for (const type of order) {
    const reqs = byType.get(type) ?? [];
    if (type === 'Patient') {
      templates.push({ key: 'patient', template: `Patient/${P}`, resourceType: 'Patient', required: true, kind: 'read', includedTypes: [], purpose: purposeOf(reqs) });
      continue;
    }
    const search = TYPE_SEARCH[type] ?? { key: `${type[0]!.toLowerCase()}${type.slice(1)}s`, codeParam: 'code' };
    const searches = groupsOf(type, reqs, search, valueSets).flatMap((g) => chunk(g, search, type === 'Coverage', maxLength));
    searches.forEach((t, i) => {
      t.key = i === 0 ? search.key : `${search.key}${i + 1}`;
      templates.push(t);
    });
    if (type === 'Encounter') {
      // The encounter of the order (home vs institutional setting): the CRD standard `encounter` read.
      templates.push({ key: 'encounter', template: 'Encounter/{{context.encounterId}}', resourceType: 'Encounter', required: false, kind: 'read', includedTypes: [], purpose: purposeOf(reqs) });
    }
  }
  return templates;
}

function groupsOf(type: string, reqs: readonly DataRequirement[], search: TypeSearch, valueSets: ValueSetCodes): Group[] {
  const restricted = (r: DataRequirement) =>
    search.codeParam !== null &&
    !search.codeByReference &&
    (r.valueSets?.length ?? 0) > 0 &&
    !r.valueSets!.some((id) => valueSets.hasPrefixes?.(id) ?? false);
  if (reqs.length === 0 || !reqs.every(restricted)) {
    const group: Group = { type, codeParam: null, include: [], tokens: [], codings: [], purpose: [] };
    for (const r of reqs) {
      addAll(group.include, r.include);
      addAll(group.purpose, r.purpose);
    }
    return [group];
  }
  // Per code: the search parameter; the includes of every reader of the type go on the type's search(es).
  const perToken = new Map<string, { param: string; include: string[]; purpose: string[]; coding: { system: string; code: string } }>();
  for (const r of reqs) {
    const param = r.codeParam ?? search.codeParam!;
    for (const id of r.valueSets!) {
      for (const c of valueSets.codings(id)) {
        for (const system of systemSpellings(c.system)) {
          const code = c.code.trim();
          if (!system || !code) continue;
          const token = `${param} ${tokenPart(system)}|${tokenPart(code)}`;
          let t = perToken.get(token);
          if (!t) perToken.set(token, (t = { param, include: [], purpose: [], coding: { system, code } }));
          addAll(t.include, r.include);
          addAll(t.purpose, r.purpose);
        }
      }
    }
  }
  const groups = new Map<string, Group>();
  for (const [token, t] of perToken) {
    let g = groups.get(t.param);
    if (!g) groups.set(t.param, (g = { type, codeParam: t.param, include: [], tokens: [], codings: [], purpose: [] }));
    addAll(g.include, t.include);
    g.tokens.push(token.slice(t.param.length + 1));
    g.codings.push(t.coding);
    addAll(g.purpose, t.purpose);
  }
  return [...groups.values()];
}

function chunk(group: Group, search: TypeSearch, required: boolean, maxLength: number): PrefetchTemplate[] {
  const base = `${group.type}?patient=${P}`;
  const suffix = `${search.extra ?? ''}${group.include.map((i) => `&_include=${i}`).join('')}`;
  const includedTypes = [...new Set(group.include.map((i) => INCLUDE_TARGET[i]!))];
  const make = (query: string, codings?: { system: string; code: string }[]): PrefetchTemplate => ({
    key: '',
    template: `${base}${query}${suffix}`,
    resourceType: group.type,
    required,
    kind: 'search',
    includedTypes,
    ...(codings ? { codes: { param: group.codeParam!, codings } } : {}),
    purpose: group.purpose,
  });
  if (group.codeParam === null) return [make('')];
  const out: PrefetchTemplate[] = [];
  const prefix = `&${group.codeParam}=`;
  let tokens: string[] = [];
  let codings: { system: string; code: string }[] = [];
  const flush = () => {
    if (tokens.length) out.push(make(`${prefix}${tokens.join(',')}`, codings));
    tokens = [];
    codings = [];
  };
  group.tokens.forEach((token, i) => {
    const fixed = base.length + prefix.length + suffix.length;
    if (fixed + token.length > maxLength) throw new Error(`code ${token} cannot fit a ${group.type} prefetch template of ${maxLength} characters`);
    if (tokens.length && fixed + tokens.join(',').length + 1 + token.length > maxLength) flush();
    tokens.push(token);
    codings.push(group.codings[i]!);
  });
  flush();
  return out;
}

/** The discovery `prefetch` object: key → template. */
export function toDiscoveryPrefetch(templates: readonly PrefetchTemplate[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of templates) out[t.key] = t.template;
  return out;
}

/** CDS Hooks 2.0 user-identifier tokens, derived from `context.userId` (`Practitioner/123` ⇒ userPractitionerId). */
const USER_TOKENS: Record<string, string> = {
  userPractitionerId: 'Practitioner',
  userPractitionerRoleId: 'PractitionerRole',
  userPatientId: 'Patient',
  userRelatedPersonId: 'RelatedPerson',
};

/** Values substituted into URLs: FHIR ids and relative references only, so a value cannot add query parameters. */
const SAFE_VALUE = /^[A-Za-z0-9\-.]{1,64}(\/[A-Za-z0-9\-.]{1,64})?$/;

export class PrefetchTokenError extends Error {
  /** The token is valid but the hook context has no value for it (e.g. no encounterId): the key does not apply. */
  readonly missingValue: boolean;
  constructor(message: string, missingValue = false) {
    super(message);
    this.missingValue = missingValue;
    this.name = 'PrefetchTokenError';
  }
}

/**
 * Replace the CDS Hooks 2.0 prefetch tokens in `template` with values from the hook `context`.
 * Throws PrefetchTokenError for a token that is not a 2.0 token (FHIRPath, `%key`, `context.a.b`, ...), for a
 * context field that is missing or not a primitive, and for a value that is not an id or `Type/id`.
 */
export function expandTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(/\{\{([^{}]*)\}\}/g, (_match, raw: string) => {
    const token = raw.trim();
    let value: unknown;
    const ctx = /^context\.([A-Za-z][A-Za-z0-9]*)$/.exec(token);
    if (ctx) {
      value = context[ctx[1]!];
      if (value === undefined || value === null || value === '') {
        throw new PrefetchTokenError(`Prefetch token {{${token}}} has no value in the hook context`, true);
      }
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new PrefetchTokenError(`Prefetch token {{${token}}} does not name a primitive context field`);
      }
    } else if (Object.hasOwn(USER_TOKENS, token)) {
      const userId = context.userId;
      const prefix = `${USER_TOKENS[token]}/`;
      if (typeof userId !== 'string' || !userId.startsWith(prefix)) {
        throw new PrefetchTokenError(`Prefetch token {{${token}}} has no value: context.userId is not a ${prefix}<id>`, true);
      }
      value = userId.slice(prefix.length);
    } else {
      throw new PrefetchTokenError(`Prefetch token {{${token}}} is not a CDS Hooks 2.0 token`);
    }
    const s = String(value);
    if (!SAFE_VALUE.test(s)) {
      throw new PrefetchTokenError(`Prefetch token {{${token}}} has a value that is not a FHIR id or reference`);
    }
    return s;
  });
}
