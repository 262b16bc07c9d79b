// Property-based fuzzing of the hook endpoints (issue 13): every element of the example requests, changed by type
// (number, boolean, string, object, array, null, [null], removed, huge, deep, …), one to three at a time, sent to the
// real app. Whatever arrives: no 5xx, no crash, a response valid against the CDS Hooks schema, and no card text that
// leaks JavaScript ("is not iterable", "undefined", "NaN", "[object Object]", "TypeError").
//
// `npm test` runs a fixed seed and a bounded number of runs. A longer run (e.g. nightly in CI):
//   FUZZ_RUNS=5000 FUZZ_SEED=$RANDOM npx vitest run test/fuzz.test.ts
// A failure prints the seed and the shrunk counterexample (the path and the value that broke it).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { validateCdsResponse } from '../src/cds/schemas.js';
import { projectRoot } from '../src/config.js';
import { testApp } from './support/app.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const SEED = Number(process.env.FUZZ_SEED ?? 20260413);
const JS_TEXT = /is not iterable|undefined|NaN|\[object Object\]|TypeError/;

// No fallback queries: a removed prefetch key must be answered from the request alone (412 or a gap).
const t = testApp({ FHIR_SERVER_ALLOWLIST: '' });
afterAll(() => t.close());

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

const examples = readdirSync(path.join(projectRoot, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const body = JSON.parse(readFileSync(path.join(projectRoot, 'examples', f), 'utf8')) as Record<string, Json>;
    return { name: f, body, paths: elementPaths(body) };
  })
  // The fallback example needs a FHIR server; the others carry their whole record in prefetch.
  .filter((e) => e.body.fhirServer === undefined);

/** Every element path of a JSON value (objects' keys and arrays' items, at every depth). */
function elementPaths(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) value.forEach((v, i) => (out.push([...prefix, i]), elementPaths(v, [...prefix, i], out)));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      elementPaths(v, [...prefix, k], out);
    }
  }
  return out;
}

const REMOVE = Symbol('remove');

/** Replacement values by type, plus the wrong-shape classics the probe found. */
const replacement: fc.Arbitrary<Json | typeof REMOVE> = fc.oneof(
  fc.constantFrom<Json | typeof REMOVE>(
    REMOVE,
    null,
    true,
    false,
    0,
    -1,
    12345,
    1e308,
    '',
    ' ',
    'garbage',
    '0000-01-01T00:00:00Z',
    '9999-12-31',
    '2026-02-30',
    'Coverage/x',
    'Patient/',
    '#',
    '\u0000',
    {},
    [],
    [null],
    [{}],
    { coding: 5 },
    { coding: [null] },
    { coding: [{ system: 12345, code: true }] },
    { reference: 7 },
    { value: 'garbage', unit: 12345 },
    'x'.repeat(5000),
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxKeys: 3 }),
);

function mutate(body: Record<string, Json>, at: Path, value: Json | typeof REMOVE): Record<string, Json> {
  const copy = structuredClone(body);
  let parent: any = copy;
  for (const key of at.slice(0, -1)) parent = parent?.[key];
  const last = at[at.length - 1]!;
  if (parent === null || typeof parent !== 'object') return copy;
  if (value === REMOVE) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

const mutatedRequest = fc
  .integer({ min: 0, max: examples.length - 1 })
  .chain((i) => {
    const example = examples[i]!;
    const change = fc.tuple(fc.integer({ min: 0, max: example.paths.length - 1 }), replacement);
    return fc.tuple(fc.constant(example), fc.array(change, { minLength: 1, maxLength: 3 }));
  })
  .map(([example, changes]) => {
    let body = example.body;
    const applied: string[] = [];
    for (const [p, value] of changes) {
      const at = example.paths[p]!;
      body = mutate(body, at, value);
      applied.push(`${at.join('.')} = ${value === REMOVE ? '(removed)' : JSON.stringify(value)?.slice(0, 40)}`);
    }
    return { example: example.name, applied, body };
  });

/** Card texts and the coverage-information reasons. */
function responseTexts(body: any): string {
  const cards = (body.cards ?? []).map((c: any) => [c.summary, c.detail, (c.suggestions ?? []).map((s: any) => s.label), (c.links ?? []).map((l: any) => l.label)]);
  const reasons = JSON.stringify(body.systemActions ?? []).match(/"text":"[^"]*"/g) ?? [];
  return JSON.stringify(cards) + reasons.join(' ');
}

describe('fuzzing the hook endpoints with malformed FHIR', () => {
  it('every example answers 200 unchanged (the fuzzer starts from valid requests)', async () => {
    for (const { name, body } of examples) {
      const res = await request(t.app).post(`/cds-services/pumpcheck-${body.hook}`).send(body);
      expect(res.status, name).toBe(200);
    }
  });

  it(`no 5xx, schema-valid responses, no JavaScript text in cards (${RUNS} runs, seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedRequest, async ({ body }) => {
        const hook = typeof body.hook === 'string' && /^order-(sign|select)$/.test(body.hook) ? body.hook : 'order-sign';
        const res = await request(t.app).post(`/cds-services/pumpcheck-${hook}`).send(body);
        expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBeLessThan(500);
        if (res.status === 200) {
          expect(validateCdsResponse(res.body)).toEqual([]);
          expect(responseTexts(res.body)).not.toMatch(JS_TEXT);
        } else {
          expect(res.body.resourceType).toBe('OperationOutcome');
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: Number(process.env.FUZZ_TIME_LIMIT_MS ?? 600_000) },
    );
  }, Number(process.env.FUZZ_TIME_LIMIT_MS ?? 600_000) + 60_000);
});
