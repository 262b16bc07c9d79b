// Builds every dependency of the app from a Config: policies, hooks, authentication, store. main.ts and the
// integration tests both use it, so tests run the service exactly as deployed (with their own store and fetch).
import type { Express } from 'express';
import { createHookServices } from '../hooks/index.js';
import { createApp } from './app.js';
import { createJwtVerifier } from './auth/verifier.js';
import type { Config } from './config.js';
import { buildPrefetchTemplates, type PrefetchTemplate } from './fhir/prefetch.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { allFacts } from './policy/facts/index.js';
import { loadPolicySet, readParameterOverrides, type PolicySet } from './policy/loader.js';
import { loadOrderCatalogue } from './policy/orders.js';
import { deriveDataRequirements } from './policy/requirements.js';
import type { AssertionSink, FeedbackStore, SharedReplayGuard } from './store/types.js';
import type { Router } from 'express';
import { formsRouter } from './forms/routes.js';

export interface ComposeOptions {
  feedbackStore: FeedbackStore;
  assertionSink: AssertionSink;
  /** Extra readiness checks (e.g. the database). */
  readinessChecks?: Record<string, () => Promise<boolean>>;
  adminRouter?: Router;
  /** Builds the admin router from the loaded policies (criterion labels); used when adminRouter is absent. */
  adminRouterFor?: (policySet: PolicySet) => Router;
  /** Prometheus metrics: served at /metrics and fed by the hook path. */
  metrics?: Metrics;
  fetch?: typeof fetch;
  newUuid?: () => string;
  /** jti memory shared by every process of the service (the PostgreSQL store's); per-process only when absent. */
  replayGuard?: SharedReplayGuard;
  /** Policies already loaded by loadPolicies (main.ts loads them while the store opens); loaded here when absent. */
  policySet?: PolicySet;
}

export interface Composed {
  app: Express;
  policySet: PolicySet;
  close(): void;
}


/**
 * The prefetch templates (and fallback queries) of the loaded policies: derived from what their criteria and the order
 * model read (src/policy/requirements.ts), so discovery asks for exactly that.
 */
export function prefetchTemplatesFor(policySet: PolicySet): PrefetchTemplate[] {
  return buildPrefetchTemplates(deriveDataRequirements(policySet), policySet.valueSets);
}

/** The policies of `config.policyDir` with the deployment's parameter overrides (POLICY_OVERRIDES_FILE). */
export function loadPolicies(config: Config, env = process.env): PolicySet {
  const overridesFile = env.POLICY_OVERRIDES_FILE || undefined;
  return loadPolicySet(config.policyDir, {
    facts: allFacts,
    parameterOverrides: overridesFile ? readParameterOverrides(overridesFile) : undefined,
    overridesSource: overridesFile,
  });
}

export function compose(config: Config, logger: Logger, options: ComposeOptions, env = process.env): Composed {
  const policySet = options.policySet ?? loadPolicies(config, env);
  const catalogue = policySet.orderCatalogue ?? loadOrderCatalogue(config.policyDir);
  const prefetchTemplates = prefetchTemplatesFor(policySet);
  const services = createHookServices({
    config,
    policySet,
    catalogue,
    prefetchTemplates,
    assertionSink: options.assertionSink,
    fetch: options.fetch,
    newUuid: options.newUuid,
    observer: options.metrics,
  });
  const verifier = createJwtVerifier({ auth: config.auth, logger, fetch: options.fetch, sharedReplay: options.replayGuard });
  const checks = { policies: async () => policySet.policies.length > 0, ...options.readinessChecks };
  const app = createApp({
    config,
    logger,
    services,
    verifier,
    feedbackStore: options.feedbackStore,
    questionnaires: policySet.questionnaires,
    adminRouter: options.adminRouter ?? options.adminRouterFor?.(policySet),
    formsRouter: formsRouter({ questionnaires: policySet.questionnaires, valueSets: policySet.valueSets }),
    metricsRouter: options.metrics?.router,
    onHookResult: options.metrics ? (...args) => options.metrics!.hookResult(...args) : undefined,
    ready: async () => {
      const results = Object.fromEntries(
        await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const)),
      );
      return { ready: Object.values(results).every(Boolean), checks: results };
    },
  });
  return { app, policySet, close: () => verifier.close?.() };
}
