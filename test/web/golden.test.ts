/**
 * Golden JSON for every server message: the serialised form is pinned in
 * test/web/golden/<type>.json, so a renamed or retyped field fails here before
 * it reaches a browser. Each golden also passes the server's schema and the
 * listener page's own parser (web/src/protocol.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  type AudioChunk,
  type PlaybackRequest,
} from '../../src/playback';
import * as p from '../../src/web/protocol';
import { parseServerMessage } from '../../web/src/protocol';

const GOLDEN = path.join(import.meta.dirname, 'golden');
const update = process.env['UPDATE_GOLDEN'] === '1';

const request: PlaybackRequest = {
  id: '2b0c3f4e-8d1a-4c55-9e0f-1a2b3c4d5e6f',
  campaignId: 'c1',
  queueSeq: 3,
  mode: 'narrate',
  text: 'The tavern door creaks open.',
  status: RequestStatus.Playing,
  generation: GenerationStatus.Generating,
  error: null,
  totalChunks: null,
  voice: null,
  script: null,
  scriptComplete: false,
  createdAt: new Date('2026-11-25T12:00:00.000Z'),
  startedAt: new Date('2026-11-25T12:00:01.250Z'),
  finishedAt: null,
};

const chunk: AudioChunk = {
  id: '7d9e1f20-3a4b-4c5d-8e6f-708192a3b4c5',
  requestId: request.id,
  sequenceNumber: 1,
  status: ChunkStatus.Ready,
  text: 'A hooded figure steps inside.',
  opusKey: 'c1/r/0001.opus',
  opusSizeBytes: 12_000,
  mp3Key: 'c1/r/0001.mp3',
  mp3SizeBytes: 20_736,
  mimeType: 'audio/mpeg',
  durationMs: 2592.0208333,
  sampleCount: 124_417,
  frameCount: 108,
  createdAt: new Date('2026-11-25T12:00:01.000Z'),
  playedAt: null,
};

const pending: PlaybackRequest = {
  ...request,
  id: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
  queueSeq: 4,
  mode: 'say',
  text: 'Roll for initiative.',
  status: RequestStatus.Pending,
  generation: GenerationStatus.Generated,
  totalChunks: 1,
  startedAt: null,
};

const first: AudioChunk = {
  ...chunk,
  id: '11111111-2222-4333-8444-555555555555',
  sequenceNumber: 0,
  status: ChunkStatus.Played,
  text: 'The tavern door creaks open.',
};
const next: AudioChunk = {
  ...chunk,
  id: '3c4d5e6f-7081-4923-a4b5-c6d7e8f90a1b',
  sequenceNumber: 2,
  text: 'She asks for the innkeeper by name.',
};

/** Every server message as a viewer gets it: the DM reads every text, a player only what aired. */
function messagesFor(viewer: p.Viewer): Record<keyof typeof p.serverMessageSchemas, p.ServerMessage> {
  return {
    connection_registered: p.connectionRegistered(
      '0e1d2c3b-4a59-4687-a5b4-c3d2e1f00112',
      1_795_003_200_000,
      viewer,
    ),
    audio_stream_started: p.audioStreamStarted({
      campaignId: 'c1',
      request,
      startedAt: request.startedAt!.getTime(),
      positionMs: 3_456.7,
      chunkIds: [first.id, chunk.id],
      text: p.onAirText(viewer, { ...request, text: 'the party reaches the inn' }, [first, chunk, next], 1),
    }),
    audio_chunk_ready: p.audioChunkReady(request, chunk),
    // The chunk on air started before server_time; the next one has not aired yet.
    station_schedule: p.stationSchedule(
      'c1',
      1_795_003_205_000,
      false,
      [
        { request, chunk, startsAt: 1_795_003_203_840 },
        { request, chunk: next, startsAt: 1_795_003_206_432 },
      ],
      viewer,
    ),
    playback_queue_updated: p.playbackQueueUpdated('c1', {
      current: { request, chunkCount: 2, playedCount: 1 },
      pending: [p.requestSummary(pending, 1, viewer)],
    }),
    audio_stream_stopped: p.audioStreamStopped('c1', request.id, 'skipped'),
    heartbeat_ack: p.heartbeatAck(1_795_003_206_000, 1_795_003_205_990.5),
    error: p.errorMessage('bad_request', 'The message is not valid JSON.'),
  };
}

/** Messages whose player form differs from the DM's: pinned as `<type>.player.json`. */
const PLAYER_FORMS = new Set([
  'connection_registered',
  'audio_stream_started',
  'station_schedule',
  'playback_queue_updated',
]);

const goldens: [name: string, type: string, message: p.ServerMessage][] = [
  ...Object.entries(messagesFor('dm')).map(
    ([type, m]) => [type, type, m] as [string, string, p.ServerMessage],
  ),
  ...Object.entries(messagesFor('player'))
    .filter(([type]) => PLAYER_FORMS.has(type))
    .map(([type, m]) => [`${type}.player`, type, m] as [string, string, p.ServerMessage]),
];

describe('golden server messages', () => {
  for (const [name, type, message] of goldens) {
    it(name, () => {
      const file = path.join(GOLDEN, `${name}.json`);
      const text = JSON.stringify(message, null, 2) + '\n';
      if (update || !existsSync(file)) {
        if (!update) throw new Error(`missing golden ${file}; run with UPDATE_GOLDEN=1 and review it`);
        writeFileSync(file, text);
      }
      // Compared as canonical JSON (key order included), so formatting by prettier doesn't matter.
      expect(JSON.stringify(message)).toBe(JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))));
      const schema = p.serverMessageSchemas[type as keyof typeof p.serverMessageSchemas];
      expect(schema.strict().parse(message)).toEqual(message);
      expect(parseServerMessage(JSON.stringify(message))).toEqual(message);
    });
  }

  it('heartbeat_ack leaves client_time out when the client sent none', () => {
    expect(JSON.stringify(p.heartbeatAck(5))).toBe('{"type":"heartbeat_ack","server_time":5}');
  });

  it('stream_url carries from= only for a late join', () => {
    expect(
      p.audioStreamStarted({
        campaignId: 'c1',
        request,
        startedAt: 1,
        positionMs: 0,
        chunkIds: [],
        text: '',
      }),
    ).toMatchObject({
      stream_url: `/api/audio/stream/${request.id}`,
      is_late_join: false,
      position_sec: 0,
    });
  });
});

describe('what a player may read (DESIGN.md rule 7)', () => {
  const prompt = 'the party reaches the inn';
  it('no DM prompt, no queued text, no sentence before it airs', () => {
    const player = JSON.stringify(Object.values(messagesFor('player')));
    expect(player).not.toContain(prompt);
    expect(player).not.toContain(pending.text);
    expect(player).not.toContain(next.text);
    // What aired or is airing is there: captions up to the sentence being spoken.
    expect(player).toContain(first.text);
    expect(player).toContain(chunk.text);
    const dm = JSON.stringify(Object.values(messagesFor('dm')));
    for (const text of [prompt, pending.text, next.text, chunk.text]) expect(dm).toContain(text);
  });

  it('onAirText: the sentences up to and including the one on air', () => {
    const r = { ...request, text: prompt };
    expect(p.onAirText('player', r, [first, chunk, next], -1)).toBe('');
    expect(p.onAirText('player', r, [first, chunk, next], 0)).toBe(first.text);
    expect(p.onAirText('player', r, [first, undefined, next], 2)).toBe(`${first.text} ${next.text}`);
    expect(p.onAirText('dm', r, [first], 0)).toBe(prompt);
    const tagged = { ...request, text: 'The gate creaks. <v Grimble>"Who goes there?"</v>\nMara: Friends.' };
    expect(p.onAirText('dm', tagged, [first], 0)).toBe('The gate creaks. "Who goes there?"\nMara: Friends.');
  });
});

describe('client message parsing', () => {
  const ok = (raw: string) => p.parseClientMessage(Buffer.from(raw), false, 16_384);
  it('accepts the two client messages', () => {
    expect(ok('{"type":"heartbeat"}')).toEqual({ ok: true, message: { type: 'heartbeat' } });
    expect(ok('{"type":"heartbeat","client_time":12.5}')).toEqual({
      ok: true,
      message: { type: 'heartbeat', client_time: 12.5 },
    });
    expect(ok(`{"type":"audio_played","campaign_id":"c1","chunk_ids":["${chunk.id}"]}`)).toEqual({
      ok: true,
      message: { type: 'audio_played', campaign_id: 'c1', chunk_ids: [chunk.id] },
    });
  });
  it('refuses everything else with a reason', () => {
    const cases: [string | Buffer, boolean, string][] = [
      ['not json', false, 'not valid JSON'],
      ['[1]', false, 'JSON object'],
      ['{"type":5}', false, 'string "type"'],
      ['{"type":"launch_missiles"}', false, 'Unknown message type'],
      ['{"type":"audio_played","campaign_id":"c1","chunk_ids":[]}', false, 'audio_played chunk_ids'],
      ['{"type":"audio_played","campaign_id":"c 1","chunk_ids":["x"]}', false, 'campaign_id'],
      ['{"type":"heartbeat","client_time":"now"}', false, 'client_time'],
      [Buffer.from('{"type":"heartbeat"}'), true, 'JSON text'],
      ['{"type":"heartbeat","pad":"' + 'x'.repeat(17_000) + '"}', false, 'limited to 16384 bytes'],
    ];
    for (const [raw, binary, reason] of cases) {
      const r = p.parseClientMessage(typeof raw === 'string' ? Buffer.from(raw) : raw, binary, 16_384);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem.message).toContain(reason);
    }
  });
});
