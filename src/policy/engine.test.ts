import path from 'node:path';
import type { Bundle, Coverage, DeviceRequest, MedicationRequest, Resource } from 'fhir/r4';
import { describe, expect, it } from 'vitest';
import { HCPCS, ICD10, LOINC, SCT, standardPolicyDir, testFacts, testPolicy, testValueSets, realPayers, writePolicyDir } from '../../test/support/policy-dir.js';
import { projectRoot } from '../config.js';
import { PatientRecord, type RecordGap } from '../fhir/record.js';
import {
  decisiveLeaves,
  determine,
  reviewLeaves,
  evaluateCriteria,
  evaluationDate,
  type EvaluationContext,
  UNEVALUABLE,
} from './engine.js';
import { loadPolicySet, type PolicySet } from './loader.js';
import type { FhirPathFn, PolicyNode } from './model.js';
import { loadOrderCatalogue, recogniseOrders } from './orders.js';
import type { CriterionResult, FactFunction, InfusionOrder, TriState } from './types.js';
import { ValueSetStore } from './valuesets.js';

// ---------------------------------------------------------------------------------------------------------------------
// Combinators.

const M: TriState = 'met';
const N: TriState = 'not-met';
const D: TriState = 'not-documented';

function leaf(id: string, status: TriState, extra: Partial<PolicyNode> = {}): PolicyNode {
  return { kind: 'fact', id, text: `leaf ${id}`, citation: `cite ${id}`, pointer: '', fact: 'fixed', params: { status }, ...extra } as PolicyNode;
}

function group(kind: 'allOf' | 'anyOf' | 'firstDocumented', id: string, children: PolicyNode[]): PolicyNode {
  return { kind, id, text: `${kind} ${id}`, pointer: '', children };
}

function not(id: string, child: PolicyNode, extra: Partial<PolicyNode> = {}): PolicyNode {
  return { kind: 'not', id, text: `not ${id}`, pointer: '', child, ...extra } as PolicyNode;
}

function bareContext(facts: Record<string, FactFunction> = testFacts): EvaluationContext {
  return {
    record: new PatientRecord('p1', []),
    order: {} as InfusionOrder,
    asOf: new Date('2026-04-01T00:00:00Z'),
    valueSets: new ValueSetStore(),
    parameters: {},
    memo: new Map(),
    facts,
    env: { asOf: '2026-04-01' },
  };
}

const PAIRS: [TriState, TriState][] = [
  [M, M], [M, N], [M, D],
  [N, M], [N, N], [N, D],
  [D, M], [D, N], [D, D],
];

describe('combinators (DESIGN §3)', () => {
  const expected = {
    allOf: [M, N, D, N, N, N, D, N, D],
    anyOf: [M, M, M, M, N, D, M, D, D],
    firstDocumented: [M, M, M, N, N, N, M, N, D],
  } as const;

  for (const kind of ['allOf', 'anyOf', 'firstDocumented'] as const) {
    it(`${kind}: full truth table over two children`, () => {
      const got = PAIRS.map(([a, b]) => evaluateCriteria(group(kind, 'g', [leaf('a', a), leaf('b', b)]), bareContext()).status);
      expect(got).toEqual(expected[kind]);
    });
  }

  it('three children: allOf not-met beats not-documented; anyOf met beats everything', () => {
    expect(evaluateCriteria(group('allOf', 'g', [leaf('a', D), leaf('b', M), leaf('c', N)]), bareContext()).status).toBe(N);
    expect(evaluateCriteria(group('anyOf', 'g', [leaf('a', D), leaf('b', N), leaf('c', M)]), bareContext()).status).toBe(M);
    expect(evaluateCriteria(group('firstDocumented', 'g', [leaf('a', D), leaf('b', D), leaf('c', N)]), bareContext()).status).toBe(N);
  });

  it('not: swaps met and not-met, keeps not-documented', () => {
    expect([M, N, D].map((s) => evaluateCriteria(not('n', leaf('a', s)), bareContext()).status)).toEqual([N, M, D]);
  });

  it('results carry ids, text, citations, op and children', () => {
    const r = evaluateCriteria(group('allOf', 'g', [leaf('a', M), not('n', leaf('b', N))]), bareContext());
    expect(r).toMatchObject({ id: 'g', op: 'allOf', citation: '', status: M });
    expect(r.children?.map((c) => [c.id, c.op, c.citation, c.status])).toEqual([
      ['a', 'leaf', 'cite a', M],
      ['n', 'not', '', M],
    ]);
    expect(r.children?.[0]?.evidence).toEqual([{ note: 'fixed' }]);
  });

  it('firstDocumented says which source decided', () => {
    const r = evaluateCriteria(group('firstDocumented', 'f', [leaf('record', D), leaf('attestation', M)]), bareContext());
    expect(r).toMatchObject({ op: 'firstDocumented', status: M, reason: 'decided by: leaf attestation' });
  });

  it('a fact that throws (or returns nonsense) is not documented, with the reason — never a crash', () => {
    const facts: Record<string, FactFunction> = {
      ...testFacts,
      nonsense: () => ({ status: 'maybe' }) as never,
    };
    const r = evaluateCriteria(group('allOf', 'g', [leaf('a', M, { fact: 'boom' } as never), leaf('b', M, { fact: 'nonsense' } as never)]), bareContext(facts));
    expect(r.status).toBe(D);
    // A plain reason on the card, never the JavaScript error text.
    expect(r.children?.[0]).toMatchObject({ status: D, reason: UNEVALUABLE, evidence: [] });
    expect(r.children?.[1]?.reason).toBe(UNEVALUABLE);
    expect(JSON.stringify(r)).not.toMatch(/kaboom|nonsense/);
  });

  it('remedies are attached to non-met leaves only; a not-met `not` gathers its leaves\' remedies', () => {
    const remedies = [{ type: 'remove-order' as const }];
    const r = evaluateCriteria(
      group('allOf', 'g', [leaf('a', M, { remedies }), leaf('b', N, { remedies }), not('n', leaf('c', M, { remedies: [{ type: 'questionnaire', linkId: 'q' }] }))]),
      bareContext(),
    );
    expect(r.children?.[0]?.remedies).toBeUndefined();
    expect(r.children?.[1]?.remedies).toEqual(remedies);
    expect(r.children?.[2]?.remedies).toEqual([{ type: 'questionnaire', linkId: 'q' }]);
  });
});

describe('decisiveLeaves', () => {
  const tree = group('allOf', 'root', [
    leaf('a', M),
    leaf('b', N),
    leaf('c', D),
    group('anyOf', 'x', [leaf('x1', N), leaf('x2', D)]),
    group('allOf', 'y', [leaf('y1', M)]),
    not('z', leaf('z1', M)),
    group('firstDocumented', 'f', [leaf('f1', D), leaf('f2', N), leaf('f3', M)]),
  ]);

  it('collects the leaves that explain a non-met result, split by status, in tree order', () => {
    const result = evaluateCriteria(tree, bareContext());
    expect(result.status).toBe(N);
    const { unmet, undocumented } = decisiveLeaves(result);
    expect(unmet.map((c) => c.id)).toEqual(['b', 'x1', 'z', 'f2']);
    // f1 is not a gap: f2 (the first documented source) already decided 'f'.
    expect(undocumented.map((c) => c.id)).toEqual(['c', 'x2']);
  });

  it('an undecided firstDocumented lists every source as a way to document it', () => {
    const result = evaluateCriteria(group('firstDocumented', 'f', [leaf('f1', D), leaf('f2', D)]), bareContext());
    expect(decisiveLeaves(result).undocumented.map((c) => c.id)).toEqual(['f1', 'f2']);
  });

  it('a met anyOf contributes nothing, even with not-met alternatives', () => {
    const result = evaluateCriteria(group('allOf', 'r', [group('anyOf', 'x', [leaf('x1', N), leaf('x2', M)]), leaf('d', D)]), bareContext());
    const { unmet, undocumented } = decisiveLeaves(result);
    expect(unmet).toEqual([]);
    expect(undocumented.map((c) => c.id)).toEqual(['d']);
  });

  it('nothing for a met tree or no tree', () => {
    expect(decisiveLeaves(evaluateCriteria(group('allOf', 'r', [leaf('a', M)]), bareContext()))).toEqual({ unmet: [], undocumented: [] });
    expect(decisiveLeaves(undefined)).toEqual({ unmet: [], undocumented: [] });
  });

  it('a non-met not-documented `not` is reported as itself', () => {
    const result = evaluateCriteria(group('allOf', 'r', [not('n', leaf('inner', D))]), bareContext());
    expect(decisiveLeaves(result).undocumented.map((c) => [c.id, c.op])).toEqual([['n', 'not']]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Determinations over a small policy directory.

const catalogue = loadOrderCatalogue(path.join(projectRoot, 'policies'));
const REQUEST_TIME = new Date('2026-05-20T15:00:00Z');

function pumpOrder(extra: Partial<DeviceRequest> = {}, code = 'E0784'): InfusionOrder {
  const dr: DeviceRequest = {
    resourceType: 'DeviceRequest',
    id: 'dr-1',
    status: 'draft',
    intent: 'original-order',
    subject: { reference: 'Patient/p1' },
    codeCodeableConcept: { coding: [{ system: 'https://bluebutton.cms.gov/resources/codesystem/hcpcs', code }] },
    authoredOn: '2026-04-01T10:12:00Z',
    ...extra,
  };
  const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: dr }] };
  return recogniseOrders(bundle, catalogue)[0]!;
}

const medicare: Coverage = {
  resourceType: 'Coverage',
  id: 'cov-mcr',
  status: 'active',
  beneficiary: { reference: 'Patient/p1' },
  payor: [{ reference: 'Organization/cms', display: 'Medicare' }],
  period: { start: '2020-01-01' },
};

function coverage(id: string, payor: Coverage['payor'], extra: Partial<Coverage> = {}): Coverage {
  return { resourceType: 'Coverage', id, status: 'active', beneficiary: { reference: 'Patient/p1' }, payor, ...extra };
}

function condition(id: string, system: string, code: string, clinical = 'active', verification?: string): Resource {
  return {
    resourceType: 'Condition',
    id,
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system, code }] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: clinical }] },
    ...(verification ? { verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: verification }] } } : {}),
    recordedDate: '2019-06-01',
  } as Resource;
}

function cpeptide(id: string, value: number, low: number, date = '2026-01-15'): Resource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: LOINC, code: '13037-7' }] },
    effectiveDateTime: `${date}T08:00:00Z`,
    valueQuantity: { value, unit: 'ng/mL', system: 'http://unitsofmeasure.org', code: 'ng/mL' },
    referenceRange: [{ low: { value: low, unit: 'ng/mL', system: 'http://unitsofmeasure.org', code: 'ng/mL' } }],
  } as Resource;
}

function record(resources: Resource[], gaps: RecordGap[] = []): PatientRecord {
  return new PatientRecord('p1', [{ resourceType: 'Patient', id: 'p1' } as Resource, ...resources], gaps);
}

const baseSet = loadPolicySet(standardPolicyDir(), { facts: testFacts });
const goodRecord = () => record([medicare, condition('c1', ICD10, 'E10.65'), cpeptide('o1', 0.5, 0.8)]);

describe('determine — outcomes and FHIRPath leaves', () => {
  it('all criteria met → covered, with the payer/policy label and evidence', () => {
    const [d] = determine(pumpOrder(), goodRecord(), baseSet, { requestTime: REQUEST_TIME });
    expect(d).toMatchObject({
      outcome: 'covered',
      asOf: '2026-04-01',
      coverageRef: 'Coverage/cov-mcr',
      unmet: [],
      undocumented: [],
      policy: {
        id: 'test-csii',
        version: '1.0.0',
        sourceLabel: 'Medicare — NCD 280.14 / LCD L33794',
        payerLabel: 'Medicare',
        questionnaireId: 'test-doc',
        links: [{ label: 'NCD 280.14', url: expect.any(String) }],
      },
    });
    const dx = d!.root!.children!.find((c) => c.id === 'dx')!;
    expect(dx.evidence[0]).toMatchObject({ reference: 'Condition/c1', date: '2019-06-01' });
    const cp = d!.root!.children!.find((c) => c.id === 'cpep')!;
    expect(cp.evidence[0]).toMatchObject({ reference: 'Observation/o1', date: '2026-01-15T08:00:00Z', value: '0.5 ng/mL' });
  });

  it('record contradicts a criterion → not-covered, decisive unmet leaf with its remedy', () => {
    const r = record([medicare, condition('c1', ICD10, 'E10.65'), cpeptide('o1', 1.5, 0.8)]);
    const [d] = determine(pumpOrder(), r, baseSet, { requestTime: REQUEST_TIME });
    expect(d?.outcome).toBe('not-covered');
    expect(d?.unmet.map((c) => c.id)).toEqual(['cpep']);
    expect(d?.unmet[0]?.remedies?.[0]).toMatchObject({ type: 'order-lab', label: 'Fasting C-peptide' });
  });

  it('110% is inclusive (0.88 / 0.80) and a parameter override moves the threshold', () => {
    const at = record([medicare, condition('c1', ICD10, 'E10.65'), cpeptide('o1', 0.88, 0.8)]);
    expect(determine(pumpOrder(), at, baseSet, { requestTime: REQUEST_TIME })[0]?.outcome).toBe('covered');
    const above = record([medicare, condition('c1', ICD10, 'E10.65'), cpeptide('o1', 0.92, 0.8)]);
    expect(determine(pumpOrder(), above, baseSet, { requestTime: REQUEST_TIME })[0]?.outcome).toBe('not-covered');
    const relaxed = loadPolicySet(standardPolicyDir(), { facts: testFacts, parameterOverrides: { 'test-csii': { cPeptideRatioMax: 1.2 } } });
    expect(determine(pumpOrder(), above, relaxed, { requestTime: REQUEST_TIME })[0]?.outcome).toBe('covered');
  });

  it('missing data → conditional, naming what is missing', () => {
    const [d] = determine(pumpOrder(), record([medicare, condition('c1', ICD10, 'E10.65')]), baseSet, { requestTime: REQUEST_TIME });
    expect(d?.outcome).toBe('conditional');
    expect(d?.undocumented.map((c) => [c.id, c.reason])).toEqual([['cpep', 'no Observation in "Fasting C-peptide" in the record']]);
  });

  it('a gap says that part of the record could not be read', () => {
    const gaps = [{ key: 'observations', resourceType: 'Observation', reason: 'FHIR server timed out' }];
    const [d] = determine(pumpOrder(), record([medicare, condition('c1', ICD10, 'E10.65')], gaps), baseSet, { requestTime: REQUEST_TIME });
    expect(d?.outcome).toBe('conditional');
    expect(d?.undocumented[0]?.reason).toContain('could not be read: FHIR server timed out');
  });

  it('ICD-10 prefixes (with or without the dot), SNOMED codes, resolved and entered-in-error conditions', () => {
    const status = (c: Resource) => {
      const [d] = determine(pumpOrder(), record([medicare, c, cpeptide('o1', 0.5, 0.8)]), baseSet, { requestTime: REQUEST_TIME });
      return d!.root!.children!.find((x) => x.id === 'dx')!.status;
    };
    expect(status(condition('c1', ICD10, 'E1065'))).toBe(M);
    expect(status(condition('c1', ICD10, ' E11.9 '))).toBe(M);
    expect(status(condition('c1', SCT, '44054006'))).toBe(M);
    expect(status(condition('c1', ICD10, 'E16.2'))).toBe(D);
    expect(status(condition('c1', ICD10, 'E10.65', 'resolved'))).toBe(N);
    expect(status(condition('c1', ICD10, 'E10.65', 'active', 'entered-in-error'))).toBe(D);
  });

  it('evaluates as of authoredOn: a result after the order date does not count; no authoredOn → request date', () => {
    const later = record([medicare, condition('c1', ICD10, 'E10.65'), cpeptide('o1', 0.5, 0.8, '2026-05-01')]);
    expect(determine(pumpOrder(), later, baseSet, { requestTime: REQUEST_TIME })[0]?.outcome).toBe('conditional');
    const [d] = determine(pumpOrder({ authoredOn: undefined }), later, baseSet, { requestTime: REQUEST_TIME });
    expect(d).toMatchObject({ asOf: '2026-05-20', outcome: 'covered' });
    expect(evaluationDate({ authoredOn: 'garbage' }, REQUEST_TIME)).toBe('2026-05-20');
    expect(evaluationDate({ authoredOn: '2026-04-01' }, REQUEST_TIME)).toBe('2026-04-01');
  });

  it('a throwing fact makes its leaf not documented; the order is still answered', () => {
    const policy = testPolicy() as { criteria: { allOf: Record<string, unknown>[] } };
    policy.criteria.allOf[2] = { id: 'team', text: 'Team', citation: 'c', fact: 'boom' };
    const set = loadPolicySet(standardPolicyDir({}, policy), { facts: testFacts });
    const [d] = determine(pumpOrder(), goodRecord(), set, { requestTime: REQUEST_TIME });
    expect(d?.outcome).toBe('conditional');
    expect(d?.undocumented.map((c) => [c.id, c.reason])).toEqual([['team', UNEVALUABLE]]);
  });

  it('never changes the draft order (fhirpath.js only sees record resources)', () => {
    const order = pumpOrder();
    const before = JSON.stringify(order.resource);
    determine(order, goodRecord(), baseSet, { requestTime: REQUEST_TIME });
    expect(JSON.stringify(order.resource)).toBe(before);
    expect(Object.keys(order.resource).sort()).toEqual(Object.keys(JSON.parse(before)).sort());
  });

  it('orders outside every policy scope get no-policy; companions can bring a pump into scope', () => {
    const [d] = determine(pumpOrder({}, 'E0781'), goodRecord(), baseSet, { requestTime: REQUEST_TIME });
    expect(d).toMatchObject({
      outcome: 'no-policy',
      coverageRef: 'Coverage/cov-mcr',
      message:
        'No coverage policy for E0781 Ambulatory infusion pump, single or multiple channels, electric or battery operated, with administrative equipment, worn by patient is configured for payer Medicare',
    });
    expect(d?.policy).toBeUndefined();

    const insulin: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id: 'mr-1',
      status: 'draft',
      intent: 'order',
      subject: { reference: 'Patient/p1' },
      medicationCodeableConcept: { coding: [{ system: HCPCS, code: 'J1817' }] },
    };
    const generic: DeviceRequest = {
      resourceType: 'DeviceRequest',
      id: 'dr-2',
      status: 'draft',
      intent: 'original-order',
      subject: { reference: 'Patient/p1' },
      codeCodeableConcept: { coding: [{ system: SCT, code: '82449006' }] },
    };
    const orders = recogniseOrders({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: generic }, { resource: insulin }] }, catalogue);
    expect(determine(orders[0]!, goodRecord(), baseSet, { requestTime: REQUEST_TIME })[0]?.policy?.id).toBe('test-csii');
    // The insulin order itself: drugs are in scope only through a companion pump coded in companionValueSets.
    expect(determine(orders[1]!, goodRecord(), baseSet, { requestTime: REQUEST_TIME })[0]?.outcome).toBe('no-policy');
  });

  it('drug orders are in scope through their pump companion', () => {
    const drugPolicy = {
      id: 'pump-insulin',
      title: 'Insulin for an insulin pump',
      version: '1',
      payers: ['medicare'],
      citationShort: 'LCD L33794',
      appliesTo: { companionValueSets: ['pumps'] },
      criteria: { id: 'ok', text: 'ok', citation: 'c', fact: 'fixed' },
    };
    const set = loadPolicySet(writePolicyDir({ 'payers.json': realPayers(), ...testValueSets, 'd.policy.json': drugPolicy }), { facts: testFacts });
    const insulin: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id: 'mr-1',
      status: 'draft',
      intent: 'order',
      subject: { reference: 'Patient/p1' },
      medicationCodeableConcept: { coding: [{ system: HCPCS, code: 'J1817' }] },
    };
    const pump = pumpOrder();
    const [, drug] = recogniseOrders({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: pump.resource }, { resource: insulin }] }, catalogue);
    expect(drug?.role).toBe('drug');
    expect(determine(drug!, goodRecord(), set, { requestTime: REQUEST_TIME })[0]).toMatchObject({ outcome: 'covered', policy: { id: 'pump-insulin' } });
    const alone = recogniseOrders({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: insulin }] }, catalogue)[0]!;
    expect(determine(alone, goodRecord(), set, { requestTime: REQUEST_TIME })[0]?.outcome).toBe('no-policy');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Payer selection.

describe('determine — coverage and payer selection', () => {
  const clinical = [condition('c1', ICD10, 'E10.65'), cpeptide('o1', 0.5, 0.8)];
  const acme = coverage('cov-acme', [{ reference: 'Organization/acme', display: 'Acme Health Plan' }]);
  const run = (coverages: Resource[], order = pumpOrder(), set: PolicySet = baseSet, gaps: RecordGap[] = []) =>
    determine(order, record([...coverages, ...clinical], gaps), set, { requestTime: REQUEST_TIME })[0]!;

  it('the Coverage named by the order wins over other active coverages', () => {
    expect(run([acme, medicare], pumpOrder({ insurance: [{ reference: 'Coverage/cov-mcr' }] }))).toMatchObject({
      outcome: 'covered',
      coverageRef: 'Coverage/cov-mcr',
    });
    expect(run([medicare, acme], pumpOrder({ insurance: [{ reference: 'https://ehr.example/fhir/Coverage/cov-acme' }] }))).toMatchObject({
      outcome: 'no-policy',
      coverageRef: 'Coverage/cov-acme',
      message: 'No coverage policy is configured for payer Acme Health Plan',
    });
  });

  it('a named Coverage that is not in the record falls back to the single active matching one', () => {
    expect(run([medicare], pumpOrder({ insurance: [{ reference: 'Coverage/elsewhere' }] }))).toMatchObject({ outcome: 'covered', coverageRef: 'Coverage/cov-mcr' });
  });

  it('single active Medicare coverage, recognised by reference, display, Organization name, plan or SOPT type', () => {
    expect(run([medicare]).policy?.sourceLabel).toBe('Medicare — NCD 280.14 / LCD L33794');
    const byOrg = coverage('c2', [{ reference: 'Organization/o9' }]);
    const org = { resourceType: 'Organization', id: 'o9', name: 'Centers for Medicare & Medicaid Services' } as Resource;
    expect(run([byOrg, org])).toMatchObject({ coverageRef: 'Coverage/c2', policy: { payerLabel: 'Medicare' } });
    const byPlan = coverage('c3', [{ display: 'Noridian' }], { class: [{ type: { coding: [{ code: 'plan' }] }, value: 'B', name: 'Medicare Part B' }] });
    expect(run([byPlan]).policy?.payerLabel).toBe('Medicare');
    const byType = coverage('c4', [{ display: 'CMS DME MAC' }], { type: { coding: [{ system: 'https://nahdo.org/sopt', code: '121' }] } });
    expect(run([byType]).policy?.payerLabel).toBe('Medicare');
  });

  it('a Medicare Advantage plan is never Medicare FFS: UHC MA gets its own label, others get no-policy', () => {
    const uhc = coverage('cov-ma', [{ display: 'UnitedHealthcare Medicare Advantage' }], {
      class: [{ type: { coding: [{ code: 'plan' }] }, value: 'H0000', name: 'AARP Medicare Advantage Choice (PPO)' }],
    });
    expect(run([uhc])).toMatchObject({
      outcome: 'covered',
      coverageRef: 'Coverage/cov-ma',
      policy: { sourceLabel: 'UnitedHealthcare Medicare Advantage — MCS051.01 / NCD 280.14 / LCD L33794', payerLabel: 'UnitedHealthcare Medicare Advantage' },
    });
    const humana = coverage('cov-h', [{ display: 'Humana Medicare Advantage' }]);
    expect(run([humana])).toMatchObject({ outcome: 'no-policy', message: 'No coverage policy is configured for payer Humana Medicare Advantage' });
    const medicareHmo = coverage('cov-hmo', [{ reference: 'Organization/cms', display: 'Medicare' }], {
      type: { coding: [{ system: 'https://nahdo.org/sopt', code: '111', display: 'Medicare HMO' }] },
    });
    expect(run([medicareHmo]).outcome).toBe('no-policy');
    const advantagePlan = coverage('cov-adv', [{ display: 'Medicare' }], { class: [{ type: { coding: [{ code: 'plan' }] }, value: 'x', name: 'Wellcare Medicare Advantage HMO' }] });
    expect(run([advantagePlan])).toMatchObject({
      outcome: 'no-policy',
      message: 'No coverage policy is configured for payer Medicare (plan "Wellcare Medicare Advantage HMO")',
    });
  });

  it('unknown payer → no-policy, never a silent Medicare default', () => {
    expect(run([acme])).toMatchObject({
      outcome: 'no-policy',
      coverageRef: 'Coverage/cov-acme',
      message: 'No coverage policy is configured for payer Acme Health Plan',
      unmet: [],
      undocumented: [],
      asOf: '2026-04-01',
    });
  });

  it('no coverage at all, and coverage that could not be read', () => {
    expect(run([])).toMatchObject({ outcome: 'no-policy', message: 'No active Coverage was found for the patient on 2026-04-01' });
    const gap = [{ key: 'coverage', resourceType: 'Coverage', reason: 'HTTP 503' }];
    expect(run([], pumpOrder(), baseSet, gap)).toMatchObject({ outcome: 'indeterminate', message: expect.stringContaining('HTTP 503') });
  });

  it('inactive coverages are ignored (status or period)', () => {
    const ended = { ...medicare, id: 'old', period: { start: '2015-01-01', end: '2026-03-31' } };
    const cancelled = { ...medicare, id: 'cx', status: 'cancelled' as const };
    expect(run([ended, cancelled]).outcome).toBe('no-policy');
    const endsThatMonth = { ...medicare, id: 'm', period: { start: '2015-01-01', end: '2026-04' } };
    expect(run([endsThatMonth]).coverageRef).toBe('Coverage/m');
  });

  it('several candidates: a configured payer beats an unknown one; two payers with a policy is ambiguous', () => {
    expect(run([acme, medicare])).toMatchObject({ outcome: 'covered', coverageRef: 'Coverage/cov-mcr' });
    const uhc = coverage('cov-ma', [{ display: 'UnitedHealthcare Medicare Advantage' }]);
    const d = run([medicare, uhc]);
    expect(d.outcome).toBe('no-policy');
    expect(d.message).toContain('Medicare (Coverage/cov-mcr)');
    expect(d.message).toContain('UnitedHealthcare Medicare Advantage (Coverage/cov-ma)');
    // Same payer twice (Part A and Part B records): the stronger match.
    const partB = coverage('part-b', [{ display: 'Medicare' }], { class: [{ type: { coding: [{ code: 'plan' }] }, value: 'B', name: 'Medicare Part B' }] });
    expect(run([{ ...medicare, payor: [{ display: 'Medicare' }] }, partB]).coverageRef).toBe('Coverage/part-b');
  });

  it('payers of the source documents: UHC MA only for MA plans, Northwood MA → Medicare, other Northwood plans → Northwood', () => {
    const sopt = (code: string) => ({ type: { coding: [{ system: 'https://nahdo.org/sopt', code }] } });
    const plan = (name: string) => ({ class: [{ type: { coding: [{ code: 'plan' }] }, value: 'p', name }] });
    // UnitedHealthcare by name, Medicare Advantage by plan name or by a Medicare managed-care SOPT code.
    expect(run([coverage('u1', [{ display: 'UnitedHealthcare' }], plan('UnitedHealthcare Medicare Advantage (HMO)'))]).policy?.payerLabel).toBe(
      'UnitedHealthcare Medicare Advantage',
    );
    expect(run([coverage('u2', [{ display: 'UnitedHealthcare' }], sopt('111'))]).policy?.payerLabel).toBe('UnitedHealthcare Medicare Advantage');
    // A UnitedHealthcare commercial plan or a Part D plan is not UHC Medicare Advantage: the clear "no policy" answer.
    expect(run([coverage('u3', [{ display: 'UnitedHealthcare' }], { ...sopt('5'), ...plan('UnitedHealthcare Choice Plus') })])).toMatchObject({
      outcome: 'no-policy',
      message: 'No coverage policy is configured for payer UnitedHealthcare (plan "UnitedHealthcare Choice Plus")',
    });
    expect(run([coverage('u4', [{ display: 'UnitedHealthcare' }], { ...sopt('122'), ...plan('AARP Medicare Advantage Part D') })]).outcome).toBe('no-policy');
    // Northwood: a Medicare Advantage plan follows Medicare (the test policy is Medicare's) ...
    const nwMa = coverage('n1', [{ reference: 'Organization/nw' }], plan('Northwood Medicare Advantage HMO'));
    const org = { resourceType: 'Organization', id: 'nw', name: 'Northwood Health Plan' } as Resource;
    expect(run([nwMa, org])).toMatchObject({
      outcome: 'covered',
      policy: { payerLabel: 'Northwood Health Plan Medicare Advantage', sourceLabel: expect.stringContaining('Northwood External Infusion Pump policy (Medicare members) / ') },
    });
    expect(run([coverage('n2', [{ display: 'Northwood Health Plan' }], sopt('111'))]).policy?.payerLabel).toBe('Northwood Health Plan Medicare Advantage');
    // ... any other Northwood plan is the Northwood payer, whose documents send insulin pumps to a policy that is not
    // supplied: no policy, named, never Medicare's criteria.
    expect(run([coverage('n3', [{ display: 'Northwood Health Plan' }], { ...sopt('5'), ...plan('Northwood PPO') })])).toMatchObject({
      outcome: 'no-policy',
      message: expect.stringMatching(/^Northwood Health Plan refers E0784 .* to its Insulin Infusion Pump and Supplies policy — policy not supplied/),
    });
  });

  it('identifier first: a payer identifier outweighs the payor name', () => {
    const id = (value: string) => ({ system: 'http://pumpcheck.example.org/fhir/sid/payer-id', value });
    // The display names a UnitedHealthcare network, the identifier is Northwood's: Northwood (MA plan) wins.
    const c = coverage('i1', [{ identifier: id('NWHP1'), display: 'UHC Medicare Advantage network' }], {
      class: [{ type: { coding: [{ code: 'plan' }] }, value: 'p', name: 'Medicare Advantage PPO' }],
    });
    expect(run([c]).policy?.payerLabel).toBe('Northwood Health Plan Medicare Advantage');
    // The identifier alone (no name) is enough, with the plan saying Medicare Advantage.
    const bare = coverage('i2', [{ identifier: id('87726') }], { type: { coding: [{ system: 'https://nahdo.org/sopt', code: '112' }] } });
    expect(run([bare]).policy?.payerLabel).toBe('UnitedHealthcare Medicare Advantage');
  });

  it('several payers of which only one has a policy for this order', () => {
    const onlyMa = testPolicy({ payers: ['uhc-medicare-advantage'] });
    const set = loadPolicySet(standardPolicyDir({}, onlyMa), { facts: testFacts });
    const uhc = coverage('cov-ma', [{ display: 'UnitedHealthcare Medicare Advantage' }]);
    const standalone = { ...medicare, payor: [{ display: 'Medicare' }] };
    // UHC MA follows Medicare, but Medicare does not follow UHC MA: only the MA coverage has a policy.
    expect(run([standalone, uhc], pumpOrder(), set)).toMatchObject({ outcome: 'covered', coverageRef: 'Coverage/cov-ma' });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Scale: candidates come from the index, FHIRPath runs on them only.

describe('a record of 5,000 Observations', () => {
  it('is indexed, and the FHIRPath leaf runs over the C-peptide candidates only', () => {
    const observations: Resource[] = [];
    for (let i = 0; i < 4997; i++) {
      observations.push({
        resourceType: 'Observation',
        id: `g${i}`,
        status: 'final',
        code: { coding: [{ system: LOINC, code: '41653-7' }] },
        effectiveDateTime: '2026-03-01T07:00:00Z',
        valueQuantity: { value: 100 + (i % 80), unit: 'mg/dL' },
      } as Resource);
    }
    observations.push(cpeptide('cp1', 1.5, 0.8, '2025-01-10'), cpeptide('cp2', 0.6, 0.8, '2026-01-10'), cpeptide('cp3', 0.7, 0.8, '2026-05-10'));
    const r = record([medicare, condition('c1', ICD10, 'E10.65'), ...observations]);
    expect(r.all('Observation')).toHaveLength(5000);

    const set = loadPolicySet(standardPolicyDir(), { facts: testFacts });
    const cpep = (set.policies[0]!.criteria as Extract<PolicyNode, { kind: 'allOf' | 'anyOf' | 'firstDocumented' }>).children[1] as Extract<PolicyNode, { kind: 'fhirpath' }>;
    let calls = 0;
    const where = cpep.compiled.where!;
    cpep.compiled.where = ((res, env) => {
      calls++;
      return where(res, env);
    }) as FhirPathFn;

    const [d] = determine(pumpOrder(), r, set, { requestTime: REQUEST_TIME });
    expect(calls).toBe(3);
    expect(d?.outcome).toBe('covered');
    const leafResult = d!.root!.children![1] as CriterionResult;
    expect(leafResult.evidence.map((e) => e.reference)).toEqual(['Observation/cp2']);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Issue 15: onlyIf + otherwise, collapseIf, remedies that fit the gap.

describe('situations: otherwise, collapseIf, remedy filters', () => {
  const ctxWith = (definitions: Record<string, PolicyNode>): EvaluationContext => ({ ...bareContext(), order: { ref: 'DeviceRequest/o1', label: 'order' } as InfusionOrder, definitions });
  const yes = leaf('yes', M);
  const no = leaf('no', N);

  it('onlyIf with otherwise: the status when the situation does not hold, never listed as a gap', () => {
    const node = group('anyOf', 'g', [leaf('a', N), leaf('b', M, { onlyIf: 'situation', otherwise: N })]);
    const off = evaluateCriteria(node, ctxWith({ situation: no }));
    expect(off.status).toBe(N);
    expect(decisiveLeaves(off).unmet.map((c) => c.id)).toEqual(['a']);
    expect(evaluateCriteria(node, ctxWith({ situation: yes })).status).toBe(M);
  });

  it('collapseIf: the group is one gap in its situation, its leaves otherwise', () => {
    const node = group('allOf', 'root', [{ ...group('allOf', 'g', [leaf('a', D), leaf('b', D)]), collapseIf: 'situation', remedies: [{ type: 'questionnaire', linkId: 'q' }] } as PolicyNode]);
    const on = evaluateCriteria(node, ctxWith({ situation: yes }));
    expect(decisiveLeaves(on).undocumented.map((c) => c.id)).toEqual(['g']);
    expect(decisiveLeaves(on).undocumented[0]!.remedies).toEqual([{ type: 'questionnaire', linkId: 'q' }]);
    expect(decisiveLeaves(evaluateCriteria(node, ctxWith({ situation: no }))).undocumented.map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('remedies: onlyForFindings / notForFindings by the finding code, unlessDefinition by the situation', () => {
    const lab = (label: string, extra: Record<string, unknown>) => ({ type: 'order-lab', label, code: [{ system: LOINC, code: '1-1', display: label }], ...extra });
    const remedies = [lab('repeat', { notForFindings: ['renal'] }), lab('creatinine', { onlyForFindings: ['renal'] }), lab('any', { unlessDefinition: 'situation' })];
    const facts: Record<string, FactFunction> = { renal: () => ({ status: D, evidence: [], finding: { kind: 'fact', code: 'renal' } }), plain: () => ({ status: D, evidence: [] }) };
    const ctx = (situation: PolicyNode) => ({ ...ctxWith({ situation }), facts: { ...testFacts, ...facts } });
    const labels = (fact: string, situation: PolicyNode) =>
      (evaluateCriteria({ kind: 'fact', id: 'x', text: 'x', citation: 'c', pointer: '', fact, params: {}, remedies } as unknown as PolicyNode, ctx(situation)).remedies ?? []).map((r) => (r as { label: string }).label);
    expect(labels('renal', no)).toEqual(['creatinine', 'any']);
    expect(labels('plain', no)).toEqual(['repeat', 'any']);
    expect(labels('plain', yes)).toEqual(['repeat']);
  });

  it('review: a met leaf with a review text is flagged only when the result rests on it', () => {
    const flagged = leaf('iaa', M, { review: 'confirm with GAD65' } as Partial<PolicyNode>);
    const alone = evaluateCriteria(group('allOf', 'root', [leaf('a', M), group('anyOf', 'ab', [leaf('gad', N), flagged])]), bareContext());
    expect(reviewLeaves(alone).map((c) => [c.id, c.review])).toEqual([['iaa', 'confirm with GAD65']]);
    const carried = evaluateCriteria(group('allOf', 'root', [leaf('a', M), group('anyOf', 'ab', [leaf('gad', M), flagged])]), bareContext());
    expect(reviewLeaves(carried)).toEqual([]);
  });
});

