import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db';
import { PrismaPlaybackRepository } from '../../src/db/playback-repository';
import { createLogger } from '../../src/log';
import { ChunkStatus, RequestStatus, ResilientRepository } from '../../src/playback';
import { audioOf } from '../support/audio';
import { backends, openTestDatabase, type TestDatabase } from '../support/db';
import { startTestEngine } from '../support/engine';
import { ManualClock } from '../support/manual-clock';
import { TcpProxy } from '../support/tcp-proxy';

/** Collects log lines so the test can count the outage messages. */
function captureLog() {
  const lines: { msg: string; level: number }[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { log: createLogger({ level: 'info', destination }), lines };
}

// The outage is made real by cutting a TCP proxy in front of PostgreSQL.
describe.runIf(backends.includes('postgres'))('database outage (PostgreSQL behind a cuttable proxy)', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let db: Database;
  let journalDir: string;

  beforeAll(async () => {
    tdb = await openTestDatabase('postgres');
    const target = new URL(tdb.url!);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(tdb.url!);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    db = await openDatabase(
      { kind: 'postgres', url: viaProxy.toString(), poolSize: 2 },
      createLogger({ level: 'silent' }),
    );
    journalDir = await mkdtemp(path.join(tmpdir(), 'bardcast-journal-'));
  });
  afterAll(async () => {
    await db?.close();
    await proxy?.close();
    await tdb?.close();
    await rm(journalDir, { recursive: true, force: true });
  });

  it('keeps playing from memory, journals once-logged writes, replays them in order without duplicates', async () => {
    const { log, lines } = captureLog();
    const journalFile = path.join(journalDir, 'journal.ndjson');
    const t = await startTestEngine(new PrismaPlaybackRepository(db.prisma, db.ping), {
      log,
      journalFile,
      dbRetryIntervalMs: 1000,
    });
    const { writer, repository, stations } = t.engine;
    const station = stations.get('c1');

    const a = await writer.create('c1', 'A');
    await writer.addChunk(a.id, 0, { text: 'a0', audio: audioOf(1000) });
    t.clock.advance(500);

    proxy.cut();
    // Generation goes on during the outage: the writes land in the journal.
    await writer.addChunk(a.id, 1, { text: 'a1', audio: audioOf(1000) });
    await writer.complete(a.id, 2);
    const b = await writer.create('c1', 'B');
    await writer.addChunk(b.id, 0, { text: 'b0', audio: audioOf(700) });
    await writer.complete(b.id, 1);
    expect(repository.inOutage).toBe(true);
    expect((await t.engine.metrics.dbFallbackActive.get()).values[0]?.value).toBe(1);

    // The station never waits for the database.
    t.clock.advance(1500);
    expect(a.status).toBe(RequestStatus.Played);
    t.clock.advance(400);
    expect(station.now()?.request.id).toBe(b.id);
    t.clock.advance(700);
    expect(b.status).toBe(RequestStatus.Played);
    await repository.flush();
    const journalled = repository.journalLength;
    expect(journalled).toBeGreaterThan(8);
    expect((await readFile(journalFile, 'utf8')).trim().split('\n')).toHaveLength(journalled);

    // A probe while still down fails quietly and keeps the journal.
    expect(await repository.retryNow()).toBe(false);
    expect(repository.journalLength).toBe(journalled);

    proxy.restore();
    expect(await repository.retryNow()).toBe(true);
    expect(repository.inOutage).toBe(false);
    expect(repository.journalLength).toBe(0);
    await expect(readFile(journalFile, 'utf8')).rejects.toThrow();

    const requests = await tdb.db.prisma.audioPlaybackRequest.findMany({
      orderBy: { queueSeq: 'asc' },
      include: { chunks: true },
    });
    expect(requests.map((r) => [r.text, r.status, r.chunks.length])).toEqual([
      ['A', RequestStatus.Played, 2],
      ['B', RequestStatus.Played, 1],
    ]);
    expect(requests.flatMap((r) => r.chunks.map((c) => c.status))).toEqual([
      ChunkStatus.Played,
      ChunkStatus.Played,
      ChunkStatus.Played,
    ]);
    expect(await tdb.db.prisma.audioChunk.count()).toBe(3);

    const outageLines = lines.filter((l) => /database unreachable/.test(l.msg));
    expect(outageLines).toHaveLength(1);
    expect(lines.filter((l) => /database is back/.test(l.msg))).toHaveLength(1);
    await t.dispose();
  }, 60_000);
});

describe.each(backends)('journal left by a crash during an outage (%s)', (backend) => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await openTestDatabase(backend);
  });
  afterAll(async () => {
    await tdb?.close();
  });

  it('is replayed at the next start, before anything reads the database', async () => {
    await tdb.reset();
    const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-journal-'));
    const journalFile = path.join(dir, 'journal.ndjson');
    const clock = new ManualClock();
    // A repository whose database is "gone": every write fails like a dead connection.
    const dead = Object.create(tdb.repository) as PrismaPlaybackRepository;
    dead.apply = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    };
    const first = new ResilientRepository(dead, {
      clock,
      log: createLogger({ level: 'silent' }),
      journalFile,
    });
    await first.apply({
      op: 'upsertCampaign',
      campaign: {
        id: 'c9',
        name: 'n',
        guildId: null,
        voiceChannelId: null,
        textChannelId: null,
        dmRoleId: null,
        ttsVoice: null,
        idleTimeoutSec: null,
      },
    });
    expect(first.inOutage).toBe(true);
    first.close(); // the process dies here

    const t = await startTestEngine(tdb.repository, { clock, journalFile });
    expect(await tdb.repository.getCampaign('c9')).toMatchObject({ id: 'c9', name: 'n' });
    await expect(readFile(journalFile)).rejects.toThrow();
    await t.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('drops a write of an older version (unguarded updateRequest) and replays the rest', async () => {
    await tdb.reset();
    const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-journal-'));
    const journalFile = path.join(dir, 'journal.ndjson');
    const campaign = { id: 'c8', name: 'n', guildId: null, voiceChannelId: null, textChannelId: null };
    const lines = [
      { op: 'updateRequest', id: 'r-old', patch: { status: 'PENDING' } },
      {
        op: 'upsertCampaign',
        campaign: { ...campaign, dmRoleId: null, ttsVoice: null, idleTimeoutSec: null },
      },
    ];
    await writeFile(journalFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const t = await startTestEngine(tdb.repository, { journalFile });
    expect(await tdb.repository.getCampaign('c8')).toMatchObject({ id: 'c8' });
    await expect(readFile(journalFile)).rejects.toThrow();
    await t.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});
