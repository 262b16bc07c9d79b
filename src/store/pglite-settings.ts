// How the embedded database is started: memory settings, and the pre-initialised data directory that spares the first
// start PostgreSQL's initdb (≈ 12–25 s of WebAssembly on this machine, and ≈ 500 MiB of initdb memory that stays
// resident in the process afterwards).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config.js';

/**
 * PostgreSQL settings for the embedded single-session backend. initdb's defaults size shared_buffers at 128 MiB (plus
 * 64 MiB maintenance_work_mem): right for a shared server, 3× the whole working set here (a few thousand small rows a
 * day). 16 MiB of buffers holds every index page the service touches; idle RSS drops by ≈ 130 MiB.
 * Values are PostgreSQL GUCs passed as `-c name=value` start parameters (same as postgresql.conf).
 */
export const PGLITE_GUCS: Record<string, string> = {
  shared_buffers: '16MB',
  work_mem: '1MB',
  maintenance_work_mem: '8MB',
  temp_buffers: '1MB',
  wal_buffers: '1MB',
};

/** PGlite's own start parameters followed by ours (later `-c` wins). */
export function pgliteStartParams(defaults: readonly string[]): string[] {
  return [...defaults, ...Object.entries(PGLITE_GUCS).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

export const TEMPLATE_DIR = path.join(projectRoot, 'assets', 'pglite');
export const TEMPLATE_FILE = path.join(TEMPLATE_DIR, 'initdb.tar.gz');
export const TEMPLATE_MANIFEST = path.join(TEMPLATE_DIR, 'initdb.json');

export interface TemplateManifest {
  /** @electric-sql/pglite version that produced the data directory (its PostgreSQL catalog version must match). */
  pgliteVersion: string;
  sha256: string;
  bytes: number;
}

/** Installed @electric-sql/pglite version. */
export function installedPgliteVersion(): string {
  const pkg = path.join(projectRoot, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * The template, when it exists and was made by the installed PGlite; otherwise undefined (initdb runs, as before).
 * A template of another version could carry another catalog version and would refuse to start.
 */
export function usableTemplate(): { file: string; manifest: TemplateManifest } | undefined {
  try {
    const manifest = JSON.parse(readFileSync(TEMPLATE_MANIFEST, 'utf8')) as TemplateManifest;
    if (manifest.pgliteVersion !== installedPgliteVersion() || !existsSync(TEMPLATE_FILE)) return undefined;
    return { file: TEMPLATE_FILE, manifest };
  } catch {
    return undefined;
  }
}
