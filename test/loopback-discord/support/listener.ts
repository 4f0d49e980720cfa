import { iterateOggPackets, parseOpusHead } from '../../../src/media';
import { TestSocket, type Msg } from '../../web/support/ws-client';
import { currentContent } from '../interactions';
import type { LoopbackDiscord } from '../loopback';
import { campaignOf, type BotApp } from './app';
import type { LoopbackGuild } from '../model';
import { realNow } from '../voice-server';

/** A chunk as the station scheduled it (the newest `station_schedule` entry for it). */
export interface ScheduledChunk {
  requestId: string;
  chunkId: string;
  sequenceNumber: number;
  startsAt: number;
  durationSec: number;
}

/** Asks the bot for a listener link with `/listen` (as a player would) and returns its token. */
export async function listenToken(loopback: LoopbackDiscord, guild: LoopbackGuild): Promise<string> {
  const i = loopback.command(guild, 'listen', {}, { user: guild.player });
  const content = await loopback.until(
    () => /token=([^\s&]+)/.exec(currentContent(i) ?? '')?.[1],
    'the /listen link',
  );
  return decodeURIComponent(content);
}

/** Connects a web listener with a `/listen` token; resolves once the socket is open. */
export async function connectListener(
  loopback: LoopbackDiscord,
  app: BotApp,
  guild: LoopbackGuild,
): Promise<WebListener> {
  const listener = new WebListener(app, guild, await listenToken(loopback, guild));
  await listener.socket.opened;
  return listener;
}

/**
 * A web listener on the app's WebSocket: keeps every message with its
 * arrival time, and the station's schedule per chunk, so tests compare what
 * the voice channel got with what the station aired.
 */
export class WebListener {
  readonly socket: TestSocket;
  readonly arrivals: { at: number; msg: Msg }[] = [];
  /** Newest schedule entry per chunk id. */
  readonly schedule = new Map<string, ScheduledChunk>();

  /**
   * @param token a player token for the guild's campaign, as `/listen` hands
   * out (the campaign must exist with its guild link before a listener
   * connects: see {@link listenToken}).
   */
  constructor(
    readonly app: BotApp,
    readonly guild: LoopbackGuild,
    readonly token: string,
  ) {
    const url = `ws://127.0.0.1:${app.port}/ws?campaign=${encodeURIComponent(campaignOf(guild))}&token=${encodeURIComponent(token)}`;
    this.socket = new TestSocket(url);
    this.socket.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Msg;
      this.arrivals.push({ at: realNow(), msg });
      if (msg.type === 'station_schedule') {
        for (const e of msg.entries as Record<string, unknown>[]) {
          this.schedule.set(String(e.chunk_id), {
            requestId: String(e.request_id),
            chunkId: String(e.chunk_id),
            sequenceNumber: Number(e.sequence_number),
            startsAt: Number(e.starts_at),
            durationSec: Number(e.duration_sec),
          });
        }
      }
    });
  }

  /** Scheduled chunks of a request, in sequence order. */
  chunksOf(requestId: string): ScheduledChunk[] {
    return [...this.schedule.values()]
      .filter((c) => c.requestId === requestId)
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  }

  /** Request ids in the order the station started them (`audio_stream_started`). */
  startedRequests(): string[] {
    return this.arrivals
      .filter((a) => a.msg.type === 'audio_stream_started')
      .map((a) => String(a.msg.request_id));
  }

  /**
   * The chunk ids of a request that its newest `audio_stream_started` named:
   * every chunk stored by then, played ones included, in sequence order.
   */
  startedChunkIds(requestId: string): string[] {
    const started = this.arrivals.findLast(
      (a) => a.msg.type === 'audio_stream_started' && a.msg.request_id === requestId,
    );
    return (started?.msg.chunk_ids as string[] | undefined) ?? [];
  }

  /** `audio_stream_stopped` messages: request id and reason. */
  stopped(): { requestId: string; reason: string; at: number }[] {
    return this.arrivals
      .filter((a) => a.msg.type === 'audio_stream_stopped')
      .map((a) => ({ requestId: String(a.msg.request_id), reason: String(a.msg.reason), at: a.at }));
  }

  /** The Opus packets of a chunk's stored Ogg Opus file (headers excluded), with its pre-skip. */
  async opusPackets(chunkId: string): Promise<{ packets: Buffer[]; preSkip: number }> {
    const res = await fetch(`${this.app.baseUrl}/api/audio/chunks/${chunkId}?format=opus`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (!res.ok) throw new Error(`chunk ${chunkId}: HTTP ${res.status}`);
    const packets: Buffer[] = [];
    let preSkip = 0;
    let index = 0;
    for (const p of iterateOggPackets(Buffer.from(await res.arrayBuffer()))) {
      if (index === 0) preSkip = parseOpusHead(p.data)?.preSkip ?? 0;
      if (index++ >= 2) packets.push(p.data);
    }
    return { packets, preSkip };
  }

  /** Every Opus packet of a request's scheduled chunks, in order, and the packet count per chunk. */
  async requestPackets(requestId: string): Promise<{ packets: Buffer[]; perChunk: number[] }> {
    return this.packetsOf(this.chunksOf(requestId));
  }

  /** Every Opus packet of `chunks`, in the order given, and the packet count per chunk. */
  async packetsOf(
    chunks: readonly Pick<ScheduledChunk, 'chunkId'>[],
  ): Promise<{ packets: Buffer[]; perChunk: number[] }> {
    const files = await Promise.all(chunks.map((c) => this.opusPackets(c.chunkId)));
    return { packets: files.flatMap((f) => f.packets), perChunk: files.map((f) => f.packets.length) };
  }

  close(): Promise<number> {
    return this.socket.close();
  }
}
