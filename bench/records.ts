// Deterministic synthetic insulin-pump records for the benchmark: one patient on multiple daily injections whose
// chart is dominated, as real ones are, by years of self-monitored glucose readings (LOINC 41653-7). Everything else
// a CSII order is judged on is there and the policy evaluates every leaf; the only gap is the "practitioner manages
// CSII patients with a team" attestation, so each order comes back `conditional` with one decisive card — the path
// that builds cards, the reference card and the coverage-information action, not the quiet "covered" one.
// Same seed ⇒ byte-identical bodies. Nothing here reads the clock.
import type { Bundle, FhirResource, Resource } from 'fhir/r4';
import { prefetchFromResources } from '../test/support/prefetch.js';
import { FAMILIES, familyChart, familyOrders, orderBundle } from './families.js';

export type HookKind = 'order-sign' | 'order-select';

/** Nominal sizes (resources in the record, SMBG readings included). */
export const SIZES = [50, 500, 5_000, 20_000] as const;

/** Order date of every draft order: the policy evaluates "as of" this day. */
export const ORDER_DAY = '2026-11-20';

/** What the CSII policy must conclude for each order of every generated record (checked before any load). */
export const EXPECTED = { outcome: 'conditional', unmet: [] as string[], undocumented: ['practitioner-team'] } as const;

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const ICD10 = 'http://hl7.org/fhir/sid/icd-10-cm';
const SNOMED = 'http://snomed.info/sct';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
const CPT = 'http://www.ama-assn.org/go/cpt';
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const EHR = 'https://ehr.bench.example.org/fhir';
const DAY_MS = 86_400_000;

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG (deterministic from the seed). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic RFC 4122 v4-shaped UUID from the PRNG (hookInstance must be a UUID). */
function uuidFrom(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const dayOffset = (day: string, days: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export interface BenchRecord {
  /** Nominal size; `resources.length` equals it exactly. */
  size: number;
  patientId: string;
  /** Every resource of the patient's record (what the loopback FHIR server is seeded with). */
  resources: Resource[];
  /** The same record as the service's prefetch keys (searchset Bundles; encounters capped at 100 like the template). */
  prefetch: Record<string, FhirResource | null>;
  /** Pump E0784 + insulin pump supplies A4224, as the clinician signs them together. */
  draftOrders: Bundle;
  /** References of the draft orders; order-select selects the pump only. */
  pumpRef: string;
  supplyRef: string;
  /** Order sets of the other pump families (bench/families.ts), judged over the same record. */
  familyOrders: Record<string, Bundle>;
  /** SMBG readings and the years they span. */
  smbgReadings: number;
  historyDays: number;
}

interface Ctx {
  rand: () => number;
  patientId: string;
  subject: { reference: string };
}

const between = (rand: () => number, lo: number, hi: number) => lo + rand() * (hi - lo);
const round1 = (n: number) => Math.round(n * 10) / 10;

function observation(c: Ctx, id: string, code: { code: string; display: string }, when: string, value: Record<string, unknown>, category = 'laboratory', extra: Record<string, unknown> = {}): Resource {
  return {
    resourceType: 'Observation',
    id,
    meta: { lastUpdated: `${when.slice(0, 10)}T23:00:00Z` },
    status: 'final',
    category: [{ coding: [{ system: OBS_CATEGORY, code: category, display: category === 'laboratory' ? 'Laboratory' : 'Vital Signs' }] }],
    code: { coding: [{ system: LOINC, code: code.code, display: code.display }], text: code.display },
    subject: c.subject,
    effectiveDateTime: when,
    issued: when.length > 10 ? when : `${when}T12:00:00Z`,
    ...value,
    ...extra,
  } as Resource;
}

const qty = (value: number, unit: string) => ({ valueQuantity: { value, unit, system: UCUM, code: unit } });

/** Non-SMBG resources for a history of `days` days before the order. */
function chart(c: Ctx, days: number): Resource[] {
  const { rand, patientId, subject } = c;
  const out: Resource[] = [];
  out.push({
    resourceType: 'Patient',
    id: patientId,
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: `999-${pad(Math.floor(rand() * 100))}-${pad(Math.floor(rand() * 10000), 4)}` }],
    name: [{ family: 'Benchmark', given: ['Synthetic'] }],
    gender: 'female',
    birthDate: '1954-03-02',
    address: [{ line: ['1 Loopback Way'], city: 'Localhost', state: 'MA', postalCode: '02100' }],
  } as Resource);
  out.push({
    resourceType: 'Coverage',
    id: `${patientId}-cov-mcr`,
    status: 'active',
    beneficiary: subject,
    subscriberId: '1EG4TE5MK73',
    payor: [{ reference: 'Organization/cms', display: 'Medicare' }],
    type: { coding: [{ system: 'https://nahdo.org/sopt', code: '121', display: 'Medicare FFS' }] },
    class: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: 'Medicare Part B' }],
    period: { start: '2019-03-01' },
  } as Resource);

  const condition = (id: string, code: string, display: string, onset: string, status = 'active'): Resource =>
    ({
      resourceType: 'Condition',
      id: `${patientId}-${id}`,
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: status }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
      code: { coding: [{ system: ICD10, code, display }], text: display },
      subject,
      onsetDateTime: onset,
      recordedDate: onset,
    }) as Resource;
  out.push(condition('dx-t1d', 'E10.65', 'Type 1 diabetes mellitus with hyperglycemia', '1998-05-14'));
  out.push(condition('dx-hypo', 'E10.649', 'Type 1 diabetes mellitus with hypoglycemia without coma', '2023-02-10'));
  out.push(condition('dx-htn', 'I10', 'Essential (primary) hypertension', '2012-09-01'));
  out.push(condition('dx-lipid', 'E78.5', 'Hyperlipidemia, unspecified', '2014-01-20'));
  out.push(condition('dx-flu', 'J10.1', 'Influenza with other respiratory manifestations', '2022-01-05', 'resolved'));

  // Insulinopenia: fasting C-peptide below the lab's lower limit with a same-morning fasting glucose; GAD65 positive.
  const draw = `${dayOffset(ORDER_DAY, -45)}T08:05:00-05:00`;
  out.push(
    observation(c, `${patientId}-cpep`, { code: '13037-7', display: 'C peptide [Mass/volume] in Serum or Plasma --fasting' }, draw, qty(0.3, 'ng/mL'), 'laboratory', {
      referenceRange: [{ low: { value: 0.8, unit: 'ng/mL', system: UCUM, code: 'ng/mL' }, high: { value: 3.85, unit: 'ng/mL', system: UCUM, code: 'ng/mL' } }],
    }),
  );
  out.push(observation(c, `${patientId}-fglu`, { code: '1558-6', display: 'Fasting glucose [Mass/volume] in Serum or Plasma' }, draw, qty(132, 'mg/dL')));
  out.push(
    observation(c, `${patientId}-gad`, { code: '13926-1', display: 'Glutamate decarboxylase 65 Ab [Units/volume] in Serum' }, '2016-04-11T09:30:00-05:00', qty(27.5, '[IU]/mL'), 'laboratory', {
      interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H', display: 'High' }] }],
      referenceRange: [{ high: { value: 5, unit: '[IU]/mL', system: UCUM, code: '[IU]/mL' } }],
    }),
  );

  // Basal-bolus multiple daily injections for years: glargine once daily + lispro with each meal (4/day).
  const mdiStart = dayOffset(ORDER_DAY, -3 * 365);
  const insulin = (id: string, rxcui: string, name: string, start: string, timing: Record<string, unknown>, status = 'active', end?: string): Resource =>
    ({
      resourceType: 'MedicationStatement',
      id: `${patientId}-${id}`,
      status,
      medicationCodeableConcept: { coding: [{ system: RXNORM, code: rxcui, display: name }], text: name },
      subject,
      effectivePeriod: { start, ...(end ? { end } : {}) },
      dateAsserted: start,
      dosage: [{ text: name, timing: { repeat: timing }, route: { coding: [{ system: SNOMED, code: '34206005', display: 'Subcutaneous route' }] } }],
    }) as Resource;
  out.push(insulin('ms-glargine', '274783', 'insulin glargine 100 UNT/ML', mdiStart, { frequency: 1, period: 1, periodUnit: 'd', timeOfDay: ['21:00:00'] }));
  out.push(insulin('ms-lispro', '86009', 'insulin lispro 100 UNT/ML', mdiStart, { when: ['ACM', 'ACD', 'ACV'] }));
  out.push(insulin('ms-nph', '5856', 'insulin NPH', '2010-01-01', { frequency: 2, period: 1, periodUnit: 'd' }, 'completed', dayOffset(mdiStart, -1)));
  out.push({
    resourceType: 'MedicationStatement',
    id: `${patientId}-ms-lisinopril`,
    status: 'active',
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: '314076', display: 'lisinopril 10 MG Oral Tablet' }] },
    subject,
    effectivePeriod: { start: '2012-09-15' },
    dosage: [{ timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } } }],
  } as Resource);

  out.push({
    resourceType: 'AllergyIntolerance',
    id: `${patientId}-alg-pcn`,
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    code: { coding: [{ system: SNOMED, code: '91936005', display: 'Allergy to penicillin' }] },
    patient: subject,
    recordedDate: '2001-07-01',
  } as Resource);
  out.push({
    resourceType: 'Procedure',
    id: `${patientId}-proc-dsmt`,
    status: 'completed',
    code: { coding: [{ system: HCPCS, code: 'G0108', display: 'Diabetes outpatient self-management training services, individual, per 30 minutes' }] },
    subject,
    performedDateTime: dayOffset(mdiStart, 30),
  } as Resource);
  out.push({
    resourceType: 'Procedure',
    id: `${patientId}-proc-eye`,
    status: 'completed',
    code: { coding: [{ system: CPT, code: '92250', display: 'Fundus photography' }] },
    subject,
    performedDateTime: dayOffset(ORDER_DAY, -200),
  } as Resource);
  // Continuous glucose monitor in use (Device only: the prefetch has no DeviceUseStatement key).
  out.push({
    resourceType: 'Device',
    id: `${patientId}-dev-cgm`,
    status: 'active',
    type: { coding: [{ system: HCPCS, code: 'E2103', display: 'Non-adjunctive, non-implanted continuous glucose monitor' }], text: 'CGM receiver' },
    patient: subject,
    manufacturer: 'Benchmark Devices',
  } as Resource);
  out.push({
    resourceType: 'QuestionnaireResponse',
    id: `${patientId}-qr-csii`,
    status: 'completed',
    questionnaire: 'http://pumpcheck.example.org/fhir/Questionnaire/csii-documentation',
    subject,
    authored: `${dayOffset(ORDER_DAY, -3)}T15:20:00Z`,
    item: [
      { linkId: 'education', item: [{ linkId: 'education-completed', answer: [{ valueBoolean: true }] }, { linkId: 'education-date', answer: [{ valueDate: dayOffset(mdiStart, 30) }] }] },
      { linkId: 'mdi', item: [{ linkId: 'mdi-self-adjustment', answer: [{ valueBoolean: true }] }] },
      {
        linkId: 'clinical-findings',
        item: [
          { linkId: 'c3-premeal-fluctuations', answer: [{ valueBoolean: true }] },
          { linkId: 'c4-dawn-phenomenon', answer: [{ valueBoolean: false }] },
        ],
      },
      { linkId: 'pump-before-medicare-group', item: [{ linkId: 'pump-before-medicare', answer: [{ valueBoolean: false }] }] },
    ],
  } as Resource);

  // What the other pump families are judged on (heart failure, PAH, immunodeficiency, cancer, spasticity, an implanted
  // pump …): a handful of resources, so every family's policies read a realistic record.
  out.push(...familyChart({ patientId, subject, orderDay: ORDER_DAY }));

  // Quarterly care over the whole history: a visit with a weight, an HbA1c, insulin refills; a yearly creatinine.
  const quarters = Math.max(1, Math.floor(days / 91));
  for (let q = 0; q < quarters; q++) {
    const day = dayOffset(ORDER_DAY, -30 - q * 91 - Math.floor(rand() * 10));
    const at = `${day}T${pad(9 + Math.floor(rand() * 7))}:${pad(Math.floor(rand() * 60))}:00-05:00`;
    out.push({
      resourceType: 'Encounter',
      id: `${patientId}-enc-${q}`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      type: [{ coding: [{ system: SNOMED, code: '390906007', display: 'Follow-up encounter' }] }],
      subject,
      participant: [{ individual: { reference: 'Practitioner/bench-endo' } }],
      period: { start: at, end: at.replace(/T(\d\d)/, (_m, h: string) => `T${pad(Number(h) + 1)}`) },
      reasonCode: [{ coding: [{ system: ICD10, code: 'E10.65' }] }],
    } as Resource);
    out.push(observation(c, `${patientId}-wt-${q}`, { code: '29463-7', display: 'Body weight' }, at, qty(round1(between(rand, 68, 74)), 'kg'), 'vital-signs'));
    out.push(observation(c, `${patientId}-a1c-${q}`, { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }, at, qty(round1(between(rand, 7.3, 9.2)), '%')));
    if (q % 4 === 0) out.push(observation(c, `${patientId}-cr-${q}`, { code: '2160-0', display: 'Creatinine [Mass/volume] in Serum or Plasma' }, at, qty(round1(between(rand, 0.7, 1.0)), 'mg/dL')));
    for (const [rx, name, timing] of [
      ['274783', 'insulin glargine 100 UNT/ML Pen Injector', { frequency: 1, period: 1, periodUnit: 'd' }],
      ['86009', 'insulin lispro 100 UNT/ML Pen Injector', { when: ['ACM', 'ACD', 'ACV'] }],
    ] as const) {
      out.push({
        resourceType: 'MedicationRequest',
        id: `${patientId}-mr-${rx}-${q}`,
        status: q === 0 ? 'active' : 'completed',
        intent: 'order',
        medicationCodeableConcept: { coding: [{ system: RXNORM, code: rx, display: name }], text: name },
        subject,
        authoredOn: day,
        requester: { reference: 'Practitioner/bench-endo' },
        dosageInstruction: [{ text: name, timing: { repeat: timing } }],
        dispenseRequest: { numberOfRepeatsAllowed: 0, quantity: { value: 15, unit: 'mL' }, expectedSupplyDuration: { value: 90, unit: 'days', system: UCUM, code: 'd' } },
      } as Resource);
    }
  }
  return out;
}

/** Fingerstick readings from the day before the order backwards, 3–6 a day (≈ 4.5), distinct times, 60–320 mg/dL. */
function smbg(c: Ctx, count: number): { readings: Resource[]; days: number } {
  const readings: Resource[] = [];
  let day = 1;
  while (readings.length < count) {
    const date = dayOffset(ORDER_DAY, -day);
    const perDay = 3 + Math.floor(c.rand() * 4);
    const minutes = new Set<number>();
    while (minutes.size < perDay) minutes.add(6 * 60 + Math.floor(c.rand() * 17 * 60));
    for (const m of [...minutes].sort((a, b) => a - b)) {
      if (readings.length === count) break;
      const at = `${date}T${pad(Math.floor(m / 60))}:${pad(m % 60)}:00-05:00`;
      readings.push(
        observation(c, `${c.patientId}-smbg-${readings.length}`, { code: '41653-7', display: 'Glucose [Mass/volume] in Capillary blood by Glucometer' }, at, qty(Math.round(between(c.rand, 60, 320)), 'mg/dL'), 'laboratory', {
          device: { display: 'Blood glucose meter' },
        }),
      );
    }
    day++;
  }
  return { readings, days: day - 1 };
}

/** Builds the record of about `size` resources (exactly `size`, SMBG readings filling the rest). */
export function buildRecord(size: number, seed = 20261124): BenchRecord {
  const patientId = `bench-${size}`;
  const subject = { reference: `Patient/${patientId}` };
  // The non-SMBG part grows with the years of history the readings span (≈ 4.5 readings a day): settle both.
  let days = 1;
  let others = 0;
  for (let i = 0; i < 5; i++) {
    others = chart({ rand: mulberry32(seed), patientId, subject }, days).length;
    days = Math.max(1, Math.round(Math.max(0, size - others) / 4.5));
  }
  const rand = mulberry32(seed ^ size);
  const c: Ctx = { rand, patientId, subject };
  const base = chart(c, days);
  const { readings, days: span } = smbg(c, Math.max(0, size - base.length));
  const resources = [...base, ...readings];

  // The prefetch an EHR would send for the service's derived discovery templates (encounters capped at 100 like the
  // template's first page).
  const prefetch = prefetchFromResources(resources, { patientId, context: { encounterId: encounterIdOf(patientId) }, fullUrlBase: EHR });

  const draft = (id: string, code: string, display: string, extra: Record<string, unknown> = {}) => ({
    resourceType: 'DeviceRequest' as const,
    id,
    status: 'draft' as const,
    intent: 'original-order' as const,
    codeCodeableConcept: { coding: [{ system: HCPCS, code, display }] },
    subject,
    authoredOn: `${ORDER_DAY}T14:05:00-05:00`,
    requester: { reference: 'Practitioner/bench-endo' },
    insurance: [{ reference: `Coverage/${patientId}-cov-mcr` }],
    reasonCode: [{ coding: [{ system: ICD10, code: 'E10.65', display: 'Type 1 diabetes mellitus with hyperglycemia' }] }],
    ...extra,
  });
  const pump = draft(`${patientId}-dr-pump`, 'E0784', 'External ambulatory infusion pump, insulin');
  const supply = draft(`${patientId}-dr-supply`, 'A4224', 'Supplies for maintenance of insulin infusion catheter, per week', { quantity: { value: 13 } });
  const draftOrders: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [pump, supply].map((r) => ({ fullUrl: `${EHR}/DeviceRequest/${r.id}`, resource: r as FhirResource })),
  };
  return {
    size,
    patientId,
    resources,
    prefetch,
    draftOrders,
    pumpRef: `DeviceRequest/${pump.id}`,
    supplyRef: `DeviceRequest/${supply.id}`,
    familyOrders: Object.fromEntries(
      FAMILIES.filter((f) => f.id !== 'insulin').map((f) => [f.id, orderBundle(familyOrders({ patientId, subject, orderDay: ORDER_DAY }, f.id), EHR)]),
    ),
    smbgReadings: readings.length,
    historyDays: span,
  };
}

export interface BodyOptions {
  /** Send the record as prefetch (default) or leave it to the service to query `fhirServer`. */
  prefetch?: boolean;
  fhirServer?: string;
  accessToken?: string;
  seed?: number;
}

/** The encounter of the order (context.encounterId): the prefetch holds its read, as the discovery template asks. */
const encounterIdOf = (patientId: string) => `${patientId}-enc-0`;

/** A CDS Hooks 2.0 request body for `hook` over `record`, as an EHR sends it. */
export function hookBody(record: BenchRecord, hook: HookKind, o: BodyOptions = {}): Record<string, unknown> {
  const rand = mulberry32((o.seed ?? 7) ^ record.size ^ (hook === 'order-sign' ? 1 : 2));
  const body: Record<string, unknown> = {
    hook,
    hookInstance: uuidFrom(rand),
    context: {
      userId: 'Practitioner/bench-endo',
      patientId: record.patientId,
      encounterId: encounterIdOf(record.patientId),
      draftOrders: record.draftOrders,
      ...(hook === 'order-select' ? { selections: [record.pumpRef] } : {}),
    },
  };
  if (o.fhirServer) {
    body.fhirServer = o.fhirServer;
    body.fhirAuthorization = {
      access_token: o.accessToken ?? 'bench-fhir-token',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'patient/Patient.read patient/Coverage.read patient/Condition.read patient/Observation.read patient/MedicationStatement.read patient/MedicationRequest.read patient/Procedure.read patient/Encounter.read patient/Device.read patient/AllergyIntolerance.read patient/QuestionnaireResponse.read',
      subject: 'pumpcheck',
      patient: record.patientId,
    };
  }
  if (o.prefetch !== false) body.prefetch = record.prefetch;
  return body;
}
