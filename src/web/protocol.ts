/**
 * The WebSocket wire protocol (docs/PROTOCOL.md): one zod schema per message
 * type, keyed by `type`. Client messages are parsed at the edge with
 * {@link parseClientMessage}; server messages are built by the serialisers at
 * the bottom, typed by the schemas (the golden tests pin their JSON).
 */
import { z } from 'zod';
import type { TokenRole } from '../auth';
import { stripSpeakerMarkup } from '../cast/markup';
import type { AudioChunk, EndReason, PlaybackRequest } from '../playback';
import type { ErrorCode } from './errors';
import { campaignIdSchema, describeIssue, uuidSchema } from './schemas';

// ── Client → server ──────────────────────────────────────────────────────

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** `audio_played`: the client played these chunks (recorded; never moves the station). */
export const audioPlayedSchema = z.object({
  type: z.literal('audio_played'),
  campaign_id: campaignIdSchema,
  chunk_ids: z.array(uuidSchema).min(1).max(100),
});

/** `heartbeat`, optionally with the client's clock (echoed in `heartbeat_ack`). */
export const heartbeatSchema = z.object({
  type: z.literal('heartbeat'),
  client_time: finite.optional(),
});

/** Every client message, keyed by `type`. */
export const clientMessageSchemas = {
  audio_played: audioPlayedSchema,
  heartbeat: heartbeatSchema,
} as const;

export type AudioPlayedMessage = z.infer<typeof audioPlayedSchema>;
export type HeartbeatMessage = z.infer<typeof heartbeatSchema>;
export type ClientMessage = AudioPlayedMessage | HeartbeatMessage;

/** Why a client frame was refused: the `error` message to answer with. */
export interface ProtocolProblem {
  code: Extract<ErrorCode, 'bad_request' | 'payload_too_large'>;
  message: string;
}

/** Result of {@link parseClientMessage}. */
export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; problem: ProtocolProblem };

const bad = (message: string): ParseResult => ({ ok: false, problem: { code: 'bad_request', message } });

/**
 * Parses one WebSocket frame: text only, at most `maxBytes`, JSON, an object
 * with a known `type`, valid fields. Never throws.
 */
export function parseClientMessage(data: Buffer | string, isBinary: boolean, maxBytes: number): ParseResult {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) {
    return {
      ok: false,
      problem: { code: 'payload_too_large', message: `Messages are limited to ${maxBytes} bytes.` },
    };
  }
  if (isBinary) return bad('Only JSON text messages are accepted.');
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return bad('The message is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return bad('A message is a JSON object.');
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return bad('A message needs a string "type".');
  if (!Object.hasOwn(clientMessageSchemas, type)) {
    return bad(`Unknown message type ${JSON.stringify(type.slice(0, 40))}.`);
  }
  const schema = clientMessageSchemas[type as keyof typeof clientMessageSchemas];
  const parsed = schema.safeParse(value);
  if (!parsed.success) return bad(describeIssue(parsed.error, type));
  return { ok: true, message: parsed.data };
}

// ── Server → client ──────────────────────────────────────────────────────

/**
 * Who a message is serialised for. DESIGN.md rule 7: a player sees a
 * narration's text only as it airs (never the DM's prompt, never what is
 * still queued); the DM sees everything.
 */
export type Viewer = TokenRole;

const id = z.string();

/** `RequestSummary` (HTTP queue and `playback_queue_updated`); `text` is null for players. */
export const requestSummarySchema = z.object({
  request_id: id,
  text: z.string().nullable(),
  mode: z.string(),
  status: z.string(),
  generation: z.string(),
  error: z.string().nullable(),
  total_chunks: z.number().int().nullable(),
  ready_chunks: z.number().int(),
  created_at: z.string(),
});
export type RequestSummary = z.infer<typeof requestSummarySchema>;

/** One entry of `station_schedule`; for players `text` is null until the chunk airs. */
export const scheduleEntrySchema = z.object({
  request_id: id,
  chunk_id: id,
  sequence_number: z.number().int(),
  url: z.string(),
  text: z.string().nullable(),
  starts_at: z.number(),
  duration_sec: z.number(),
});
export type ScheduleEntryWire = z.infer<typeof scheduleEntrySchema>;

/** Every server message, keyed by `type`. */
export const serverMessageSchemas = {
  connection_registered: z.object({
    type: z.literal('connection_registered'),
    connection_id: id,
    server_time: z.number(),
    role: z.enum(['player', 'dm']),
  }),
  audio_stream_started: z.object({
    type: z.literal('audio_stream_started'),
    campaign_id: id,
    request_id: id,
    stream_url: z.string(),
    started_at: z.number(),
    position_sec: z.number(),
    is_late_join: z.boolean(),
    chunk_ids: z.array(id),
    text: z.string(),
  }),
  audio_chunk_ready: z.object({
    type: z.literal('audio_chunk_ready'),
    request_id: id,
    sequence_number: z.number().int(),
    chunk: z.object({
      id,
      url: z.string(),
      mime_type: z.string(),
      size_bytes: z.number().int(),
      duration_sec: z.number(),
      chunk_number: z.number().int(),
      total_chunks: z.number().int().nullable(),
    }),
  }),
  station_schedule: z.object({
    type: z.literal('station_schedule'),
    campaign_id: id,
    server_time: z.number(),
    paused: z.boolean(),
    entries: z.array(scheduleEntrySchema),
  }),
  playback_queue_updated: z.object({
    type: z.literal('playback_queue_updated'),
    campaign_id: id,
    pending_count: z.number().int(),
    current_request: z
      .object({
        request_id: id,
        chunk_count: z.number().int(),
        played_count: z.number().int(),
        status: z.string(),
      })
      .nullable(),
    pending_requests: z.array(requestSummarySchema),
  }),
  audio_stream_stopped: z.object({
    type: z.literal('audio_stream_stopped'),
    campaign_id: id,
    request_id: id,
    reason: z.enum(['played', 'skipped', 'stopped', 'failed', 'stalled']),
  }),
  heartbeat_ack: z.object({
    type: z.literal('heartbeat_ack'),
    server_time: z.number(),
    client_time: z.number().optional(),
  }),
  error: z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
} as const;

type Schemas = typeof serverMessageSchemas;
/** A server message of type `T`. */
export type ServerMessageOf<T extends keyof Schemas> = z.infer<Schemas[T]>;
/** Any server message. */
export type ServerMessage = { [T in keyof Schemas]: ServerMessageOf<T> }[keyof Schemas];

// ── Serialisers ──────────────────────────────────────────────────────────

/** Seconds with millisecond precision (positions; no float noise on the wire). */
export const toSec = (ms: number): number => Math.round(ms) / 1000;

/** Seconds with microsecond precision (chunk durations: sample-exact scheduling needs more than ms). */
export const toSecFine = (ms: number): number => Math.round(ms * 1000) / 1_000_000;

/** URL of one chunk's audio (relative; the page adds its token). */
export const chunkUrl = (chunkId: string): string => `/api/audio/chunks/${chunkId}`;

/** URL of a request's progressive stream, starting at `positionSec` when > 0. */
export const streamUrl = (requestId: string, positionSec: number): string =>
  `/api/audio/stream/${requestId}${positionSec > 0 ? `?from=${positionSec}` : ''}`;

export function connectionRegistered(
  connectionId: string,
  serverTime: number,
  role: Viewer,
): ServerMessageOf<'connection_registered'> {
  return { type: 'connection_registered', connection_id: connectionId, server_time: serverTime, role };
}

/**
 * What a viewer may read of a request on air: the DM its whole text (the
 * prompt, for `narrate`; voice tags left out); a player the sentences spoken so far, up to and
 * including the one on air (`chunks[0..onAirIndex]`), never the prompt.
 */
export function onAirText(
  viewer: Viewer,
  request: PlaybackRequest,
  chunks: readonly (AudioChunk | undefined)[],
  onAirIndex: number,
): string {
  // The DM's own words, without the `<v Name>` tags that only choose voices.
  if (viewer === 'dm') return stripSpeakerMarkup(request.text);
  const spoken: string[] = [];
  for (let i = 0; i <= onAirIndex && i < chunks.length; i++) {
    const chunk = chunks[i];
    if (chunk) spoken.push(chunk.text);
  }
  return spoken.join(' ');
}

/** Input of {@link audioStreamStarted}. */
export interface StreamStartedInput {
  campaignId: string;
  request: PlaybackRequest;
  /** Server epoch ms the request went on air. */
  startedAt: number;
  /** Milliseconds into the request right now. */
  positionMs: number;
  chunkIds: string[];
  /** The request's text as this viewer may read it ({@link onAirText}). */
  text: string;
}

export function audioStreamStarted(input: StreamStartedInput): ServerMessageOf<'audio_stream_started'> {
  const position = toSec(input.positionMs);
  return {
    type: 'audio_stream_started',
    campaign_id: input.campaignId,
    request_id: input.request.id,
    stream_url: streamUrl(input.request.id, position),
    started_at: input.startedAt,
    position_sec: position,
    is_late_join: position > 0,
    chunk_ids: input.chunkIds,
    text: input.text,
  };
}

export function audioChunkReady(
  request: PlaybackRequest,
  chunk: AudioChunk,
): ServerMessageOf<'audio_chunk_ready'> {
  return {
    type: 'audio_chunk_ready',
    request_id: request.id,
    sequence_number: chunk.sequenceNumber,
    chunk: {
      id: chunk.id,
      url: chunkUrl(chunk.id),
      mime_type: chunk.mimeType,
      size_bytes: chunk.mp3SizeBytes,
      duration_sec: toSecFine(chunk.durationMs),
      chunk_number: chunk.sequenceNumber + 1,
      total_chunks: request.totalChunks,
    },
  };
}

/** A chunk with its decided station start time (the engine's `ScheduleEntry`). */
export interface ScheduledChunk {
  request: PlaybackRequest;
  chunk: AudioChunk;
  startsAt: number;
}

/**
 * One schedule entry. A player reads a chunk's text only once it airs
 * (`startsAt <= serverTime`); the station re-sends the schedule as each
 * chunk starts, which reveals the next sentence.
 */
export function scheduleEntry(e: ScheduledChunk, viewer: Viewer, serverTime: number): ScheduleEntryWire {
  return {
    request_id: e.request.id,
    chunk_id: e.chunk.id,
    sequence_number: e.chunk.sequenceNumber,
    url: chunkUrl(e.chunk.id),
    text: viewer === 'dm' || e.startsAt <= serverTime ? e.chunk.text : null,
    starts_at: e.startsAt,
    duration_sec: toSecFine(e.chunk.durationMs),
  };
}

export function stationSchedule(
  campaignId: string,
  serverTime: number,
  paused: boolean,
  entries: readonly ScheduledChunk[],
  viewer: Viewer,
): ServerMessageOf<'station_schedule'> {
  return {
    type: 'station_schedule',
    campaign_id: campaignId,
    server_time: serverTime,
    paused,
    entries: entries.map((e) => scheduleEntry(e, viewer, serverTime)),
  };
}

/** What {@link playbackQueueUpdated} reports. */
export interface QueueView {
  current: { request: PlaybackRequest; chunkCount: number; playedCount: number } | null;
  pending: RequestSummary[];
}

export function playbackQueueUpdated(
  campaignId: string,
  view: QueueView,
): ServerMessageOf<'playback_queue_updated'> {
  const c = view.current;
  return {
    type: 'playback_queue_updated',
    campaign_id: campaignId,
    pending_count: view.pending.length,
    current_request: c
      ? {
          request_id: c.request.id,
          chunk_count: c.chunkCount,
          played_count: c.playedCount,
          status: c.request.status,
        }
      : null,
    pending_requests: view.pending,
  };
}

export function audioStreamStopped(
  campaignId: string,
  requestId: string,
  reason: EndReason,
): ServerMessageOf<'audio_stream_stopped'> {
  return { type: 'audio_stream_stopped', campaign_id: campaignId, request_id: requestId, reason };
}

export function heartbeatAck(serverTime: number, clientTime?: number): ServerMessageOf<'heartbeat_ack'> {
  return clientTime === undefined
    ? { type: 'heartbeat_ack', server_time: serverTime }
    : { type: 'heartbeat_ack', server_time: serverTime, client_time: clientTime };
}

export function errorMessage(code: ErrorCode, message: string): ServerMessageOf<'error'> {
  return { type: 'error', code, message };
}

/**
 * `RequestSummary` of a request; `readyChunks` = chunks stored so far. A
 * player gets its kind (`mode`) and length, not its text (as Discord's
 * `/queue`): a queued narration is a spoiler, and the DM's prompt always is.
 */
export function requestSummary(
  request: PlaybackRequest,
  readyChunks: number,
  viewer: Viewer,
): RequestSummary {
  return {
    request_id: request.id,
    text: viewer === 'dm' ? request.text : null,
    mode: request.mode,
    status: request.status,
    generation: request.generation,
    error: request.error,
    total_chunks: request.totalChunks,
    ready_chunks: readyChunks,
    created_at: request.createdAt.toISOString(),
  };
}
