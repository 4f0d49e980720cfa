import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChunkStatus } from '../../src/playback';
import { audioOf } from '../support/audio';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { startTestEngine } from '../support/engine';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
});
afterAll(async () => {
  await tdb.close();
});

const DAY = 24 * 3600 * 1000;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && !e.name.startsWith('.')) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

it('deletes PLAYED/SKIPPED chunks past the retention with their files, keeps the rest, closes silent connections', async () => {
  await tdb.reset();
  const t = await startTestEngine(tdb.repository, {
    retentionMs: 7 * DAY,
    heartbeatTimeoutMs: 90_000,
    cleanupIntervalMs: 60_000,
  });
  const { writer, stations, repository, cleanup } = t.engine;
  const station = stations.get('c1');

  // Old: played in full. Then one that will be skipped, one still queued (READY).
  const played = await writer.create('c1', 'played');
  await writer.addChunk(played.id, 0, { text: 'p', audio: audioOf(1000) });
  await writer.complete(played.id, 1);
  t.clock.advance(1000);
  const skipped = await writer.create('c1', 'skipped');
  await writer.addChunk(skipped.id, 0, { text: 's', audio: audioOf(1000) });
  t.clock.advance(400);
  station.skip();
  const queued = await writer.create('c1', 'queued');
  station.pause();
  await writer.addChunk(queued.id, 0, { text: 'q', audio: audioOf(1000) });
  await t.engine.listeners.opened({
    id: 'old',
    campaignId: 'c1',
    tokenId: 't',
    kind: 'PLAYER',
    status: 'CONNECTED',
    connectedAt: new Date(t.clock.now()),
    lastHeartbeat: new Date(t.clock.now()),
    disconnectedAt: null,
  });
  await repository.flush();
  expect(await files(t.audioDir)).toHaveLength(6);

  // Exactly the retention after the skipped chunk was made: only the older played one goes.
  t.clock.advance(7 * DAY - 400);
  let result = await cleanup.runOnce();
  expect(result).toEqual({ chunksDeleted: 1, filesDeleted: 2, connectionsClosed: 1 });
  expect((await cleanup.runOnce()).chunksDeleted).toBe(0);
  // One millisecond later the skipped one is past it too.
  t.clock.advance(1);
  result = await cleanup.runOnce();
  expect(result.chunksDeleted).toBe(1);
  expect(result.filesDeleted).toBe(2);

  const left = await tdb.db.prisma.audioChunk.findMany();
  expect(left.map((c) => c.status)).toEqual([ChunkStatus.Ready]);
  const remaining = await files(t.audioDir);
  expect(remaining.map((f) => path.basename(f)).sort()).toEqual(['0000.mp3', '0000.opus']);
  expect(remaining.every((f) => f.includes(queued.id))).toBe(true);
  const conn = await tdb.db.prisma.websocketConnection.findUnique({ where: { id: 'old' } });
  expect(conn?.status).toBe('DISCONNECTED');
  await t.dispose();
});

it('runs by itself every interval on the clock', async () => {
  await tdb.reset();
  const t = await startTestEngine(tdb.repository, { retentionMs: 1000, cleanupIntervalMs: 60_000 });
  const runs: number[] = [];
  const passes: Promise<unknown>[] = [];
  const original = t.engine.cleanup.runOnce.bind(t.engine.cleanup);
  t.engine.cleanup.runOnce = () => {
    runs.push(t.clock.now());
    const pass = original();
    passes.push(pass);
    return pass;
  };
  const start = t.clock.now();
  t.engine.cleanup.start();
  t.clock.advance(59_999);
  expect(runs).toHaveLength(0);
  t.clock.advance(1);
  expect(runs).toHaveLength(1);
  // The next run is armed when this pass ends (passes never overlap): wait for that, not for time.
  await passes[0];
  await new Promise((r) => setImmediate(r));
  t.clock.advance(59_999);
  expect(runs).toHaveLength(1);
  t.clock.advance(1);
  expect(runs.map((at) => at - start)).toEqual([60_000, 120_000]);
  await passes[1];
  t.engine.cleanup.stop();
  await t.dispose();
});
