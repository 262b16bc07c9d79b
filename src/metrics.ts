// Prometheus metrics (prom-client): one registry per app instance so tests do not share state.
// With WEB_CONCURRENCY > 1 a scrape reaches one worker (the port is shared); that worker asks the primary, which
// aggregates every worker's registry (prom-client's AggregatorRegistry: counters and histograms summed, gauges by
// their aggregator), so successive scrapes read the same totals whichever worker answers.
import cluster, { type Worker } from 'node:cluster';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CdsResponse } from './cds/types.js';
import { unauthorized } from './http/errors.js';
import type { Determination } from './policy/types.js';
import { AGGREGATE_REQ, AGGREGATE_RES, isAggregateRequest, type AggregateRequest, type AggregateResponse } from './metrics-wire.js';

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

export function createMetrics(options: { defaultMetrics?: boolean; token?: string; cluster?: boolean } = {}): Metrics {
  const registry = new Registry();
  // Node's default process metrics under their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes
  // ...), which dashboards and alerts expect; summed over workers in cluster mode (process_start_time_seconds: the
  // oldest, version info: one), as prom-client's aggregators define.
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const clustered = cluster.isWorker && options.cluster !== false;
  if (clustered) {
    AggregatorRegistry.setRegistries([registry]);
    // Constructing one installs prom-client's worker-side listener that answers the primary's collection requests.
    workerAggregator ??= new AggregatorRegistry();
  }

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
    try {
      const text = clustered ? await clusterMetricsFromPrimary() : await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.send(text);
    } catch (err) {
      next(err);
    }
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

// ---------------------------------------------------------------------------------------------------------------------
// Cluster aggregation: worker → primary → every worker → primary → worker.

const AGGREGATE_TIMEOUT_MS = 6_000;

let workerAggregator: unknown;
const pendingScrapes = new Map<string, { resolve: (text: string) => void; reject: (err: Error) => void }>();
let workerListener = false;

/** In a worker: the aggregated text of every worker, computed by the primary. */
function clusterMetricsFromPrimary(): Promise<string> {
  if (!workerListener) {
    workerListener = true;
    process.on('message', (m: AggregateResponse) => {
      if (m?.type !== AGGREGATE_RES) return;
      const p = pendingScrapes.get(m.id);
      if (!p) return;
      pendingScrapes.delete(m.id);
      if (m.text !== undefined) p.resolve(m.text);
      else p.reject(new Error(`metrics aggregation failed: ${m.error ?? 'unknown'}`));
    });
  }
  const id = randomUUID();
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingScrapes.delete(id);
      reject(new Error('metrics aggregation timed out'));
    }, AGGREGATE_TIMEOUT_MS);
    timer.unref();
    pendingScrapes.set(id, {
      resolve: (t) => (clearTimeout(timer), resolve(t)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    process.send?.({ type: AGGREGATE_REQ, id } satisfies AggregateRequest);
  });
}

/**
 * In the primary (called once from src/main.ts): answers workers' scrape requests with the metrics of all workers,
 * aggregated; `held` are the requests that arrived before this module was loaded. Workers answer prom-client's own
 * collection requests for the registries they registered.
 */
export function serveClusterMetrics(held: ReadonlyArray<readonly [Worker, AggregateRequest]> = []): void {
  const aggregator = new AggregatorRegistry();
  const answer = (worker: Worker, m: unknown) => {
    if (!isAggregateRequest(m)) return;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: AGGREGATE_RES, id: m.id, text } satisfies AggregateResponse),
      (err: Error) => worker.isConnected() && worker.send({ type: AGGREGATE_RES, id: m.id, error: err.message } satisfies AggregateResponse),
    );
  };
  cluster.on('message', answer);
  for (const [worker, m] of held) answer(worker, m);
}
