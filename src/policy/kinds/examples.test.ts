// The worked example of every kind in docs/POLICY-FORMAT.md is valid against that kind's params schema, so the
// document policy authors copy from cannot drift from the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KINDS } from './index.js';
import { checkParams } from './schema.js';

const doc = readFileSync(new URL('../../../docs/POLICY-FORMAT.md', import.meta.url), 'utf8');
const sections = doc.split('\n#### `').slice(1).map((s) => ({ kind: s.slice(0, s.indexOf('`')), body: s }));

describe('POLICY-FORMAT worked examples', () => {
  it('documents every kind', () => {
    expect(sections.map((s) => s.kind).sort()).toEqual(Object.keys(KINDS).sort());
  });
  for (const { kind, body } of sections) {
    it(`${kind}: every example leaf validates`, () => {
      const block = /```json\n([\s\S]*?)```/.exec(body)![1]!;
      const leaves = block.split('\n{ "id"').map((x, i) => (i === 0 ? x : `{ "id"${x}`)).filter((x) => x.trim().startsWith('{'));
      expect(leaves.length).toBeGreaterThan(0);
      for (const text of leaves) {
        const leaf = JSON.parse(text.trim()) as { kind: string; params: unknown };
        expect(leaf.kind).toBe(kind);
        const check = checkParams(KINDS[kind]!.paramsSchema, leaf.params);
        expect(check.errors, text).toEqual([]);
      }
    });
  }
});
