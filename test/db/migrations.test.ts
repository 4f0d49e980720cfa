import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR, readMigrations } from '../../src/db';
import { openPglite } from '../../src/db/sql';
import { silentLogger } from '../../src/log';
import { prismaCli } from './support';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'bardcast-pg-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function rows(dir: string) {
  const db = await openPglite(dir);
  try {
    return await db.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
  } finally {
    await db.close();
  }
}

describe('migrations agree with Prisma', () => {
  it('records what `prisma migrate deploy` records, so Prisma sees nothing pending', async () => {
    const ours = await freshDir();
    const db = await openPglite(ours);
    expect(await applyMigrations(db, silentLogger)).toEqual((await readMigrations()).map((m) => m.name));
    await db.close();

    const status = await prismaCli(['migrate', 'status'], ours, /up to date|Following migration|Error/);
    expect(status).toMatch(/Database schema is up to date/);
    const deploy = await prismaCli(['migrate', 'deploy'], ours, /No pending|applied|Error/);
    expect(deploy).toMatch(/No pending migrations to apply/);
  }, 180_000);

  it('treats a database migrated by Prisma as up to date, checksum for checksum', async () => {
    const theirs = await freshDir();
    const out = await prismaCli(['migrate', 'deploy'], theirs, /successfully applied|Error/);
    expect(out).toMatch(/All migrations have been successfully applied/);
    const prismaRows = await rows(theirs);

    const migrations = await readMigrations();
    expect(prismaRows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
    for (const m of migrations) {
      const bytes = await readFile(path.join(MIGRATIONS_DIR, m.name, 'migration.sql'));
      const row = prismaRows.find((r) => r.migration_name === m.name);
      expect(row?.checksum).toBe(m.checksum);
      expect(row?.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(row?.applied_steps_count).toBe(1);
    }

    const db = await openPglite(theirs);
    expect(await applyMigrations(db, silentLogger)).toEqual([]);
    await db.close();
  }, 180_000);

  it('is idempotent and refuses to go on after a half-applied migration', async () => {
    const dir = await freshDir();
    const db = await openPglite(dir);
    await applyMigrations(db, silentLogger);
    expect(await applyMigrations(db, silentLogger)).toEqual([]);
    const broken = [{ name: '99990101000000_broken', sql: 'CREATE TABLE x (;', checksum: 'abc' }];
    await expect(applyMigrations(db, silentLogger, broken)).rejects.toThrow(/99990101000000_broken/);
    await expect(applyMigrations(db, silentLogger)).rejects.toThrow(/failed part-way/);
    await db.close();
    // PGlite (WASM) opens and migrates three times here: seconds on an idle machine,
    // far more on a busy one. The timeout is a safety net, not a target.
  }, 180_000);
});
