// Patients are stored only as a keyed hash, so repeat orders can be linked without keeping an identifier.
import { createHmac } from 'node:crypto';

export function patientHash(secret: string, patientId: string): string {
  return createHmac('sha256', secret).update(`Patient/${patientId}`).digest('hex');
}

/** The ordering practitioner (a `Practitioner/…` or `PractitionerRole/…` reference), keyed the same way. */
export function practitionerHash(secret: string, reference: string): string {
  return createHmac('sha256', secret).update(`practitioner:${reference}`).digest('hex');
}
