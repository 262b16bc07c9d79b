// Where the pump will be used: home or institutional. Medicare's DME benefit covers items "furnished for use in a
// patient's home", and a hospital or SNF "cannot be considered the member's home" (UHC MCS051.01, Part B vs Part D;
// NCD 280.14 B.1.b heparin: institutional only; B.1.e CSII: home setting). Read, in order:
//   1. the encounter (the order's `encounter`, else context.encounterId): Encounter.class (v3 ActCode)
//        IMP, ACUTE, NONAC, SS (inpatient, short stay)            → institutional
//        HH (home health), AMB (ambulatory), VR (virtual), FLD    → home: an order placed outside an inpatient stay is
//                                                                   for use where the patient lives
//        EMER, OBSENC, PRENC and anything else                    → not decided by the class (admission or discharge
//                                                                   both possible): the location is read next
//   2. the encounter's Location.type (v3 RoleCode HOSP, GACH, HU, RH, PSYCHF, SNF, CHR; CMS place of service 21, 31,
//      51, 61 → institutional; PTRES, place of service 12, 13, 14 → home);
//   3. the order's request category (MedicationRequest/ServiceRequest.category, or a category extension on a
//      DeviceRequest, which has no category element in R4): medicationrequest-category inpatient → institutional,
//      community / discharge → home;
//   4. else unknown, with the assumption stated.
// One result per encounter, shared by every order that points at it.
import type { PatientRecord } from '../fhir/record.js';
import { arr, codingsOf, obj, type Obj, objs, refString, str } from './read.js';
import type { OrderSetting } from './types.js';

const CLASS_INSTITUTIONAL = new Set(['IMP', 'ACUTE', 'NONAC', 'SS']);
const CLASS_HOME = new Set(['HH', 'AMB', 'VR', 'FLD']);
const LOCATION_INSTITUTIONAL = new Set(['HOSP', 'GACH', 'HU', 'RH', 'PSYCHF', 'SNF', 'CHR', '21', '31', '51', '61']);
const LOCATION_HOME = new Set(['PTRES', '12', '13', '14']);
const CATEGORY_INSTITUTIONAL = new Set(['inpatient']);
const CATEGORY_HOME = new Set(['community', 'discharge']);

export const SETTING_UNKNOWN: OrderSetting = Object.freeze({
  value: 'unknown',
  source: 'none',
  detail: 'no encounter class, location type or request category says where the pump is used: home use is not confirmed',
}) as OrderSetting;

function fromClass(encounter: Obj): OrderSetting | undefined {
  // R4 Encounter.class is one Coding; tolerate an array or a CodeableConcept as senders get it wrong.
  const raw = encounter.class;
  const candidates = Array.isArray(raw) ? objs(raw) : [obj(raw)].filter((x): x is Obj => !!x);
  for (const c of candidates) {
    const codes = typeof c.code === 'string' ? [c.code] : codingsOf(c).map((x) => x.code);
    for (const code of codes) {
      const k = code.trim().toUpperCase();
      if (CLASS_INSTITUTIONAL.has(k)) return { value: 'institutional', source: 'encounter', detail: `Encounter.class ${k}` };
      if (CLASS_HOME.has(k)) return { value: 'home', source: 'encounter', detail: `Encounter.class ${k}` };
    }
  }
  return undefined;
}

function fromLocation(encounter: Obj, record: PatientRecord): OrderSetting | undefined {
  for (const l of objs(encounter.location)) {
    const ref = refString(l.location);
    const loc = obj(ref ? (record.resolve(ref) as unknown) : undefined);
    if (!loc) continue;
    for (const cc of arr(loc.type)) {
      for (const c of codingsOf(cc)) {
        const k = c.code.trim().toUpperCase();
        if (LOCATION_INSTITUTIONAL.has(k)) return { value: 'institutional', source: 'location', detail: `Location.type ${k}` };
        if (LOCATION_HOME.has(k)) return { value: 'home', source: 'location', detail: `Location.type ${k}` };
      }
    }
  }
  return undefined;
}

function fromCategory(order: Obj): OrderSetting | undefined {
  const concepts: unknown[] = [...arr(order.category)];
  for (const ext of objs(order.extension)) {
    const url = str(ext.url) ?? '';
    if (!/category|setting/i.test(url)) continue;
    if (ext.valueCodeableConcept !== undefined) concepts.push(ext.valueCodeableConcept);
    if (obj(ext.valueCoding)) concepts.push({ coding: [ext.valueCoding] });
  }
  for (const cc of concepts) {
    for (const c of codingsOf(cc)) {
      const k = c.code.trim().toLowerCase();
      if (CATEGORY_INSTITUTIONAL.has(k)) return { value: 'institutional', source: 'crd-category', detail: `request category ${k}` };
      if (CATEGORY_HOME.has(k)) return { value: 'home', source: 'crd-category', detail: `request category ${k}` };
    }
  }
  return undefined;
}

/** A per-request reader: order → setting, memoised per encounter. */
export function createSettingReader(record: PatientRecord | undefined, contextEncounterId: unknown): (order: Obj) => OrderSetting {
  const byEncounter = new Map<string, OrderSetting | undefined>();
  const contextRef = typeof contextEncounterId === 'string' && contextEncounterId.trim() ? `Encounter/${contextEncounterId.trim()}` : undefined;
  const encounterSetting = (ref: string | undefined): OrderSetting | undefined => {
    if (!ref || !record) return undefined;
    if (byEncounter.has(ref)) return byEncounter.get(ref);
    const enc = obj(record.resolve(ref) as unknown);
    const s = enc && enc.resourceType === 'Encounter' ? (fromClass(enc) ?? fromLocation(enc, record)) : undefined;
    byEncounter.set(ref, s);
    return s;
  };
  return (order) => {
    const own = refString(order.encounter);
    return encounterSetting(own && /Encounter\//.test(own) ? own : undefined) ?? encounterSetting(contextRef) ?? fromCategory(order) ?? SETTING_UNKNOWN;
  };
}

