import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allFacts } from './facts/index.js';
import { loadPolicySet } from './loader.js';
import type { LoadedPolicy, PolicyNode } from './model.js';
import { deriveDataRequirements, FACT_REQUIREMENTS, ORDER_MODEL_REQUIREMENTS } from './requirements.js';

const POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));
const policySet = loadPolicySet(POLICIES, { facts: allFacts });
const requirements = deriveDataRequirements(policySet);
const forCriterion = (id: string) => requirements.filter((r) => r.purpose.some((p) => p.startsWith(`medicare-csii#${id} `)));

function leaves(node: PolicyNode): PolicyNode[] {
  if (node.kind === 'allOf' || node.kind === 'anyOf' || node.kind === 'firstDocumented') return node.children.flatMap(leaves);
  if (node.kind === 'not') return leaves(node.child);
  return [node];
}

describe('deriveDataRequirements', () => {
  it('takes what every kind, fact and anchor of the loaded policies declares (the loader collects it)', () => {
    const fromLoader = policySet.dataRequirements.map((r) => r.type);
    expect(requirements.map((r) => r.type)).toEqual(expect.arrayContaining(fromLoader));
    // Every requirement says who needs it: policy and criterion (#) or anchor (@), with the kind or fact.
    for (const r of policySet.dataRequirements) for (const p of r.purpose) expect(p).toMatch(/^[a-z0-9-]+[#@][A-Za-z0-9._-]+ \(/);
  });

  it('reads what the CSII criteria read: pump start, fasting Specimen, attestations, medications with their Medication', () => {
    const byType = (type: string) => requirements.filter((r) => r.type === type);
    const purposes = (type: string) => byType(type).flatMap((r) => r.purpose).join(' ');
    // Pump initiation anchor: DeviceUseStatement (timingPeriod.start), insertion Procedure, Device, attestation.
    expect(byType('DeviceUseStatement')[0]?.include).toEqual(['DeviceUseStatement:device']);
    for (const type of ['DeviceUseStatement', 'Procedure', 'Device', 'QuestionnaireResponse']) expect(purposes(type)).toContain('@pump-initiation');
    expect(byType('Procedure').flatMap((r) => r.valueSets ?? [])).toContain('insulin-pump-procedures');
    expect(byType('MedicationStatement').some((r) => r.include?.includes('MedicationStatement:medication'))).toBe(true);
    const observations = byType('Observation');
    expect(observations.flatMap((r) => r.valueSets ?? [])).toEqual(
      expect.arrayContaining(['c-peptide-fasting', 'c-peptide-untimed', 'fasting-glucose', 'creatinine-clearance', 'serum-creatinine', 'body-weight', 'hba1c', 'smbg-glucose']),
    );
    expect(observations.flatMap((r) => r.include ?? [])).toContain('Observation:specimen');
    expect(purposes('Specimen')).toContain('#c-peptide');
    expect(purposes('Coverage')).toContain('@medicare-enrollment');
    expect(purposes('Encounter')).toContain('#continued-coverage-visit');
  });

  it('adds the order model and engine needs, whatever the policies', () => {
    const none = deriveDataRequirements({ policies: [] });
    expect(none.map((r) => r.type)).toEqual(ORDER_MODEL_REQUIREMENTS.map((r) => r.type));
    expect(none.map((r) => r.type)).toEqual(expect.arrayContaining(['Patient', 'Coverage', 'Encounter', 'Device', 'MedicationRequest', 'ServiceRequest']));
    expect(none.find((r) => r.type === 'MedicationRequest')?.include).toEqual(['MedicationRequest:medication']);
  });

  const policyWith = (criteria: PolicyNode): LoadedPolicy => ({ ...policySet.policies[0]!, id: 'test', file: 'test.policy.json', criteria });

  it('derives a fhirpath leaf from its resource type and value set', () => {
    const leaf = { id: 'a1c', text: 'x', citation: 'c', pointer: '/criteria', kind: 'fhirpath', fhirpath: { resourceType: 'Observation', valueSet: 'hba1c' }, compiled: {} } as PolicyNode;
    const out = deriveDataRequirements({ policies: [policyWith({ id: 'root', text: 'r', pointer: '', kind: 'not', child: leaf } as PolicyNode)] });
    expect(out[0]).toEqual({ type: 'Observation', valueSets: ['hba1c'], purpose: ['test#a1c (fhirpath)'] });
  });

  it('stops the start for a fact that declares no data requirements', () => {
    const leaf = { id: 'x', text: 'x', citation: 'c', pointer: '/criteria', kind: 'fact', fact: 'brandNewFact', params: {} } as PolicyNode;
    expect(() => deriveDataRequirements({ policies: [policyWith(leaf)] })).toThrow(/test\.policy\.json: fact "brandNewFact" \(criterion x\) declares no data requirements/);
  });

  it('uses a value set parameter when given and the fact default otherwise; policy parameters are not value sets', () => {
    expect(FACT_REQUIREMENTS.diabetesDiagnosis!({})).toEqual([{ type: 'Condition', valueSets: ['diabetes-dx'] }]);
    expect(FACT_REQUIREMENTS.diabetesDiagnosis!({ valueSet: 'other-dx' })).toEqual([{ type: 'Condition', valueSets: ['other-dx'] }]);
    expect(FACT_REQUIREMENTS.conditionDocumented!({ valueSet: '%param' })).toEqual([{ type: 'Condition', valueSets: [] }]);
  });
});
