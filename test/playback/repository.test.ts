import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  ResilientRepository,
  isDataError,
  type AudioChunk,
  type PlaybackRequest,
} from '../../src/playback';
import { transitionChunk, transitionGeneration, transitionRequest } from '../../src/playback/transitions';
import type { WriteOp } from '../../src/playback';
import { backends, openTestDatabase, type TestDatabase } from '../support/db';
import { ManualClock } from '../support/manual-clock';

const T0 = new Date('2026-11-20T10:00:00.000Z');

function request(id: string, seq: number, over: Partial<PlaybackRequest> = {}): PlaybackRequest {
  return {
    id,
    campaignId: 'c1',
    queueSeq: seq,
    mode: 'say',
    text: `text ${id}`,
    status: RequestStatus.Pending,
    generation: GenerationStatus.Pending,
    error: null,
    totalChunks: null,
    voice: null,
    script: null,
    scriptComplete: false,
    createdAt: new Date(T0.getTime() + seq),
    startedAt: null,
    finishedAt: null,
    ...over,
  };
}

function chunk(id: string, requestId: string, seq: number, over: Partial<AudioChunk> = {}): AudioChunk {
  return {
    id,
    requestId,
    sequenceNumber: seq,
    status: ChunkStatus.Ready,
    text: `sentence ${seq}`,
    opusKey: `c1/${requestId}/${seq}.opus`,
    opusSizeBytes: 10,
    mp3Key: `c1/${requestId}/${seq}.mp3`,
    mp3SizeBytes: 12,
    mimeType: 'audio/mpeg',
    durationMs: 1234.5,
    sampleCount: 59256,
    frameCount: 52,
    createdAt: T0,
    playedAt: null,
    ...over,
  };
}

describe.each(backends)('PrismaPlaybackRepository on %s', (backend) => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await openTestDatabase(backend);
  });
  afterAll(async () => {
    await tdb?.close();
  });
  beforeEach(async () => {
    await tdb.reset();
    await tdb.repository.apply({
      op: 'upsertCampaign',
      campaign: {
        id: 'c1',
        name: 'Curse of Strahd',
        guildId: 'g1',
        voiceChannelId: null,
        textChannelId: null,
        dmRoleId: null,
        ttsVoice: null,
        idleTimeoutSec: null,
      },
    });
  });

  it('round-trips campaigns, requests and chunks with every field', async () => {
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    await tdb.repository.apply({ op: 'createRequest', request: r });
    const c = chunk('22222222-2222-4222-8222-222222222222', r.id, 0);
    await tdb.repository.apply({ op: 'createChunk', chunk: c });
    expect(await tdb.repository.getRequest(r.id)).toEqual({ request: r, chunks: [c] });
    expect(await tdb.repository.getChunk(c.id)).toEqual({ ...c, campaignId: 'c1' });
    expect((await tdb.repository.findCampaignByGuild('g1'))?.name).toBe('Curse of Strahd');
    expect(await tdb.repository.getCampaign('nope')).toBeNull();
  });

  it('chunk moves that queue up behind a write go as one statement, each still guarded, in order', async () => {
    const inner = Object.create(tdb.repository) as typeof tdb.repository;
    const applied: WriteOp[] = [];
    inner.apply = (op) => {
      applied.push(op);
      return tdb.repository.apply(op);
    };
    const repo = new ResilientRepository(inner, { clock: new ManualClock(), log: silentLogger });
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    const ids = Array.from({ length: 6 }, (_, i) => `22222222-2222-4222-8222-00000000000${i}`);
    const chunks = ids.map((id, i) => chunk(id, r.id, i));
    await repo.apply({ op: 'createRequest', request: { ...r } });
    for (const c of chunks) await repo.apply({ op: 'createChunk', chunk: { ...c } });
    applied.length = 0;
    // A busy station: many moves in one tick, one chunk twice (PLAYING then PLAYED), one stale move.
    const mem = chunks.map((c) => ({ ...c }));
    const at = new Date(T0.getTime() + 5000);
    const writes = [
      repo.apply({ op: 'createRequest', request: request('33333333-3333-4333-8333-333333333333', 2) }),
      ...mem.slice(0, 4).map((c) => repo.apply(transitionChunk(c, ChunkStatus.Playing, at))),
      repo.apply(transitionChunk(mem[0]!, ChunkStatus.Played, at)),
      repo.apply(transitionChunk(mem[1]!, ChunkStatus.Skipped, at)),
      // Stale: chunk 5 is READY in the database, so a move from PLAYED changes nothing.
      repo.apply({
        op: 'moveChunk',
        id: ids[5]!,
        from: ChunkStatus.Played,
        patch: { status: ChunkStatus.Skipped },
      }),
    ];
    await Promise.all(writes);
    // The first write went alone; the eight moves behind it as two statements (chunk 0 moves twice).
    expect(applied.map((op) => (op.op === 'moveChunks' ? `moveChunks×${op.moves.length}` : op.op))).toEqual([
      'createRequest',
      'moveChunks×4',
      'moveChunks×3',
    ]);
    const got = await tdb.repository.getRequest(r.id);
    expect(got?.chunks.map((c) => [c.status, c.playedAt])).toEqual([
      [ChunkStatus.Played, at],
      [ChunkStatus.Skipped, null],
      [ChunkStatus.Playing, null],
      [ChunkStatus.Playing, null],
      [ChunkStatus.Ready, null],
      [ChunkStatus.Ready, null],
    ]);
  });

  it('a refused write among grouped chunk moves fails alone; the others land', async () => {
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    const ids = Array.from({ length: 3 }, (_, i) => `22222222-2222-4222-8222-00000000000${i}`);
    await tdb.repository.apply({ op: 'createRequest', request: { ...r } });
    for (const [i, id] of ids.entries())
      await tdb.repository.apply({ op: 'createChunk', chunk: chunk(id, r.id, i) });
    const inner = Object.create(tdb.repository) as typeof tdb.repository;
    inner.apply = async (op) => {
      const refused = (o: WriteOp) => o.op === 'moveChunk' && o.id === ids[1];
      if (op.op === 'moveChunks' ? op.moves.some((m) => m.id === ids[1]) : refused(op)) {
        throw Object.assign(new Error('refused'), { name: 'InvalidTransitionError' });
      }
      return tdb.repository.apply(op);
    };
    const repo = new ResilientRepository(inner, { clock: new ManualClock(), log: silentLogger });
    const move = (id: string) =>
      repo.apply({ op: 'moveChunk', id, from: ChunkStatus.Ready, patch: { status: ChunkStatus.Playing } });
    const first = move(ids[0]!);
    const results = await Promise.allSettled([first, ...ids.map(move)]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(repo.inOutage).toBe(false);
    const got = await tdb.repository.getRequest(r.id);
    expect(got?.chunks.map((c) => c.status)).toEqual([
      ChunkStatus.Playing,
      ChunkStatus.Ready,
      ChunkStatus.Playing,
    ]);
  });

  it('a statement the database refuses is a data error, not an outage (by its SQLSTATE)', async () => {
    const refused = await tdb.db.prisma
      .$executeRawUnsafe(`UPDATE "audio_chunks" SET "status" = 'BOGUS'::"ChunkStatus"`)
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(isDataError(refused)).toBe(true);
    const lost = { code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '08006' } } } };
    expect(isDataError(lost)).toBe(false);
    const shutdown = { code: 'P2010', meta: { driverAdapterError: { cause: { originalCode: '57P01' } } } };
    expect(isDataError(shutdown)).toBe(false);
  });

  it('replaying creates and updates is idempotent (no duplicates)', async () => {
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    const c = chunk('22222222-2222-4222-8222-222222222222', r.id, 0);
    const ops: WriteOp[] = [
      { op: 'createRequest', request: { ...r } },
      { op: 'createChunk', chunk: { ...c } },
      transitionRequest({ ...r }, RequestStatus.Playing, T0),
      transitionChunk({ ...c }, ChunkStatus.Playing, T0),
      transitionChunk({ ...c, status: ChunkStatus.Playing }, ChunkStatus.Played, T0),
    ];
    for (let i = 0; i < 2; i++) for (const op of ops) await tdb.repository.apply(op);
    const got = await tdb.repository.getRequest(r.id);
    expect(got?.chunks).toHaveLength(1);
    expect(got?.request.status).toBe(RequestStatus.Playing);
    expect(got?.chunks[0]?.status).toBe(ChunkStatus.Played);
  });

  it('a status write applies only to a row still in the state it leaves: a replay never moves a row back', async () => {
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    const c = chunk('22222222-2222-4222-8222-222222222222', r.id, 0);
    await tdb.repository.apply({ op: 'createRequest', request: { ...r } });
    await tdb.repository.apply({ op: 'createChunk', chunk: { ...c } });
    const mem = { ...r };
    const memChunk = { ...c };
    const toPlaying = transitionRequest(mem, RequestStatus.Playing, T0);
    const chunkPlaying = transitionChunk(memChunk, ChunkStatus.Playing, T0);
    const chunkPlayed = transitionChunk(memChunk, ChunkStatus.Played, T0);
    const toPlayed = transitionRequest(mem, RequestStatus.Played, T0);
    const generating = transitionGeneration(mem, GenerationStatus.Generating);
    const generated = transitionGeneration(mem, GenerationStatus.Generated, { totalChunks: 1 });
    for (const op of [toPlaying, chunkPlaying, generating, chunkPlayed, generated, toPlayed]) {
      await tdb.repository.apply(op);
    }
    // The fallback journal replays old writes after newer ones landed; a recovery resets PLAYING → READY late.
    const resetLate = transitionChunk({ ...c, status: ChunkStatus.Playing }, ChunkStatus.Ready, T0);
    for (const op of [toPlaying, chunkPlaying, generating, resetLate]) await tdb.repository.apply(op);
    const got = await tdb.repository.getRequest(r.id);
    expect(got?.request).toMatchObject({
      status: RequestStatus.Played,
      generation: GenerationStatus.Generated,
      totalChunks: 1,
    });
    expect(got?.chunks[0]).toMatchObject({ status: ChunkStatus.Played, playedAt: T0 });
  });

  it('a script only grows and stops at complete, whatever order its writes arrive in', async () => {
    const r = request('11111111-1111-4111-8111-111111111111', 1, { mode: 'narrate' });
    await tdb.repository.apply({ op: 'createRequest', request: r });
    const script = (text: string, complete = false): WriteOp => ({
      op: 'recordScript',
      id: r.id,
      script: text,
      complete,
    });
    await tdb.repository.apply(script('The door creaks. Y'));
    await tdb.repository.apply(script('The door creaks. You step in. T'));
    await tdb.repository.apply(script('The door creaks. Y'));
    expect((await tdb.repository.getRequest(r.id))?.request).toMatchObject({
      script: 'The door creaks. You step in. T',
      scriptComplete: false,
    });
    await tdb.repository.apply(script('The door creaks. You step in. The end.', true));
    await tdb.repository.apply(script('The door creaks. You step in. The end. More', false));
    expect((await tdb.repository.getRequest(r.id))?.request).toMatchObject({
      script: 'The door creaks. You step in. The end.',
      scriptComplete: true,
    });
  });

  it('loads active requests in queue order with chunks in sequence order', async () => {
    const ids = ['a', 'b', 'c', 'd'].map((x) => `${x.repeat(8)}-0000-4000-8000-000000000000`);
    await tdb.repository.apply({ op: 'createRequest', request: request(ids[2]!, 3) });
    await tdb.repository.apply({
      op: 'createRequest',
      request: request(ids[0]!, 1, { status: RequestStatus.Playing }),
    });
    await tdb.repository.apply({
      op: 'createRequest',
      request: request(ids[1]!, 2, { status: RequestStatus.Played }),
    });
    await tdb.repository.apply({
      op: 'createRequest',
      request: request(ids[3]!, 4, { status: RequestStatus.Cancelled }),
    });
    await tdb.repository.apply({
      op: 'createChunk',
      chunk: chunk('00000000-0000-4000-8000-000000000002', ids[0]!, 1),
    });
    await tdb.repository.apply({
      op: 'createChunk',
      chunk: chunk('00000000-0000-4000-8000-000000000001', ids[0]!, 0),
    });
    const active = await tdb.repository.loadActiveRequests();
    expect(active.map((a) => a.request.queueSeq)).toEqual([1, 3]);
    expect(active[0]?.chunks.map((c) => c.sequenceNumber)).toEqual([0, 1]);
    expect((await tdb.repository.listHistory('c1', 10)).map((r) => r.queueSeq)).toEqual([4, 2]);
    expect(await tdb.repository.maxQueueSeqs()).toEqual(new Map([['c1', 4]]));
  });

  it('refuses a duplicate queue position and a chunk of an unknown request as data errors', async () => {
    const { isDataError } = await import('../../src/playback');
    await tdb.repository.apply({
      op: 'createRequest',
      request: request('11111111-1111-4111-8111-111111111111', 1),
    });
    const dup = tdb.repository.apply({
      op: 'createRequest',
      request: request('33333333-3333-4333-8333-333333333333', 1),
    });
    await expect(dup).rejects.toSatisfy(isDataError);
    const orphan = tdb.repository.apply({
      op: 'createChunk',
      chunk: chunk('44444444-4444-4444-8444-444444444444', 'missing', 0),
    });
    await expect(orphan).rejects.toSatisfy(isDataError);
  });

  it('finds expired PLAYED/SKIPPED chunks at the retention boundary, never READY ones', async () => {
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    await tdb.repository.apply({ op: 'createRequest', request: r });
    const at = (ms: number) => new Date(T0.getTime() + ms);
    await tdb.repository.apply({
      op: 'createChunk',
      chunk: chunk('00000000-0000-4000-8000-00000000000a', r.id, 0, {
        status: ChunkStatus.Played,
        createdAt: at(-1),
      }),
    });
    await tdb.repository.apply({
      op: 'createChunk',
      chunk: chunk('00000000-0000-4000-8000-00000000000b', r.id, 1, {
        status: ChunkStatus.Skipped,
        createdAt: at(0),
      }),
    });
    await tdb.repository.apply({
      op: 'createChunk',
      chunk: chunk('00000000-0000-4000-8000-00000000000c', r.id, 2, {
        status: ChunkStatus.Ready,
        createdAt: at(-5000),
      }),
    });
    const expired = await tdb.repository.findExpiredChunks(T0, 100);
    expect(expired.map((c) => c.sequenceNumber)).toEqual([0]);
    expect(await tdb.repository.deleteChunks(expired.map((c) => c.id))).toBe(1);
    expect((await tdb.repository.findExpiredChunks(at(1), 100)).map((c) => c.sequenceNumber)).toEqual([1]);
  });

  it('writes a batch of connection opens, heartbeats and closes; a replay changes nothing', async () => {
    const at = (ms: number) => new Date(T0.getTime() + ms);
    const conn = (id: string, token: string, ms: number, campaignId = 'c1') => ({
      id,
      campaignId,
      tokenId: token,
      kind: 'PLAYER' as const,
      status: 'CONNECTED' as const,
      connectedAt: at(ms),
      lastHeartbeat: at(ms),
      disconnectedAt: null,
    });
    // An older row of tab A, written before the batch.
    await tdb.repository.apply({ op: 'upsertConnection', connection: conn('a0', 'tokA', 0) });
    const first: WriteOp = {
      op: 'recordConnections',
      batch: {
        // a1 and a2 are the same tab: the newer one supersedes a0 and a1. A DM row closed in the same batch.
        opened: [
          conn('a1', 'tokA', 10),
          conn('b1', 'tokB', 20),
          conn('a2', 'tokA', 30),
          { ...conn('d1', 'tokD', 40), kind: 'DM', status: 'DISCONNECTED', disconnectedAt: at(45) },
          conn('x1', 'tokX', 50, 'no-such-campaign'),
        ],
        heartbeats: [
          { id: 'b1', at: at(5_000) },
          { id: 'b1', at: at(4_000) },
          { id: 'a1', at: at(6_000) },
        ],
        closed: [],
      },
    };
    await tdb.repository.apply(first);
    await tdb.repository.apply({
      op: 'recordConnections',
      batch: {
        opened: [],
        heartbeats: [
          { id: 'a2', at: at(7_000) },
          { id: 'b1', at: at(1_000) },
        ],
        closed: [
          { id: 'b1', status: 'FAILED', at: at(8_000) },
          { id: 'b1', status: 'DISCONNECTED', at: at(9_000) },
          { id: 'a1', status: 'DISCONNECTED', at: at(8_000) },
        ],
      },
    });
    const expected = [
      { id: 'a0', status: 'SUPERSEDED', lastHeartbeat: at(0), disconnectedAt: at(30) },
      { id: 'a1', status: 'SUPERSEDED', lastHeartbeat: at(10), disconnectedAt: at(30) },
      { id: 'a2', status: 'CONNECTED', lastHeartbeat: at(7_000), disconnectedAt: null },
      { id: 'b1', status: 'FAILED', lastHeartbeat: at(5_000), disconnectedAt: at(8_000) },
      { id: 'd1', status: 'DISCONNECTED', lastHeartbeat: at(40), disconnectedAt: at(45), kind: 'DM' },
    ];
    const rows = () =>
      tdb.db.prisma.websocketConnection.findMany({
        orderBy: { id: 'asc' },
        select: { id: true, status: true, lastHeartbeat: true, disconnectedAt: true, kind: true },
      });
    expect(await rows()).toMatchObject(expected);
    // A journal replay of the first batch: no row is created again or moved back.
    await tdb.repository.apply(first);
    expect(await rows()).toMatchObject(expected);
  });

  it('records connections, supersedes older ones of the same token and marks silent ones', async () => {
    const conn = (id: string, hb: Date) => ({
      id,
      campaignId: 'c1',
      tokenId: 'tok',
      kind: 'PLAYER' as const,
      status: 'CONNECTED' as const,
      connectedAt: hb,
      lastHeartbeat: hb,
      disconnectedAt: null,
    });
    await tdb.repository.apply({ op: 'upsertConnection', connection: conn('k1', T0) });
    await tdb.repository.apply({
      op: 'upsertConnection',
      connection: conn('k2', new Date(T0.getTime() + 60_000)),
    });
    await tdb.repository.apply({
      op: 'supersedeConnections',
      campaignId: 'c1',
      tokenId: 'tok',
      exceptId: 'k2',
      at: T0,
    });
    const r = request('11111111-1111-4111-8111-111111111111', 1);
    await tdb.repository.apply({ op: 'createRequest', request: r });
    const c = chunk('22222222-2222-4222-8222-222222222222', r.id, 0);
    await tdb.repository.apply({ op: 'createChunk', chunk: c });
    await tdb.repository.apply({
      op: 'recordDeliveries',
      field: 'sentAt',
      deliveries: [{ connectionId: 'k2', chunkId: c.id, at: T0 }],
    });
    // A chunk removed by cleanup has nothing to record against: no error.
    await tdb.repository.apply({
      op: 'recordDeliveries',
      field: 'playedAt',
      deliveries: [
        { connectionId: 'k2', chunkId: c.id, at: T0 },
        { connectionId: 'k2', chunkId: 'gone', at: T0 },
      ],
    });
    // A superseded connection stays SUPERSEDED when it closes late, or when its creation is replayed.
    await tdb.repository.apply({ op: 'closeConnection', id: 'k1', status: 'DISCONNECTED', at: T0 });
    await tdb.repository.apply({ op: 'upsertConnection', connection: conn('k1', T0) });
    const states = await tdb.db.prisma.connectionPlaybackState.findMany();
    expect(states).toEqual([
      { connectionId: 'k2', chunkId: c.id, sentAt: T0, acknowledgedAt: null, playedAt: T0 },
    ]);
    expect(await tdb.repository.markStaleConnections(new Date(T0.getTime() + 90_000), T0)).toBe(1);
    const rows = await tdb.db.prisma.websocketConnection.findMany({ orderBy: { id: 'asc' } });
    expect(rows.map((x) => x.status)).toEqual(['SUPERSEDED', 'DISCONNECTED']);
  });
});
