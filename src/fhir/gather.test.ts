import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { belongsToPatient } from './gather.js';

const obs = (reference: string) => ({ resourceType: 'Observation', id: 'o', status: 'final', code: {}, subject: { reference } }) as Resource;

describe('belongsToPatient', () => {
  it.each([
    ['Patient/pt-1', true],
    ['https://ehr.example.org/fhir/Patient/pt-1', true],
    ['Patient/pt-1/_history/3', true],
    ['https://ehr.example.org/fhir/Patient/pt-1/_history/3', true],
    ['Patient/xpt-1', false],
    ['Patient/pt-10', false],
    ['https://ehr.example.org/fhir/NotPatient/pt-1', false],
    ['https://ehr.example.org/fhir/xPatient/pt-1', false],
    ['Group/pt-1', false],
    ['pt-1', false],
    ['', false],
  ])('%s → %s', (reference, expected) => {
    expect(belongsToPatient(obs(reference), 'Observation', 'pt-1')).toBe(expected);
  });

  it('checks the id of a Patient and ignores other resource types', () => {
    expect(belongsToPatient({ resourceType: 'Patient', id: 'pt-1' } as Resource, 'Patient', 'pt-1')).toBe(true);
    expect(belongsToPatient({ resourceType: 'Patient', id: 'pt-2' } as Resource, 'Patient', 'pt-1')).toBe(false);
    expect(belongsToPatient(obs('Patient/pt-1'), 'Condition', 'pt-1')).toBe(false);
  });
});
