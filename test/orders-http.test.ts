// The whole pump order over HTTP through the real app: a ServiceRequest refill order and a pump whose drug comes from
// a basedOn companion are recognised. What recognition produced is read from the cards (the order's name and noun
// from the catalogue) and from the 'hook evaluated' log line.
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import type { Card } from '../src/cds/types.js';
import { testApp } from './support/app.js';
import { HCPCS, hookBody, minimalPrefetch } from './support/requests.js';

const lines: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
const t = testApp({}, { logger });
afterAll(() => t.close());

describe('pump orders beyond DeviceRequest + MedicationRequest (issue 8 item 6)', () => {
  it('recognises a ServiceRequest refill and a pump whose drug is its basedOn MedicationRequest', async () => {
    const orders = [
      {
        resourceType: 'ServiceRequest', id: 'sr-refill', status: 'draft', intent: 'order', subject: { reference: 'Patient/pt-1' },
        groupIdentifier: { value: 'refill-set' }, code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }] },
        insurance: [{ reference: 'Coverage/cov-mcr-1' }],
      },
      {
        resourceType: 'DeviceRequest', id: 'dr-pump', status: 'draft', intent: 'original-order', subject: { reference: 'Patient/pt-1' },
        groupIdentifier: { value: 'pain-set' }, basedOn: [{ reference: 'MedicationRequest/mr-morphine' }],
        codeCodeableConcept: { coding: [{ system: HCPCS, code: 'E0779' }] }, insurance: [{ reference: 'Coverage/cov-mcr-1' }],
      },
      {
        resourceType: 'MedicationRequest', id: 'mr-morphine', status: 'draft', intent: 'order', subject: { reference: 'Patient/pt-1' },
        groupIdentifier: { value: 'pain-set' }, medicationCodeableConcept: { text: 'Morphine sulfate 1 mg/mL in NS, continuous infusion' },
      },
    ];
    const res = await request(t.app).post('/cds-services/pumpcheck-order-sign').send(hookBody({ orders: orders as never, prefetch: minimalPrefetch() })).expect(200);
    const cards = res.body.cards as Card[];
    // Cards name orders in clinical words (never their resource ids) and are tied to them by associated-resource.
    const about = (c: Card, ref: string) => ((c as { extension?: Record<string, { reference?: string }[]> }).extension?.['davinci-crd.associated-resource'] ?? []).some((r) => r.reference === ref);
    const refill = cards.find((c) => about(c, 'ServiceRequest/sr-refill'));
    expect(refill?.detail).toMatch(/95990 Refilling and maintenance of implantable pump/);
    expect(refill?.detail).not.toContain('sr-refill');
    // Issue 10: a refill visit is judged by the Medicare refill policy (its documentation checklist, billed to the A/B MAC).
    expect(refill?.summary).toMatch(/^Pump refill procedure 95990: /);
    expect(refill?.detail).toMatch(/A\/B MAC, not the DME MAC/);
    // The E0779 pump is judged by the Medicare external-pump policies now (no "no policy" card for it).
    expect(cards.some((c) => about(c, 'DeviceRequest/dr-pump') && /No coverage policy/.test(c.summary))).toBe(false);

    const evaluated = lines.map((l) => JSON.parse(l) as { msg: string; outcomes?: Record<string, string>[] }).find((l) => l.msg === 'hook evaluated');
    expect(evaluated?.outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ order: 'ServiceRequest/sr-refill', role: 'procedure', drug: 'not-identified', outcome: 'conditional', policies: ['medicare-implantable-refill'] }),
        expect.objectContaining({ order: 'DeviceRequest/dr-pump', role: 'pump', drug: 'identified', drugSource: 'companion', setting: 'unknown', settingSource: 'none', policies: expect.arrayContaining(['medicare-external-general', 'medicare-ind3-morphine-cancer-pain']) }),
      ]),
    );
    // No PHI in that line: no drug names, no patient id.
    const raw = lines.find((l) => l.includes('hook evaluated'))!;
    // Policy ids are configuration (they may name a drug class, e.g. medicare-ind3-morphine-cancer-pain), not patient data.
    expect(raw.replace(/"policies":\[[^\]]*\]/g, '')).not.toMatch(/morphine|pt-1/i);
  });
});
