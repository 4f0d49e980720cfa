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
