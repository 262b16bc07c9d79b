// Reading and validating the policy data files: JSON Schemas from policies/schema/ (ajv, draft 2020-12), JSON/YAML
// parsing, and load errors that name the file, the JSON path and (when it can be found) the line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { LineCounter, parseDocument } from 'yaml';
import { projectRoot } from '../config.js';

export type SchemaName = 'policy' | 'valueset' | 'payers' | 'orders' | 'drug-products' | 'questionnaire' | 'overrides' | 'fragment' | 'local-codes';

export interface LoadProblem {
  file: string;
  /** JSON pointer into the file, e.g. `/criteria/allOf/1/fact`. */
  pointer: string;
  message: string;
  line?: number;
}

/** Start-up must stop on a bad policy file; the message lists every problem as `file: /json/path: what (line n)`. */
export class PolicyLoadError extends Error {
  readonly problems: LoadProblem[];

  constructor(problems: LoadProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PolicyLoadError';
    this.problems = problems;
  }
}

export function formatProblem(p: LoadProblem): string {
  return `${displayPath(p.file)}: ${p.pointer || '/'}: ${p.message}${p.line ? ` (line ${p.line})` : ''}`;
}

/** Relative to the working directory when inside it (`policies/x.policy.json`), else absolute. */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Collects problems across files so one start-up attempt reports all of them. */
export class Problems {
  readonly list: LoadProblem[] = [];
  private readonly texts = new Map<string, string>();

  /** Remember a file's text so pointers can be turned into line numbers. */
  source(file: string, text: string): void {
    this.texts.set(file, text);
  }

  add(file: string, pointer: string, message: string): void {
    const text = this.texts.get(file);
    const line = text === undefined ? undefined : lineOf(text, pointer);
    this.list.push(line ? { file, pointer, message, line } : { file, pointer, message });
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new PolicyLoadError(this.list);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Schemas.

/** The schema files ship with the project (policies/schema/), wherever the policy directory itself is. */
export function schemaDir(): string {
  return path.join(projectRoot, 'policies', 'schema');
}

const validators = new Map<SchemaName, ValidateFunction>();
let ajv: Ajv2020 | undefined;

function getAjv(): Ajv2020 {
  if (!ajv) {
    // These validators run once per policy file, at load: ajv's optimisation pass over the generated code costs more
    // than it could save there (≈ 100 ms of start-up, issue 14); the per-request validators (src/cds/schemas.ts) keep it.
    ajv = new Ajv2020({ allErrors: true, strict: false, code: { optimize: false } });
    // ajv-formats is CommonJS; under NodeNext its default import is the module object or the function itself.
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv2020) => void;
    addFormats(ajv);
  }
  return ajv;
}

export function validatorFor(name: SchemaName): ValidateFunction {
  let v = validators.get(name);
  // The fragment schema refers into the policy schema by its $id.
  if (!v && (name === 'fragment' || name === 'payers')) validatorFor('policy');
  if (!v) {
    const file = path.join(schemaDir(), `${name}.schema.json`);
    const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    v = getAjv().compile(schema);
    validators.set(name, v);
  }
  return v;
}

/** Validate `data` and add one problem per ajv error (deduplicated, the noisy if/then wrappers dropped). */
export function validateAgainst(name: SchemaName, data: unknown, file: string, problems: Problems): boolean {
  const validate = validatorFor(name);
  if (validate(data)) return true;
  const seen = new Set<string>();
  for (const err of validate.errors ?? []) {
    // "must match then schema" only repeats the errors of the branch itself.
    if (err.keyword === 'if') continue;
    const msg = ajvMessage(err);
    const key = `${err.instancePath}|${msg}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.add(file, err.instancePath, msg);
  }
  return false;
}

function ajvMessage(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return `unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    default:
      return err.message ?? err.keyword;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Files.

export function isYaml(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Parse a JSON or YAML file; a syntax error becomes a problem with its line. */
export function readDataFile(file: string, problems: Problems): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.add(file, '', `cannot read file: ${(err as Error).message}`);
    return undefined;
  }
  problems.source(file, text);
  if (isYaml(file)) {
    const doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: true });
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      problems.list.push({ file, pointer: '', message: `YAML syntax error: ${e.message.split('\n')[0]}`, ...(e.linePos ? { line: e.linePos[0].line } : {}) });
      return undefined;
    }
    return doc.toJS();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!.replace(/, "[^]*$/, '');
    const line = jsonErrorLine(text, (err as Error).message);
    problems.list.push({ file, pointer: '', message: `JSON syntax error: ${message}`, ...(line ? { line } : {}) });
    return undefined;
  }
}

/** V8's message has a position only sometimes; the YAML parser (JSON is YAML) always knows the line. */
function jsonErrorLine(text: string, message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  if (m) return text.slice(0, Number(m[1])).split('\n').length;
  const doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: true });
  return doc.errors[0]?.linePos?.[0].line;
}

/** Line of the value a JSON pointer designates (JSON is YAML, so the YAML parser locates both). */
export function lineOf(text: string, pointer: string): number | undefined {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, keepSourceTokens: false });
    if (doc.errors.length > 0) return undefined;
    const segments = pointer
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    // The innermost node that exists (a missing property is reported on its parent object).
    for (let n = segments.length; n >= 0; n--) {
      const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
      if (n === 0) {
        const contents = doc.contents as { range?: [number, number, number] } | null;
        return contents?.range ? lineCounter.linePos(contents.range[0]).line : undefined;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** JSON pointer segment escaping. */
export function ptr(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
