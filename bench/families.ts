// Every pump family in the benchmark, not only insulin: the synthetic patient's chart also carries what an inotrope,
// epoprostenol, SCIg, chemotherapy, implantable baclofen and intrathecal-refill order is judged on (a few conditions,
// a haemodynamic measurement, oral antispasmodics, an implanted pump), and each family has its own order set. The
// engine is timed per family over the same record at every size, so the targets hold with every policy loaded and
// for every kind of order, and policy selection is exercised with many policies in the set.
import type { Bundle, FhirResource, Resource } from 'fhir/r4';

import { CPT, HCPCS_CRD as HCPCS, ICD10CM as ICD10, LOINC, RXNORM, SNOMED, UCUM } from '../src/fhir/systems.js';

export interface PumpFamily {
  id: string;
  title: string;
}

export const FAMILIES: PumpFamily[] = [
  { id: 'insulin', title: 'insulin pump E0784 + supplies A4224 (CSII)' },
  { id: 'inotrope', title: 'milrinone on E0781 (indication V situation D)' },
  { id: 'epoprostenol', title: 'epoprostenol on K0455 (situation E)' },
  { id: 'scig', title: 'Hizentra on E0779 (situation H)' },
  { id: 'chemotherapy', title: 'fluorouracil on E0781 (indication II)' },
  { id: 'baclofen-implant', title: 'implantable pump E0783 + implant 62362 + intrathecal baclofen' },
  { id: 'opioid-refill', title: 'intrathecal morphine refill 95990 on an implanted pump' },
];

interface Who {
  patientId: string;
  subject: { reference: string };
  orderDay: string;
}

const dayOffset = (day: string, days: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

function condition(w: Who, id: string, code: string, display: string, onset: string): Resource {
  return {
    resourceType: 'Condition',
    id: `${w.patientId}-${id}`,
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: { coding: [{ system: ICD10, code, display }], text: display },
    subject: w.subject,
    onsetDateTime: onset,
    recordedDate: onset,
  } as Resource;
}

/** The resources the non-insulin families are judged on (about 15; the SMBG readings fill the rest of the size). */
export function familyChart(w: Who): Resource[] {
  const at = `${dayOffset(w.orderDay, -60)}T10:00:00-05:00`;
  return [
    condition(w, 'dx-hf', 'I50.84', 'End stage heart failure', '2024-02-01'),
    condition(w, 'dx-pah', 'I27.0', 'Primary pulmonary hypertension', '2023-06-12'),
    condition(w, 'dx-cvid', 'D83.9', 'Common variable immunodeficiency, unspecified', '2019-10-03'),
    condition(w, 'dx-crc', 'C18.7', 'Malignant neoplasm of sigmoid colon', '2025-08-20'),
    condition(w, 'dx-liver-mets', 'C78.7', 'Secondary malignant neoplasm of liver', '2025-09-02'),
    condition(w, 'dx-spasticity', 'G80.0', 'Spastic quadriplegic cerebral palsy', '1960-01-01'),
    condition(w, 'dx-pain', 'G89.29', 'Other chronic pain', '2022-04-04'),
    {
      resourceType: 'Observation',
      id: `${w.patientId}-mpap`,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'procedure' }] }],
      code: { coding: [{ system: LOINC, code: '8414-5', display: 'Pulmonary artery Mean blood pressure' }] },
      subject: w.subject,
      effectiveDateTime: at,
      valueQuantity: { value: 42, unit: 'mm[Hg]', system: UCUM, code: 'mm[Hg]' },
    } as Resource,
    {
      resourceType: 'MedicationStatement',
      id: `${w.patientId}-ms-oral-baclofen`,
      status: 'stopped',
      statusReason: [{ text: 'not tolerated' }],
      medicationCodeableConcept: { coding: [{ system: RXNORM, code: '1292', display: 'baclofen' }], text: 'baclofen 20 mg oral tablet' },
      subject: w.subject,
      effectivePeriod: { start: dayOffset(w.orderDay, -200), end: dayOffset(w.orderDay, -100) },
      dosage: [{ route: { coding: [{ system: SNOMED, code: '26643006', display: 'Oral route' }] } }],
    } as Resource,
    {
      resourceType: 'Procedure',
      id: `${w.patientId}-proc-it-trial`,
      status: 'completed',
      code: { coding: [{ system: CPT, code: '62323', display: 'Injection, including indwelling catheter placement, lumbar (intrathecal trial)' }] },
      subject: w.subject,
      performedDateTime: dayOffset(w.orderDay, -20),
      outcome: { text: 'favourable response to the intrathecal trial dose' },
    } as Resource,
    {
      resourceType: 'Device',
      id: `${w.patientId}-dev-implanted-pump`,
      status: 'active',
      type: { coding: [{ system: HCPCS, code: 'E0783', display: 'Infusion pump system, implantable, programmable' }] },
      patient: w.subject,
    } as Resource,
  ];
}

function draft(w: Who, type: 'DeviceRequest' | 'ServiceRequest' | 'MedicationRequest', id: string, coding: { system: string; code: string; display: string }, group: string, extra: Record<string, unknown> = {}): Resource {
  const base: Record<string, unknown> = {
    resourceType: type,
    id: `${w.patientId}-${id}`,
    status: 'draft',
    intent: type === 'DeviceRequest' ? 'original-order' : 'order',
    subject: w.subject,
    authoredOn: `${w.orderDay}T14:05:00-05:00`,
    requester: { reference: 'Practitioner/bench-endo' },
    insurance: [{ reference: `Coverage/${w.patientId}-cov-mcr` }],
    groupIdentifier: { value: group },
    ...extra,
  };
  const concept = { coding: [coding], text: coding.display };
  if (type === 'DeviceRequest') base.codeCodeableConcept = concept;
  else if (type === 'ServiceRequest') base.code = concept;
  else base.medicationCodeableConcept = concept;
  return base as unknown as Resource;
}

/** The draft orders of one family, as the clinician signs them together (one order set). */
export function familyOrders(w: Who, family: string): Resource[] {
  const home = { note: [{ text: 'Setting: home' }] };
  switch (family) {
    case 'inotrope':
      return [
        draft(w, 'DeviceRequest', 'ino-pump', { system: HCPCS, code: 'E0781', display: 'Ambulatory infusion pump, single or multiple channels' }, 'ino', home),
        draft(w, 'MedicationRequest', 'ino-drug', { system: RXNORM, code: '52769', display: 'milrinone' }, 'ino'),
      ];
    case 'epoprostenol':
      return [
        draft(w, 'DeviceRequest', 'pah-pump', { system: HCPCS, code: 'K0455', display: 'Infusion pump used for uninterrupted parenteral administration of medication' }, 'pah', home),
        draft(w, 'MedicationRequest', 'pah-drug', { system: RXNORM, code: '8814', display: 'epoprostenol' }, 'pah'),
      ];
    case 'scig':
      return [
        draft(w, 'DeviceRequest', 'scig-pump', { system: HCPCS, code: 'E0779', display: 'Ambulatory infusion pump, mechanical, reusable, for infusion 8 hours or greater' }, 'scig', home),
        draft(w, 'MedicationRequest', 'scig-drug', { system: HCPCS, code: 'J1559', display: 'Injection, immune globulin (Hizentra), 100 mg' }, 'scig'),
      ];
    case 'chemotherapy':
      return [
        draft(w, 'DeviceRequest', 'chemo-pump', { system: HCPCS, code: 'E0781', display: 'Ambulatory infusion pump, single or multiple channels' }, 'chemo', home),
        draft(w, 'MedicationRequest', 'chemo-drug', { system: RXNORM, code: '4492', display: 'fluorouracil' }, 'chemo'),
      ];
    case 'baclofen-implant':
      return [
        draft(w, 'DeviceRequest', 'it-pump', { system: HCPCS, code: 'E0783', display: 'Infusion pump system, implantable, programmable' }, 'it'),
        draft(w, 'ServiceRequest', 'it-implant', { system: CPT, code: '62362', display: 'Implantation or replacement of device for intrathecal or epidural drug infusion; programmable pump' }, 'it'),
        draft(w, 'MedicationRequest', 'it-drug', { system: RXNORM, code: '1292', display: 'baclofen (intrathecal)' }, 'it'),
      ];
    case 'opioid-refill':
      return [
        draft(w, 'ServiceRequest', 'refill', { system: CPT, code: '95990', display: 'Refilling and maintenance of implantable pump or reservoir for drug delivery, spinal or brain' }, 'refill'),
        draft(w, 'MedicationRequest', 'refill-drug', { system: RXNORM, code: '7052', display: 'morphine (preservative-free, intrathecal)' }, 'refill'),
      ];
    default:
      throw new Error(`unknown family ${family}`);
  }
}

export function orderBundle(orders: Resource[], ehrBase: string): Bundle {
  return { resourceType: 'Bundle', type: 'collection', entry: orders.map((r) => ({ fullUrl: `${ehrBase}/${r.resourceType}/${r.id}`, resource: r as FhirResource })) };
}
