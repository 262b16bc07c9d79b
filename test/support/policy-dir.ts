// Small policy directories for engine/loader tests, written to a temp dir (the real policies/ belong to the CSII
// policy and change with it). The JSON Schemas always come from the project's policies/schema/.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/config.js';
import { allFacts } from '../../src/policy/facts/index.js';
import { loadPolicySet, PolicyLoadError } from '../../src/policy/loader.js';
import type { LoadProblem } from '../../src/policy/schemas.js';
import type { FactFunction, TriState } from '../../src/policy/types.js';

/** Writes `files` (relative path → JSON value, or raw text) into a fresh temp dir and returns its path. */
export function writePolicyDir(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pumpcheck-policies-'));
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** A fresh temp copy of the project's policies/ (to mutate one file and load the whole set). */
export function copyOfPolicies(prefix = 'pumpcheck-policies-copy-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cpSync(path.join(projectRoot, 'policies'), dir, { recursive: true });
  return dir;
}

/** The problems that stop loading `dir`; throws if the set loads (a typo that loads would print false warnings). */
export function policyLoadProblems(dir: string): LoadProblem[] {
  try {
    loadPolicySet(dir, { facts: allFacts });
  } catch (err) {
    if (err instanceof PolicyLoadError) return err.problems;
    throw err;
  }
  throw new Error(`the policy set in ${dir} loaded`);
}

/** The project's payers.json (Medicare FFS, UnitedHealthcare Medicare Advantage). */
export function realPayers(): unknown {
  return JSON.parse(readFileSync(path.join(projectRoot, 'policies', 'payers.json'), 'utf8'));
}

import { HCPCS, ICD10CM as ICD10, LOINC, RXNORM, SNOMED as SCT } from '../../src/fhir/systems.js';

export { HCPCS, ICD10, LOINC, RXNORM, SCT };

export const testValueSets = {
  'valuesets/diabetes-dx.json': {
    id: 'diabetes-dx',
    title: 'Diabetes mellitus',
    source: 'test',
    include: [
      { system: ICD10, prefixes: ['E08', 'E09', 'E10', 'E11', 'E13'] },
      { system: SCT, codes: ['73211009', '46635009', '44054006'] },
    ],
  },
  'valuesets/c-peptide.json': {
    id: 'c-peptide',
    title: 'Fasting C-peptide',
    include: [{ system: LOINC, codes: ['13037-7', '42180-0'] }],
  },
  'valuesets/pumps.json': { id: 'pumps', title: 'Insulin pump codes', include: [{ system: HCPCS, codes: ['E0784'] }, { system: SCT, codes: ['69805005'] }] },
  // Named by payers.json (Northwood's notSupplied referral of insulin pumps).
  'valuesets/csii-orders.json': { id: 'csii-orders', title: 'Insulin pump orders', include: [{ system: HCPCS, codes: ['E0784', 'E0787'] }, { system: SCT, codes: ['69805005'] }] },
  'valuesets/insulin.json': {
    id: 'insulin',
    title: 'Insulin for pumps',
    include: [
      { system: HCPCS, codes: ['J1817', 'J1811', 'J1813'] },
      { system: RXNORM, codes: ['86009'] },
    ],
  },
};

export const testQuestionnaire = {
  'questionnaires/test-doc.json': {
    resourceType: 'Questionnaire',
    id: 'test-doc',
    url: 'https://pumpcheck.example/fhir/Questionnaire/test-doc',
    status: 'active',
    item: [
      { linkId: 'team', type: 'boolean', text: 'I manage several patients on CSII with a team.' },
      { linkId: 'education', type: 'boolean', text: 'The patient completed a diabetes education program.' },
    ],
  },
};

/** A policy with one leaf of each kind: FHIRPath Condition, FHIRPath Observation with a parameter, and a fact. */
export function testPolicy(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'test-csii',
    title: 'Test insulin pump policy',
    version: '1.0.0',
    payers: ['medicare'],
    citationShort: 'NCD 280.14 / LCD L33794',
    links: [{ label: 'NCD 280.14', url: 'https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?ncdid=223' }],
    questionnaire: 'test-doc',
    appliesTo: { orderValueSets: ['pumps'], companionValueSets: ['insulin'] },
    parameters: { cPeptideRatioMax: 1.1 },
    criteria: {
      id: 'root',
      text: 'Insulin pump coverage',
      allOf: [
        {
          id: 'dx',
          text: 'Diabetes mellitus diagnosis',
          citation: 'A52507 Group 1',
          fhirpath: {
            resourceType: 'Condition',
            valueSet: 'diabetes-dx',
            where: "verificationStatus.coding.where(code = 'entered-in-error').empty()",
            metIf: "clinicalStatus.coding.where(code = 'active').exists()",
            notMetIf: "clinicalStatus.coding.where(code = 'resolved').exists()",
          },
        },
        {
          id: 'cpep',
          text: 'Fasting C-peptide ≤ 110% of the lower limit of normal',
          citation: 'LCD L33794 IV.A1',
          fhirpath: {
            resourceType: 'Observation',
            valueSet: 'c-peptide',
            where: 'effective.toString().substring(0, 10) <= %asOf and value.exists() and referenceRange.low.exists()',
            metIf: '(value.value / referenceRange.low.value) <= %cPeptideRatioMax',
            notMetIf: '(value.value / referenceRange.low.value) > %cPeptideRatioMax',
          },
          remedies: [
            {
              type: 'order-lab',
              label: 'Fasting C-peptide',
              code: [{ system: LOINC, code: '13037-7', display: 'C peptide [Mass/volume] in Serum or Plasma --fasting' }],
            },
          ],
        },
        {
          id: 'team',
          text: 'Practitioner manages CSII patients with a team',
          citation: 'LCD L33794 IV',
          fact: 'fixed',
          params: { status: 'met' },
          remedies: [{ type: 'questionnaire', linkId: 'team' }],
        },
      ],
    },
    ...overrides,
  };
}

/** Facts for tests: `fixed` returns params.status; `boom` throws. */
export const testFacts: Record<string, FactFunction> = {
  fixed: (_ctx, params) => ({ status: (params.status as TriState) ?? 'met', evidence: [{ note: 'fixed' }] }),
  boom: () => {
    throw new Error('kaboom');
  },
};

export function standardPolicyDir(extra: Record<string, unknown> = {}, policy = testPolicy()): string {
  return writePolicyDir({
    'payers.json': realPayers(),
    ...testValueSets,
    ...testQuestionnaire,
    'test-csii.policy.json': policy,
    ...extra,
  });
}
