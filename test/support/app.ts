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
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });
  const feedbackStore = new MemoryFeedbackStore();
  const assertionSink = new MemoryAssertionSink();
  const composed = compose(config, options.logger ?? silentLogger, { feedbackStore, assertionSink, ...options }, env);
  return { app: composed.app, config, feedbackStore, assertionSink, close: composed.close };
}
