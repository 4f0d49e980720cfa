import os from 'node:os';
import OpusScript from 'opusscript';
import type { VoicePacket } from './voice-server';

/** 20 ms at 48 kHz: one Opus frame, and the RTP timestamp step `@discordjs/voice` uses. */
export const FRAME_SAMPLES = 960;
export const FRAME_MS = 20;

/**
 * A talk spurt: consecutive audio packets up to the next silence frame
 * (`@discordjs/voice` sends five when its player stops, pauses or ends a
 * resource), i.e. one request's audio when the bot plays it gaplessly.
 */
export interface Spurt {
  packets: VoicePacket[];
  /** Silence frames that followed it (before the next spurt). */
  trailingSilence: number;
  /** Places where the RTP sequence did not step by exactly 1. */
  seqJumps: number;
  /** Places where the RTP timestamp did not step by exactly one frame. */
  timestampJumps: number;
  /** Largest wall-clock gap between two packets of the spurt, ms. */
  maxArrivalGapMs: number;
}

/** Splits a guild's packets into spurts separated by silence frames. */
export function spurts(packets: readonly VoicePacket[]): Spurt[] {
  const out: Spurt[] = [];
  let current: Spurt | null = null;
  for (const p of packets) {
    if (p.silence) {
      if (current) current.trailingSilence++;
      else if (out.length > 0) out[out.length - 1]!.trailingSilence++;
      current = null;
      continue;
    }
    if (!current) {
      current = { packets: [], trailingSilence: 0, seqJumps: 0, timestampJumps: 0, maxArrivalGapMs: 0 };
      out.push(current);
    }
    const prev = current.packets.at(-1);
    if (prev) {
      if ((p.seq - prev.seq + 65536) % 65536 !== 1) current.seqJumps++;
      if ((p.timestamp - prev.timestamp + 2 ** 32) % 2 ** 32 !== FRAME_SAMPLES) current.timestampJumps++;
      current.maxArrivalGapMs = Math.max(current.maxArrivalGapMs, p.at - prev.at);
    }
    current.packets.push(p);
  }
  return out;
}

/** Decoded audio of a run of packets: its length and level. */
export interface DecodedAudio {
  /** Samples per channel at 48 kHz. */
  samples: number;
  durationMs: number;
  /** RMS of all samples, 0..1. */
  rms: number;
  /** Frames whose RMS is below -60 dBFS (digital silence inside the audio). */
  silentFrames: number;
}

/** Decodes Opus packets to PCM (opusscript: libopus in WebAssembly) for length and level checks. */
export function decode(packets: readonly VoicePacket[]): DecodedAudio {
  const decoder = new OpusScript(48_000, 2, OpusScript.Application.AUDIO);
  let samples = 0;
  let sumSquares = 0;
  let silentFrames = 0;
  try {
    for (const p of packets) {
      const pcm = decoder.decode(p.opus);
      const frame = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
      let frameSquares = 0;
      for (const s of frame) frameSquares += (s / 32768) ** 2;
      sumSquares += frameSquares;
      if (Math.sqrt(frameSquares / Math.max(1, frame.length)) < 0.001) silentFrames++;
      samples += frame.length / 2;
    }
  } finally {
    decoder.delete();
  }
  return {
    samples,
    durationMs: (samples / 48_000) * 1000,
    rms: Math.sqrt(sumSquares / Math.max(1, samples * 2)),
    silentFrames,
  };
}

/** Median and 95th percentile (nearest rank). */
export function percentiles(values: readonly number[]): { median: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { median: rank(0.5), p95: rank(0.95) };
}

/** Whether `packets` carry exactly `expected`, byte for byte and in order. */
export function samePayloads(packets: readonly VoicePacket[], expected: readonly Buffer[]): boolean {
  return packets.length === expected.length && packets.every((p, k) => p.opus.equals(expected[k]!));
}

/** How many packets at the start of `packets` carry `expected`'s first payloads. */
export function commonPrefix(packets: readonly VoicePacket[], expected: readonly Buffer[]): number {
  let k = 0;
  while (k < packets.length && k < expected.length && packets[k]!.opus.equals(expected[k]!)) k++;
  return k;
}

/** How a run of packets lines up with a request's chunks. */
export interface Alignment {
  /** Every packet was matched, in order, with nothing left over. */
  ok: boolean;
  /** Per chunk: packets left out at its start (the bot cuts each chunk in on the station clock). */
  headDrops: number[];
  /** Per chunk: packets sent. */
  sent: number[];
  /** Packets matched in all. */
  matched: number;
}

/**
 * Lines `packets` up with a request's chunks (each chunk's Opus packets in
 * order): each chunk must appear whole from some packet on (at most
 * `maxHeadDrop` left out at its start), in order, with no packet repeated,
 * inserted or left out in the middle. Chunks after the last packet count as
 * not sent (a request cut short).
 */
export function alignToChunks(
  packets: readonly VoicePacket[],
  chunks: readonly (readonly Buffer[])[],
  maxHeadDrop = 250,
): Alignment {
  const headDrops: number[] = [];
  const sent: number[] = [];
  let pos = 0;
  for (const chunk of chunks) {
    if (pos >= packets.length) break;
    let placed = false;
    for (let drop = 0; drop <= Math.min(maxHeadDrop, chunk.length - 1) && !placed; drop++) {
      let n = 0;
      while (
        drop + n < chunk.length &&
        pos + n < packets.length &&
        packets[pos + n]!.opus.equals(chunk[drop + n]!)
      )
        n++;
      // Whole chunk from `drop` on, or the packets ran out (cut short).
      if (n > 0 && (drop + n === chunk.length || pos + n === packets.length)) {
        headDrops.push(drop);
        sent.push(n);
        pos += n;
        placed = true;
      }
    }
    if (!placed) return { ok: false, headDrops, sent, matched: pos };
  }
  return { ok: pos === packets.length, headDrops, sent, matched: pos };
}

/** How a run of audio packets accounts for the frames it should carry. */
export interface Accounting {
  /** Every packet is a frame of `expected`, in order, none repeated. */
  ok: boolean;
  /** Index in `expected` of each packet (-1 from the first one that does not fit). */
  positions: number[];
  /** Frames of `expected` (between the first and the last one sent) that were not sent. */
  leftOut: number;
  /** Frames of `expected` after the last one sent. */
  notReached: number;
  /** Silence frames between the first and the last audio packet. */
  silenceInside: number;
}

/**
 * Checks that the audio packets in `packets` are frames of `expected` in
 * order with none repeated or foreign (a frame may be left out: the bot cuts
 * chunks in on the station clock), and counts what was left out and the
 * silence frames in between.
 */
export function accountFor(packets: readonly VoicePacket[], expected: readonly Buffer[]): Accounting {
  const positions: number[] = [];
  let next = 0;
  let ok = true;
  for (const p of packets) {
    if (p.silence) continue;
    let j = next;
    while (j < expected.length && !p.opus.equals(expected[j]!)) j++;
    if (j >= expected.length) {
      ok = false;
      positions.push(-1);
      break;
    }
    positions.push(j);
    next = j + 1;
  }
  const first = packets.findIndex((p) => !p.silence);
  const last = packets.findLastIndex((p) => !p.silence);
  const silenceInside = first < 0 ? 0 : packets.slice(first, last + 1).filter((p) => p.silence).length;
  const sent = positions.filter((x) => x >= 0);
  const leftOut = sent.length ? sent.at(-1)! - sent[0]! + 1 - sent.length : 0;
  return { ok, positions, leftOut, notReached: expected.length - next, silenceInside };
}

/**
 * Whether the machine has a core to spare (1-minute load average at most the
 * core count). Frame pacing (silence frames, frames left out) depends on the
 * app keeping its 20 ms cycle; tests assert it only then, and report it always.
 */
export function machineIsQuiet(): boolean {
  return os.loadavg()[0]! <= os.cpus().length;
}
