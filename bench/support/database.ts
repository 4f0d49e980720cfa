/**
 * A database of its own for one bench process: a fresh PostgreSQL database
 * on the server `postgresUrl` names (dropped again by `drop`), or PGlite in
 * `pgliteDir` (in memory without one).
 */
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db';
import { silentLogger } from '../../src/log';

export interface BenchDatabase {
  db: Database;
  /** Drops the PostgreSQL database (nothing for PGlite). Close `db` first. */
  drop(): Promise<void>;
}

export async function openBenchDatabase(options: {
  /** Name prefix of the PostgreSQL database (the process id is added). */
  name: string;
  postgresUrl?: string | undefined;
  pgliteDir?: string | undefined;
}): Promise<BenchDatabase> {
  const server = options.postgresUrl;
  if (!server) {
    const db = await openDatabase({ kind: 'pglite', dataDir: options.pgliteDir }, silentLogger);
    return { db, drop: async () => {} };
  }
  const name = `${options.name}_${process.pid}`;
  const admin = async (sql: string[]): Promise<void> => {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      for (const statement of sql) await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin([`DROP DATABASE IF EXISTS ${name}`, `CREATE DATABASE ${name}`]);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const db = await openDatabase({ kind: 'postgres', url: url.toString() }, silentLogger);
  return { db, drop: () => admin([`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]) };
}
