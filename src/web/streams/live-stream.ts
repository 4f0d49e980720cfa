/**
 * `GET /api/campaigns/{id}/audio/live`: the station as one endless MP3, for
 * plain players (VLC, phones, OBS).
 *
 * The stream is a sequence of frame slots on the station clock. For each slot
 * the station's schedule says what airs: the frame of the on-air chunk whose
 * playable start is nearest the slot's time, or a silence frame while idle,
 * between requests, waiting for audio or paused. The mapping is stateless, so
 * skips, pauses and resumes take effect at the next slot, and a new listener
 * starts at the station's current frame.
 *
 * Pacing: frames of scheduled audio go out at most `leadMs` ahead of the
 * clock (a small burst, so players fill their buffer); silence goes out only
 * once its time has come (`silenceLeadMs`, default 0), because whether a
 * request starts in the next moment is not known yet, and silence sent ahead
 * would cut the start of the next request. Audio already sent ahead before a
 * skip or pause is not recalled: a pause can repeat up to `leadMs` on resume.
 */
import type { Clock, TimerHandle } from '../../clock';
import type { Logger } from '../../log';
import { MP3_DECODER_DELAY, makeSilenceFrame, samplesPerFrame } from '../../media';
import type { ScheduleEntry, Station } from '../../playback';
import type { StationFeed } from '../station-feed';
import type { ChunkAudio, ChunkAudioCache } from './chunk-audio';

/** Timing and buffer bounds of a live stream. */
export interface LiveStreamLimits {
  /** How far ahead of the clock scheduled audio is sent (≤ 1 s). */
  leadMs: number;
  /** How far ahead of the clock silence is sent. */
  silenceLeadMs: number;
  /** Pacing tick on the station clock. */
  tickMs: number;
  /** A listener whose unsent bytes exceed this is dropped. */
  maxBufferedBytes: number;
  /** A slot whose chunk is still loading waits at most this long behind the clock, then airs as silence. */
  loadGraceMs: number;
}

/**
 * Where a live stream writes: an HTTP response, or any byte sink with the same
 * surface (the Icecast source client's socket, src/relay).
 */
export interface LiveSink {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  write(bytes: Uint8Array): boolean;
  end(): void;
  destroy(): void;
  on(event: 'close', listener: () => void): unknown;
}

/** Options for {@link LiveStream}. */
export interface LiveStreamOptions {
  station: Station;
  clock: Clock;
  audio: ChunkAudioCache;
  feed: StationFeed;
  res: LiveSink;
  log: Logger;
  limits: LiveStreamLimits;
  /** Format of silence before any chunk has been seen (the encoder's: 48 kHz mono). */
  sampleRate?: number;
  channels?: 1 | 2;
  /** Called once when the listener is dropped for not reading. */
  onDrop?: () => void;
}

/** What airs in one slot. */
type Slot = { kind: 'frame'; bytes: Uint8Array } | { kind: 'silence' } | { kind: 'wait' };

/** The most a listener that fell behind (blocked event loop) gets in one catch-up burst. */
const MAX_CATCH_UP_MS = 2_000;

/**
 * Appends a frame; consecutive frames of one chunk lie side by side in its
 * bytes, so they join into one view instead of being copied into a new buffer
 * on every tick of every listener.
 */
function appendFrame(parts: Uint8Array[], frame: Uint8Array): void {
  const last = parts[parts.length - 1];
  if (last && last.buffer === frame.buffer && last.byteOffset + last.byteLength === frame.byteOffset) {
    parts[parts.length - 1] = new Uint8Array(
      last.buffer,
      last.byteOffset,
      last.byteLength + frame.byteLength,
    );
  } else {
    parts.push(frame);
  }
}

/** One listener of the live stream. */
export class LiveStream {
  readonly #o: LiveStreamOptions;
  /** Station time (ms) of the next slot. */
  #slotAt: number;
  #sampleRate: number;
  #channels: 1 | 2;
  #silence: Uint8Array;
  #timer: TimerHandle | null = null;
  #unsubscribe: () => void = () => {};
  #failed = new Set<string>();
  #loading = new Set<string>();
  #closed = false;
  #resolve: () => void = () => {};
  /** Bytes written (tests, metrics). */
  bytesSent = 0;
  /** Settles when the listener is gone (closed, dropped or server shutdown). */
  readonly done: Promise<void>;

  constructor(options: LiveStreamOptions) {
    this.#o = options;
    this.#slotAt = options.clock.now();
    this.#sampleRate = options.sampleRate ?? 48_000;
    this.#channels = options.channels ?? 1;
    this.#silence = this.#makeSilence();
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Duration of one frame slot (ms). */
  get frameMs(): number {
    return (samplesPerFrame(this.#sampleRate) / this.#sampleRate) * 1000;
  }

  start(): void {
    const { res, feed, station } = this.#o;
    res.on('close', () => this.close());
    this.#unsubscribe = feed.subscribe(station.campaignId, (event) => {
      if (event.type === 'chunkReady') this.#prefetch([event.chunk]);
      if (event.type === 'scheduleChanged' || event.type === 'chunkStarted') this.#produce();
    });
    this.#prefetch(station.schedule().map((e) => e.chunk));
    this.#produce();
    this.#arm();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#unsubscribe();
    if (!this.#o.res.writableEnded && !this.#o.res.destroyed) this.#o.res.end();
    this.#resolve();
  }

  #arm(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      this.#produce();
      this.#arm();
    }, this.#o.limits.tickMs);
  }

  #prefetch(chunks: ScheduleEntry['chunk'][]): void {
    for (const chunk of chunks) {
      if (this.#o.audio.peek(chunk.id) || this.#failed.has(chunk.id) || this.#loading.has(chunk.id)) continue;
      this.#loading.add(chunk.id);
      this.#o.audio.get(chunk).then(
        () => {
          this.#loading.delete(chunk.id);
          this.#produce();
        },
        (err: unknown) => {
          this.#loading.delete(chunk.id);
          this.#failed.add(chunk.id);
          this.#o.log.warn({ err, chunk: chunk.id }, 'live stream: chunk audio unavailable, airing silence');
        },
      );
    }
  }

  /** Writes every slot that is due (or allowed ahead) now. */
  #produce(): void {
    if (this.#closed) return;
    const { res, clock, limits } = this.#o;
    if (res.destroyed || res.writableEnded) return this.close();
    if (res.writableLength > limits.maxBufferedBytes) {
      this.#o.log.info(
        { campaign: this.#o.station.campaignId },
        'live stream: dropping a listener that does not read',
      );
      this.#o.onDrop?.();
      res.destroy();
      return this.close();
    }
    const now = clock.now();
    if (this.#slotAt < now - MAX_CATCH_UP_MS) this.#slotAt = now;
    const schedule = this.#o.station.schedule();
    const parts: Uint8Array[] = [];
    while (this.#slotAt < now + limits.leadMs) {
      const slot = this.#slot(this.#slotAt, schedule, now);
      if (slot.kind === 'wait') break;
      if (slot.kind === 'silence') {
        if (this.#slotAt >= now + limits.silenceLeadMs) break;
        parts.push(this.#silence);
      } else {
        appendFrame(parts, slot.bytes);
      }
      this.#slotAt += this.frameMs;
    }
    if (parts.length === 0) return;
    const bytes = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    this.bytesSent += bytes.length;
    res.write(bytes);
  }

  /**
   * What airs in the slot starting at station time `t`: the latest scheduled
   * chunk that has started by then (a gapless successor takes over from its
   * predecessor's padding) and still has a frame for it.
   */
  #slot(t: number, schedule: readonly ScheduleEntry[], now: number): Slot {
    for (let i = schedule.length - 1; i >= 0; i--) {
      const e = schedule[i] as ScheduleEntry;
      if (t < e.startsAt - this.frameMs) continue;
      if (this.#failed.has(e.chunk.id)) return { kind: 'silence' };
      const audio = this.#o.audio.peek(e.chunk.id);
      if (!audio) {
        this.#prefetch([e.chunk]);
        return t < now - this.#o.limits.loadGraceMs ? { kind: 'silence' } : { kind: 'wait' };
      }
      const frame = this.#frameAt(audio, t - e.startsAt);
      return frame ? { kind: 'frame', bytes: frame } : { kind: 'silence' };
    }
    return { kind: 'silence' };
  }

  /** The frame whose playable start is nearest `offsetMs` into the chunk, or null past its end. */
  #frameAt(audio: ChunkAudio, offsetMs: number): Uint8Array | null {
    const { scan } = audio;
    if (scan.sampleRate !== this.#sampleRate || scan.channels !== this.#channels) {
      // Keep silence in the format of the audio around it.
      this.#sampleRate = scan.sampleRate;
      this.#channels = scan.channels === 2 ? 2 : 1;
      this.#silence = this.#makeSilence();
    }
    const lead = scan.hasLameTag ? scan.encoderDelay + MP3_DECODER_DELAY : 0;
    const spf = samplesPerFrame(scan.sampleRate);
    const samples = (offsetMs / 1000) * scan.sampleRate;
    const index = Math.max(0, Math.round((samples + lead) / spf));
    const frame = scan.frames[index];
    return frame ? audio.bytes.subarray(frame.offset, frame.offset + frame.length) : null;
  }

  #makeSilence(): Uint8Array {
    const mpeg1 = samplesPerFrame(this.#sampleRate) === 1152;
    return makeSilenceFrame({
      sampleRate: this.#sampleRate,
      channels: this.#channels,
      bitrateKbps: mpeg1 ? 32 : 8,
    });
  }
}
