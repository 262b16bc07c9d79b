// The embedded database in its worker thread: opened from the shipped template (no initdb), started with the memory
// settings of pglite-settings.ts, errors carrying PostgreSQL's SQLSTATE across the thread boundary.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installedPgliteVersion, PGLITE_GUCS, TEMPLATE_FILE, usableTemplate } from './pglite-settings.js';
import { PGliteThread } from './pglite-thread.js';

describe('embedded database thread', { timeout: 90_000 }, () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('ships a template made by the installed PGlite, intact', async () => {
    const t = usableTemplate();
    expect(t, 'assets/pglite is missing or stale: run node scripts/pglite-template.mjs').toBeDefined();
    expect(t!.manifest.pgliteVersion).toBe(installedPgliteVersion());
    const bytes = await readFile(TEMPLATE_FILE);
    expect(bytes.length).toBe(t!.manifest.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(t!.manifest.sha256);
  });

  it('unpacks a new data directory from the template, applies the memory settings, and reopens it as found', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pumpcheck-thread-'));
    dirs.push(dir);
    const first = await PGliteThread.create(path.join(dir, 'pglite'));
    expect(first.initialised).toBe('template');
    const settings = await first.query<{ name: string; setting: string; unit: string | null }>(
      `select name, setting, unit from pg_settings where name in ('shared_buffers', 'work_mem')`,
    );
    const kib = (name: string) => {
      const s = settings.rows.find((r) => r.name === name)!;
      return Number(s.setting) * (s.unit === '8kB' ? 8 : 1);
    };
    expect(kib('shared_buffers')).toBe(Number.parseInt(PGLITE_GUCS.shared_buffers!, 10) * 1024);
    expect(kib('work_mem')).toBe(Number.parseInt(PGLITE_GUCS.work_mem!, 10) * 1024);
    await first.exec('create table t (id int primary key)');
    expect((await first.query('insert into t values ($1), ($2)', [1, 2])).affectedRows).toBe(2);
    // A constraint violation keeps its SQLSTATE (23505): the assertion sink treats class 23 as permanent.
    await expect(first.query('insert into t values ($1)', [1])).rejects.toMatchObject({ code: '23505' });
    await first.close();
    expect(first.closed).toBe(true);
    await expect(first.query('select 1')).rejects.toThrow(/closed/);

    const again = await PGliteThread.create(path.join(dir, 'pglite'));
    expect(again.initialised).toBe('existing');
    expect((await again.query<{ id: number }>('select id from t order by id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
    await again.close();
  });
});
