import { describe, expect, it } from 'vitest';
import { parseQueueSnapshot, parseServerMessage, type ServerMessage } from '../../web/src/protocol';

const summary = {
  request_id: 'req-1',
  text: 'The tavern door bursts open.',
  mode: 'narrate',
  status: 'PENDING',
  generation: 'GENERATING',
  error: null,
  total_chunks: null,
  ready_chunks: 1,
  created_at: '2026-11-25T12:00:00.000Z',
};

/** One example of every server message of docs/PROTOCOL.md. */
const GOLDEN: ServerMessage[] = [
  { type: 'connection_registered', connection_id: 'conn-1', server_time: 1764072000000 },
  {
    type: 'audio_stream_started',
    campaign_id: 'camp',
    request_id: 'req-1',
    stream_url: '/api/audio/stream/req-1?from=3.2',
    started_at: 1764071996800,
    position_sec: 3.2,
    is_late_join: true,
    chunk_ids: ['c0', 'c1'],
    text: 'A stranger arrives',
  },
  {
    type: 'audio_chunk_ready',
    request_id: 'req-1',
    sequence_number: 1,
    chunk: {
      id: 'c1',
      url: '/api/audio/chunks/c1',
      mime_type: 'audio/mpeg',
      size_bytes: 12345,
      duration_sec: 2.016,
      chunk_number: 2,
      total_chunks: null,
    },
  },
  {
    type: 'station_schedule',
    campaign_id: 'camp',
    server_time: 1764072000000,
    paused: false,
    entries: [
      {
        request_id: 'req-1',
        chunk_id: 'c1',
        sequence_number: 1,
        url: '/api/audio/chunks/c1',
        text: 'A hooded stranger steps in.',
        starts_at: 1764071999000,
        duration_sec: 2.016,
      },
    ],
  },
  {
    type: 'playback_queue_updated',
    campaign_id: 'camp',
    pending_count: 1,
    current_request: { request_id: 'req-1', chunk_count: 3, played_count: 1, status: 'PLAYING' },
    pending_requests: [summary],
  },
  { type: 'audio_stream_stopped', campaign_id: 'camp', request_id: 'req-1', reason: 'skipped' },
  { type: 'heartbeat_ack', server_time: 1764072000000 },
  { type: 'error', code: 'bad_request', message: 'unknown message type' },
];

describe('parseServerMessage', () => {
  it.each(GOLDEN.map((m) => [m.type, m] as const))('accepts %s', (_type, message) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual(message);
  });

  it('ignores unknown types, extra fields are kept', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'station_weather', rain: true }))).toBeNull();
    const withExtra = { type: 'heartbeat_ack', server_time: 1, client_time: 5, shiny: 'new' };
    expect(parseServerMessage(JSON.stringify(withExtra))).toEqual(withExtra);
  });

  it.each([
    ['not JSON', '{nope'],
    ['not a string frame', 42],
    ['an array', '[1,2]'],
    ['no type', '{"server_time":1}'],
    ['a prototype key', '{"type":"toString"}'],
    ['a wrong field type', '{"type":"heartbeat_ack","server_time":"soon"}'],
    ['a non-finite number', '{"type":"heartbeat_ack","server_time":1e999}'],
    [
      'a bad entry',
      '{"type":"station_schedule","campaign_id":"c","server_time":1,"paused":false,"entries":[{}]}',
    ],
    [
      'a negative duration',
      JSON.stringify({
        ...GOLDEN[3],
        entries: [{ ...(GOLDEN[3] as { entries: object[] }).entries[0], duration_sec: -1 }],
      }),
    ],
    ['chunk ids not strings', JSON.stringify({ ...GOLDEN[1], chunk_ids: [1] })],
    ['a broken summary', JSON.stringify({ ...GOLDEN[4], pending_requests: [{ request_id: 'x' }] })],
  ])('drops %s', (_what, frame) => {
    expect(parseServerMessage(frame)).toBeNull();
  });
});

describe('parseQueueSnapshot', () => {
  const snapshot = {
    campaign_id: 'camp',
    server_time: 1764072000000,
    paused: false,
    now_playing: {
      request_id: 'req-1',
      text: 'A stranger arrives',
      chunk_id: 'c1',
      sequence_number: 1,
      position_sec: 0.5,
      request_position_sec: 2.0,
    },
    pending: [summary],
    history: [{ ...summary, status: 'FAILED', generation: 'FAILED', error: 'TTS gave up' }],
  };

  it('accepts the documented shape, with or without now_playing', () => {
    expect(parseQueueSnapshot(snapshot)).toEqual(snapshot);
    expect(parseQueueSnapshot({ ...snapshot, now_playing: null })).not.toBeNull();
  });

  it('rejects anything else', () => {
    expect(parseQueueSnapshot(null)).toBeNull();
    expect(parseQueueSnapshot({ ...snapshot, pending: 'none' })).toBeNull();
    expect(parseQueueSnapshot({ ...snapshot, now_playing: { request_id: 'x' } })).toBeNull();
  });
});
