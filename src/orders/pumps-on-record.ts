// Pumps the patient already has (DESIGN §1 "pump on record"): for supply and drug refills, continued coverage and
// the count of pumps. An active Device typed with a catalogue pump code (HCPCS or SNOMED, e.g. 69805005 insulin
// pump), and the Device of a current DeviceUseStatement. Computed once per request and shared by every order.
import type { PatientRecord } from '../fhir/record.js';
import { bestEntry, isHcpcs, type OrderCatalogue } from './catalogue.js';
import { type CodedCoding, codingsOf, obj, type Obj, refString, text } from './read.js';
import type { PumpOnRecord } from './types.js';

const NONE: readonly PumpOnRecord[] = Object.freeze([]);

function pumpOf(ref: string, codings: CodedCoding[], catalogue: OrderCatalogue): PumpOnRecord | undefined {
  const hit = bestEntry(codings, catalogue);
  if (!hit || hit.entry.role !== 'pump') return undefined;
  const hcpcs = codings.find((c) => isHcpcs(c.system) && c.code.trim() !== '')?.code.trim().toUpperCase();
  return { ref, codings, ...(hcpcs ? { hcpcs } : {}), ...(hit.entry.pumpKind ? { kind: hit.entry.pumpKind } : {}) };
}

export function pumpsOnRecord(record: PatientRecord | undefined, catalogue: OrderCatalogue): readonly PumpOnRecord[] {
  if (!record) return NONE;
  const out: PumpOnRecord[] = [];
  const seen = new Set<string>();
  for (const raw of record.all('Device') as unknown[]) {
    const d = obj(raw);
    if (!d || d.status !== 'active') continue;
    const ref = `Device/${text(d.id) ?? '?'}`;
    const p = pumpOf(ref, codingsOf(d.type), catalogue);
    if (p && !seen.has(ref)) {
      seen.add(ref);
      out.push(p);
    }
  }
  for (const raw of record.all('DeviceUseStatement') as unknown[]) {
    const u = obj(raw);
    if (!u || u.status !== 'active') continue;
    const deviceRef = refString(u.device);
    const device: Obj | undefined = deviceRef ? obj(record.resolve(deviceRef) as unknown) : undefined;
    if (device && device.status !== undefined && device.status !== 'active') continue;
    // R4 names the Device by reference; R5-style senders put a concept there.
    const codings = device ? codingsOf(device.type) : codingsOf(obj(u.device)?.concept);
    const ref = device ? `Device/${text(device.id) ?? '?'}` : `DeviceUseStatement/${text(u.id) ?? '?'}`;
    if (seen.has(ref)) continue;
    const p = pumpOf(ref, codings, catalogue);
    if (p) {
      seen.add(ref);
      out.push(p);
    }
  }
  return out.length ? out : NONE;
}
