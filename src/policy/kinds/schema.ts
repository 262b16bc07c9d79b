// Shared pieces of the kinds' params schemas, and the validator that collects every `x-ref` name while it validates
// (so the loader can resolve value sets, parameters, linkIds, anchors, definitions and FHIRPath with the JSON pointer
// of each).
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { CollectedRef, RefKind } from './types.js';

const PARAM_REF = '^%[A-Za-z][A-Za-z0-9_]*$';

export const S = {
  valueSet: { type: 'string', minLength: 1, 'x-ref': 'valueSet' },
  linkId: { type: 'string', minLength: 1, 'x-ref': 'linkId' },
  anchor: { type: 'string', minLength: 1, 'x-ref': 'anchor' },
  questionnaire: { type: 'string', minLength: 1, 'x-ref': 'questionnaire' },
  fhirpath: { type: 'string', minLength: 1, 'x-ref': 'fhirpath' },
  /** A number, or "%param" naming a numeric policy parameter. */
  num: { oneOf: [{ type: 'number' }, { type: 'string', pattern: PARAM_REF, 'x-ref': 'parameter:number' }] },
  bool: { oneOf: [{ type: 'boolean' }, { type: 'string', pattern: PARAM_REF, 'x-ref': 'parameter:boolean' }] },
  str: (values?: string[]) => ({
    oneOf: [
      values ? { enum: values } : { type: 'string', not: { pattern: PARAM_REF } },
      { type: 'string', pattern: PARAM_REF, 'x-ref': 'parameter:string' },
    ],
  }),
  op: { enum: ['>', '>=', '<', '<=', '='] },
  duration: {
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties: {} as Record<string, unknown>,
  },
  window: {} as Record<string, unknown>,
  where: {} as Record<string, unknown>,
};
const numRef = S.num;
S.duration.properties = { days: numRef, months: numRef, years: numRef };
S.window = {
  type: 'object',
  additionalProperties: false,
  properties: { anchor: S.anchor, lookback: S.duration, lookahead: S.duration, excludeAnchorDay: { type: 'boolean' } },
};
/** One FHIRPath filter, or several (all must hold). */
S.where = { oneOf: [S.fhirpath, { type: 'array', minItems: 1, items: S.fhirpath }] };

let collector: CollectedRef[] | undefined;

// Without ajv's optimisation pass, as the policy-file validators (src/policy/schemas.ts says why).
const ajv = new Ajv2020({ allErrors: true, strict: false, code: { optimize: false } });
ajv.addKeyword({
  keyword: 'x-ref',
  type: 'string',
  schemaType: 'string',
  errors: false,
  validate: (schema: string, data: string, _parent?: unknown, cxt?: { instancePath: string }) => {
    // ajv runs every keyword of a oneOf branch, also when its pattern failed: a plain string is no "%name".
    if (schema.startsWith('parameter') && !new RegExp(PARAM_REF).test(data)) return true;
    collector?.push({ kind: schema as RefKind, value: data, pointer: cxt?.instancePath ?? '' });
    return true;
  },
});

const compiled = new WeakMap<object, ValidateFunction>();

export interface ParamsCheck {
  ok: boolean;
  errors: { pointer: string; message: string }[];
  refs: CollectedRef[];
}

/** Validate a leaf's params against a kind's schema; returns the ajv errors and every referenced name. */
export function checkParams(schema: Record<string, unknown>, params: unknown): ParamsCheck {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  collector = [];
  const ok = v(params) as boolean;
  const refs = collector;
  collector = undefined;
  const errors: ParamsCheck['errors'] = [];
  const seen = new Set<string>();
  const all = (v.errors ?? []).filter((e) => e.keyword !== 'if');
  // A failed oneOf (value or "%param") also reports each branch at the same pointer: keep the one summary.
  const oneOfAt = new Set(all.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const e of all) {
    if (e.keyword !== 'oneOf' && oneOfAt.has(e.instancePath)) continue;
    const msg = message(e);
    const key = `${e.instancePath}|${msg}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ pointer: e.instancePath, message: msg });
  }
  // With a failed validation, refs of the failing branches may be partial: only trust them when valid.
  return { ok, errors, refs: ok ? dedupe(refs) : [] };
}

function dedupe(refs: CollectedRef[]): CollectedRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.kind}|${r.pointer}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function message(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return `unknown parameter "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required parameter "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `must be ${String(p.type)}`;
    case 'oneOf':
      return 'must be a value of the expected type, or "%name" of a policy parameter';
    default:
      return err.message ?? err.keyword;
  }
}
