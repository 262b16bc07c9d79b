// GET /metrics: Prometheus text with request, FHIR fallback, card, outcome and store-queue series.
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.js';
import { testApp } from './support/app.js';
import { startFhirServer } from './support/fhir-server.js';
import { hookBody, medicareCoverage, minimalPrefetch, patient } from './support/requests.js';

describe('GET /metrics', () => {
  const metrics = createMetrics({ defaultMetrics: false });
  metrics.observeStore(() => ({ queueDepth: 3, dropped: 2, written: 7, retries: 0 }));
  const t = testApp({}, { metrics });
  afterAll(() => t.close());

  it('counts hook calls, outcomes, cards by indicator, fallback queries and the store queue', async () => {
    const fhir = await startFhirServer({ resources: [patient(), medicareCoverage()] });
    try {
      await request(t.app).post('/cds-services/pumpcheck-order-sign').send(hookBody({ prefetch: minimalPrefetch() })).expect(200);
      await request(t.app).post('/cds-services/pumpcheck-order-sign').send(hookBody({ fhirServer: fhir.url })).expect(200);
      await request(t.app).post('/cds-services/pumpcheck-order-sign').send({}).expect(400);
    } finally {
      await fhir.close();
    }
    const res = await request(t.app).get('/metrics').expect(200).expect('content-type', /text\/plain/);
    const text = res.text;
    expect(text).toMatch(/pumpcheck_hook_requests_total\{service="pumpcheck-order-sign",status="200"\} 2/);
    expect(text).toMatch(/pumpcheck_hook_requests_total\{service="pumpcheck-order-sign",status="400"\} 1/);
    expect(text).toMatch(/pumpcheck_hook_request_duration_seconds_count\{service="pumpcheck-order-sign",status="200"\} 2/);
    expect(text).toMatch(/pumpcheck_coverage_outcomes_total\{service="pumpcheck-order-sign",policy="medicare-csii",outcome="conditional"\} 2/);
    expect(text).toMatch(/pumpcheck_cards_total\{service="pumpcheck-order-sign",indicator="warning"\} 2/);
    expect(text).toMatch(/pumpcheck_fhir_query_duration_seconds_count\{key="observations",outcome="ok"\} 1/);
    expect(text).toMatch(/pumpcheck_store_queue_depth 3/);
    expect(text).toMatch(/pumpcheck_store_dropped_total 2/);
  });

  it('counts fallback failures by kind', async () => {
    const fhir = await startFhirServer({ resources: [patient(), medicareCoverage()], failWith: 'garbage', only: ['Observation'] });
    try {
      await request(t.app).post('/cds-services/pumpcheck-order-sign').send(hookBody({ fhirServer: fhir.url })).expect(200);
    } finally {
      await fhir.close();
    }
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    expect(text).toMatch(/pumpcheck_fhir_query_failures_total\{key="observations",kind="garbage"\} 1/);
  });
});

describe('METRICS_TOKEN', () => {
  const metrics = createMetrics({ defaultMetrics: false, token: 'scrape-token-0123456789' });
  const t = testApp({}, { metrics });
  afterAll(() => t.close());

  it('requires the bearer token when configured', async () => {
    await request(t.app).get('/metrics').expect(401);
    await request(t.app).get('/metrics').set('Authorization', 'Bearer wrong').expect(401);
    await request(t.app).get('/metrics').set('Authorization', 'Bearer scrape-token-0123456789').expect(200);
  });
});
