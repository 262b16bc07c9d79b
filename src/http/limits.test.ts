// jsonDepth: the nesting depth of a JSON text, strings (with their escapes) ignored; checked against a reference
// walk of the parsed value for random JSON.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonDepth } from './limits.js';

const depthOf = (v: unknown): number =>
  v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf)) : 0;

const bytes = (s: string) => Buffer.from(s, 'utf8');

describe('jsonDepth', () => {
  it('counts objects and arrays, not brackets inside strings', () => {
    expect(jsonDepth(bytes('{}'))).toBe(1);
    expect(jsonDepth(bytes('[[{"a":[1]}]]'))).toBe(4);
    expect(jsonDepth(bytes('{"a":"[[[{{{"}'))).toBe(1);
    expect(jsonDepth(bytes('"just a string"'))).toBe(0);
  });

  it('knows an escaped quote from the end of a string, however many backslashes precede it', () => {
    expect(jsonDepth(bytes('{"a":"x\\"[[[","b":[1]}'))).toBe(2); // \" inside: the string goes on
    expect(jsonDepth(bytes('{"a":"x\\\\","b":[[1]]}'))).toBe(3); // \\ then the closing quote
    expect(jsonDepth(bytes('{"a":"x\\\\\\"]]","b":{}}'))).toBe(2); // \\ \" : still inside
  });

  it('stops at an unterminated string without reading past the end', () => {
    expect(jsonDepth(bytes('[[["abc'))).toBe(3);
  });

  it('agrees with a walk of the parsed value for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        expect(jsonDepth(bytes(JSON.stringify(v)))).toBe(depthOf(v));
      }),
      { seed: 20261206, numRuns: 500 },
    );
  });
});
