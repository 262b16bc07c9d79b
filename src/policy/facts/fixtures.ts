// Test-only builders for fact tests: small hand-made FHIR resources, an InfusionOrder and a FactContext over the real
// policies/ value sets and the CSII policy's parameters. Not imported by production code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PatientRecord } from '../../fhir/record.js';
import type { FactContext, InfusionOrder } from '../types.js';
import { loadValueSets } from '../valuesets.js';
import { HCPCS } from './common.js';

export const POLICIES_DIR = fileURLToPath(new URL('../../../policies/', import.meta.url));
export const VALUE_SETS = loadValueSets(`${POLICIES_DIR}valuesets`);
export const CSII_POLICY = JSON.parse(readFileSync(`${POLICIES_DIR}medicare-csii.policy.json`, 'utf8')) as {
  parameters: Record<string, number | string | boolean>;
};
export const CSII_PARAMETERS = CSII_POLICY.parameters;

import { ICD10CM as ICD10, LOINC, RXNORM, SNOMED, UCUM } from '../../fhir/systems.js';

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
): FactContext {
  const all = opts.withPatient === false || resources.some((r) => r.resourceType === 'Patient') ? resources : [patient(), ...resources];
  return {
    record: new PatientRecord('p1', all as never),
    order: opts.order ?? order(),
    asOf: new Date(opts.asOf ?? AS_OF),
    valueSets: VALUE_SETS,
    parameters: { ...CSII_PARAMETERS, ...(opts.parameters ?? {}) },
    memo: new Map(),
  };
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
