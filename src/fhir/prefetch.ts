// Prefetch templates the services advertise in discovery, and the CDS Hooks 2.0 token expansion used when pumpcheck
// has to run a template itself (key absent from the request). Only 2.0 tokens are produced and accepted: clients such
// as the CDS Hooks sandbox silently drop keys with tokens they do not understand, and then every call would fall back
// to querying.

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
}

export interface ObservationCode {
  system: string;
  code: string;
}

const P = '{{context.patientId}}';

/**
 * The templates for the order-select / order-sign services. `observationCodes` are the (LOINC) codes the loaded
 * policies select on, so the Observation prefetch stays small; duplicates are removed, order is kept.
 */
export function buildPrefetchTemplates(observationCodes: ObservationCode[]): PrefetchTemplate[] {
  const seen = new Set<string>();
  const tokens: string[] = [];
  for (const { system, code } of observationCodes) {
    const s = system.trim();
    const c = code.trim();
    if (!s || !c) continue;
    // `,` and `|` are the token-search separators; a code containing them cannot be expressed in one parameter.
    if (/[,|&#\s]/.test(s) || /[,|&#\s]/.test(c)) {
      throw new Error(`Observation code "${s}|${c}" cannot be used in a prefetch template`);
    }
    const token = `${s}|${c}`;
    if (seen.has(token)) continue;
    seen.add(token);
    tokens.push(token);
  }
  const search = (key: string, resourceType: string, query = '', required = false): PrefetchTemplate => ({
    key,
    template: `${resourceType}?patient=${P}${query}`,
    resourceType,
    required,
    kind: 'search',
  });
  return [
    { key: 'patient', template: `Patient/${P}`, resourceType: 'Patient', required: true, kind: 'read' },
    search('coverage', 'Coverage', '&status=active', true),
    search('conditions', 'Condition'),
    // Without any policy Observation codes the key asks for all of the patient's Observations (paging-capped).
    search('observations', 'Observation', tokens.length > 0 ? `&code=${tokens.join(',')}` : ''),
    search('medicationStatements', 'MedicationStatement'),
    search('medicationRequests', 'MedicationRequest'),
    search('procedures', 'Procedure'),
    search('encounters', 'Encounter', '&_sort=-date&_count=100'),
    search('devices', 'Device'),
    search('allergies', 'AllergyIntolerance'),
    search('questionnaireResponses', 'QuestionnaireResponse', '&status=completed,amended'),
  ];
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
  constructor(message: string) {
    super(message);
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
        throw new PrefetchTokenError(`Prefetch token {{${token}}} has no value in the hook context`);
      }
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new PrefetchTokenError(`Prefetch token {{${token}}} does not name a primitive context field`);
      }
    } else if (Object.hasOwn(USER_TOKENS, token)) {
      const userId = context.userId;
      const prefix = `${USER_TOKENS[token]}/`;
      if (typeof userId !== 'string' || !userId.startsWith(prefix)) {
        throw new PrefetchTokenError(`Prefetch token {{${token}}} has no value: context.userId is not a ${prefix}<id>`);
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
