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
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(root, process.env.BUILD_OUTDIR || 'dist');
if (path.relative(root, outdir).startsWith('..')) throw new Error(`BUILD_OUTDIR must be inside the project: ${outdir}`);

// Removed files must not linger in the output (nor a stale tsc output).
rmSync(outdir, { recursive: true, force: true });
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
