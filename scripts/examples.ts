// `npm run examples`: (re)writes examples/ — from test/fixtures/scenarios.ts one ready-to-POST order-sign request per
// CSII clinical situation (complete prefetch), an order-select request and a no-prefetch (fallback) request for the
// "criteria met" patient, and examples/README.md; from the policy test cases (policies/tests/<policy>/<case>.json) one
// request per case under examples/cases/<policy>/<case>.json, with examples/cases/README.md. Deterministic: running it
// twice produces no diff. `--check` writes nothing and exits 1 when a file differs from what would be written.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseExampleFiles, caseExamplesReadme } from '../test/fixtures/case-examples.js';
import { exampleFiles, exampleJson, examplesReadme } from '../test/fixtures/scenarios.js';

const DIR = fileURLToPath(new URL('../examples/', import.meta.url));
const check = process.argv.includes('--check');

const files = exampleFiles();
const cases = caseExampleFiles();
const wanted = new Map<string, string>(files.map((f) => [f.file, exampleJson(f.body)]));
wanted.set('README.md', examplesReadme(files));
for (const c of cases) wanted.set(c.file, exampleJson(c.body));
wanted.set('cases/README.md', caseExamplesReadme(cases));

const changed: string[] = [];
for (const [name, text] of wanted) {
  const file = path.join(DIR, name);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (current === text) continue;
  changed.push(`${current === undefined ? 'new' : 'changed'}: examples/${name}`);
  if (!check) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}
// Generated files that no scenario or case produces any more (a renamed or deleted case).
const walk = (dir: string, rel = ''): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name), `${rel}${d.name}/`) : [`${rel}${d.name}`]))
    : [];
for (const name of walk(DIR)) {
  if (!wanted.has(name)) {
    changed.push(`stale: examples/${name}`);
    if (!check) unlinkSync(path.join(DIR, name));
  }
}
if (!check) {
  // Folders of policies that no longer have cases.
  const casesDir = path.join(DIR, 'cases');
  if (existsSync(casesDir)) {
    for (const d of readdirSync(casesDir, { withFileTypes: true })) {
      if (d.isDirectory() && readdirSync(path.join(casesDir, d.name)).length === 0) rmSync(path.join(casesDir, d.name), { recursive: true });
    }
  }
}

for (const line of changed) process.stdout.write(`${line}\n`);
process.stdout.write(`${wanted.size} files in examples/, ${changed.length} ${check ? 'out of date' : 'written or removed'}\n`);
if (check && changed.length > 0) process.exitCode = 1;
