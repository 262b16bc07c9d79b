// The whole loop on a real database, for both engines: a hook call records its coverage assertion; billing looks it
// up by the coverage-assertion-id sent to the EHR; the clinician's override of the card is stored, linked to the
// assertion's criteria, counted in the analytics, and all of it survives a restart.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRouter } from '../src/http/admin.js';
import { silentLogger } from '../src/logger.js';
import type { Store } from '../src/store/index.js';
import { testApp } from './support/app.js';
import { hookBody, minimalPrefetch } from './support/requests.js';
import { createFixture, ENGINES, type EngineFixture } from './store-support.js';

const TOKEN = 'admin-token-for-flow-test-0123';
const SIGN = '/cds-services/pumpcheck-order-sign';

describe.each(ENGINES)('hook → assertion → feedback → analytics on %s', (engine) => {
  let fx: EngineFixture;
  let store: Store;
  const appFor = (s: Store) =>
    testApp({ ADMIN_TOKEN: TOKEN }, { feedbackStore: s.feedbackStore, assertionSink: s.assertionSink, adminRouter: adminRouter({ store: s, adminToken: TOKEN, logger: silentLogger }) });

  beforeAll(async () => {
    fx = await createFixture(engine);
    store = await fx.open();
  });
  afterAll(async () => {
    await store?.close();
    await fx?.dispose();
  });

  it('links everything by coverage-assertion-id and card uuid, and keeps it across a restart', async () => {
    let t = appFor(store);
    const hook = await request(t.app).post(SIGN).send(hookBody({ prefetch: minimalPrefetch() })).expect(200);
    const ext = hook.body.systemActions[0].resource.extension[0].extension as { url: string; valueString?: string }[];
    const assertionId = ext.find((e) => e.url === 'coverage-assertion-id')!.valueString!;
    const card = hook.body.cards.find((c: { indicator: string }) => c.indicator === 'warning');
    expect(card).toBeTruthy();
    await store.assertionSink.flush();

    const stored = await request(t.app).get(`/coverage-assertions/${assertionId}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
    const body = JSON.stringify(stored.body);
    expect(body).toContain('medicare-csii');
    expect(body).toContain('conditional');
    expect(body).toContain(card.uuid);
    expect(body).toContain('DeviceRequest/dr-1');
    expect(body, 'no patient id is stored').not.toContain('pt-1');

    const feedback = {
      feedback: [
        {
          card: card.uuid,
          outcome: 'overridden',
          overrideReason: { reason: { system: 'http://pumpcheck.example.org/CodeSystem/override-reason', code: 'abn-signed', display: 'Patient accepts financial responsibility (ABN signed)' } },
          outcomeTimestamp: '2026-04-01T10:15:00Z',
        },
      ],
    };
    await request(t.app).post(`${SIGN}/feedback`).send(feedback).expect(200);
    // A second delivery of the same feedback is stored once.
    const again = await request(t.app).post(`${SIGN}/feedback`).send(feedback).expect(200);
    expect(again.body.duplicates).toBe(1);

    const readAnalytics = async () =>
      (await request(t.app).get('/analytics/overrides').set('Authorization', `Bearer ${TOKEN}`).expect(200)).body.rows as {
        policyId: string;
        criterion: string;
        overridden: number;
        cardsShown: number;
        topOverrideReasons: { code: string; count: number }[];
      }[];
    const rows = (await readAnalytics()).filter((r) => r.policyId === 'medicare-csii');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.overridden).toBe(1);
      expect(row.topOverrideReasons[0]).toMatchObject({ code: 'abn-signed', count: 1 });
    }

    // Restart: close the store, open it again on the same data, and read everything back.
    t.close();
    await store.close();
    store = await fx.open();
    t = appFor(store);
    await request(t.app).get(`/coverage-assertions/${assertionId}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect((await readAnalytics()).filter((r) => r.policyId === 'medicare-csii')).toEqual(rows);
    t.close();
  });
});
