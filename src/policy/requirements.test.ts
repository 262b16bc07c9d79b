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
  it('declares the data of every registered fact', () => {
    expect(Object.keys(FACT_REQUIREMENTS).sort()).toEqual(Object.keys(allFacts).sort());
  });

  it('gives each leaf reading the record at least one requirement naming the policy, criterion and fact', () => {
    const readsNothing = new Set(['insulinPumpCode', 'notImplantableInsulinPump', 'supplyPumpPairing']);
    for (const leaf of leaves(policySet.policies[0]!.criteria)) {
      if (leaf.kind !== 'fact' || readsNothing.has(leaf.fact)) continue;
      const reqs = forCriterion(leaf.id);
      expect(reqs.length, leaf.id).toBeGreaterThan(0);
      expect(reqs.every((r) => r.purpose[0] === `medicare-csii#${leaf.id} (${leaf.fact})`)).toBe(true);
    }
  });

  it('reads what the CSII facts read: pump start, fasting Specimen, attestations, medications with their Medication', () => {
    // Pump initiation anchor (MDI measured as of the pump start for continued coverage).
    expect(forCriterion('mdi-duration')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'DeviceUseStatement', include: ['DeviceUseStatement:device'] }),
        expect.objectContaining({ type: 'Procedure', valueSets: ['insulin-pump-procedures'] }),
        expect.objectContaining({ type: 'Device', valueSets: ['insulin-pump-devices'] }),
        expect.objectContaining({ type: 'MedicationStatement', include: ['MedicationStatement:medication'] }),
      ]),
    );
    const cPeptide = forCriterion('c-peptide');
    expect(cPeptide).toContainEqual(expect.objectContaining({ type: 'Observation', valueSets: ['c-peptide-untimed'], include: ['Observation:specimen'] }));
    expect(cPeptide.flatMap((r) => r.valueSets ?? [])).toEqual(
      expect.arrayContaining(['c-peptide-fasting', 'fasting-glucose', 'creatinine-clearance', 'serum-creatinine', 'body-weight']),
    );
    expect(forCriterion('practitioner-team')).toEqual([expect.objectContaining({ type: 'QuestionnaireResponse' })]);
    expect(forCriterion('pump-before-enrollment-record').map((r) => r.type)).toContain('Coverage');
    expect(forCriterion('testing-before-enrollment-computed').map((r) => r.type)).toEqual(['Observation', 'Coverage']);
    expect(forCriterion('testing-computed').map((r) => r.type)).toContain('DeviceUseStatement');
    expect(forCriterion('continued-coverage-visit').map((r) => r.type)).toContain('Encounter');
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
