// What the loaded policies read from the patient record, as data: the prefetch templates advertised in discovery and
// the fallback queries are built from this list (src/fhir/prefetch.ts), the way HAPI FHIR derives prefetch from a
// Library's dataRequirement. A criterion that reads a resource type nobody asks for can never be met against a real
// EHR, so every reader must declare what it reads: a fact without an entry in FACT_REQUIREMENTS stops the start.
import type { PolicySet } from './loader.js';
import type { PolicyNode } from './model.js';

export interface DataRequirement {
  /** FHIR resource type read, e.g. 'Observation', 'DeviceUseStatement', 'QuestionnaireResponse'. */
  type: string;
  /** Value set ids whose codings restrict the search; absent = every resource of the type for the patient. */
  valueSets?: string[];
  /** Search parameter carrying those codes (default 'code'; 'type' for Device/Encounter, 'component-code' ...). */
  codeParam?: string;
  /** `_include` values wanted with the search, e.g. 'Observation:specimen', 'MedicationRequest:medication'. */
  include?: string[];
  /** Who needs it: "<policyId>#<criterionId> (<kind>)" — for the discovery description and the policy report. */
  purpose: string[];
}

type Params = Readonly<Record<string, unknown>>;
/** A requirement before the purpose is attached. */
type Need = Omit<DataRequirement, 'purpose'>;

/** A fact parameter naming a value set, or the default the fact itself falls back to when the parameter is absent. */
function vs(params: Params, name: string, fallback?: string): string[] {
  const v = params[name];
  if (typeof v === 'string' && v !== '' && !v.startsWith('%')) return [v];
  return fallback ? [fallback] : [];
}

// What the pump-initiation anchor and "pump on record" read (src/policy/facts/common.ts deviceUses / initiationDate /
// continuedCoverage): Devices typed in the pump value set, every DeviceUseStatement (R4 has no code on it: the device
// is a reference, resolved to its Device type) and completed insertion Procedures.
function pumpHistory(params: Params, deviceParam: string, procedureParam: string | undefined): Need[] {
  const out: Need[] = [
    { type: 'Device', valueSets: vs(params, deviceParam, 'insulin-pump-devices') },
    { type: 'DeviceUseStatement', include: ['DeviceUseStatement:device'] },
  ];
  if (procedureParam) out.push({ type: 'Procedure', valueSets: vs(params, procedureParam, 'insulin-pump-procedures') });
  return out;
}

/** Insulin regimens (csii.ts insulinUses): statements and requests, coded directly or through a referenced Medication. */
function medicationUse(): Need[] {
  return [
    { type: 'MedicationStatement', include: ['MedicationStatement:medication'] },
    { type: 'MedicationRequest', include: ['MedicationRequest:medication'] },
  ];
}

/** The Coverage period start taken as the Medicare enrollment date (csii.ts enrollmentDay). */
const COVERAGE: Need = { type: 'Coverage' };

/**
 * What each fact of src/policy/facts reads from the record, from its parameters. Kept next to the facts' own reading of
 * their params (vsParam defaults included); value sets a fact uses without a parameter are listed here as the fact
 * hard-codes them (the C-peptide's concurrent glucose and renal path).
 */
export const FACT_REQUIREMENTS: Readonly<Record<string, (params: Params) => Need[]>> = {
  // csii.ts: an active diabetes Condition, or one referenced by the order's reasonReference.
  diabetesDiagnosis: (p) => [{ type: 'Condition', valueSets: vs(p, 'valueSet', 'diabetes-dx') }],
  // Read only the draft orders.
  insulinPumpCode: () => [],
  notImplantableInsulinPump: () => [],
  supplyPumpPairing: () => [],
  // Fasting-coded C-peptide; untimed C-peptide with its Specimen (fasting status); the same-day fasting glucose; the
  // renal path (creatinine clearance, or Cockcroft-Gault from serum creatinine, body weight and the Patient).
  fastingCPeptideInsulinopenia: (p) => [
    { type: 'Observation', valueSets: vs(p, 'valueSet', 'c-peptide-fasting') },
    { type: 'Observation', valueSets: vs(p, 'untimedValueSet', 'c-peptide-untimed'), include: ['Observation:specimen'] },
    { type: 'Observation', valueSets: ['fasting-glucose', 'creatinine-clearance', 'serum-creatinine', 'body-weight'] },
    { type: 'Patient' },
  ],
  betaCellAutoantibodyPositive: (p) => [{ type: 'Observation', valueSets: vs(p, 'valueSet', 'beta-cell-autoantibodies') }],
  mdiInjectionsPerDay: (p) => [...medicationUse(), ...pumpHistory(p, 'pumpDeviceValueSet', 'pumpProcedureValueSet')],
  mdiDuration: (p) => [...medicationUse(), ...pumpHistory(p, 'pumpDeviceValueSet', 'pumpProcedureValueSet')],
  hba1cAboveDuringMdi: (p) => [
    { type: 'Observation', valueSets: vs(p, 'valueSet', 'hba1c') },
    ...medicationUse(),
    ...pumpHistory(p, 'pumpDeviceValueSet', 'pumpProcedureValueSet'),
  ],
  glucoseSelfTesting: (p) => [
    { type: 'Observation', valueSets: vs(p, 'valueSet', 'smbg-glucose') },
    ...(p.anchor === 'medicare-enrollment' ? [COVERAGE] : pumpHistory(p, 'pumpDeviceValueSet', 'pumpProcedureValueSet')),
  ],
  // Devices, DeviceUseStatements and (record) DeviceRequests of the CGM value set; the Coverage for criterion D.
  cgmUse: (p) => [
    { type: 'Device', valueSets: vs(p, 'valueSet', 'cgm-devices') },
    { type: 'DeviceUseStatement', include: ['DeviceUseStatement:device'] },
    { type: 'DeviceRequest', valueSets: vs(p, 'valueSet', 'cgm-devices') },
    ...(p.anchor === 'medicare-enrollment' ? [COVERAGE] : []),
  ],
  insulinPumpBeforeMedicare: (p) => [COVERAGE, ...pumpHistory(p, 'deviceValueSet', 'procedureValueSet')],
  // Current pumps (continued coverage) and every finished Encounter.
  continuedCoverageVisit: (p) => [...pumpHistory(p, 'deviceValueSet', undefined), { type: 'Encounter' }],
  // documentation.ts
  documentationAttested: () => [{ type: 'QuestionnaireResponse' }],
  procedureCompleted: (p) => [
    { type: 'Procedure', valueSets: vs(p, 'valueSet') },
    { type: 'Encounter', valueSets: vs(p, 'valueSet'), codeParam: 'type' },
  ],
  conditionDocumented: (p) => [{ type: 'Condition', valueSets: vs(p, 'valueSet') }],
};

/**
 * What the engine and order recognition read whatever the policies: the Patient and the Coverage (payer, enrollment),
 * the encounter (home vs institutional setting), pumps on record (supply and drug refills), active prescriptions
 * (identifying the drug of a pump order) with their Medication, and service requests (implant and refill procedures).
 */
export const ORDER_MODEL_REQUIREMENTS: readonly DataRequirement[] = [
  { type: 'Patient', purpose: ['engine (patient)'] },
  { type: 'Coverage', purpose: ['engine (coverage and payer)'] },
  { type: 'Encounter', purpose: ['order model (setting)'] },
  { type: 'Device', purpose: ['order model (pumps on record)'] },
  { type: 'MedicationRequest', include: ['MedicationRequest:medication'], purpose: ['order model (drug identification)'] },
  { type: 'ServiceRequest', purpose: ['order model (procedure orders)'] },
];

function walk(node: PolicyNode, visit: (leaf: PolicyNode) => void): void {
  if (node.kind === 'allOf' || node.kind === 'anyOf' || node.kind === 'firstDocumented') for (const c of node.children) walk(c, visit);
  else if (node.kind === 'not') walk(node.child, visit);
  else visit(node);
}

/**
 * Every data requirement of the loaded policies (one entry per criterion and type read) followed by the order model's.
 * Throws for a fact that declares no requirements: its data would never be asked for.
 */
export function deriveDataRequirements(policySet: Pick<PolicySet, 'policies'> & { dataRequirements?: readonly DataRequirement[] }): DataRequirement[] {
  const out: DataRequirement[] = [];
  // The loader collects what every kind and fact declares (src/policy/kinds): that list is authoritative. The walk
  // below only serves policy sets built without the loader (tests), whose leaves are bare facts or FHIRPath.
  if (policySet.dataRequirements) out.push(...policySet.dataRequirements.map((r) => ({ ...r, purpose: [...r.purpose] })));
  else for (const policy of policySet.policies) {
    walk(policy.criteria, (leaf) => {
      const purpose = (kind: string) => [`${policy.id}#${leaf.id} (${kind})`];
      if (leaf.kind === 'fact') {
        const declare = Object.hasOwn(FACT_REQUIREMENTS, leaf.fact) ? FACT_REQUIREMENTS[leaf.fact] : undefined;
        if (!declare) throw new Error(`${policy.file}: fact "${leaf.fact}" (criterion ${leaf.id}) declares no data requirements`);
        for (const need of declare(leaf.params)) out.push({ ...need, purpose: purpose(leaf.fact) });
      } else if (leaf.kind === 'fhirpath') {
        const spec = leaf.fhirpath;
        out.push({ type: spec.resourceType, ...(spec.valueSet ? { valueSets: [spec.valueSet] } : {}), purpose: purpose('fhirpath') });
      }
    });
  }
  return [...out, ...ORDER_MODEL_REQUIREMENTS.map((r) => ({ ...r, purpose: [...r.purpose] }))];
}
