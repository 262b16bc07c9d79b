// The real app, composed exactly as main.ts does, with in-memory stores and a silent logger.
import { compose, type ComposeOptions } from '../../src/compose.js';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import { MemoryAssertionSink, MemoryFeedbackStore } from '../../src/store/memory.js';

export interface TestApp {
  app: ReturnType<typeof compose>['app'];
  config: Config;
  feedbackStore: MemoryFeedbackStore;
  assertionSink: MemoryAssertionSink;
  close(): void;
}

export function testApp(env: Record<string, string> = {}, options: Partial<ComposeOptions> & { logger?: Logger } = {}): TestApp {
  // The loopback FHIR test servers are allowed explicitly, as a deployment names its EHRs' FHIR servers; any public
  // server too (the development default), so tests with an injected fetch and example.org servers keep working.
  // Tests that check refusals send many wrong tokens: the auth-failure throttle is lifted unless a test sets it.
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    FHIR_SERVER_ALLOWLIST: 'http://127.0.0.1:*,*',
    AUTH_FAILURES_PER_MINUTE: '10000',
    ...env,
  });
  const feedbackStore = new MemoryFeedbackStore();
  const assertionSink = new MemoryAssertionSink();
  const composed = compose(config, options.logger ?? silentLogger, { feedbackStore, assertionSink, ...options }, env);
  return { app: composed.app, config, feedbackStore, assertionSink, close: composed.close };
}
