#!/usr/bin/env node
// `npm run build`: bundles the service for production with esbuild into dist/ (`npm start` runs dist/src/main.js).
//
// Bundled, not transpiled file by file: Node's ESM loader resolves, reads and links every module of a graph one by
// one, and the worker's graph was ≈ 1,000 modules (kysely, jose and express alone are hundreds) — ≈ 0.3 s of the
// later start's 2.3 s (issue 14). The bundle is split at the service's dynamic imports (what the cluster primary never
// loads, and what the worker loads in parallel with its store), so the primary still starts from a few kB.
//   dist/src/main.js                 entry (the primary, and a worker's runWorker)
//   dist/src/chunks/*.js             code shared by the entries and the dynamically imported parts
//   dist/src/chunks/pglite-worker.js the embedded database's worker thread (src/store/pglite-worker.ts); PGliteThread
//                                    starts it from the chunk that holds its own code, i.e. next to it
// Left as packages (loaded from node_modules at run time): PGlite (its WebAssembly and data files sit next to its
// module), pg and undici (loaded only when configured or needed), pino (its transports start worker files by path).
// Transpile only — type checking is `npm run typecheck` (tsc --noEmit over everything), which CI (.ci/run) runs
// before the tests. `BUILD_OUTDIR=dir` builds elsewhere (the production-build test), inside the project.
// Nothing to do when the output was built from the same inputs (size and modification time of every source file, the
// build script, the lock files): a later `npm start` does not rebuild. `--force` rebuilds anyway.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(root, process.env.BUILD_OUTDIR || 'dist');
if (path.relative(root, outdir).startsWith('..')) throw new Error(`BUILD_OUTDIR must be inside the project: ${outdir}`);

const INPUT_DIRS = ['src', 'hooks', 'cards'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'node_modules/.package-lock.json', 'tsconfig.json', 'scripts/build.mjs'];

function inputsOf(dir) {
  const out = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...inputsOf(rel));
    else if (rel.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function fingerprint() {
  const files = [...INPUT_DIRS.flatMap(inputsOf), ...INPUT_FILES.filter((f) => existsSync(path.join(root, f)))].sort();
  return files.map((f) => {
    const st = statSync(path.join(root, f));
    return `${f} ${st.size} ${st.mtimeMs}`;
  }).join('\n');
}

const stampFile = path.join(outdir, '.build-inputs');
const inputs = fingerprint();
const upToDate = !process.argv.includes('--force') && existsSync(path.join(outdir, 'src', 'main.js')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === inputs;
if (upToDate) process.exit(0);

// Removed files must not linger in the output (nor a stale tsc output).
rmSync(outdir, { recursive: true, force: true });
const { build } = await import('esbuild');
await build({
  absWorkingDir: root,
  entryPoints: { 'src/main': 'src/main.ts', 'src/chunks/pglite-worker': 'src/store/pglite-worker.ts' },
  outdir,
  chunkNames: 'src/chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  bundle: true,
  splitting: true,
  external: ['@electric-sql/pglite', 'pg', 'undici', 'pino', 'tsx', 'tsx/*'],
  // Bundled CommonJS packages (express, ucum-lhc …) call require() for Node's own modules: give ES modules one.
  banner: { js: "import { createRequire as __pumpcheckRequire } from 'node:module'; const require = __pumpcheckRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
});
writeFileSync(stampFile, inputs);
