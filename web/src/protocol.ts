/**
 * The wire contract of docs/PROTOCOL.md as seen by the browser: typed server
 * messages and a loose parser. Loose on purpose: the page ignores unknown
 * types and extra fields (so a newer server can add them), but drops a known
 * message whose fields it relies on are missing or of the wrong type.
 */

/** `RequestSummary` of the HTTP queue and `playback_queue_updated`. */
export interface RequestSummary {
  request_id: string;
  /** Null for a player token: kind (`mode`) and length only, the text is a spoiler until it airs. */
  text: string | null;
  mode: string;
  status: string;
  generation: string;
  error: string | null;
  total_chunks: number | null;
  ready_chunks: number;
  created_at: string;
}

/** One chunk whose station start time is decided. */
export interface ScheduleEntry {
  request_id: string;
  chunk_id: string;
  sequence_number: number;
  url: string;
  /** The sentence; null for a player token until the chunk airs (the schedule is re-sent as each chunk starts). */
  text: string | null;
  /** Server epoch ms at which the chunk's first playable sample airs. */
  starts_at: number;
  duration_sec: number;
}

/** Chunk descriptor of `audio_chunk_ready`. */
export interface ChunkInfo {
  id: string;
  url: string;
  mime_type: string;
  size_bytes: number;
  duration_sec: number;
  chunk_number: number;
  total_chunks: number | null;
}

/** Every server → client message the page understands. */
export type ServerMessage =
  | {
      type: 'connection_registered';
      connection_id: string;
      server_time: number;
      /** The token's role; absent from older servers. */
      role?: 'player' | 'dm';
    }
  | {
      type: 'audio_stream_started';
      campaign_id: string;
      request_id: string;
      stream_url: string;
      started_at: number;
      position_sec: number;
      is_late_join: boolean;
      chunk_ids: string[];
      text: string;
    }
  | { type: 'audio_chunk_ready'; request_id: string; sequence_number: number; chunk: ChunkInfo }
  | {
      type: 'station_schedule';
      campaign_id: string;
      server_time: number;
      paused: boolean;
      entries: ScheduleEntry[];
    }
  | {
      type: 'playback_queue_updated';
      campaign_id: string;
      pending_count: number;
      current_request: {
        request_id: string;
        chunk_count: number;
        played_count: number;
        status: string;
      } | null;
      pending_requests: RequestSummary[];
    }
  | { type: 'audio_stream_stopped'; campaign_id: string; request_id: string; reason: string }
  /** `client_time` is not in the contract; used when a server echoes it. */
  | { type: 'heartbeat_ack'; server_time: number; client_time?: number }
  | { type: 'error'; code: string; message: string };

/** Type names of {@link ServerMessage}. */
export type ServerMessageType = ServerMessage['type'];

/** Client → server messages. */
export type ClientMessage =
  | { type: 'heartbeat'; client_time: number }
  | { type: 'audio_played'; campaign_id: string; chunk_ids: string[] };

/** `now_playing` of `GET /api/campaigns/{id}/audio/queue`. */
export interface NowPlaying {
  request_id: string;
  text: string;
  chunk_id: string;
  sequence_number: number;
  position_sec: number;
  request_position_sec: number;
}

/** Body of `GET /api/campaigns/{id}/audio/queue`. */
export interface QueueSnapshot {
  campaign_id: string;
  server_time: number;
  paused: boolean;
  now_playing: NowPlaying | null;
  pending: RequestSummary[];
  history: RequestSummary[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNumOrNull = (v: unknown): v is number | null => v === null || isNum(v);
const isStrOrNull = (v: unknown): v is string | null => v === null || isStr(v);

/** Checks that `o[k]` passes its guard for every key of `shape`. */
function has(o: Obj, shape: Record<string, (v: unknown) => boolean>): boolean {
  return Object.entries(shape).every(([k, guard]) => guard(o[k]));
}

function arrayOf<T>(v: unknown, guard: (x: unknown) => x is T): v is T[] {
  return Array.isArray(v) && v.every(guard);
}

/** True when `v` looks like a {@link RequestSummary}. */
export function isRequestSummary(v: unknown): v is RequestSummary {
  return (
    isObj(v) &&
    has(v, {
      request_id: isStr,
      text: isStrOrNull,
      mode: isStr,
      status: isStr,
      generation: isStr,
      error: isStrOrNull,
      total_chunks: isNumOrNull,
      ready_chunks: isNum,
      created_at: isStr,
    })
  );
}

/** True when `v` looks like a {@link ScheduleEntry}. */
export function isScheduleEntry(v: unknown): v is ScheduleEntry {
  return (
    isObj(v) &&
    has(v, {
      request_id: isStr,
      chunk_id: isStr,
      sequence_number: isNum,
      url: isStr,
      text: isStrOrNull,
      starts_at: isNum,
      duration_sec: isNum,
    }) &&
    (v.duration_sec as number) >= 0
  );
}

function isChunkInfo(v: unknown): v is ChunkInfo {
  return (
    isObj(v) &&
    has(v, {
      id: isStr,
      url: isStr,
      mime_type: isStr,
      size_bytes: isNum,
      duration_sec: isNum,
      chunk_number: isNum,
      total_chunks: isNumOrNull,
    })
  );
}

function isCurrentRequest(v: unknown): boolean {
  return (
    v === null ||
    (isObj(v) && has(v, { request_id: isStr, chunk_count: isNum, played_count: isNum, status: isStr }))
  );
}

const SHAPES: Record<ServerMessageType, (m: Obj) => boolean> = {
  connection_registered: (m) =>
    has(m, { connection_id: isStr, server_time: isNum }) &&
    (m.role === undefined || m.role === 'player' || m.role === 'dm'),
  audio_stream_started: (m) =>
    has(m, {
      campaign_id: isStr,
      request_id: isStr,
      stream_url: isStr,
      started_at: isNum,
      position_sec: isNum,
      is_late_join: isBool,
      text: isStr,
    }) && arrayOf(m.chunk_ids, isStr),
  audio_chunk_ready: (m) => has(m, { request_id: isStr, sequence_number: isNum, chunk: isChunkInfo }),
  station_schedule: (m) =>
    has(m, { campaign_id: isStr, server_time: isNum, paused: isBool }) && arrayOf(m.entries, isScheduleEntry),
  playback_queue_updated: (m) =>
    has(m, { campaign_id: isStr, pending_count: isNum, current_request: isCurrentRequest }) &&
    arrayOf(m.pending_requests, isRequestSummary),
  audio_stream_stopped: (m) => has(m, { campaign_id: isStr, request_id: isStr, reason: isStr }),
  heartbeat_ack: (m) => isNum(m.server_time) && (m.client_time === undefined || isNum(m.client_time)),
  error: (m) => has(m, { code: isStr, message: isStr }),
};

/**
 * Parses one WebSocket text frame. Returns null for anything that is not a
 * JSON object of a known type with the fields the page needs.
 */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (!isStr(data)) return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObj(value) || !isStr(value.type) || !Object.hasOwn(SHAPES, value.type)) return null;
  const shape = SHAPES[value.type as ServerMessageType];
  return shape(value) ? (value as unknown as ServerMessage) : null;
}

/** Validates the body of `GET /api/campaigns/{id}/audio/queue`; null when it does not fit. */
export function parseQueueSnapshot(value: unknown): QueueSnapshot | null {
  if (!isObj(value)) return null;
  const np = value.now_playing;
  const nowPlayingOk =
    np === null ||
    (isObj(np) &&
      has(np, {
        request_id: isStr,
        text: isStr,
        chunk_id: isStr,
        sequence_number: isNum,
        position_sec: isNum,
        request_position_sec: isNum,
      }));
  const ok =
    has(value, { campaign_id: isStr, server_time: isNum, paused: isBool }) &&
    nowPlayingOk &&
    arrayOf(value.pending, isRequestSummary) &&
    arrayOf(value.history, isRequestSummary);
  return ok ? (value as unknown as QueueSnapshot) : null;
}
