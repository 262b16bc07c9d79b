// What order recognition reads from the record, in the shape of src/policy/requirements.ts's DataRequirement, for
// the prefetch / fallback derivation (the lead merges this into PolicySet.dataRequirements).
export interface OrderDataRequirement {
  type: string;
  valueSets?: string[];
  codeParam?: string;
  include?: string[];
  purpose: string[];
}

export const ORDER_DATA_REQUIREMENTS: readonly OrderDataRequirement[] = [
  { type: 'MedicationRequest', include: ['MedicationRequest:medication'], purpose: ['orders#drug (active MedicationRequest on record within 30 days)'] },
  { type: 'Medication', purpose: ['orders#drug (medicationReference)'] },
  { type: 'Encounter', include: ['Encounter:location'], purpose: ['orders#setting (Encounter.class, context.encounterId)'] },
  { type: 'Location', purpose: ['orders#setting (Location.type)'] },
  { type: 'Device', codeParam: 'type', purpose: ['orders#pumpsOnRecord (active Device)'] },
  { type: 'DeviceUseStatement', include: ['DeviceUseStatement:device'], purpose: ['orders#pumpsOnRecord (current DeviceUseStatement)'] },
];
