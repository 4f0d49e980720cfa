import type { DmTools } from './routes/dm-tools';
import type { ConnectionLog } from './connection-log';
import type { DeliveryLog } from './delivery-log';
import type { TokenSigner } from '../auth';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { NarrationService } from '../narration/service';
import type { PlaybackEngine } from '../playback';
import type { WebMetrics } from './metrics';
import type { StationFeed } from './station-feed';
import type { ChunkAudioCache } from './streams/chunk-audio';
import type { LiveStreamLimits } from './streams/live-stream';

/** Bounds that keep one client from costing the server much (defaults in {@link DEFAULT_LIMITS}). */
export interface WebLimits extends LiveStreamLimits {
  /** JSON request bodies. */
  jsonBodyBytes: number;
  /** WebSocket messages larger than this get an `error` (docs/PROTOCOL.md: 16 KiB). */
  wsMessageBytes: number;
  /**
   * Frames larger than this close the connection (1009): `ws` must buffer a
   * frame whole before it can refuse it, so the hard cap sits above the
   * protocol limit and frames in between are answered with `error`.
   */
  wsMaxFrameBytes: number;
  /** A WebSocket whose send buffer exceeds this is closed (1013) instead of buffering more. */
  wsMaxBufferedBytes: number;
  /** More invalid messages than this in a minute close the connection (1008). */
  wsBadMessagesPerMinute: number;
  /** More messages of any kind than this in a minute close the connection (1008). */
  wsMessagesPerMinute: number;
  /** Transport ping; a connection that missed the previous pong is dropped. */
  wsPingIntervalMs: number;
  /** `last_heartbeat` is written at most this often per connection. */
  heartbeatWriteIntervalMs: number;
  maxWsConnections: number;
  /** Open audio streams (request and live together). */
  maxStreams: number;
  /** Finished requests in the HTTP queue snapshot. */
  historyLimit: number;
}

export const DEFAULT_LIMITS: WebLimits = {
  jsonBodyBytes: 16 * 1024,
  wsMessageBytes: 16 * 1024,
  wsMaxFrameBytes: 64 * 1024,
  wsMaxBufferedBytes: 1024 * 1024,
  wsBadMessagesPerMinute: 50,
  wsMessagesPerMinute: 1200,
  wsPingIntervalMs: 30_000,
  heartbeatWriteIntervalMs: 15_000,
  maxWsConnections: 10_000,
  maxStreams: 500,
  historyLimit: 20,
  leadMs: 500,
  silenceLeadMs: 0,
  tickMs: 100,
  maxBufferedBytes: 256 * 1024,
  loadGraceMs: 250,
};

/** Everything a route, the hub and the streams share; built once per server. */
export interface WebContext {
  engine: PlaybackEngine;
  narration: NarrationService;
  tokens: TokenSigner;
  clock: Clock;
  log: Logger;
  limits: WebLimits;
  feed: StationFeed;
  audio: ChunkAudioCache;
  metrics: WebMetrics;
  streams: OpenStreams;
  /** Batched `websocket_connections` writes. */
  connections: ConnectionLog;
  /** Batched `connection_playback_states` writes. */
  deliveries: DeliveryLog;
  /** Records a fallback ACK against the token's latest WebSocket connection. */
  recordPlayed(campaignId: string, tokenId: string, chunkId: string): void;
  pagesDir: string;
  /** The DM console's tools (cast, scenes, transcript, recap), when this server has them. */
  tools?: DmTools | undefined;
}

/** Something that can be ended at shutdown. */
export interface Closable {
  close(): void;
}

/** Open audio streams: counted against {@link WebLimits.maxStreams}, closed at shutdown. */
export class OpenStreams {
  readonly #open = new Set<Closable>();

  constructor(
    private readonly metrics: WebMetrics,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.#open.size;
  }

  get full(): boolean {
    return this.#open.size >= this.max;
  }

  /** Tracks `stream` until `done` settles. */
  add(stream: Closable, kind: 'request' | 'live', done: Promise<unknown>): void {
    this.#open.add(stream);
    this.metrics.streams.inc({ kind });
    void done.finally(() => {
      if (this.#open.delete(stream)) this.metrics.streams.dec({ kind });
    });
  }

  closeAll(): void {
    for (const s of [...this.#open]) s.close();
  }
}
