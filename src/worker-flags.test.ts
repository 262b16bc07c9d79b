import { describe, expect, it } from 'vitest';
import { workerExecArgv } from './worker-flags.js';

describe('workerExecArgv', () => {
  it("adds the young-generation size to the primary's own flags", () => {
    expect(workerExecArgv(['--enable-source-maps'], 32)).toEqual(['--enable-source-maps', '--max-semi-space-size=32']);
  });
  it("leaves the operator's choice alone (command line or NODE_OPTIONS); 0 means Node's default", () => {
    expect(workerExecArgv(['--max-semi-space-size=8'], 32)).toEqual(['--max-semi-space-size=8']);
    expect(workerExecArgv([], 32, '--max-semi-space-size=64 --trace-warnings')).toEqual([]);
    expect(workerExecArgv([], 0)).toEqual([]);
  });
});
