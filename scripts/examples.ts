// `npm run examples`: (re)writes examples/ from test/fixtures/scenarios.ts — one ready-to-POST order-sign request per
// clinical situation (complete prefetch), an order-select request and a no-prefetch (fallback) request for the
// "criteria met" patient, and examples/README.md. Deterministic: running it twice produces no diff.
// `--check` writes nothing and exits 1 when a file differs from what would be written.
import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exampleFiles, exampleJson, examplesReadme } from '../test/fixtures/scenarios.js';

const DIR = fileURLToPath(new URL('../examples/', import.meta.url));
const check = process.argv.includes('--check');

const files = exampleFiles();
const wanted = new Map<string, string>(files.map((f) => [f.file, exampleJson(f.body)]));
wanted.set('README.md', examplesReadme(files));

if (!existsSync(DIR)) mkdirSync(DIR, { recursive: true });
const changed: string[] = [];
for (const [name, text] of wanted) {
  const path = `${DIR}${name}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  changed.push(`${current === undefined ? 'new' : 'changed'}: examples/${name}`);
  if (!check) writeFileSync(path, text);
}
// Generated request files that no scenario produces any more.
for (const name of readdirSync(DIR)) {
  if (name.endsWith('.json') && !wanted.has(name)) {
    changed.push(`stale: examples/${name}`);
    if (!check) unlinkSync(`${DIR}${name}`);
  }
}

for (const line of changed) process.stdout.write(`${line}\n`);
process.stdout.write(`${wanted.size} files in examples/, ${changed.length} ${check ? 'out of date' : 'written or removed'}\n`);
if (check && changed.length > 0) process.exitCode = 1;
