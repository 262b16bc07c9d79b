// Prometheus metrics (prom-client): one registry per app instance so tests do not share state.
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CdsResponse } from './cds/types.js';
import { unauthorized } from './http/errors.js';
import type { Determination } from './policy/types.js';

export interface Metrics {
  registry: Registry;
  router: Router;
  hookResult(serviceId: string, status: number, seconds: number): void;
  fhirQuery(key: string, outcome: 'ok' | 'error', seconds: number, kind?: string): void;
  determinations(serviceId: string, determinations: Determination[]): void;
  cards(serviceId: string, response: CdsResponse): void;
  /** Store queue depth and drops are read at scrape time. */
  observeStore(stats: () => { queueDepth: number; dropped: number; written: number; retries: number }): void;
}

export function createMetrics(options: { defaultMetrics?: boolean; token?: string } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pumpcheck_' });

  const requests = new Counter({
    name: 'pumpcheck_hook_requests_total',
    help: 'CDS service invocations by service and HTTP status',
    labelNames: ['service', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'pumpcheck_hook_request_duration_seconds',
    help: 'CDS service invocation latency by service and HTTP status',
    labelNames: ['service', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const fhirLatency = new Histogram({
    name: 'pumpcheck_fhir_query_duration_seconds',
    help: 'Fallback FHIR query latency by prefetch key and outcome',
    labelNames: ['key', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5],
    registers: [registry],
  });
  const fhirFailures = new Counter({
    name: 'pumpcheck_fhir_query_failures_total',
    help: 'Fallback FHIR query failures by prefetch key and kind (timeout, unreachable, http-401, ...)',
    labelNames: ['key', 'kind'],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'pumpcheck_coverage_outcomes_total',
    help: 'Coverage determinations by service, policy and outcome',
    labelNames: ['service', 'policy', 'outcome'],
    registers: [registry],
  });
  const cardCount = new Counter({
    name: 'pumpcheck_cards_total',
    help: 'Cards returned by service and indicator',
    labelNames: ['service', 'indicator'],
    registers: [registry],
  });

  const router = express.Router();
  const expected = options.token ? createHash('sha256').update(options.token).digest() : undefined;
  router.get('/metrics', async (req, res, next) => {
    if (expected) {
      const given = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
      if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
        next(unauthorized());
        return;
      }
    }
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });

  return {
    registry,
    router,
    hookResult(serviceId, status, seconds) {
      requests.inc({ service: serviceId, status: String(status) });
      latency.observe({ service: serviceId, status: String(status) }, seconds);
    },
    fhirQuery(key, outcome, seconds, kind) {
      fhirLatency.observe({ key, outcome }, seconds);
      if (outcome === 'error') fhirFailures.inc({ key, kind: kind ?? 'unknown' });
    },
    determinations(serviceId, determinations) {
      for (const d of determinations) outcomes.inc({ service: serviceId, policy: d.policy?.id ?? 'none', outcome: d.outcome });
    },
    cards(serviceId, response) {
      for (const card of response.cards) cardCount.inc({ service: serviceId, indicator: card.indicator });
    },
    observeStore(stats) {
      new Gauge({
        name: 'pumpcheck_store_queue_depth',
        help: 'Assertions waiting to be written to the database',
        registers: [registry],
        collect() {
          this.set(stats().queueDepth);
        },
      });
      // The store keeps monotonic totals; expose them as counters by adding what changed since the last scrape.
      const monotonic = (name: string, help: string, read: () => number) => {
        let seen = 0;
        new Counter({
          name,
          help,
          registers: [registry],
          collect() {
            const now = read();
            if (now > seen) this.inc(now - seen);
            seen = Math.max(seen, now);
          },
        });
      };
      monotonic('pumpcheck_store_dropped_total', 'Assertions dropped because the write queue was full', () => stats().dropped);
      monotonic('pumpcheck_store_written_total', 'Assertions written to the database', () => stats().written);
      monotonic('pumpcheck_store_retries_total', 'Assertion write attempts retried after a database failure', () => stats().retries);
    },
  };
}
