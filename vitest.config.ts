import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'hooks/**/*.test.ts', 'cards/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Two cores: keep worker count modest so loopback servers and PGlite are not starved.
    maxWorkers: 2,
  },
});
