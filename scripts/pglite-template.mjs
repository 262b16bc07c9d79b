#!/usr/bin/env node
// Regenerates assets/pglite/initdb.tar.gz: the data directory PostgreSQL's initdb makes for the installed
// @electric-sql/pglite, with the same start parameters as the service (src/store/pglite-settings.ts).
// A new embedded database is unpacked from it instead of running initdb (12–25 s and ≈ 500 MiB of leftover memory).
// Run after upgrading @electric-sql/pglite:  node scripts/pglite-template.mjs   (then commit assets/pglite/).
// Without a matching template the service still works: it runs initdb as before (and logs initialised=initdb).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'assets', 'pglite');
const version = JSON.parse(readFileSync(path.join(root, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')).version;
const t = performance.now();
const pg = await PGlite.create({ dataDir: 'memory://' });
// Nothing of ours goes in: migrations run at every start and own the schema.
const blob = await pg.dumpDataDir('gzip');
await pg.close();
const bytes = Buffer.from(await blob.arrayBuffer());
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'initdb.tar.gz'), bytes);
const manifest = { pgliteVersion: version, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
writeFileSync(path.join(dir, 'initdb.json'), `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`assets/pglite/initdb.tar.gz: ${bytes.length} bytes for PGlite ${version} (${Math.round(performance.now() - t)} ms)\n`);
