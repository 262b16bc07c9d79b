import { describe, expect, it } from 'vitest';
import { buildPrefetchTemplates, expandTemplate, PrefetchTokenError, toDiscoveryPrefetch } from './prefetch.js';

const LOINC = 'http://loinc.org';
const codes = [
  { system: LOINC, code: '1986-9' }, // C-peptide (fasting)
  { system: LOINC, code: '4548-4' }, // HbA1c
  { system: LOINC, code: '1986-9' }, // duplicate: listed once
  { system: LOINC, code: ' 2160-0 ' }, // creatinine, stray spaces trimmed
];

describe('buildPrefetchTemplates', () => {
  const templates = buildPrefetchTemplates(codes);
  const discovery = toDiscoveryPrefetch(templates);

  it('advertises exactly the keys the coverage rules need', () => {
    expect(discovery).toEqual({
      patient: 'Patient/{{context.patientId}}',
      coverage: 'Coverage?patient={{context.patientId}}&status=active',
      conditions: 'Condition?patient={{context.patientId}}',
      observations: 'Observation?patient={{context.patientId}}&code=http://loinc.org|1986-9,http://loinc.org|4548-4,http://loinc.org|2160-0',
      medicationStatements: 'MedicationStatement?patient={{context.patientId}}',
      medicationRequests: 'MedicationRequest?patient={{context.patientId}}',
      procedures: 'Procedure?patient={{context.patientId}}',
      encounters: 'Encounter?patient={{context.patientId}}&_sort=-date&_count=100',
      devices: 'Device?patient={{context.patientId}}',
      allergies: 'AllergyIntolerance?patient={{context.patientId}}',
      questionnaireResponses: 'QuestionnaireResponse?patient={{context.patientId}}&status=completed,amended',
    });
  });

  it('marks only patient and coverage as required, with their resource types and kinds', () => {
    expect(templates.filter((t) => t.required).map((t) => t.key)).toEqual(['patient', 'coverage']);
    expect(templates.find((t) => t.key === 'patient')).toMatchObject({ resourceType: 'Patient', kind: 'read' });
    expect(templates.find((t) => t.key === 'questionnaireResponses')).toMatchObject({
      resourceType: 'QuestionnaireResponse',
      kind: 'search',
    });
    expect(templates.filter((t) => t.kind === 'search')).toHaveLength(10);
  });

  it('builds the Observation code list from the argument', () => {
    const other = toDiscoveryPrefetch(buildPrefetchTemplates([{ system: LOINC, code: '2345-7' }]));
    expect(other.observations).toBe('Observation?patient={{context.patientId}}&code=http://loinc.org|2345-7');
    expect(toDiscoveryPrefetch(buildPrefetchTemplates([])).observations).toBe('Observation?patient={{context.patientId}}');
  });

  it('refuses a code that would break the search parameter', () => {
    expect(() => buildPrefetchTemplates([{ system: LOINC, code: '1,2' }])).toThrow(/cannot be used/);
    expect(() => buildPrefetchTemplates([{ system: 'a|b', code: '1' }])).toThrow(/cannot be used/);
  });

  it('uses only CDS Hooks 2.0 tokens (root-level primitive context fields)', () => {
    for (const template of Object.values(discovery)) {
      for (const [, token] of template.matchAll(/\{\{([^}]*)\}\}/g)) {
        expect(token).toMatch(/^context\.(patientId|encounterId|userId)$|^user(Practitioner|PractitionerRole|Patient|RelatedPerson)Id$/);
      }
      // Each template expands against a plain order-sign context.
      expect(() => expandTemplate(template, { patientId: 'p1', userId: 'Practitioner/u1' })).not.toThrow();
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
    expect(() => expandTemplate('Patient/{{context.patientId}}', { patientId: '' })).toThrow(/no value/);
    expect(() => expandTemplate('Bundle/{{context.draftOrders}}', context)).toThrow(/primitive/);
    expect(() => expandTemplate('Patient/{{context.patientId}}', { patientId: 'p1&_include=*' })).toThrow(/not a FHIR id/);
  });

  it('leaves templates without tokens untouched', () => {
    expect(expandTemplate('Organization?active=true', {})).toBe('Organization?active=true');
  });
});
