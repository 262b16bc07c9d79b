import { describe, expect, it } from 'vitest';
import type { DataRequirement } from '../policy/requirements.js';
import { ValueSetStore } from '../policy/valuesets.js';
import { buildPrefetchTemplates, expandTemplate, MAX_TEMPLATE_LENGTH, PrefetchTokenError, toDiscoveryPrefetch } from './prefetch.js';
import { HCPCS, HCPCS_BLUEBUTTON, HCPCS_CRD, LOINC } from './systems.js';

const valueSets = new ValueSetStore([
  { id: 'c-peptide', title: 'C-peptide', include: [{ system: LOINC, codes: ['13037-7', ' 1986-9 '] }] },
  { id: 'hba1c', title: 'HbA1c', include: [{ system: LOINC, codes: ['4548-4', '13037-7'] }] },
  { id: 'untimed', title: 'untimed C-peptide', include: [{ system: LOINC, codes: ['1986-9'] }] },
  { id: 'pumps', title: 'pumps', include: [{ system: HCPCS, codes: ['E0784'] }] },
  { id: 'diabetes', title: 'diabetes', include: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', prefixes: ['E10'] }] },
  { id: 'odd', title: 'odd codes', include: [{ system: 'urn:example', codes: ['a,b|c', 'x&y#z', 'back\\slash $1'] }] },
  { id: 'many', title: 'many', include: [{ system: LOINC, codes: Array.from({ length: 200 }, (_, i) => `${10000 + i}-${i % 10}`) }] },
]);
const req = (type: string, extra: Partial<DataRequirement> = {}): DataRequirement => ({ type, purpose: [`p#${type} (test)`], ...extra });
const build = (reqs: DataRequirement[]) => buildPrefetchTemplates(reqs, valueSets);
const P = '{{context.patientId}}';

describe('buildPrefetchTemplates', () => {
  it('always asks for the Patient (read) and the active Coverage, both required', () => {
    const templates = build([]);
    expect(toDiscoveryPrefetch(templates)).toEqual({ patient: `Patient/${P}`, coverage: `Coverage?patient=${P}&status=active` });
    expect(templates.map((t) => [t.key, t.kind, t.required])).toEqual([
      ['patient', 'read', true],
      ['coverage', 'search', true],
    ]);
  });

  it('restricts a search to the codes of the value sets its readers name, each code once, in order', () => {
    const [, , obs] = build([req('Observation', { valueSets: ['c-peptide'] }), req('Observation', { valueSets: ['hba1c'], purpose: ['b#x (y)'] })]);
    expect(obs).toMatchObject({
      key: 'observations',
      template: `Observation?patient=${P}&code=${LOINC}|13037-7,${LOINC}|1986-9,${LOINC}|4548-4`,
      resourceType: 'Observation',
      required: false,
      kind: 'search',
      includedTypes: [],
      purpose: ['p#Observation (test)', 'b#x (y)'],
    });
    expect(obs!.codes).toEqual({ param: 'code', codings: ['13037-7', '1986-9', '4548-4'].map((code) => ({ system: LOINC, code })) });
  });

  it('asks for every resource of a type when one reader needs them all or a value set cannot be listed', () => {
    const all = toDiscoveryPrefetch(build([req('Observation', { valueSets: ['hba1c'] }), req('Observation')]));
    expect(all.observations).toBe(`Observation?patient=${P}`);
    expect(toDiscoveryPrefetch(build([req('Condition', { valueSets: ['diabetes'] })])).conditions).toBe(`Condition?patient=${P}`);
    expect(toDiscoveryPrefetch(build([req('Condition', { valueSets: [] })])).conditions).toBe(`Condition?patient=${P}`);
  });

  it('does not code-filter medication resources (medicationReference would be missed) and includes their Medication', () => {
    const t = build([req('MedicationRequest', { valueSets: ['hba1c'], include: ['MedicationRequest:medication'] })]);
    expect(t[2]).toMatchObject({
      key: 'medicationRequests',
      template: `MedicationRequest?patient=${P}&_include=MedicationRequest:medication`,
      includedTypes: ['Medication'],
    });
    expect(t[2]!.codes).toBeUndefined();
  });

  it('puts the _include a reader wants on the type search (one query per type), for every key of the type', () => {
    const d = toDiscoveryPrefetch(
      build([req('Observation', { valueSets: ['c-peptide', 'hba1c'] }), req('Observation', { valueSets: ['untimed'], include: ['Observation:specimen'] })]),
    );
    expect(d.observations).toBe(`Observation?patient=${P}&code=${LOINC}|13037-7,${LOINC}|1986-9,${LOINC}|4548-4&_include=Observation:specimen`);
    expect(d.observations2).toBeUndefined();
    const many = build([req('Observation', { valueSets: ['many'] }), req('Observation', { valueSets: ['untimed'], include: ['Observation:specimen'] })]);
    const obs = many.filter((t) => t.resourceType === 'Observation');
    expect(obs.length).toBeGreaterThan(1);
    for (const t of obs) {
      expect(t.template).toMatch(/&_include=Observation:specimen$/);
      expect(t.includedTypes).toEqual(['Specimen']);
      expect(t.template.length).toBeLessThanOrEqual(MAX_TEMPLATE_LENGTH);
    }
  });

  it('asks for HCPCS codes under each of their spellings, with the type search parameter of Devices', () => {
    expect(toDiscoveryPrefetch(build([req('Device', { valueSets: ['pumps'] })])).devices).toBe(
      `Device?patient=${P}&type=${HCPCS}|E0784,${HCPCS_CRD}|E0784,${HCPCS_BLUEBUTTON}|E0784`,
    );
    expect(toDiscoveryPrefetch(build([req('Observation', { valueSets: ['hba1c'], codeParam: 'component-code' })])).observations).toBe(
      `Observation?patient=${P}&component-code=${LOINC}|4548-4,${LOINC}|13037-7`,
    );
  });

  it('splits long code lists over several keys of one type, none longer than the limit, losing no code', () => {
    const templates = build([req('Observation', { valueSets: ['many'] })]).filter((t) => t.resourceType === 'Observation');
    expect(templates.length).toBeGreaterThan(2);
    expect(templates.map((t) => t.key)).toEqual(templates.map((_, i) => (i === 0 ? 'observations' : `observations${i + 1}`)));
    for (const t of templates) expect(t.template.length).toBeLessThanOrEqual(MAX_TEMPLATE_LENGTH);
    const asked = templates.flatMap((t) => t.codes!.codings.map((c) => c.code));
    expect(asked).toEqual(valueSets.codings('many').map((c) => c.code));
    expect(templates.flatMap((t) => t.template.split('&code=')[1]!.split(','))).toHaveLength(200);
  });

  it('escapes search separators and encodes URL delimiters inside codes', () => {
    const t = toDiscoveryPrefetch(build([req('Observation', { valueSets: ['odd'] })])).observations!;
    expect(t).toBe(`Observation?patient=${P}&code=urn:example|a%5C%2Cb%5C%7Cc,urn:example|x%26y%23z,urn:example|back%5C%5Cslash%20%5C%241`);
    // Decoded, the server sees FHIR search escapes (\\, \\| \\$ \\\\): three codes, one parameter.
    const code = new URL(`http://x/${expandTemplate(t, { patientId: 'p1' })}`).searchParams.getAll('code');
    expect(code).toEqual(['urn:example|a\\,b\\|c,urn:example|x&y#z,urn:example|back\\\\slash \\$1']);
  });

  it('keeps QuestionnaireResponses to completed/amended, Encounters newest first, and adds the encounter read', () => {
    const d = toDiscoveryPrefetch(build([req('QuestionnaireResponse'), req('Encounter'), req('DeviceUseStatement', { include: ['DeviceUseStatement:device'] })]));
    expect(d).toMatchObject({
      questionnaireResponses: `QuestionnaireResponse?patient=${P}&status=completed,amended`,
      encounters: `Encounter?patient=${P}&_sort=-date&_count=100`,
      encounter: 'Encounter/{{context.encounterId}}',
      deviceUseStatements: `DeviceUseStatement?patient=${P}&_include=DeviceUseStatement:device`,
    });
  });

  it('refuses requirements it cannot express', () => {
    expect(() => build([req('Medication')])).toThrow(/cannot be searched by patient/);
    expect(() => build([req('Observation', { include: ['Observation:nothing'] })])).toThrow(/unknown _include/);
    expect(() => build([req('Observation', { include: ['MedicationRequest:medication'] })])).toThrow(/does not start from Observation/);
    expect(() => build([req('Observation', { valueSets: ['nope'] })])).toThrow(/unknown value set "nope"/);
    expect(() => build([req('observation')])).toThrow(/invalid type/);
  });

  it('uses only CDS Hooks 2.0 tokens (root-level primitive context fields)', () => {
    const all = build([req('Observation', { valueSets: ['hba1c'] }), req('Encounter'), req('Device'), req('QuestionnaireResponse')]);
    for (const template of Object.values(toDiscoveryPrefetch(all))) {
      for (const [, token] of template.matchAll(/\{\{([^}]*)\}\}/g)) {
        expect(token).toMatch(/^context\.(patientId|encounterId|userId)$|^user(Practitioner|PractitionerRole|Patient|RelatedPerson)Id$/);
      }
      expect(() => expandTemplate(template, { patientId: 'p1', encounterId: 'e1', userId: 'Practitioner/u1' })).not.toThrow();
    }
  });
});

describe('expandTemplate', () => {
  const context = { patientId: 'pat-1', userId: 'PractitionerRole/role.7', encounterId: 'enc1', draftOrders: { resourceType: 'Bundle' } };

  it('replaces context tokens', () => {
    expect(expandTemplate('Patient/{{context.patientId}}', context)).toBe('Patient/pat-1');
    expect(expandTemplate('Encounter/{{ context.encounterId }}', context)).toBe('Encounter/enc1');
    expect(expandTemplate('Condition?patient={{context.patientId}}&encounter={{context.encounterId}}', context)).toBe(
      'Condition?patient=pat-1&encounter=enc1',
    );
    expect(expandTemplate('{{context.userId}}', context)).toBe('PractitionerRole/role.7');
  });

  it('derives the user identifier tokens from context.userId', () => {
    expect(expandTemplate('PractitionerRole/{{userPractitionerRoleId}}', context)).toBe('PractitionerRole/role.7');
    expect(() => expandTemplate('Practitioner/{{userPractitionerId}}', context)).toThrow(PrefetchTokenError);
    expect(expandTemplate('Practitioner/{{userPractitionerId}}', { userId: 'Practitioner/9' })).toBe('Practitioner/9');
  });

  it('throws for tokens that are not CDS Hooks 2.0 tokens', () => {
    for (const t of [
      'DeviceRequest?_id={{context.draftOrders.DeviceRequest.id}}',
      'Device?_id={{context.draftOrders.entry.resource.ofType(DeviceRequest).id}}',
      'Practitioner?_id={{%encounter.participant.individual.id}}',
      'Observation?date=gt{{today() - 90 days}}',
      'Coverage?patient={{context.patient}}x{{patientId}}',
      'Patient/{{}}',
    ]) {
      expect(() => expandTemplate(t, context), t).toThrow(PrefetchTokenError);
    }
  });

  it('throws when the context value is missing, not primitive or not an id', () => {
    expect(() => expandTemplate('Encounter/{{context.encounterId}}', { patientId: 'p' })).toThrow(/no value/);
    const missing = (() => {
      try {
        expandTemplate('Encounter/{{context.encounterId}}', { patientId: 'p' });
      } catch (e) {
        return e as PrefetchTokenError;
      }
    })();
    expect(missing?.missingValue).toBe(true);
    expect(() => expandTemplate('Patient/{{context.patientId}}', { patientId: '' })).toThrow(/no value/);
    expect(() => expandTemplate('Bundle/{{context.draftOrders}}', context)).toThrow(/primitive/);
    expect(() => expandTemplate('Patient/{{context.patientId}}', { patientId: 'p1&_include=*' })).toThrow(/not a FHIR id/);
  });

  it('leaves templates without tokens untouched', () => {
    expect(expandTemplate('Organization?active=true', {})).toBe('Organization?active=true');
  });
});
