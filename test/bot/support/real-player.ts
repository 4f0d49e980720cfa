import { vi } from 'vitest';
import type { AudioPlayer } from '@discordjs/voice';
import { DiscordVoiceAdapter, StationSink, type AudioPlayerPort } from '../../../src/bot/voice';
import type { Clock } from '../../../src/clock';
import { silentLogger } from '../../../src/log';
import {
  ChunkStatus,
  GenerationStatus,
  RequestStatus,
  Station,
  type AudioChunk,
  type AudioStore,
  type PlaybackRepository,
  type PlaybackRequest,
} from '../../../src/playback';
import { PRE_SKIP, oggOpusOf, tagOf } from './opus';

/**
 * The real `@discordjs/voice` AudioPlayer on vitest's fake `Date` and
 * `setTimeout` (its 20 ms cycle runs on them), feeding a recording stand-in
 * for the VoiceConnection: the same prepare-then-dispatch contract as the
 * library's Networking (a prepared packet is sent by the next
 * `dispatchAudio`, and sending raises the speaking flag). The station and the
 * sink run on the same fake time, so "when did Discord get the packet" and
 * "when does the station say it starts" are on one clock, exact and
 * independent of machine load.
 */
export class RecordingConnection {
  readonly state = { status: 'ready' };
  readonly sent: { at: number; packet: Buffer }[] = [];
  speaking = false;
  #prepared: Buffer | undefined;

  prepareAudioPacket(packet: Buffer): Buffer {
    this.#prepared = packet;
    return packet;
  }

  dispatchAudio(): boolean {
    if (!this.#prepared) return false;
    this.sent.push({ at: Date.now(), packet: this.#prepared });
    this.#prepared = undefined;
    this.speaking = true;
    return true;
  }

  setSpeaking(speaking: boolean): void {
    this.speaking = speaking;
  }

  /** Sent packets as `tag:index` (synthetic chunks) or `silence`. */
  tags(): { at: number; tag: number | null; index: number }[] {
    return this.sent.map(({ at, packet }) => {
      const t = tagOf(packet);
      return { at, tag: t?.tag ?? null, index: t?.index ?? -1 };
    });
  }
}

/** One request for {@link TimingBench.enqueue}: a tag per chunk and its playable duration. */
export interface BenchChunk {
  tag: number;
  durationMs: number;
}

/** A station, a sink and the real player on fake time. */
export interface TimingBench {
  station: Station;
  sink: StationSink;
  connection: RecordingConnection;
  player: AudioPlayerPort;
  /** Every `chunkStarted`: tag and station start. */
  starts: { tag: number; startsAt: number }[];
  /** Queues a request; with `complete: false`, later chunks come through {@link addChunk}. */
  enqueue(chunks: BenchChunk[], options?: { complete?: boolean; total?: number }): PlaybackRequest;
  addChunk(request: PlaybackRequest, seq: number, chunk: BenchChunk): void;
  /** Moves fake time in 1 ms steps, letting streams and the player's setImmediate chain run between. */
  run(ms: number): Promise<void>;
  connected: boolean;
  dispose(): void;
}

/** Fake-timer clock: the station and sink see the same time as the player. */
const fakeClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Call with fake timers on (`Date`, `setTimeout`, `clearTimeout`; not `setImmediate`). */
export function startTimingBench(options: { gapMs?: number } = {}): TimingBench {
  const repository = { apply: async () => undefined } as unknown as PlaybackRepository;
  const station = new Station({
    campaignId: 'c1',
    clock: fakeClock,
    log: silentLogger,
    repository,
    gapMs: options.gapMs ?? 400,
  });
  const files = new Map<string, Buffer>();
  const store = { get: async (key: string) => files.get(key) as Buffer } as unknown as AudioStore;
  const adapter = new DiscordVoiceAdapter({} as never, { group: 'timing', log: silentLogger });
  const player = adapter.createPlayer();
  const connection = new RecordingConnection();
  const audioPlayer = (player as unknown as { player: AudioPlayer }).player;
  (audioPlayer as unknown as { subscribe(c: unknown): unknown }).subscribe(connection);
  const bench: TimingBench = {
    station,
    connection,
    player,
    starts: [],
    connected: true,
    sink: new StationSink({
      station,
      player,
      createResource: (s) => adapter.createResource(s),
      store,
      clock: fakeClock,
      log: silentLogger,
      isConnected: () => bench.connected,
      idleTimeoutMs: () => 3_600_000,
      onIdle: () => undefined,
    }),
    enqueue(chunks, o = {}) {
      const complete = o.complete ?? true;
      const request: PlaybackRequest = {
        id: `r${chunks[0]?.tag ?? 0}`,
        campaignId: 'c1',
        queueSeq: chunks[0]?.tag ?? 0,
        mode: 'say',
        text: 'words',
        status: RequestStatus.Pending,
        generation: complete ? GenerationStatus.Generated : GenerationStatus.Generating,
        error: null,
        totalChunks: complete ? chunks.length : (o.total ?? null),
        voice: null,
        script: null,
        scriptComplete: false,
        createdAt: new Date(Date.now()),
        startedAt: null,
        finishedAt: null,
      };
      station.enqueue(
        request,
        chunks.map((c, seq) => chunkOf(request, seq, c, files)),
      );
      return request;
    },
    addChunk(request, seq, c) {
      station.chunkAdded(chunkOf(request, seq, c, files));
    },
    async run(ms) {
      for (let i = 0; i < ms; i++) {
        vi.advanceTimersByTime(1);
        await new Promise((r) => setImmediate(r));
      }
    },
    dispose() {
      bench.sink.dispose();
      player.stop(true);
      station.destroy();
    },
  };
  station.on('chunkStarted', (e) =>
    bench.starts.push({ tag: Number(e.chunk.opusKey.split('/')[1]), startsAt: e.startsAt }),
  );
  return bench;
}

function chunkOf(
  request: PlaybackRequest,
  seq: number,
  c: BenchChunk,
  files: Map<string, Buffer>,
): AudioChunk {
  const opusKey = `opus/${c.tag}`;
  files.set(opusKey, oggOpusOf(c.durationMs, c.tag));
  return {
    id: `${request.id}-${seq}`,
    requestId: request.id,
    sequenceNumber: seq,
    status: ChunkStatus.Ready,
    text: `chunk ${c.tag}`,
    opusKey,
    opusSizeBytes: 0,
    mp3Key: `mp3/${c.tag}`,
    mp3SizeBytes: 0,
    mimeType: 'audio/mpeg',
    durationMs: c.durationMs,
    sampleCount: c.durationMs * 48,
    frameCount: 0,
    createdAt: new Date(Date.now()),
    playedAt: null,
  };
}

/** How one chunk's audio reached the connection, against the station's start time. */
export interface ChunkTiming {
  tag: number;
  startsAt: number;
  /** When its first sent packet left. */
  firstAt: number;
  /** That packet's index in the chunk (packets before it were cut to stay on the station clock). */
  firstIndex: number;
  /** `firstAt − startsAt`. */
  lateMs: number;
  /** Sent time minus the station time of that packet's first sample (pre-skip counted as before 0). */
  contentLateMs: number;
}

/** Per chunk: when its first packet went out, against the station start. */
export function chunkTimings(bench: TimingBench): ChunkTiming[] {
  const sent = bench.connection.tags();
  const out: ChunkTiming[] = [];
  for (const { tag, startsAt } of bench.starts) {
    if (out.some((t) => t.tag === tag)) continue;
    const first = sent.find((p) => p.tag === tag);
    if (!first) continue;
    const contentAt = startsAt + (first.index * 960 - PRE_SKIP) / 48;
    out.push({
      tag,
      startsAt,
      firstAt: first.at,
      firstIndex: first.index,
      lateMs: first.at - startsAt,
      contentLateMs: Math.round((first.at - contentAt) * 10) / 10,
    });
  }
  return out;
}
