import { describe, expect, it } from 'vitest';
import { writePolicyDir } from '../../test/support/policy-dir.js';
import { PatientRecord } from '../fhir/record.js';
import { PolicyLoadError } from './schemas.js';
import { loadValueSets, selectInValueSet, ValueSetStore } from './valuesets.js';

const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const HCPCS = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';

const store = new ValueSetStore([
  { id: 'dm', title: 'Diabetes', include: [{ system: ICD10, codes: ['E10.65'], prefixes: ['E08', 'E11'] }] },
  { id: 'pump', title: 'Pump', include: [{ system: HCPCS, codes: ['E0784'] }, { system: 'http://loinc.org', codes: ['13037-7'] }] },
]);

describe('ValueSetStore', () => {
  it('exact codes, trimmed, with HCPCS system aliases folded', () => {
    expect(store.contains('pump', { system: 'https://bluebutton.cms.gov/resources/codesystem/hcpcs', code: ' E0784 ' })).toBe(true);
    expect(store.contains('pump', { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'e0784' })).toBe(true);
    expect(store.contains('pump', { system: 'https://loinc.org', code: '13037-7' })).toBe(true);
    expect(store.contains('pump', { system: 'http://snomed.info/sct', code: 'E0784' })).toBe(false);
    expect(store.contains('pump', { system: HCPCS, code: 'E0781' })).toBe(false);
  });

  it('prefixes are dot- and case-insensitive; exact codes match without their dot', () => {
    expect(store.contains('dm', { system: ICD10, code: 'E11.9' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'e1165' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'E0800' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'E1065' })).toBe(true);
    expect(store.contains('dm', { system: ICD10, code: 'E10.9' })).toBe(false);
    expect(store.contains('dm', { system: ICD10, code: '' })).toBe(false);
    expect(store.contains('nope', { system: ICD10, code: 'E11.9' })).toBe(false);
  });

  it('codings() lists explicit codes for the record index; selectInValueSet scans prefix sets', () => {
    expect(store.codings('pump')).toEqual([
      { system: HCPCS, code: 'E0784' },
      { system: 'http://loinc.org', code: '13037-7' },
    ]);
    const record = new PatientRecord('p', [
      { resourceType: 'Condition', id: 'a', code: { coding: [{ system: ICD10, code: 'E11.9' }] } },
      { resourceType: 'Condition', id: 'b', code: { coding: [{ system: ICD10, code: 'I10' }] } },
      { resourceType: 'Observation', id: 'o', code: { coding: [{ system: 'http://loinc.org', code: '13037-7' }] } },
    ] as never);
    expect(selectInValueSet(record, 'Condition', store, 'dm').map((r) => r.id)).toEqual(['a']);
    expect(selectInValueSet(record, 'Observation', store, 'pump').map((r) => r.id)).toEqual(['o']);
  });
});

describe('loadValueSets', () => {
  it('loads a directory and rejects a malformed file with its JSON path', () => {
    const ok = writePolicyDir({ 'a.json': { id: 'a', title: 'A', include: [{ system: 'x', codes: ['1'] }] } });
    expect(loadValueSets(ok).has('a')).toBe(true);
    const bad = writePolicyDir({ 'a.json': { id: 'a', title: 'A', include: [{ system: 'x' }] } });
    expect(() => loadValueSets(bad)).toThrow(PolicyLoadError);
    expect(() => loadValueSets(bad)).toThrow(/a\.json: \/include\/0: missing required property "codes"/);
  });
});
