// The messages a worker and the cluster primary exchange for an aggregated /metrics scrape (src/metrics.ts). Kept
// apart, without dependencies, so the primary can hold early requests before it has loaded prom-client (src/main.ts).

export const AGGREGATE_REQ = 'pumpcheck:metrics-req';
export const AGGREGATE_RES = 'pumpcheck:metrics-res';

export interface AggregateRequest {
  type: typeof AGGREGATE_REQ;
  id: string;
}

export interface AggregateResponse {
  type: typeof AGGREGATE_RES;
  id: string;
  text?: string;
  error?: string;
}

export function isAggregateRequest(m: unknown): m is AggregateRequest {
  const r = m as Partial<AggregateRequest> | null;
  return r?.type === AGGREGATE_REQ && typeof r.id === 'string';
}
