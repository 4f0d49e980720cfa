import type { PGlite } from '@electric-sql/pglite';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rename, rm, rmdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type pg from 'pg';

/**
 * The raw driver under Prisma: PGlite (embedded) or a pg Pool (server). Used for
 * migrations (multi-statement SQL) and health checks; everything else goes
 * through Prisma.
 */
export interface SqlDriver {
  readonly kind: 'pglite' | 'postgres';
  /** Runs one or more statements with no parameters (simple query protocol). */
  exec(sql: string): Promise<void>;
  /** Runs one parameterised statement and returns its rows. */
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` with exclusive use of one connection (advisory locks, transactions). */
  withConnection<T>(fn: (conn: Pick<SqlDriver, 'exec' | 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * PostgreSQL's buffer cache inside PGlite. PGlite's default is 128 MB; Bardcast's
 * tables are small (request and chunk rows, not audio), and every page of the
 * cache that gets touched stays resident in this process for good (WebAssembly
 * memory never shrinks): 16 MB cost ~13 MB more at idle than 4 MB. Pages that
 * don't fit are read back from the data files (the OS keeps them cached); a
 * workload of 9,000 queries over 21,000 chunk rows (a busy week of narrations)
 * ran no slower with 4 MB (bench/RESULTS.md, "Memory of `npm start`").
 */
export const PGLITE_SHARED_BUFFERS = '4MB';

/**
 * PGlite runs one backend in single-user mode, but PostgreSQL still sizes its
 * shared memory (process slots, lock table) for `max_connections` plus the
 * background and WAL-sender slots: ~3 MB resident for slots nobody uses.
 */
const PGLITE_ONE_BACKEND = [
  'max_connections=4',
  'superuser_reserved_connections=0',
  'max_wal_senders=0',
  'max_replication_slots=0',
  'autovacuum_max_workers=1',
].flatMap((setting) => ['-c', setting]);

/** Options of {@link openPglite}. */
export interface PgliteOptions {
  /** PostgreSQL `shared_buffers` (default {@link PGLITE_SHARED_BUFFERS}). */
  sharedBuffers?: string;
}

/**
 * Opens the embedded PGlite database in `dataDir` (created on first use), or
 * in memory when `dataDir` is undefined.
 *
 * A new data directory is created by {@link initPgliteDataDir} in a child
 * process: PGlite's initdb runs a second Postgres instance and grows this
 * process's WebAssembly memory to ~650 MB that is never given back, while
 * reopening an existing directory needs a fraction of that.
 */
export async function openPglite(
  dataDir: string | undefined,
  options: PgliteOptions = {},
): Promise<SqlDriver & { client: PGlite }> {
  // Imported here, not at the top: a server on DATABASE_URL never loads PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [
    ...PGlite.defaultStartParams,
    ...PGLITE_ONE_BACKEND,
    '-c',
    `shared_buffers=${options.sharedBuffers ?? PGLITE_SHARED_BUFFERS}`,
  ];
  if (dataDir && !existsSync(path.join(dataDir, 'PG_VERSION')) && (await isEmptyOrMissing(dataDir))) {
    await initPgliteDataDir(dataDir);
  }
  const client = dataDir ? new PGlite(dataDir, { startParams }) : new PGlite({ startParams });
  await client.waitReady;
  const conn = {
    exec: async (sql: string) => {
      await client.exec(sql);
    },
    query: async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await client.query<T>(sql, params)).rows,
  };
  return {
    kind: 'pglite',
    client,
    ...conn,
    // PGlite is a single connection already.
    withConnection: (fn) => fn(conn),
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

/** Thrown when a new PGlite data directory could not be created. */
export class PgliteInitError extends Error {
  override readonly name = 'PgliteInitError';
}

/** The initdb child: plain CommonJS, so it runs the same under tsx and from compiled output. */
const INITDB_SOURCE = String.raw`
const { PGlite } = require(process.argv[1]);
const db = new PGlite(process.argv[2]);
db.waitReady
  .then(() => db.close())
  .then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(String((error && error.stack) || error));
      process.exit(1);
    },
  );
`;

/**
 * Creates a PGlite data directory at `dataDir` (which must be missing or
 * empty) by running initdb in a short-lived child process. The child writes
 * into a sibling directory that is renamed into place only once complete, so
 * a crash half-way leaves nothing that looks like a database.
 */
export async function initPgliteDataDir(dataDir: string): Promise<void> {
  const staging = `${dataDir}.initdb-${process.pid}`;
  try {
    await rm(staging, { recursive: true, force: true });
    const code = await runInitdbChild(staging);
    if (code.exit !== 0 || !existsSync(path.join(staging, 'PG_VERSION'))) {
      throw new Error(`initdb exited: ${code.exit}${code.stderr ? `: ${code.stderr.trim()}` : ''}`);
    }
    if (existsSync(dataDir)) await rmdir(dataDir);
    await rename(staging, dataDir);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PgliteInitError(`could not create the database in ${dataDir}: ${reason}`, { cause: error });
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
  }
}

async function runInitdbChild(dir: string): Promise<{ exit: number | string; stderr: string }> {
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const child = spawn(process.execPath, ['-e', INITDB_SOURCE, '--', pglite, dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exit = await new Promise<number | string>((resolve) => {
    child.once('error', (error) => resolve(error.message));
    child.once('exit', (c, signal) => resolve(c ?? signal ?? 'unknown'));
  });
  return { exit, stderr };
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** Connects a pg Pool to a PostgreSQL server. */
export async function openPostgres(
  url: string,
  options: { max?: number } = {},
): Promise<SqlDriver & { pool: pg.Pool }> {
  // Imported here, not at the top: the embedded database (the default) never loads pg.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const wrap = (c: pg.Pool | pg.PoolClient) => ({
    exec: async (sql: string) => {
      await c.query(sql);
    },
    query: async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await c.query(sql, params)).rows as T[],
  });
  return {
    kind: 'postgres',
    pool,
    ...wrap(pool),
    withConnection: async (fn) => {
      const client = await pool.connect();
      try {
        return await fn(wrap(client));
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
