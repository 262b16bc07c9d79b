// Test-only builders for fact tests: small hand-made FHIR resources, an InfusionOrder and a FactContext over the real
// policies/ value sets and the CSII policy's parameters. Not imported by production code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { PatientRecord } from '../../src/fhir/record.js';
import { bindPolicy, evaluateCriteria, type EvaluationContext } from '../../src/policy/engine.js';
import { reasonText } from '../../cards/findings.js';
import { allFacts } from '../../src/policy/facts/index.js';
import { HCPCS } from '../../src/fhir/systems.js';
import { KINDS } from '../../src/policy/kinds/index.js';
import type { KindContext, KindOutcome } from '../../src/policy/kinds/types.js';
import { loadPolicySet, substitute } from '../../src/policy/loader.js';
import type { FhirPathFn, ParameterValue, PolicyNode } from '../../src/policy/model.js';
import type { InfusionOrder, LeafOutcome } from '../../src/policy/types.js';

export const POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));
export const POLICY_SET = loadPolicySet(POLICIES_DIR, { facts: allFacts });
export const VALUE_SETS = POLICY_SET.valueSets;
export const CSII = POLICY_SET.policies.find((p) => p.id === 'medicare-csii')!;
export const CSII_PARAMETERS = CSII.parameters;
/** The policy file as written (for tests that read criterion texts). */
export const CSII_POLICY_FILE = JSON.parse(readFileSync(`${POLICIES_DIR}medicare-csii.policy.json`, 'utf8')) as Record<string, unknown>;

import { ICD10CM as ICD10, LOINC, RXNORM, SNOMED, UCUM } from '../../src/fhir/systems.js';

export { HCPCS, ICD10, LOINC, RXNORM, SNOMED, UCUM };

/** Order date used throughout the tests. */
export const AS_OF = '2026-11-24T15:00:00Z';

type R = Record<string, unknown> & { resourceType: string; id: string };

export function patient(gender: 'male' | 'female' | 'other' = 'male', birthDate = '1956-06-01'): R {
  return { resourceType: 'Patient', id: 'p1', gender, birthDate };
}

let seq = 0;
function nextId(prefix: string): string {
  seq += 1;
  return `${prefix}${seq}`;
}

export function obs(
  code: string,
  value: number | undefined,
  unit: string | undefined,
  when: string,
  extra: Record<string, unknown> = {},
): R {
  const q: Record<string, unknown> | undefined =
    value === undefined ? undefined : { value, ...(unit !== undefined ? { unit, system: UCUM, code: unit } : {}) };
  return {
    resourceType: 'Observation',
    id: (extra.id as string | undefined) ?? nextId('o'),
    status: 'final',
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: when,
    ...(q ? { valueQuantity: q } : {}),
    ...extra,
  };
}

export function withRange(o: R, low?: number, high?: number, unit?: string): R {
  const u = unit ?? ((o.valueQuantity as { unit?: string } | undefined)?.unit);
  const q = (v: number) => ({ value: v, ...(u ? { unit: u, system: UCUM, code: u } : {}) });
  return { ...o, referenceRange: [{ ...(low !== undefined ? { low: q(low) } : {}), ...(high !== undefined ? { high: q(high) } : {}) }] };
}

export function cPeptide(value: number, unit: string, when: string, low: number | undefined, lowUnit?: string, code = '13037-7'): R {
  const o = obs(code, value, unit, when);
  return low === undefined ? o : withRange(o, low, undefined, lowUnit ?? unit);
}

export function fastingGlucose(value: number, unit: string, when: string, code = '1558-6'): R {
  return obs(code, value, unit, when);
}

export function condition(system: string, code: string, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'Condition',
    id: nextId('c'),
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system, code }] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    recordedDate: '2020-01-01',
    ...extra,
  };
}

export interface DoseTiming {
  frequency?: number;
  period?: number;
  periodUnit?: string;
  when?: string[];
  timeOfDay?: string[];
  code?: string;
}

export function timing(t: DoseTiming): Record<string, unknown> {
  const repeat: Record<string, unknown> = {};
  if (t.frequency !== undefined) repeat.frequency = t.frequency;
  if (t.period !== undefined) repeat.period = t.period;
  if (t.periodUnit !== undefined) repeat.periodUnit = t.periodUnit;
  if (t.when) repeat.when = t.when;
  if (t.timeOfDay) repeat.timeOfDay = t.timeOfDay;
  return {
    ...(Object.keys(repeat).length ? { repeat } : {}),
    ...(t.code ? { code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation', code: t.code }] } } : {}),
  };
}

export const GLARGINE = '274783';
export const LISPRO = '86009';

export function medStatement(rxcui: string, start: string, t: DoseTiming | undefined, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'MedicationStatement',
    id: nextId('ms'),
    status: 'active',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: rxcui }], text: rxcui === GLARGINE ? 'insulin glargine' : 'insulin lispro' },
    effectivePeriod: { start },
    ...(t ? { dosage: [{ timing: timing(t) }] } : { dosage: [{ text: 'as directed' }] }),
    ...extra,
  };
}

export function medRequest(rxcui: string, authoredOn: string, t: DoseTiming | undefined, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'MedicationRequest',
    id: nextId('mr'),
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: rxcui }] },
    authoredOn,
    ...(t ? { dosageInstruction: [{ timing: timing(t) }] } : {}),
    ...extra,
  };
}

/** A completed csii-documentation QuestionnaireResponse with boolean answers (nested in a group, as a form would). */
export function questionnaireResponse(answers: Record<string, boolean | string>, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'QuestionnaireResponse',
    id: nextId('qr'),
    status: 'completed',
    questionnaire: 'http://pumpcheck.example.org/fhir/Questionnaire/csii-documentation',
    subject: { reference: 'Patient/p1' },
    authored: '2026-11-20T10:00:00Z',
    item: [
      {
        linkId: 'group',
        item: Object.entries(answers).map(([linkId, v]) => ({
          linkId,
          answer: [typeof v === 'boolean' ? { valueBoolean: v } : { valueDate: v }],
        })),
      },
    ],
    ...extra,
  };
}

export function coverage(start: string, id = 'cov1'): R {
  return {
    resourceType: 'Coverage',
    id,
    status: 'active',
    beneficiary: { reference: 'Patient/p1' },
    payor: [{ display: 'Medicare' }],
    period: { start },
  };
}

export function encounter(end: string, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'Encounter',
    id: nextId('enc'),
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/p1' },
    period: { start: `${end}T09:00:00Z`, end: `${end}T09:30:00Z` },
    ...extra,
  };
}

export function device(system: string, code: string, extra: Record<string, unknown> = {}): R {
  return { resourceType: 'Device', id: nextId('dev'), status: 'active', type: { coding: [{ system, code }] }, patient: { reference: 'Patient/p1' }, ...extra };
}

export function deviceUse(dev: R, start: string | undefined, status = 'active'): R {
  return {
    resourceType: 'DeviceUseStatement',
    id: nextId('dus'),
    status,
    subject: { reference: 'Patient/p1' },
    device: { reference: `Device/${dev.id}` },
    ...(start ? { timingPeriod: { start } } : {}),
  };
}

/** A completed insulin pump insertion (SNOMED 443263006, value set insulin-pump-procedures). */
export function pumpInsertion(day: string, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'Procedure',
    id: nextId('proc'),
    status: 'completed',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '443263006' }], text: 'Insertion of insulin pump' },
    performedDateTime: day,
    ...extra,
  };
}

export type Companion = InfusionOrder['companions'][number];

export function companion(role: Companion['role'], hcpcs: string, ref = `DeviceRequest/${hcpcs.toLowerCase()}`): Companion {
  return { ref, role, hcpcs, codings: [{ system: HCPCS, code: hcpcs }] };
}

export function order(opts: {
  role?: InfusionOrder['role'];
  hcpcs?: string;
  codings?: { system: string; code: string }[];
  pumpKind?: InfusionOrder['pumpKind'];
  companions?: Companion[];
  insurance?: string[];
  reasonCode?: { system: string; code: string }[];
  requester?: string;
} = {}): InfusionOrder {
  const role = opts.role ?? 'pump';
  const hcpcs = opts.hcpcs ?? (opts.codings ? undefined : 'E0784');
  const codings = opts.codings ?? (hcpcs ? [{ system: HCPCS, code: hcpcs }] : []);
  const resource = {
    resourceType: 'DeviceRequest',
    id: 'draft1',
    status: 'draft',
    intent: 'original-order',
    subject: { reference: 'Patient/p1' },
    codeCodeableConcept: { coding: codings },
    authoredOn: AS_OF,
    ...(opts.reasonCode ? { reasonCode: [{ coding: opts.reasonCode }] } : {}),
    ...(opts.requester ? { requester: { reference: opts.requester } } : {}),
  };
  return {
    ref: 'DeviceRequest/draft1',
    resource: resource as unknown as InfusionOrder['resource'],
    role,
    ...(hcpcs ? { hcpcs } : {}),
    codings,
    ...(role === 'pump' ? { pumpKind: opts.pumpKind ?? 'external' } : {}),
    label: hcpcs ?? codings[0]?.code ?? 'order',
    authoredOn: AS_OF,
    ...(opts.requester ? { requester: opts.requester } : {}),
    insurance: opts.insurance ?? [],
    companions: opts.companions ?? [],
    groupKey: 'draftOrders',
    drug: { status: 'not-identified', ingredients: [], names: [], hcpcs: [] },
    setting: { value: 'unknown', source: 'none' },
    pumpsOnRecord: [],
    selected: true,
  };
}

export function ctxFor(
  resources: R[],
  opts: { order?: InfusionOrder; asOf?: string; parameters?: Record<string, number | string | boolean>; withPatient?: boolean } = {},
): EvaluationContext {
  const all = opts.withPatient === false || resources.some((r) => r.resourceType === 'Patient') ? resources : [patient(), ...resources];
  const parameters = { ...CSII_PARAMETERS, ...(opts.parameters ?? {}) };
  const asOf = new Date(opts.asOf ?? AS_OF);
  return bindPolicy(
    {
      record: new PatientRecord('p1', all as never),
      order: opts.order ?? order(),
      asOf,
      valueSets: VALUE_SETS,
      parameters,
      memo: new Map(),
      facts: POLICY_SET.facts,
      env: { ...parameters, asOf: asOf.toISOString().slice(0, 10) },
    },
    CSII,
  );
}

/**
 * Evaluate one criterion kind directly, with the CSII policy's anchors and definitions (and any extra ones), and its
 * FHIRPath filters compiled from `params` (the loader's job in production).
 */
export function runKind(
  kind: string,
  params: Record<string, unknown>,
  resources: R[],
  opts: Parameters<typeof ctxFor>[1] & { anchors?: Record<string, unknown> } = {},
): KindOutcome {
  const ctx = ctxFor(resources, opts);
  if (opts.anchors) Object.assign(ctx, { anchors: { ...CSII.anchors, ...opts.anchors } });
  const filters = new Map<string, FhirPathFn>();
  const compile = (expr: string) => fhirpath.compile(expr, r4, { resolveInternalTypes: true }) as unknown as FhirPathFn;
  for (const key of ['where', 'expression', 'notMetIf']) {
    const v = params[key];
    if (typeof v === 'string') filters.set(`/${key}`, compile(v));
    if (Array.isArray(v)) v.forEach((e, i) => filters.set(`/${key}/${i}`, compile(e as string)));
  }
  return KINDS[kind]!.evaluate({ ...ctx, filters } as unknown as KindContext, params as never);
}

/** `n` self-monitoring readings spread evenly over [fromDay, toDay) (distinct time stamps). */
export function smbgReadings(n: number, fromDay: string, toDay: string, code = '41653-7'): R[] {
  const start = Date.parse(`${fromDay}T00:00:00Z`);
  const span = Date.parse(`${toDay}T00:00:00Z`) - start;
  const out: R[] = [];
  for (let i = 0; i < n; i += 1) {
    const t = new Date(start + Math.floor((span * i) / n) + 60_000).toISOString();
    out.push(obs(code, 120, 'mg/dL', t));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// The CSII criteria that used to be bespoke facts, now kinds: evaluated through the real policy leaves, with the
// reason worded by cards/ (so the behaviour tests of the former facts keep checking the same outcomes).

type Params = Record<string, unknown>;
type LeafRun = (ctx: EvaluationContext, params?: Params) => LeafOutcome;

function findNode(n: PolicyNode, id: string): PolicyNode | undefined {
  if (n.id === id) return n;
  const kids = n.kind === 'not' ? [n.child] : n.kind === 'allOf' || n.kind === 'anyOf' || n.kind === 'firstDocumented' ? n.children : [];
  for (const c of kids) {
    const hit = findNode(c, id);
    if (hit) return hit;
  }
  return undefined;
}

/** Evaluate the CSII leaf `id` (its params optionally patched, e.g. another anchor). */
export function csiiLeaf(id: string, ctx: EvaluationContext, patch?: (params: Params) => Params): ReturnType<LeafRun> {
  let node = findNode(CSII.criteria, id) ?? Object.values(CSII.definitions).map((d) => findNode(d, id)).find(Boolean);
  if (!node) throw new Error(`no CSII criterion ${id}`);
  if (node.kind === 'kind' || node.kind === 'fact') {
    // The parameters of this context (a test may override some), as the loader substitutes them after overrides.
    const params = substitute(node.rawParams, node.paramRefs, ctx.parameters as Record<string, ParameterValue>) as Params;
    node = { ...node, params: patch ? patch(structuredClone(params)) : params } as PolicyNode;
  }
  const r = evaluateCriteria(node, ctx);
  // A group (e.g. the antibody panel): the evidence and reason of the children that decided it.
  const deciding = r.children?.filter((c) => c.status === r.status) ?? [];
  const reason = reasonText(r) ?? deciding.map(reasonText).find(Boolean);
  const evidence = r.evidence.length || !r.children ? r.evidence : deciding.flatMap((c) => c.evidence);
  return { status: r.status, evidence, ...(reason ? { reason } : {}), ...(r.finding ? { finding: r.finding } : {}) };
}

const toOrderDate = (p: Params): Params => ({ ...p, window: { ...(p.window as Params), anchor: 'order-date' } });

export const formerFacts: Record<string, LeafRun> = {
  diabetesDiagnosis: (ctx) => csiiLeaf('diagnosis', ctx),
  insulinPumpCode: (ctx) => csiiLeaf('pump-code', ctx),
  notImplantableInsulinPump: (ctx) => csiiLeaf('not-implantable', ctx),
  supplyPumpPairing: (ctx) => csiiLeaf('supply-pairing', ctx),
  betaCellAutoantibodyPositive: (ctx) => csiiLeaf('autoantibody', ctx),
  procedureCompleted: (ctx) => csiiLeaf('education-dsmt', ctx),
  conditionDocumented: (ctx, p = {}) => csiiLeaf('c2-hypoglycemia-dx', ctx, (q) => ({ ...q, ...(p.valueSet ? { valueSet: p.valueSet } : {}), ...(typeof p.minCount === 'number' ? { minCount: p.minCount } : {}) })),
  insulinPumpBeforeMedicare: (ctx) => csiiLeaf('pump-before-enrollment-record', ctx),
  continuedCoverageVisit: (ctx) => csiiLeaf('continued-coverage-visit', ctx),
  documentationAttested: (ctx, p = {}) => {
    const node = { kind: 'kind', kindName: 'attestation', id: `attested-${String(p.linkId)}`, text: 'attestation', citation: 'test', pointer: '', rawParams: p, params: p, paramRefs: [], filters: new Map() } as unknown as PolicyNode;
    const res = evaluateCriteria(node, ctx);
    const reason = reasonText(res);
    return { status: res.status, evidence: res.evidence, ...(reason ? { reason } : {}), ...(res.finding ? { finding: res.finding } : {}) };
  },
  glucoseSelfTesting: (ctx, p = {}) =>
    p.anchor === 'medicare-enrollment'
      ? csiiLeaf('testing-before-enrollment-computed', ctx)
      : csiiLeaf('testing-computed', ctx, p.anchor === 'asOf' ? toOrderDate : undefined),
  cgmUse: (ctx, p = {}) => (p.anchor === 'medicare-enrollment' ? csiiLeaf('testing-before-enrollment-cgm', ctx) : csiiLeaf('testing-cgm', ctx)),
};
