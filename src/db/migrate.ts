import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log';
import type { SqlDriver } from './sql';

/** Where the checked-in migrations live (Prisma's layout: `<name>/migration.sql`). */
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../prisma/migrations');

/** Prisma's own lock id for `migrate deploy`, so the two never run at once. */
const PRISMA_ADVISORY_LOCK = 72707369;

/** The table exactly as Prisma's schema engine creates it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

/** One migration on disk. */
export interface Migration {
  name: string;
  sql: string;
  /** SHA-256 of the file's bytes, hex: what Prisma stores in `checksum`. */
  checksum: string;
}

/** A migration that failed, or an applied one whose file changed since. */
export class MigrationError extends Error {
  constructor(
    readonly migration: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Migration ${migration}: ${message}`, options);
    this.name = 'MigrationError';
  }
}

/** Reads the migrations in name order. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(path.join(dir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    }),
  );
}

interface AppliedRow extends Record<string, unknown> {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies pending migrations in order and records them in `_prisma_migrations`
 * the way `prisma migrate deploy` does, so Prisma's CLI agrees with us.
 * Returns the names applied now.
 */
export async function applyMigrations(
  driver: SqlDriver,
  log: Logger,
  migrations?: Migration[],
): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  return driver.withConnection(async (conn) => {
    if (driver.kind === 'postgres') await conn.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
    try {
      await conn.exec(CREATE_MIGRATIONS_TABLE);
      const rows = await conn.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
      );
      const applied = new Map(
        rows
          .filter((r) => r.finished_at !== null && r.rolled_back_at === null)
          .map((r) => [r.migration_name, r]),
      );
      const unfinished = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
      if (unfinished) {
        throw new MigrationError(
          unfinished.migration_name,
          'a previous attempt failed part-way; fix the database, then mark it rolled back',
        );
      }
      const done: string[] = [];
      for (const m of all) {
        const row = applied.get(m.name);
        if (row) {
          if (row.checksum !== m.checksum) {
            log.warn({ migration: m.name }, 'applied migration was edited after it ran (checksum differs)');
          }
          continue;
        }
        const id = randomUUID();
        await conn.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, m.checksum, m.name],
        );
        try {
          await conn.exec(`BEGIN;\n${m.sql}\nCOMMIT;`);
        } catch (err) {
          await conn.exec('ROLLBACK').catch(() => {});
          await conn.query('UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1', [id, String(err)]);
          throw new MigrationError(m.name, String(err), { cause: err });
        }
        await conn.query(
          'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        log.info({ migration: m.name }, 'migration applied');
        done.push(m.name);
      }
      return done;
    } finally {
      if (driver.kind === 'postgres')
        await conn.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]);
    }
  });
}
