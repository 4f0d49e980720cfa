import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { initPgliteDataDir, openPglite, PGLITE_SHARED_BUFFERS, PgliteInitError } from '../../src/db/sql';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('opening the embedded database', () => {
  it('creates a new data directory in a child process, then opens it with a small buffer cache', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'bardcast-pgopen-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'pg');
    const db = await openPglite(dataDir);
    try {
      expect(await db.query('SHOW shared_buffers')).toEqual([{ shared_buffers: PGLITE_SHARED_BUFFERS }]);
      // One backend: shared memory is not sized for a hundred unused connection slots.
      expect(await db.query('SHOW max_connections')).toEqual([{ max_connections: '4' }]);
      await db.exec('CREATE TABLE t (x int); INSERT INTO t VALUES (7)');
    } finally {
      await db.close();
    }
    // Only the data directory: no staging directory left beside it.
    expect(await readdir(parent)).toEqual(['pg']);
    const again = await openPglite(dataDir);
    try {
      expect(await again.query('SELECT x FROM t')).toEqual([{ x: 7 }]);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('reports a data directory it cannot create, leaving nothing behind', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'bardcast-pgopen-'));
    dirs.push(parent);
    await writeFile(path.join(parent, 'file'), 'not a directory');
    await expect(initPgliteDataDir(path.join(parent, 'file', 'pg'))).rejects.toBeInstanceOf(PgliteInitError);
    expect(await readdir(parent)).toEqual(['file']);
  }, 120_000);
});
