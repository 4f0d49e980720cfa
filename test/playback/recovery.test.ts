import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/db';
import { PrismaPlaybackRepository } from '../../src/db/playback-repository';
import { silentLogger } from '../../src/log';
import { ChunkStatus, GenerationStatus, RequestStatus } from '../../src/playback';
import { audioOf } from '../support/audio';
import { openTestDatabase } from '../support/db';
import { startTestEngine } from '../support/engine';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs the crash child until it reports chunk 1 of A on air, then SIGKILLs it. */
async function runAndKill(dataDir: string, audioDir: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures/crash-child.ts'), dataDir, audioDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child never reached chunk 1: ${err}`)), 90_000);
    child.stdout.on('data', (d: Buffer) => {
      if (String(d).includes('CHUNK1')) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
  await new Promise((r) => child.once('exit', r));
}

it('a new process on the same data directory resumes at the first chunk not PLAYED', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'bardcast-crash-'));
  dirs.push(root);
  const dataDir = path.join(root, 'pg');
  const audioDir = path.join(root, 'audio');
  await runAndKill(dataDir, audioDir);

  const db = await openDatabase({ kind: 'pglite', dataDir }, silentLogger);
  const repo = new PrismaPlaybackRepository(db.prisma, db.ping);
  const t = await startTestEngine(repo, { audioDir });
  try {
    expect(t.engine.recovery).toEqual({ resumed: 1, requeued: 2, interrupted: 1 });
    const station = t.engine.stations.get('c1');
    const now = station.now();
    expect(now?.request.text).toBe('A');
    expect(now?.chunkIndex).toBe(1);
    expect(now?.offsetMs).toBe(0);
    expect(now?.positionSec).toBe(1.5);
    expect(station.queue().map((e) => e.request.text)).toEqual(['A', 'B', 'C']);

    // Recovery wrote its corrections before going on air: memory and database agree.
    const all = await db.prisma.audioPlaybackRequest.findMany({
      orderBy: { queueSeq: 'asc' },
      include: { chunks: { orderBy: { sequenceNumber: 'asc' } } },
    });
    expect(all[0]!.chunks.map((x) => x.status)).toEqual([
      ChunkStatus.Played,
      ChunkStatus.Playing,
      ChunkStatus.Ready,
    ]);
    // C's generation was cut short: it is handed over to continue at chunk 1, not failed.
    const c = all.find((r) => r.text === 'C')!;
    expect(c.status).toBe(RequestStatus.Pending);
    expect(c.generation).toBe(GenerationStatus.Generating);
    const interrupted = t.engine.takeInterrupted();
    expect(interrupted.map((i) => [i.request.text, i.chunks.length])).toEqual([['C', 1]]);
    expect(t.engine.takeInterrupted()).toEqual([]);
    await t.engine.writer.addChunk(c.id, 1, { text: 'c1', audio: audioOf(800) });
    await t.engine.writer.complete(c.id, 2);

    t.clock.advance(60_000 + 1500 + 400);
    expect(station.now()?.request.text).toBe('B');
    t.clock.advance(800 + 400);
    expect(station.now()?.request.text).toBe('C');
    t.clock.advance(1600);
    await t.engine.repository.flush();
    const a = await repo.getRequest(all[0]!.id);
    expect(a?.request.status).toBe(RequestStatus.Played);
    expect(a?.chunks.map((x) => x.status)).toEqual([
      ChunkStatus.Played,
      ChunkStatus.Played,
      ChunkStatus.Played,
    ]);
    const cAfter = await repo.getRequest(c.id);
    expect(cAfter?.request.status).toBe(RequestStatus.Played);
    expect(cAfter?.chunks.map((x) => x.text)).toEqual(['c0', 'c1']);

    // Leave one queued request behind for the sharding check below (queued
    // first: the station refuses to pause while nothing is on air or queued).
    const d = await t.engine.writer.create('c1', 'D');
    expect(station.pause()).toEqual({ ok: true });
    await t.engine.writer.addChunk(d.id, 0, { text: 'd0', audio: audioOf(500) });
    await t.engine.writer.complete(d.id, 1);
    await t.engine.repository.flush();
  } finally {
    await t.dispose();
    await db.close();
  }

  // Another shard's process leaves the campaign alone (sharding).
  const db2 = await openDatabase({ kind: 'pglite', dataDir }, silentLogger);
  const other = await startTestEngine(new PrismaPlaybackRepository(db2.prisma, db2.ping), {
    audioDir,
    ownsCampaign: () => false,
  });
  try {
    expect(other.engine.recovery).toEqual({ resumed: 0, requeued: 0, interrupted: 0 });
    expect((await db2.prisma.audioPlaybackRequest.findFirst({ where: { text: 'D' } }))?.status).toBe(
      RequestStatus.Pending,
    );
    expect(other.engine.stations.peek('c1')?.queue() ?? []).toEqual([]);
  } finally {
    await other.dispose();
    await db2.close();
  }
}, 180_000);

it('an on-air request whose chunks all PLAYED before the crash ends at once, not after the stall timeout', async () => {
  const tdb = await openTestDatabase('pglite');
  try {
    const t1 = await startTestEngine(tdb.repository);
    let a;
    let b;
    try {
      a = await t1.engine.writer.create('c1', 'A');
      await t1.engine.writer.addChunk(a.id, 0, { text: 'a0', audio: audioOf(500) });
      await t1.engine.writer.complete(a.id, 1);
      b = await t1.engine.writer.create('c1', 'B');
      await t1.engine.writer.addChunk(b.id, 0, { text: 'b0', audio: audioOf(500) });
      t1.clock.advance(500);
      await t1.engine.repository.flush();
    } finally {
      await t1.dispose();
    }
    // The kill fell between the chunks' PLAYED writes and the request's own.
    await tdb.repository.apply({
      op: 'moveRequest',
      id: a.id,
      from: RequestStatus.Played,
      patch: { status: RequestStatus.Playing, finishedAt: null },
    });
    const t2 = await startTestEngine(tdb.repository);
    try {
      expect(t2.engine.recovery).toMatchObject({ resumed: 1, requeued: 1, interrupted: 1 });
      const station = t2.engine.stations.get('c1');
      await t2.engine.repository.flush();
      expect((await tdb.repository.getRequest(a.id))?.request.status).toBe(RequestStatus.Played);
      // B follows after the gap, as if A had ended before the crash.
      t2.clock.advance(400);
      expect(station.now()?.request.text).toBe('B');
      const [resumed] = t2.engine.takeInterrupted();
      expect(resumed?.request.id).toBe(b.id);
      await t2.engine.writer.complete(b.id, 1);
      t2.clock.advance(500);
      await t2.engine.repository.flush();
      expect((await tdb.repository.getRequest(b.id))?.request.status).toBe(RequestStatus.Played);
    } finally {
      await t2.dispose();
    }
  } finally {
    await tdb.close();
  }
}, 60_000);

it('an on-air request whose stored chunks all PLAYED before the crash waits in underrun for its resumed generation', async () => {
  const tdb = await openTestDatabase('pglite');
  try {
    const t1 = await startTestEngine(tdb.repository);
    let a;
    try {
      a = await t1.engine.writer.create('c1', 'A');
      await t1.engine.writer.addChunk(a.id, 0, { text: 'a0', audio: audioOf(500) });
      t1.clock.advance(500);
      await t1.engine.repository.flush();
    } finally {
      await t1.dispose();
    }
    const t2 = await startTestEngine(tdb.repository);
    try {
      expect(t2.engine.recovery).toMatchObject({ resumed: 1, interrupted: 1 });
      const station = t2.engine.stations.get('c1');
      expect(station.now()).toMatchObject({ chunkIndex: 1, underrun: true });
      const [resumed] = t2.engine.takeInterrupted();
      expect(resumed?.request.id).toBe(a.id);
      // The resumed generation finds the text ended at chunk 1.
      await t2.engine.writer.complete(a.id, 1);
      await t2.engine.repository.flush();
      expect((await tdb.repository.getRequest(a.id))?.request.status).toBe(RequestStatus.Played);
      expect(station.queue()).toEqual([]);
    } finally {
      await t2.dispose();
    }
  } finally {
    await tdb.close();
  }
}, 60_000);
