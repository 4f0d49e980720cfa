/**
 * MPEG audio Layer III parsing on plain `Uint8Array`s: frame headers, ID3v2
 * skipping, robust frame iteration, the Xing/Info frame and its LAME tag,
 * frame-accurate slicing and silence frames.
 *
 * No Node APIs on purpose: the browser bundle imports this file too (to trim
 * encoder delay and padding when scheduling chunks with Web Audio).
 */

/**
 * Samples an MP3 decoder outputs before the encoder's first sample (the
 * synthesis filterbank delay). A decoder that honours the LAME tag skips
 * `encoderDelay + MP3_DECODER_DELAY` samples at the start and
 * `encoderPadding - MP3_DECODER_DELAY` at the end (ffmpeg's convention).
 */
export const MP3_DECODER_DELAY = 529;

/** MPEG version of a frame: 1, 2 or 2.5. */
export type MpegVersion = 1 | 2 | 2.5;

/** Channel mode field of a frame header. */
export type ChannelMode = 'stereo' | 'joint_stereo' | 'dual_channel' | 'mono';

/** A parsed Layer III frame header. */
export interface Mp3FrameHeader {
  version: MpegVersion;
  bitrateKbps: number;
  sampleRate: number;
  padding: boolean;
  /** A 16-bit CRC follows the header. */
  hasCrc: boolean;
  channelMode: ChannelMode;
  channels: 1 | 2;
  /** Whole frame in bytes, header included. */
  frameLength: number;
  samplesPerFrame: 1152 | 576;
  /** Bytes of side information after the header (and CRC). */
  sideInfoSize: number;
}

/** One audio frame of a stream. */
export interface Mp3Frame {
  offset: number;
  length: number;
  /** Decoded samples before this frame (sum of earlier audio frames' samples, per channel). */
  startSample: number;
}

/** Gapless information from the LAME tag. */
export interface LameGapless {
  encoderDelay: number;
  encoderPadding: number;
}

/** Result of {@link scanMp3}. Empty `frames` (and zero rates) when nothing parses. */
export interface Mp3Scan {
  sampleRate: number;
  channels: number;
  /** Bitrate of the first audio frame (the bitrate for a CBR stream). */
  bitrateKbps: number;
  /** Audio frames only; the Xing/Info frame is not in this list. */
  frames: Mp3Frame[];
  infoFrame?: { offset: number; length: number };
  /** True when a LAME tag gave the delay and padding below. */
  hasLameTag: boolean;
  encoderDelay: number;
  encoderPadding: number;
  /** `frames.length × samplesPerFrame`. */
  totalSamples: number;
  /** Samples left after trimming encoder delay and padding. */
  playableSamples: number;
  durationMs: number;
}

/** Result of {@link sliceFromTime}. */
export interface Mp3Slice {
  bytes: Uint8Array;
  /** Playable time (seconds) at which the returned bytes start. */
  timeSec: number;
  /** Index into `scan.frames` of the first returned frame (`frames.length` when past the end). */
  frameIndex: number;
}

/** What a silence frame must match. */
export interface SilenceFrameParams {
  sampleRate: number;
  channels: number;
  bitrateKbps: number;
}

const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const SAMPLE_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};
const MODES: ChannelMode[] = ['stereo', 'joint_stereo', 'dual_channel', 'mono'];

/** Parses the 4-byte Layer III header at `offset`; null when it is not a valid one. */
export function parseFrameHeader(bytes: Uint8Array, offset: number): Mp3FrameHeader | null {
  if (offset < 0 || offset + 4 > bytes.length) return null;
  const b1 = bytes[offset + 1]!;
  const b2 = bytes[offset + 2]!;
  const b3 = bytes[offset + 3]!;
  if (bytes[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const versionBits = (b1 >> 3) & 3;
  if (versionBits === 1 || ((b1 >> 1) & 3) !== 1) return null; // reserved version, or not Layer III
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  // Free format (0) is not supported: its frame length cannot be read from the header.
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3 || (b3 & 3) === 2) return null;
  const version: MpegVersion = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5;
  const bitrateKbps = (version === 1 ? BITRATES_V1 : BITRATES_V2)[bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[versionBits]![rateIndex]!;
  const padding = (b2 & 2) !== 0;
  const channelMode = MODES[b3 >> 6]!;
  const mono = channelMode === 'mono';
  const coefficient = version === 1 ? 144 : 72;
  return {
    version,
    bitrateKbps,
    sampleRate,
    padding,
    hasCrc: (b1 & 1) === 0,
    channelMode,
    channels: mono ? 1 : 2,
    frameLength: Math.floor((coefficient * bitrateKbps * 1000) / sampleRate) + (padding ? 1 : 0),
    samplesPerFrame: version === 1 ? 1152 : 576,
    sideInfoSize: version === 1 ? (mono ? 17 : 32) : mono ? 9 : 17,
  };
}

/** Size of the ID3v2 tag at `offset` (header, footer included), or 0 when there is none. */
export function id3v2Size(bytes: Uint8Array, offset = 0): number {
  if (offset + 10 > bytes.length) return 0;
  if (bytes[offset] !== 0x49 || bytes[offset + 1] !== 0x44 || bytes[offset + 2] !== 0x33) return 0;
  const sizeBytes = [6, 7, 8, 9].map((i) => bytes[offset + i]!);
  const major = bytes[offset + 3]!;
  if (major < 2 || major > 4 || bytes[offset + 4] === 0xff || sizeBytes.some((b) => b >= 0x80)) return 0;
  const size = sizeBytes.reduce((acc, b) => (acc << 7) | b, 0);
  const footer = (bytes[offset + 5]! & 0x10) !== 0 ? 10 : 0;
  return 10 + size + footer;
}

/** Frames of one stream share these; a header that differs is treated as garbage. */
function sameStream(a: Mp3FrameHeader, b: Mp3FrameHeader): boolean {
  return a.version === b.version && a.sampleRate === b.sampleRate && a.channels === b.channels;
}

/**
 * Yields every frame of the stream (the Xing/Info frame included), skipping
 * ID3v2 tags and garbage. After losing sync, a candidate header is accepted
 * only when the next frame's header also parses (or the data ends exactly at
 * its end), so stray 0xFF bytes in garbage are not taken for frames. A
 * truncated last frame is not yielded.
 */
export function* iterateFrames(bytes: Uint8Array): Generator<{ offset: number; header: Mp3FrameHeader }> {
  let pos = 0;
  let locked: Mp3FrameHeader | null = null;
  let inSync = false;
  while (pos + 4 <= bytes.length) {
    const tag = id3v2Size(bytes, pos);
    // A tag claiming more than the data holds is more likely damage than a tag.
    if (tag > 0 && pos + tag <= bytes.length) {
      pos += tag;
      inSync = false;
      continue;
    }
    const header = parseFrameHeader(bytes, pos);
    if (header && (!locked || sameStream(header, locked)) && pos + header.frameLength <= bytes.length) {
      const next = pos + header.frameLength;
      const nextHeader = parseFrameHeader(bytes, next);
      const confirmed =
        inSync || next === bytes.length || (nextHeader !== null && sameStream(header, nextHeader));
      if (confirmed) {
        yield { offset: pos, header };
        locked = header;
        inSync = true;
        pos = next;
        continue;
      }
    }
    inSync = false;
    pos++;
  }
}

/** Offset of the Xing/Info tag inside a frame (after header, CRC and side info). */
function xingOffset(offset: number, header: Mp3FrameHeader): number {
  return offset + 4 + (header.hasCrc ? 2 : 0) + header.sideInfoSize;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (offset + length > bytes.length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

/** Reads the Xing/Info (or VBRI) tag of the frame at `offset`; null when the frame carries none. */
function readInfoTag(
  bytes: Uint8Array,
  offset: number,
  header: Mp3FrameHeader,
): { lame: LameGapless | null } | null {
  const end = offset + header.frameLength;
  if (ascii(bytes, offset + 36, 4) === 'VBRI') return { lame: null };
  let p = xingOffset(offset, header);
  const id = ascii(bytes, p, 4);
  if (id !== 'Xing' && id !== 'Info') return null;
  if (p + 8 > end) return { lame: null };
  const flags = bytes[p + 7]!;
  p += 8 + (flags & 1 ? 4 : 0) + (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
  // LAME writes "LAME"; ffmpeg's muxer writes "Lavc"/"Lavf" in the same layout.
  if (p + 24 > end || !['LAME', 'Lavc', 'Lavf'].includes(ascii(bytes, p, 4))) return { lame: null };
  const d = (bytes[p + 21]! << 16) | (bytes[p + 22]! << 8) | bytes[p + 23]!;
  return { lame: { encoderDelay: d >> 12, encoderPadding: d & 0xfff } };
}

/** Encoder delay and padding from the LAME tag of the stream's first frame, or null without one. */
export function readLameGapless(bytes: Uint8Array): LameGapless | null {
  const first = iterateFrames(bytes).next();
  if (first.done) return null;
  return readInfoTag(bytes, first.value.offset, first.value.header)?.lame ?? null;
}

/** Walks every frame header: exact sample counts for CBR and VBR alike. Never throws. */
export function scanMp3(bytes: Uint8Array): Mp3Scan {
  const frames: Mp3Frame[] = [];
  let infoFrame: Mp3Scan['infoFrame'];
  let lame: LameGapless | null = null;
  let first: Mp3FrameHeader | null = null;
  let audio: Mp3FrameHeader | null = null;
  let samples = 0;
  for (const { offset, header } of iterateFrames(bytes)) {
    if (!first) {
      first = header;
      const tag = readInfoTag(bytes, offset, header);
      if (tag) {
        infoFrame = { offset, length: header.frameLength };
        lame = tag.lame;
        continue;
      }
    }
    audio ??= header;
    frames.push({ offset, length: header.frameLength, startSample: samples });
    samples += header.samplesPerFrame;
  }
  const ref = audio ?? first;
  const sampleRate = ref?.sampleRate ?? 0;
  const encoderDelay = lame?.encoderDelay ?? 0;
  const encoderPadding = lame?.encoderPadding ?? 0;
  const playableSamples = Math.max(0, samples - encoderDelay - encoderPadding);
  return {
    sampleRate,
    channels: ref?.channels ?? 0,
    bitrateKbps: ref?.bitrateKbps ?? 0,
    frames,
    ...(infoFrame ? { infoFrame } : {}),
    hasLameTag: lame !== null,
    encoderDelay,
    encoderPadding,
    totalSamples: samples,
    playableSamples,
    durationMs: sampleRate > 0 ? (playableSamples * 1000) / sampleRate : 0,
  };
}

/**
 * Playable sample at which decoding from frame `index` starts: decoded samples
 * before the frame minus what a gapless decoder trims at the start. Negative
 * for the first frame of a stream with a LAME tag.
 */
export function framePlayableStart(scan: Mp3Scan, index: number): number {
  const lead = scan.hasLameTag ? scan.encoderDelay + MP3_DECODER_DELAY : 0;
  const frame = scan.frames[index];
  const start = frame ? frame.startSample : scan.totalSamples;
  return start - lead;
}

/**
 * The bytes from the first audio frame whose playable start time is ≥ `sec`,
 * to the end, and that frame's exact time. Walks frame headers, so VBR is
 * exact. The Xing/Info frame is dropped (its totals no longer hold). `sec ≤ 0`
 * returns the input unchanged at time 0: its LAME tag then makes a decoder
 * start exactly at the first playable sample. Past the end: empty bytes.
 * Pass `scan` when you already have one.
 */
export function sliceFromTime(bytes: Uint8Array, sec: number, scan: Mp3Scan = scanMp3(bytes)): Mp3Slice {
  if (!(sec > 0) || scan.sampleRate === 0) return { bytes, timeSec: 0, frameIndex: 0 };
  // Tolerate float noise so asking for a frame's own time returns that frame.
  const target = sec * scan.sampleRate - 1e-6;
  let lo = 0;
  let hi = scan.frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (framePlayableStart(scan, mid) >= target) hi = mid;
    else lo = mid + 1;
  }
  const frame = scan.frames[lo];
  const timeSec = framePlayableStart(scan, lo) / scan.sampleRate;
  if (!frame) return { bytes: bytes.subarray(bytes.length), timeSec: Math.max(timeSec, 0), frameIndex: lo };
  return { bytes: bytes.subarray(frame.offset), timeSec, frameIndex: lo };
}

/**
 * The bytes from the first audio frame on: drops a leading ID3v2 tag, garbage
 * and the Xing/Info frame, so chunks can be concatenated into one stream.
 */
export function stripInfoFrame(bytes: Uint8Array): Uint8Array {
  const first = scanMp3(bytes).frames[0];
  return first ? bytes.subarray(first.offset) : bytes.subarray(bytes.length);
}

/**
 * `main_data_begin` of a frame: how many bytes of earlier frames its audio
 * data starts in (the bit reservoir). 0 means the frame decodes on its own,
 * so a stream cut there starts cleanly.
 */
export function mainDataBegin(bytes: Uint8Array, offset: number, header: Mp3FrameHeader): number {
  const p = offset + 4 + (header.hasCrc ? 2 : 0);
  if (p + 2 > bytes.length) return 0;
  const word = (bytes[p]! << 8) | bytes[p + 1]!;
  return header.version === 1 ? word >> 7 : word >> 8;
}

/**
 * One valid Layer III frame that decodes to digital silence: the header of a
 * stream with these parameters (no padding, no CRC) and all-zero side
 * information, so it uses no main data and no bit reservoir. Throws
 * RangeError when the rate or bitrate is not a Layer III one.
 */
export function makeSilenceFrame(params: SilenceFrameParams): Uint8Array {
  const versionBits = [3, 2, 0].find((v) => SAMPLE_RATES[v]!.includes(params.sampleRate));
  if (versionBits === undefined) throw new RangeError(`not an MPEG sample rate: ${params.sampleRate}`);
  const table = versionBits === 3 ? BITRATES_V1 : BITRATES_V2;
  const bitrateIndex = table.indexOf(params.bitrateKbps);
  if (bitrateIndex <= 0) throw new RangeError(`not a Layer III bitrate here: ${params.bitrateKbps} kbps`);
  if (params.channels !== 1 && params.channels !== 2) throw new RangeError('channels must be 1 or 2');
  const rateIndex = SAMPLE_RATES[versionBits]!.indexOf(params.sampleRate);
  const header = new Uint8Array([
    0xff,
    0xe0 | (versionBits << 3) | (1 << 1) | 1, // Layer III, no CRC
    (bitrateIndex << 4) | (rateIndex << 2),
    (params.channels === 1 ? 3 : 1) << 6, // mono or joint stereo (as LAME writes)
  ]);
  const frame = new Uint8Array(parseFrameHeader(header, 0)!.frameLength);
  frame.set(header);
  return frame;
}

/** `count` silence frames back to back (see {@link makeSilenceFrame}). */
export function createSilenceFrames(params: SilenceFrameParams, count: number): Uint8Array {
  const frame = makeSilenceFrame(params);
  const out = new Uint8Array(frame.length * Math.max(0, Math.floor(count)));
  for (let p = 0; p < out.length; p += frame.length) out.set(frame, p);
  return out;
}

/** Samples per frame of a Layer III stream at this sample rate (1152 for MPEG-1, else 576). */
export function samplesPerFrame(sampleRate: number): 1152 | 576 {
  return SAMPLE_RATES[3]!.includes(sampleRate) ? 1152 : 576;
}
