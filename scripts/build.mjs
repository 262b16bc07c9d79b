#!/usr/bin/env node
// `npm run build`: transpiles src/, hooks/ and cards/ to dist/ with esbuild, one output file per source file (no
// bundling: dist/ keeps the source layout, so dist/src/main.js and the worker entry points stay where they are).
// Transpile only — type checking is `npm run typecheck` (tsc --noEmit over everything), which CI (.ci/run) runs
// before the tests. ~0.5 s instead of tsc's ~20 s, so the first `npm start` on a fresh clone is not spent compiling.
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const excluded = (f) => /\.test\.ts$/.test(f) || /(^|\/)test-[^/]*\.ts$/.test(f) || f === 'src/policy/facts/fixtures.ts' || f.endsWith('.d.ts');

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(path.join(root, dir))) {
    const rel = `${dir}/${entry}`;
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...sources(rel));
    else if (rel.endsWith('.ts') && !excluded(rel)) out.push(rel);
  }
  return out;
}

const entryPoints = ['src', 'hooks', 'cards'].flatMap(sources);
// A stale tsc output (dist/.tsbuildinfo and friends) would not hurt, but removed files must not linger in dist/.
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  bundle: false,
  logLevel: 'warning',
});
