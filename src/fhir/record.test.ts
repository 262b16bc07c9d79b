import type { Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { PatientRecord, systemSpellings } from './record.js';
import { HCPCS, HCPCS_BLUEBUTTON, HCPCS_CRD, LOINC, RXNORM, SNOMED } from './systems.js';

const R = (r: Record<string, unknown>) => r as unknown as Resource;
const subject = { reference: 'Patient/p1' };

describe('PatientRecord index', () => {
  it('finds an Observation by a component code, and can tell component from own code', () => {
    const panel = R({
      resourceType: 'Observation',
      id: 'panel',
      code: { coding: [{ system: LOINC, code: '55399-0' }] },
      component: [{ code: { coding: [{ system: LOINC, code: '4548-4' }] }, valueQuantity: { value: 8 } }, null, { code: 'x' }],
      subject,
    });
    const a1c = R({ resourceType: 'Observation', id: 'a1c', code: { coding: [{ system: LOINC, code: '4548-4' }] }, subject });
    const record = new PatientRecord('p1', [panel, a1c]);
    const ids = (rs: Resource[]) => rs.map((r) => r.id);
    expect(ids(record.byCodes('Observation', [{ system: LOINC, code: '4548-4' }]))).toEqual(['a1c', 'panel']);
    expect(ids(record.byCodes('Observation', [{ system: LOINC, code: '4548-4' }], 'code'))).toEqual(['a1c']);
    expect(ids(record.byCodes('Observation', [{ system: LOINC, code: '4548-4' }], 'component'))).toEqual(['panel']);
    expect(ids(record.byCodes('Observation', [{ system: LOINC, code: '55399-0' }]))).toEqual(['panel']);
  });

  it('indexes medication and device-use resources by the referenced (or contained) Medication / Device code', () => {
    const med = R({ resourceType: 'Medication', id: 'med1', code: { coding: [{ system: RXNORM, code: '86009' }] } });
    const mr = R({ resourceType: 'MedicationRequest', id: 'mr1', medicationReference: { reference: 'Medication/med1' }, subject });
    const contained = R({
      resourceType: 'MedicationStatement',
      id: 'ms1',
      contained: [{ resourceType: 'Medication', id: 'm', code: { coding: [{ system: RXNORM, code: '86009' }] } }],
      medicationReference: { reference: '#m' },
      subject,
    });
    const pump = R({ resourceType: 'Device', id: 'pump1', type: { coding: [{ system: SNOMED, code: '69805005' }] } });
    const dus = R({ resourceType: 'DeviceUseStatement', id: 'dus1', device: { reference: 'Device/pump1' }, subject, timingPeriod: { start: '2019-05-01' } });
    // The Medication arrives after the request that references it (an _include entry at the end of the Bundle).
    const record = new PatientRecord('p1', [mr, contained, dus, med, pump]);
    expect(record.byCodes('MedicationRequest', [{ system: RXNORM, code: '86009' }]).map((r) => r.id)).toEqual(['mr1']);
    expect(record.byCodes('MedicationStatement', [{ system: RXNORM, code: '86009' }]).map((r) => r.id)).toEqual(['ms1']);
    expect(record.byCodes('DeviceUseStatement', [{ system: SNOMED, code: '69805005' }]).map((r) => r.id)).toEqual(['dus1']);
    expect(record.byCodes('Medication', [{ system: RXNORM, code: '86009' }]).map((r) => r.id)).toEqual(['med1']);
    expect(record.resolve({ reference: '#m' }, contained)?.resourceType).toBe('Medication');
    expect(record.resolve({ reference: '#m' })).toBeUndefined();
    expect(record.resolve({ reference: '#nope' }, contained)).toBeUndefined();
  });

  it('lists a resource once when its own code and its referenced Device\'s code are the same', () => {
    const pump = R({ resourceType: 'Device', id: 'pump1', type: { coding: [{ system: SNOMED, code: '69805005' }] } });
    // R5-style CodeableReference: the concept and the reference name the same pump.
    const both = R({ resourceType: 'DeviceUseStatement', id: 'both', device: { concept: { coding: [{ system: SNOMED, code: '69805005' }] }, reference: 'Device/pump1' }, subject });
    const other = R({ resourceType: 'DeviceUseStatement', id: 'other', device: { concept: { coding: [{ system: SNOMED, code: '69805005' }] } }, subject });
    const record = new PatientRecord('p1', [both, other, pump]);
    expect(record.byCodes('DeviceUseStatement', [{ system: SNOMED, code: '69805005' }]).map((r) => r.id)).toEqual(['both', 'other']);
    // One bucket of distinct resources comes back as a copy: the caller may sort or filter it.
    const list = record.byCodes('DeviceUseStatement', [{ system: SNOMED, code: '69805005' }]);
    list.pop();
    expect(record.byCodes('DeviceUseStatement', [{ system: SNOMED, code: '69805005' }])).toHaveLength(2);
  });

  it('resolves included Specimens and Medications by relative and absolute reference', () => {
    const specimen = R({ resourceType: 'Specimen', id: 'sp1', type: { coding: [{ system: SNOMED, code: '119297000' }] }, subject });
    const obs = R({ resourceType: 'Observation', id: 'cp', code: { coding: [{ system: LOINC, code: '1986-9' }] }, specimen: { reference: 'Specimen/sp1' }, subject });
    const record = new PatientRecord('p1', [obs, specimen]);
    expect(record.resolve((obs as { specimen?: { reference: string } }).specimen)?.id).toBe('sp1');
    expect(record.resolve('https://ehr.example.org/fhir/Specimen/sp1/_history/2')?.id).toBe('sp1');
    expect(record.byCodes('Specimen', [{ system: SNOMED, code: '119297000' }]).map((r) => r.id)).toEqual(['sp1']);
  });

  it('keeps a resource received twice (two keys, two pages) once', () => {
    const o = R({ resourceType: 'Observation', id: 'o1', code: { coding: [{ system: LOINC, code: '4548-4' }] }, subject });
    const record = new PatientRecord('p1', [o, structuredClone(o), o]);
    expect(record.all('Observation')).toHaveLength(1);
    expect(record.byCodes('Observation', [{ system: LOINC, code: '4548-4' }])).toHaveLength(1);
  });

  it('never throws on malformed data: wrong shapes are ignored', () => {
    const bad = [
      null,
      'text',
      42,
      { resourceType: 7 },
      { resourceType: 'Observation', id: 'n1', code: { coding: {} }, component: {}, subject },
      { resourceType: 'Observation', id: 'n2', code: { coding: [null, 5, { system: 3, code: 1986 }, { system: LOINC, code: '4548-4' }] } },
      { resourceType: 'Observation', id: 'n3', code: 'E0784', component: [{ code: { coding: [{}] } }] },
      { resourceType: 'Encounter', id: 'e1', type: { coding: [{ code: 'x' }] } },
      { resourceType: 'Encounter', id: 'e2', type: [null, { coding: 'x' }] },
      { resourceType: 'MedicationRequest', id: 'm1', medicationReference: 5 },
      { resourceType: 'MedicationRequest', id: 'm2', medicationReference: { reference: 7 } },
      { resourceType: 'MedicationStatement', id: 'm3', medicationReference: { reference: '#x' }, contained: [null, 'y'] },
      { resourceType: 'DeviceUseStatement', id: 'd1', device: { reference: ['Device/x'] } },
      { resourceType: 'Device', id: 12, type: { coding: [{ system: HCPCS, code: 'E0784' }] } },
      { resourceType: 'Device', id: { a: 1 }, type: { coding: [{ system: HCPCS, code: 'E0784' }] } },
    ] as unknown as Resource[];
    const record = new PatientRecord('p1', bad);
    expect(record.byCodes('Observation', [{ system: LOINC, code: '4548-4' }]).map((r) => r.id)).toEqual(['n2']);
    expect(record.byCodes('Device', [{ system: HCPCS, code: 'E0784' }])).toHaveLength(2);
    expect(record.resolve('Device/12')).toBeDefined();
    expect(record.byCodes('Observation', [null as never, { code: 5 as never }])).toEqual([]);
    expect(record.resolve(5 as never)).toBeUndefined();
    expect(record.resolve({ reference: {} } as never)).toBeUndefined();
    expect(record.all('Encounter')).toHaveLength(2);
  });
});

describe('systemSpellings', () => {
  it('lists every HCPCS spelling a search must ask under, and only the canonical one otherwise', () => {
    expect(systemSpellings(HCPCS_BLUEBUTTON)).toEqual([HCPCS, HCPCS_CRD, HCPCS_BLUEBUTTON]);
    expect(systemSpellings(LOINC)).toEqual([LOINC]);
    expect(systemSpellings('https://loinc.org')).toEqual([LOINC]);
  });
});
