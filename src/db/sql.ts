import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

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

/** Opens the embedded PGlite database in `dataDir` (created on first use). */
export async function openPglite(dataDir: string | undefined): Promise<SqlDriver & { client: PGlite }> {
  const client = dataDir ? new PGlite(dataDir) : new PGlite();
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

/** Connects a pg Pool to a PostgreSQL server. */
export function openPostgres(url: string, options: { max?: number } = {}): SqlDriver & { pool: pg.Pool } {
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
