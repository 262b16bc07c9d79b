// Builders for CDS Hooks request bodies shaped as real EHRs send them.
import { randomUUID } from 'node:crypto';
import type { Bundle, Coverage, DeviceRequest, FhirResource, MedicationRequest, Patient } from 'fhir/r4';

export { HCPCS_CRD as HCPCS } from '../../src/fhir/systems.js';
import { HCPCS_CRD as HCPCS } from '../../src/fhir/systems.js';
import { nullPrefetch } from './prefetch.js';

export function pumpOrder(id: string, code = 'E0784', extra: Partial<DeviceRequest> = {}): DeviceRequest {
  return {
    resourceType: 'DeviceRequest',
    id,
    status: 'draft',
    intent: 'original-order',
    codeCodeableConcept: { coding: [{ system: HCPCS, code, display: 'External ambulatory infusion pump, insulin' }] },
    subject: { reference: 'Patient/pt-1' },
    authoredOn: '2026-04-01T10:12:00Z',
    requester: { reference: 'PractitionerRole/pr-1' },
    ...extra,
  };
}

export function nonPumpOrder(id: string): MedicationRequest {
  return {
    resourceType: 'MedicationRequest',
    id,
    status: 'draft',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361', display: 'amlodipine 5 MG Oral Tablet' }] },
    subject: { reference: 'Patient/pt-1' },
    authoredOn: '2026-04-01T10:12:00Z',
    requester: { reference: 'PractitionerRole/pr-1' },
  };
}

export const patient = (id = 'pt-1'): Patient => ({ resourceType: 'Patient', id, gender: 'female', birthDate: '1955-03-02' });

export const medicareCoverage = (patientId = 'pt-1', id = 'cov-mcr-1'): Coverage => ({
  resourceType: 'Coverage',
  id,
  status: 'active',
  beneficiary: { reference: `Patient/${patientId}` },
  payor: [{ reference: 'Organization/cms', display: 'Medicare' }],
  type: { coding: [{ system: 'https://nahdo.org/sopt', code: '1', display: 'MEDICARE' }] },
  class: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/coverage-class', code: 'plan' }] }, value: 'Medicare Part B' }],
  period: { start: '2020-01-01' },
});

export function searchset(resources: FhirResource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: resources.map((r) => ({ fullUrl: `https://ehr.example.org/fhir/${r.resourceType}/${r.id}`, resource: r })),
  };
}

export interface HookBodyOptions {
  hook?: 'order-sign' | 'order-select';
  patientId?: string;
  orders?: FhirResource[];
  selections?: string[];
  prefetch?: Record<string, FhirResource | null>;
  fhirServer?: string;
  accessToken?: string;
  extension?: Record<string, unknown>;
}

export function hookBody(o: HookBodyOptions = {}): Record<string, unknown> {
  const orders = o.orders ?? [pumpOrder('dr-1')];
  const body: Record<string, unknown> = {
    hook: o.hook ?? 'order-sign',
    hookInstance: randomUUID(),
    context: {
      userId: 'PractitionerRole/pr-1',
      patientId: o.patientId ?? 'pt-1',
      draftOrders: {
        resourceType: 'Bundle',
        type: 'collection',
        entry: orders.map((r) => ({ fullUrl: `https://ehr.example.org/fhir/${r.resourceType}/${r.id}`, resource: r })),
      },
      ...(o.hook === 'order-select' ? { selections: o.selections ?? orders.map((r) => `${r.resourceType}/${r.id}`) } : {}),
    },
  };
  if (o.prefetch) body.prefetch = o.prefetch;
  if (o.fhirServer) {
    body.fhirServer = o.fhirServer;
    body.fhirAuthorization = {
      access_token: o.accessToken ?? 'test-token',
      token_type: 'Bearer',
      expires_in: 30,
      scope: 'user/Patient.read user/Coverage.read user/Observation.read',
      subject: 'pumpcheck',
    };
  }
  if (o.extension) body.extension = o.extension;
  return body;
}

/** Every prefetch key the service advertises answered "no data" except patient and coverage. */
export function minimalPrefetch(patientId = 'pt-1'): Record<string, FhirResource | null> {
  return nullPrefetch({ patient: patient(patientId), coverage: searchset([medicareCoverage(patientId)]) });
}
