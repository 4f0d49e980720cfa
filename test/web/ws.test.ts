import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChunkStatus, type EncodedAudio } from '../../src/playback';
import { serverMessageSchemas } from '../../src/web/protocol';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { toneAudio } from './support/audio';
import { eventually } from './support/eventually';
import { startWebHarness, type WebHarness } from './support/server';
import { TestSocket } from './support/ws-client';

let tdb: TestDatabase;
let h: WebHarness;
let a1000: EncodedAudio;
let a1500: EncodedAudio;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  [a1000, a1500] = await Promise.all([toneAudio(1000), toneAudio(1500)]);
});
afterAll(async () => {
  await tdb.close();
});
beforeEach(async () => {
  await tdb.reset();
  h = await startWebHarness(tdb);
});
afterEach(async () => {
  // Every message any test received must fit its schema exactly.
  for (const s of sockets.splice(0)) {
    for (const m of s.messages) {
      serverMessageSchemas[m.type as keyof typeof serverMessageSchemas].strict().parse(m);
    }
  }
  await h.dispose();
});

async function connect(token?: string, campaign?: string): Promise<TestSocket> {
  const s = await h.connect(token, campaign);
  sockets.push(s);
  return s;
}

/** Sockets the harness does not know about (it terminates its own). */
const tabSockets: TestSocket[] = [];
afterEach(() => {
  for (const s of tabSockets.splice(0)) s.ws.terminate();
});

/** Opens `/ws` for c1 as a page does: with its tab's `client` id. */
async function connectTab(token: string, client: string): Promise<TestSocket> {
  const s = new TestSocket(`${h.url.replace('http', 'ws')}/ws?campaign=c1&token=${token}&client=${client}`);
  sockets.push(s);
  tabSockets.push(s);
  await s.opened;
  return s;
}

const connectionsInDb = () => tdb.db.prisma.websocketConnection.findMany({ orderBy: { connectedAt: 'asc' } });
const statesInDb = () => tdb.db.prisma.connectionPlaybackState.findMany();

describe('connect', () => {
  it('registers the connection and sends registration, schedule and queue when idle', async () => {
    const s = await connect();
    const reg = await s.next('connection_registered');
    expect(reg).toEqual({
      type: 'connection_registered',
      connection_id: expect.any(String),
      server_time: h.clock.now(),
      role: 'player',
    });
    expect(await s.next()).toEqual({
      type: 'station_schedule',
      campaign_id: 'c1',
      server_time: h.clock.now(),
      paused: false,
      entries: [],
    });
    expect(await s.next()).toEqual({
      type: 'playback_queue_updated',
      campaign_id: 'c1',
      pending_count: 0,
      current_request: null,
      pending_requests: [],
    });
    const rows = await eventually(async () => {
      const r = await connectionsInDb();
      return r.length === 1 && r;
    });
    expect(rows[0]).toMatchObject({
      id: reg.connection_id,
      campaignId: 'c1',
      kind: 'PLAYER',
      status: 'CONNECTED',
    });
  });

  it('late join: position, stream_url with from, and the schedule with exact starts_at', async () => {
    const start = h.clock.now();
    const r = await h.say('A', [a1000, a1500]);
    h.clock.advance(a1000.durationMs + 234);
    const s = await connect();
    await s.next('connection_registered');
    const started = await s.next();
    const position = Math.round(a1000.durationMs + 234) / 1000;
    const entry = h.t.engine.stations.get('c1').findRequest(r.id)!;
    expect(started).toEqual({
      type: 'audio_stream_started',
      campaign_id: 'c1',
      request_id: r.id,
      stream_url: `/api/audio/stream/${r.id}?from=${position}`,
      started_at: start,
      position_sec: position,
      is_late_join: true,
      chunk_ids: entry.chunks.map((c) => c.id),
      // A player reads the sentences spoken so far, up to the one on air.
      text: 'A 0 A 1',
    });
    const schedule = await s.next();
    expect(schedule.type).toBe('station_schedule');
    expect(schedule.entries).toEqual([
      {
        request_id: r.id,
        chunk_id: entry.chunks[1]!.id,
        sequence_number: 1,
        url: `/api/audio/chunks/${entry.chunks[1]!.id}`,
        text: 'A 1',
        starts_at: start + a1000.durationMs,
        duration_sec: Math.round(a1500.durationMs * 1000) / 1e6,
      },
    ]);
    // What a client derives: server time − starts_at = position into the chunk.
    expect((schedule.server_time as number) - (start + a1000.durationMs)).toBeCloseTo(234, 6);
    expect(await s.next()).toMatchObject({
      type: 'playback_queue_updated',
      current_request: { request_id: r.id, chunk_count: 2, played_count: 1, status: 'PLAYING' },
    });
    // The schedule told this connection about chunk 1: sentAt recorded.
    const states = await eventually(async () => {
      const st = await statesInDb();
      return st.length === 1 && st;
    });
    expect(states[0]).toMatchObject({
      chunkId: entry.chunks[1]!.id,
      sentAt: new Date(h.clock.now()),
      acknowledgedAt: null,
    });
  });

  it('joining right at the start is not a late join', async () => {
    await h.say('A', [a1000]);
    const s = await connect();
    expect(await s.next('audio_stream_started')).toMatchObject({ position_sec: 0, is_late_join: false });
    expect(await s.next('audio_stream_started', 300).catch(() => null)).toBeNull();
  });
});

describe('broadcast', () => {
  it('announces chunks, the start, the schedule, the queue and the end', async () => {
    const s = await connect();
    await s.next('playback_queue_updated');
    const r = await h.say('B', [a1000, a1500]);
    const ready = await s.next('audio_chunk_ready');
    expect(ready).toMatchObject({
      request_id: r.id,
      sequence_number: 0,
      chunk: { chunk_number: 1, total_chunks: null, mime_type: 'audio/mpeg', size_bytes: a1000.mp3.length },
    });
    expect(await s.next('audio_stream_started')).toMatchObject({
      request_id: r.id,
      is_late_join: false,
      position_sec: 0,
    });
    await s.next('station_schedule');
    await s.next('playback_queue_updated');
    h.clock.advance(a1000.durationMs + a1500.durationMs);
    expect(await s.next('audio_stream_stopped')).toEqual({
      type: 'audio_stream_stopped',
      campaign_id: 'c1',
      request_id: r.id,
      reason: 'played',
    });
    const states = await eventually(async () => {
      const st = await statesInDb();
      return st.length === 2 && st.every((x) => x.sentAt) && st;
    });
    expect(states.map((x) => x.acknowledgedAt)).toEqual([null, null]);
  });

  it('sends skipped on a DM skip and an empty schedule on pause', async () => {
    const s = await connect();
    const r = await h.say('C', [a1000, a1500]);
    await s.next('audio_stream_started');
    h.t.engine.stations.get('c1').pause();
    let sched = await s.next('station_schedule');
    while (sched.paused !== true) sched = await s.next('station_schedule');
    expect(sched.entries).toEqual([]);
    h.t.engine.stations.get('c1').skip();
    expect(await s.next('audio_stream_stopped')).toMatchObject({ request_id: r.id, reason: 'skipped' });
  });
});

describe('client messages', () => {
  it('answers heartbeats with server time and throttles last_heartbeat writes', async () => {
    const s = await connect();
    const { connection_id: id } = await s.next('connection_registered');
    s.send({ type: 'heartbeat', client_time: 5 });
    expect(await s.next('heartbeat_ack')).toEqual({
      type: 'heartbeat_ack',
      server_time: h.clock.now(),
      client_time: 5,
    });
    const connectedAt = h.clock.now();
    h.clock.advance(5_000);
    s.send({ type: 'heartbeat' });
    expect(await s.next('heartbeat_ack')).toEqual({ type: 'heartbeat_ack', server_time: h.clock.now() });
    await h.web.hub.connections('c1')[0]!.flushed();
    let row = await tdb.db.prisma.websocketConnection.findUnique({ where: { id: id as string } });
    expect(row?.lastHeartbeat.getTime()).toBe(connectedAt);
    h.clock.advance(11_000);
    s.send({ type: 'heartbeat' });
    await s.next('heartbeat_ack');
    row = await eventually(async () => {
      const x = await tdb.db.prisma.websocketConnection.findUnique({ where: { id: id as string } });
      return x?.lastHeartbeat.getTime() === h.clock.now() && x;
    });
    expect(row).toBeTruthy();
  });

  it('records audio_played per connection without moving the station', async () => {
    const r = await h.say('D', [a1000, a1500]);
    const s = await connect();
    const { connection_id: id } = await s.next('connection_registered');
    const station = h.t.engine.stations.get('c1');
    const chunks = station.findRequest(r.id)!.chunks;
    const before = station.now();
    s.send({ type: 'audio_played', campaign_id: 'c1', chunk_ids: [chunks[0]!.id, chunks[1]!.id] });
    const states = await eventually(async () => {
      const st = await statesInDb();
      return st.length === 2 && st.every((x) => x.playedAt && x.acknowledgedAt) && st;
    });
    expect(states.every((x) => x.connectionId === id)).toBe(true);
    expect(station.now()).toEqual(before);
    expect(chunks.map((c) => c.status)).toEqual([ChunkStatus.Playing, ChunkStatus.Ready]);
    // The timeline goes on by the station clock alone: chunk 1 starts when chunk 0 ends, not before.
    h.clock.advance(a1000.durationMs - 1);
    expect(station.now()?.chunkIndex).toBe(0);
    h.clock.advance(1);
    expect(station.now()).toMatchObject({ chunkIndex: 1, offsetMs: 0 });
    expect(chunks.map((c) => c.status)).toEqual([ChunkStatus.Played, ChunkStatus.Playing]);
  });

  it('answers a wrong campaign, unknown chunks and bad input with error, and stays up', async () => {
    const s = await connect();
    await s.next('playback_queue_updated');
    const unknown = crypto.randomUUID();
    s.send({ type: 'audio_played', campaign_id: 'c2', chunk_ids: [unknown] });
    expect(await s.next('error')).toMatchObject({ code: 'forbidden' });
    s.send({ type: 'audio_played', campaign_id: 'c1', chunk_ids: [unknown] });
    expect((await s.next('error')).code).toBe('not_found');
    for (const raw of [
      '{',
      'null',
      '"x"',
      '{"type":"nope"}',
      '{"type":"audio_played"}',
      JSON.stringify({ type: 'heartbeat', pad: 'x'.repeat(17_000) }),
    ]) {
      s.send(raw);
      const e = await s.next('error');
      expect(['bad_request', 'payload_too_large']).toContain(e.code);
    }
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await s.next('error')).code).toBe('bad_request');
    s.send({ type: 'heartbeat' });
    await s.next('heartbeat_ack');
    expect(s.ws.readyState).toBe(s.ws.OPEN);
  });

  it('closes frames past the hard cap with 1009', async () => {
    const s = await connect();
    s.send('x'.repeat(70_000));
    expect(await s.closed).toBe(1009);
  });

  it('closes an abusive connection (over 50 bad messages a minute) with 1008 and marks it FAILED', async () => {
    const s = await connect();
    const { connection_id: id } = await s.next('connection_registered');
    for (let i = 0; i < 51; i++) s.send('garbage');
    expect(await s.closed).toBe(1008);
    expect(s.messages.filter((m) => m.type === 'error').at(-1)).toMatchObject({ code: 'rate_limited' });
    await eventually(
      async () =>
        (await tdb.db.prisma.websocketConnection.findUnique({ where: { id: id as string } }))?.status ===
        'FAILED',
    );
  });

  it('accepts the HTTP fallback ACK for the token’s connection', async () => {
    const token = h.token();
    const r = await h.say('E', [a1000]);
    const chunkId = h.t.engine.stations.get('c1').findRequest(r.id)!.chunks[0]!.id;
    const post = (tok: string) =>
      h.fetch(`/api/audio/played/${chunkId}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
        body: '{}',
      });
    // No connection yet: accepted, nothing to record against.
    expect((await post(token)).status).toBe(204);
    const s = await connect(token);
    const { connection_id: id } = await s.next('connection_registered');
    expect((await post(token)).status).toBe(204);
    await eventually(async () =>
      (await statesInDb()).some((x) => x.connectionId === id && x.playedAt !== null),
    );
    expect((await post(h.token('player', 'c2'))).status).toBe(403);
    const bad = await h.fetch(`/api/audio/played/${chunkId}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{"x":1}',
    });
    expect(bad.status).toBe(400);
  });
});

describe('lifecycle', () => {
  it('supersedes the previous connection of the same token (4001) and records it', async () => {
    const token = h.token();
    const first = await connect(token);
    const { connection_id: oldId } = await first.next('connection_registered');
    const other = await connect(); // another token: untouched
    await other.next('connection_registered');
    const second = await connect(token);
    const { connection_id: newId } = await second.next('connection_registered');
    expect(await first.closed).toBe(4001);
    expect(other.ws.readyState).toBe(other.ws.OPEN);
    const rows = await eventually(async () => {
      const r = await connectionsInDb();
      return r.find((x) => x.id === oldId)?.status === 'SUPERSEDED' && r;
    });
    expect(rows.find((x) => x.id === newId)?.status).toBe('CONNECTED');
    expect(rows.filter((x) => x.status === 'CONNECTED')).toHaveLength(2);
    expect(h.web.hub.connectionCount('c1')).toBe(2);
  });

  it('lets tabs that share one link play side by side; only the same tab is superseded', async () => {
    const token = h.token();
    const nonce = h.tokens.verify(token, h.clock.now()).tokenId;
    const tabA = await connectTab(token, 'tab-A-0123456789');
    const { connection_id: aId } = await tabA.next('connection_registered');
    const tabB = await connectTab(token, 'tab_B_abcdefghij');
    const { connection_id: bId } = await tabB.next('connection_registered');
    // Same token, no client id (a script): replaces nothing the tabs hold.
    const bare = await connect(token);
    await bare.next('connection_registered');
    await tabB.next('playback_queue_updated');
    expect([tabA.closeCode, tabB.closeCode, bare.closeCode]).toEqual([null, null, null]);
    expect(h.web.hub.connectionCount('c1')).toBe(3);

    // Tab A reconnects (same client id): its old connection goes, B stays.
    const tabA2 = await connectTab(token, 'tab-A-0123456789');
    const { connection_id: a2Id } = await tabA2.next('connection_registered');
    expect(await tabA.closed).toBe(4001);
    expect(tabA.closeReason).toBe('superseded by a newer connection');
    expect(tabB.ws.readyState).toBe(tabB.ws.OPEN);
    expect(bare.ws.readyState).toBe(bare.ws.OPEN);
    expect(h.web.hub.connectionCount('c1')).toBe(3);

    const rows = await eventually(async () => {
      const r = await connectionsInDb();
      return r.length === 4 && r.find((x) => x.id === aId)?.status === 'SUPERSEDED' && r;
    });
    const byId = new Map<unknown, (typeof rows)[number]>(rows.map((r) => [r.id, r]));
    expect(byId.get(aId)).toMatchObject({ tokenId: `${nonce}:tab-A-0123456789`, status: 'SUPERSEDED' });
    expect(byId.get(a2Id)).toMatchObject({ tokenId: `${nonce}:tab-A-0123456789`, status: 'CONNECTED' });
    expect(byId.get(bId)).toMatchObject({ tokenId: `${nonce}:tab_B_abcdefghij`, status: 'CONNECTED' });
    expect(rows.filter((r) => r.tokenId === nonce)).toMatchObject([{ status: 'CONNECTED' }]);

    // The fallback ACK carries only the token: it lands on the token's latest connection.
    const r = await h.say('F', [a1000]);
    const chunkId = h.t.engine.stations.get('c1').findRequest(r.id)!.chunks[0]!.id;
    const ack = await h.fetch(`/api/audio/played/${chunkId}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(ack.status).toBe(204);
    await eventually(async () =>
      (await statesInDb()).some((x) => x.connectionId === a2Id && x.playedAt !== null),
    );
  });

  it('closes a connection when its token expires (4401 with the reason), even for tokens of many days', async () => {
    const short = await connect(h.tokens.sign('c1', 'player', 60, h.clock.now()));
    const { connection_id: id } = await short.next('connection_registered');
    const long = await connect(h.tokens.sign('c1', 'player', 40 * 24 * 3600, h.clock.now()));
    await long.next('connection_registered');
    h.clock.advance(59_000);
    expect(short.closeCode).toBeNull();
    h.clock.advance(1_000);
    expect(await short.next('error')).toEqual({
      type: 'error',
      code: 'unauthorized',
      message: 'The link has expired; ask the DM for a fresh one.',
    });
    expect(await short.closed).toBe(4401);
    expect(short.closeReason).toBe('The link has expired; ask the DM for a fresh one.');
    await eventually(
      async () =>
        (await tdb.db.prisma.websocketConnection.findUnique({ where: { id: id as string } }))?.status ===
        'DISCONNECTED',
    );
    // 40 days is past what one Node timer holds (24.8 days): re-armed, not fired at once.
    h.clock.advance(30 * 24 * 3600 * 1000);
    expect(long.closeCode).toBeNull();
    expect(long.ws.readyState).toBe(long.ws.OPEN);
    h.clock.advance(10 * 24 * 3600 * 1000);
    expect(await long.closed).toBe(4401);
  });

  it('marks a closed connection DISCONNECTED', async () => {
    const s = await connect();
    const { connection_id: id } = await s.next('connection_registered');
    await s.close();
    const row = await eventually(async () => {
      const x = await tdb.db.prisma.websocketConnection.findUnique({ where: { id: id as string } });
      return x?.status === 'DISCONNECTED' && x;
    });
    expect(row.disconnectedAt?.getTime()).toBe(h.clock.now());
    expect(h.web.hub.connectionCount()).toBe(0);
  });

  it('refuses bad upgrades with an HTTP error in the JSON shape', async () => {
    const base = h.url.replace('http', 'ws');
    const cases: [string, number][] = [
      [`/ws?campaign=c1`, 401],
      [`/ws?campaign=c1&token=abc.def`, 401],
      [`/ws?campaign=c1&token=${h.tokens.sign('c1', 'player', 10, h.clock.now() - 60_000)}`, 401],
      [`/ws?campaign=c2&token=${h.token()}`, 403],
      [`/ws?campaign=c%201&token=${h.token()}`, 400],
      [`/ws?token=${h.token()}`, 400],
      [`/ws?campaign=c1&token=${h.token()}&client=short`, 400],
      [`/ws?campaign=c1&token=${h.token()}&client=`, 400],
      [`/ws?campaign=c1&token=${h.token()}&client=has%20space%20inside`, 400],
      [`/ws?campaign=c1&token=${h.token()}&client=${'x'.repeat(65)}`, 400],
      [`/ws?campaign=c1&token=${h.token()}&client=tab-one-123&client=tab-two-456`, 400],
      [`/elsewhere?campaign=c1&token=${h.token()}`, 404],
    ];
    for (const [path, status] of cases) {
      const s = new TestSocket(base + path);
      const err = (await s.opened.then(
        () => null,
        (e: unknown) => e,
      )) as { status?: number } | null;
      expect(err?.status, path).toBe(status);
    }
  });

  it('shuts down cleanly: WebSockets get 1001, streams end, close() resolves', async () => {
    const s = await connect();
    await s.next('playback_queue_updated');
    const live = await h.fetch(`/api/campaigns/c1/audio/live?token=${h.token()}`);
    expect(h.web.stats()).toMatchObject({ wsConnections: 1, streams: 1 });
    // The manual clock stands still: close() must not wait on a timer or for the stream to end.
    const clockAt = h.clock.now();
    await h.web.close();
    expect(h.clock.now()).toBe(clockAt);
    expect(await s.closed).toBe(1001);
    await live.arrayBuffer().catch(() => null); // ended (or cut): either way it is over
    expect(h.web.stats()).toMatchObject({ wsConnections: 0, streams: 0, stationListeners: 0 });
  });

  it('drops a consumer that stops reading (1013) instead of buffering', async () => {
    await h.dispose();
    h = await startWebHarness(tdb, { limits: { wsMaxBufferedBytes: 64 * 1024 } });
    // A DM: the queue updates carry every queued text (a player's carry none).
    const s = await connect(h.token('dm'));
    const { connection_id: id } = await s.next('connection_registered');
    await s.next('playback_queue_updated');
    // Stop reading: the server's writes pile up in its send buffer.
    (s.ws as unknown as { _socket: net.Socket })._socket.pause();
    const text = 'x'.repeat(4000);
    for (let i = 0; i < 60 && h.web.hub.connectionCount('c1') > 0; i++) {
      await h.t.engine.writer.create('c1', `${i} ${text}`);
    }
    await eventually(() => h.web.hub.connectionCount('c1') === 0, 5_000);
    await eventually(
      async () =>
        (await tdb.db.prisma.websocketConnection.findUnique({ where: { id: id as string } }))?.status ===
        'FAILED',
    );
    const metrics = await (await h.fetch('/metrics')).text();
    expect(metrics).toMatch(/bardcast_web_clients_dropped_total\{reason="slow"\} 1/);
    s.ws.terminate();
  });
});
