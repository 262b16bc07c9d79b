// The sandbox's patients: every example patient of test/fixtures/scenarios.ts, with the record's dates moved so that
// the examples' order date (2026-04-01) falls on today — orders signed in the sandbox are dated today, and a form
// filled today must be on or before the order date to count. Plus one patient who qualifies in every coded respect
// but has no documentation form on file yet: the form round trip turns that order from conditional to covered.
import type { Resource } from 'fhir/r4';
import { allScenarios, ORDER_DATE, type Scenario } from '../test/fixtures/scenarios.js';

const DAY_MS = 86_400_000;
const FULL_DATE = /^(\d{4}-\d{2}-\d{2})(T.*)?$/;

export interface SandboxPatient {
  id: string;
  title: string;
  expected: string;
  /** Draft order the situation was written for (pump HCPCS, drug, supplies) — the composer's starting point. */
  order: { pump?: string; drug?: string; supplies: string[] };
}

/** Days from the examples' order date to `today` (YYYY-MM-DD). */
export function shiftDays(today: string): number {
  return Math.round((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${ORDER_DATE}T00:00:00Z`)) / DAY_MS);
}

/** Every full date / dateTime string in a resource moved by `days` (partial dates and other strings untouched). */
export function shiftDates<T>(value: T, days: number): T {
  if (days === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const m = FULL_DATE.exec(v);
      if (!m) return v;
      const day = new Date(Date.parse(`${m[1]}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
      if (!m[2]) return day;
      const t = Date.parse(v);
      return Number.isNaN(t) ? v : new Date(t + days * DAY_MS).toISOString().replace('.000Z', 'Z');
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** A copy of a scenario's record under new ids (every id gets `suffix`, every reference to them follows). */
function renamed(resources: Resource[], suffix: string): Resource[] {
  const ids = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (key === 'reference' && ids.has(v)) return `${v}${suffix}`;
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'id' ? `${x}${suffix}` : walk(x, k)]));
    return v;
  };
  return resources.map((r) => walk(r) as Resource);
}

const HCPCS_CODE = (r: Resource) => (r as { codeCodeableConcept?: { coding?: { code?: string }[] } }).codeCodeableConcept?.coding?.[0]?.code;
const RX_CODE = (r: Resource) => (r as { medicationCodeableConcept?: { coding?: { code?: string }[] } }).medicationCodeableConcept?.coding?.[0]?.code;

function orderOf(s: Scenario): SandboxPatient['order'] {
  const devices = s.draftOrders.filter((r) => r.resourceType === 'DeviceRequest').map(HCPCS_CODE).filter((c): c is string => !!c);
  const pump = devices.find((c) => c.startsWith('E'));
  const drug = s.draftOrders.filter((r) => r.resourceType === 'MedicationRequest').map(RX_CODE).find(Boolean);
  return { ...(pump ? { pump } : {}), ...(drug ? { drug } : {}), supplies: devices.filter((c) => c.startsWith('A')) };
}

export const NEEDS_DOCUMENTATION_ID = 'pt-needs-documentation';

export function sandboxRecords(today: string): { resources: Resource[]; patients: SandboxPatient[] } {
  const days = shiftDays(today);
  const scenarios = allScenarios();
  const resources: Resource[] = [];
  const patients: SandboxPatient[] = [];
  for (const s of scenarios) {
    resources.push(...s.patientResources.map((r) => shiftDates(r, days)));
    patients.push({ id: s.patientId, title: s.title, expected: s.expected.outcome, order: orderOf(s) });
  }
  const base = scenarios.find((s) => s.slug === 'criteria-met');
  if (base) {
    const copy = renamed(
      base.patientResources.filter((r) => r.resourceType !== 'QuestionnaireResponse'),
      '-nd',
    ).map((r) => shiftDates(r, days));
    const patient = copy.find((r) => r.resourceType === 'Patient') as { id?: string; name?: { given?: string[]; family?: string }[] } | undefined;
    if (patient) {
      patient.id = NEEDS_DOCUMENTATION_ID;
      patient.name = [{ given: ['Jordan'], family: 'Needs-Documentation' }];
      const oldRef = `Patient/${base.patientId}-nd`;
      const fixed = JSON.parse(JSON.stringify(copy).split(`"${oldRef}"`).join(`"Patient/${NEEDS_DOCUMENTATION_ID}"`)) as Resource[];
      resources.push(...fixed);
      patients.unshift({
        id: NEEDS_DOCUMENTATION_ID,
        title:
          'Qualifies by every coded criterion (MDI pathway), but the documentation form has not been filled: education, dose self-adjustment and the CSII-team attestation are not on file — conditional until the form is completed',
        expected: 'conditional',
        order: orderOf(base),
      });
    }
  }
  return { resources, patients };
}
