import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db';
import { PrismaPlaybackRepository } from '../../src/db/playback-repository';
import { silentLogger } from '../../src/log';

/** Where repository tests run: always PGlite, and PostgreSQL when TEST_DATABASE_URL is set. */
export type Backend = 'pglite' | 'postgres';

const SERVER_URL = process.env['TEST_DATABASE_URL'];
if (!SERVER_URL && process.env['CI']) {
  throw new Error('CI must set TEST_DATABASE_URL so the repository tests also run on PostgreSQL');
}

/** The backends this run covers. */
export const backends: Backend[] = SERVER_URL ? ['pglite', 'postgres'] : ['pglite'];

/** A migrated database of its own for one test file, plus a repository on it. */
export interface TestDatabase {
  backend: Backend;
  db: Database;
  repository: PrismaPlaybackRepository;
  /** Empties every table (between tests). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** For postgres: the URL of this file's own database. */
  url?: string;
}

const TABLES = [
  'connection_playback_states',
  'websocket_connections',
  'audio_chunks',
  'audio_playback_requests',
  'campaigns',
];

/** Opens a fresh database on `backend` (PGlite in memory, or a new database on the server). */
export async function openTestDatabase(backend: Backend, pgliteDir?: string): Promise<TestDatabase> {
  let url: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  let db: Database;
  if (backend === 'pglite') {
    db = await openDatabase({ kind: 'pglite', dataDir: pgliteDir }, silentLogger);
  } else {
    const admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    const name = `bardcast_test_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(SERVER_URL as string);
    u.pathname = `/${name}`;
    url = u.toString();
    db = await openDatabase({ kind: 'postgres', url, poolSize: 4 }, silentLogger);
    drop = async () => {
      const a = new pg.Client({ connectionString: SERVER_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  const repository = new PrismaPlaybackRepository(db.prisma, db.ping);
  return {
    backend,
    db,
    repository,
    ...(url ? { url } : {}),
    reset: async () => {
      await db.driver.exec(`TRUNCATE ${TABLES.map((t) => `"${t}"`).join(', ')} CASCADE`);
    },
    close: async () => {
      await db.close();
      await drop?.();
    },
  };
}
