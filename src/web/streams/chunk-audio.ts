import { scanMp3, sliceFromTime, type Mp3Scan } from '../../media';
import type { AudioChunk, AudioStore } from '../../playback';

/** A chunk's MP3, scanned once: what the streams cut and concatenate. */
export interface ChunkAudio {
  chunkId: string;
  bytes: Uint8Array;
  scan: Mp3Scan;
  /** Offset of the first audio frame (after any ID3 tag and the Xing/Info frame). */
  audioStart: number;
  /** End of the last complete audio frame (trailing tags and torn frames excluded). */
  audioEnd: number;
}

/** A chunk whose MP3 holds no audio frames. */
export class EmptyAudioError extends Error {
  override readonly name = 'EmptyAudioError';
  constructor(readonly chunkId: string) {
    super(`chunk ${chunkId} has no MP3 audio frames`);
  }
}

/**
 * The audio frames of a chunk from playable time `fromSec` on (0: all of
 * them), without the Xing/Info frame, so back-to-back results form one clean
 * stream. Cuts at the first frame whose playable start is ≥ `fromSec`.
 */
export function audioFrames(audio: ChunkAudio, fromSec = 0): Uint8Array {
  if (!(fromSec > 0)) return audio.bytes.subarray(audio.audioStart, audio.audioEnd);
  const slice = sliceFromTime(audio.bytes, fromSec, audio.scan);
  const start = audio.bytes.length - slice.bytes.length;
  return audio.bytes.subarray(Math.min(start, audio.audioEnd), audio.audioEnd);
}

/**
 * Loads and scans chunk MP3s, keeping the most recent ones (a handful of
 * listeners stream the same chunks at about the same time). Failed loads are
 * not cached, so a later call retries.
 */
export class ChunkAudioCache {
  readonly #store: AudioStore;
  readonly #max: number;
  readonly #entries = new Map<string, Promise<ChunkAudio>>();
  readonly #loaded = new Map<string, ChunkAudio>();

  constructor(store: AudioStore, maxEntries = 64) {
    this.#store = store;
    this.#max = maxEntries;
  }

  /** The chunk's scanned MP3 (rejects when the file is gone or holds no audio). */
  get(chunk: Pick<AudioChunk, 'id' | 'mp3Key'>): Promise<ChunkAudio> {
    const hit = this.#entries.get(chunk.id);
    if (hit) {
      // Refresh recency.
      this.#entries.delete(chunk.id);
      this.#entries.set(chunk.id, hit);
      return hit;
    }
    const load = this.#load(chunk);
    this.#entries.set(chunk.id, load);
    load.then(
      (audio) => {
        if (this.#entries.get(chunk.id) === load) this.#loaded.set(chunk.id, audio);
      },
      () => {
        if (this.#entries.get(chunk.id) === load) this.#entries.delete(chunk.id);
      },
    );
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#loaded.delete(oldest);
    }
    return load;
  }

  /** The chunk's audio if it is loaded already (synchronous; the live stream's hot path). */
  peek(chunkId: string): ChunkAudio | undefined {
    return this.#loaded.get(chunkId);
  }

  async #load(chunk: Pick<AudioChunk, 'id' | 'mp3Key'>): Promise<ChunkAudio> {
    const bytes = await this.#store.get(chunk.mp3Key);
    const scan = scanMp3(bytes);
    const first = scan.frames[0];
    const last = scan.frames[scan.frames.length - 1];
    if (!first || !last) throw new EmptyAudioError(chunk.id);
    return { chunkId: chunk.id, bytes, scan, audioStart: first.offset, audioEnd: last.offset + last.length };
  }
}
