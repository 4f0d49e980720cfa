import { mkdir } from 'node:fs/promises';
import { PrismaClient } from '../generated/prisma/client';
import type { Logger } from '../log';
import { applyMigrations } from './migrate';
import { openPglite, openPostgres, type SqlDriver } from './sql';

export { applyMigrations, readMigrations, MigrationError, MIGRATIONS_DIR, type Migration } from './migrate';
export type { SqlDriver } from './sql';
export { PrismaClient };

/** Which database to open. */
export type DatabaseOptions =
  | { kind: 'postgres'; url: string; poolSize?: number }
  | { kind: 'pglite'; dataDir: string | undefined /* undefined: in memory */ };

/** An open, migrated database: the Prisma client plus its raw driver. */
export interface Database {
  prisma: PrismaClient;
  driver: SqlDriver;
  /** Cheap liveness check used by /healthz and the fallback's reconnect probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Opens (creating and migrating if needed) the configured database. */
export async function openDatabase(options: DatabaseOptions, log: Logger): Promise<Database> {
  let driver: SqlDriver;
  let prisma: PrismaClient;
  if (options.kind === 'pglite') {
    if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
    const lite = await openPglite(options.dataDir);
    driver = lite;
    await applyMigrations(driver, log);
    // Each driver's adapter is imported only when it is used (~1–2 MB of code each).
    const { PrismaPGlite } = await import('pglite-prisma-adapter');
    prisma = new PrismaClient({ adapter: new PrismaPGlite(lite.client) });
  } else {
    const pgDriver = await openPostgres(
      options.url,
      options.poolSize === undefined ? {} : { max: options.poolSize },
    );
    driver = pgDriver;
    await applyMigrations(driver, log);
    const { PrismaPg } = await import('@prisma/adapter-pg');
    prisma = new PrismaClient({ adapter: new PrismaPg(pgDriver.pool) });
  }
  return {
    prisma,
    driver,
    ping: async () => {
      await driver.query('SELECT 1');
    },
    close: async () => {
      await prisma.$disconnect().catch(() => {});
      await driver.close();
    },
  };
}
