/**
 * Which decoded samples of a chunk are the playable ones. An MP3 decoder
 * outputs the encoder delay and the decoder's own delay before the first real
 * sample, and the padding after the last one; the LAME tag says how much.
 * Browsers differ: Chromium (ffmpeg) already trims by the LAME tag, others
 * trim partly or not at all, and `decodeAudioData` resamples to the context's
 * rate. So the decoded length is compared with the lengths each behaviour
 * would give, and the trim of the closest one is applied. The played length
 * is always the chunk's `duration_sec`, so consecutive chunks join exactly.
 */
import { MP3_DECODER_DELAY, iterateFrames, readLameGapless } from '../../src/media/mp3';

/** What the trim needs to know about the MP3 itself. */
export interface Mp3Gapless {
  sampleRate: number;
  samplesPerFrame: number;
  /** From the LAME tag; null without one. */
  encoderDelay: number | null;
  encoderPadding: number | null;
}

/** Reads sample rate, frame size and LAME delay/padding of an MP3; null when no frame parses. */
export function readMp3Gapless(bytes: Uint8Array): Mp3Gapless | null {
  for (const { header } of iterateFrames(bytes)) {
    const lame = readLameGapless(bytes);
    return {
      sampleRate: header.sampleRate,
      samplesPerFrame: header.samplesPerFrame,
      encoderDelay: lame?.encoderDelay ?? null,
      encoderPadding: lame?.encoderPadding ?? null,
    };
  }
  return null;
}

/** How a decoder treated the stream, as guessed from the decoded length. */
export type DecoderBehaviour =
  | 'trimmed' // honoured the LAME tag (Chromium, Firefox)
  | 'front-trimmed' // skipped the delay, kept the padding
  | 'untrimmed' // ignored the tag but skipped the Info frame
  | 'untrimmed-info-frame' // also decoded the Info frame as a frame of silence
  | 'unknown'; // no tag or no candidate close enough: play from the start

/** Result of {@link computeTrim}, in frames of the decoded buffer. */
export interface Trim {
  startFrame: number;
  /** Always `round(durationSec × contextRate)`; zero-filled past the decoded end. */
  frameCount: number;
  behaviour: DecoderBehaviour;
}

/** Input of {@link computeTrim}. */
export interface TrimInput {
  /** Length of the decoded buffer, frames at `contextRate`. */
  decodedFrames: number;
  /** Rate of the decoded buffer (the AudioContext's). */
  contextRate: number;
  /** Playable duration from the server (exact to the sample). */
  durationSec: number;
  mp3: Mp3Gapless | null;
}

/** Candidates further than this from the decoded length are not believed. */
const MAX_MISMATCH_SEC = 0.004;

/** Decides which decoded frames to play. Pure; see the module comment. */
export function computeTrim(input: TrimInput): Trim {
  const { decodedFrames, contextRate, durationSec, mp3 } = input;
  const frameCount = Math.max(0, Math.round(durationSec * contextRate));
  const excess = decodedFrames - frameCount;
  const candidates: { behaviour: DecoderBehaviour; start: number; excess: number }[] = [
    { behaviour: 'trimmed', start: 0, excess: 0 },
  ];
  if (mp3 && mp3.encoderDelay !== null && mp3.encoderPadding !== null && mp3.sampleRate > 0) {
    const ratio = contextRate / mp3.sampleRate;
    const lead = (mp3.encoderDelay + MP3_DECODER_DELAY) * ratio;
    const tail = (mp3.encoderPadding - MP3_DECODER_DELAY) * ratio;
    const info = mp3.samplesPerFrame * ratio;
    candidates.push(
      { behaviour: 'front-trimmed', start: 0, excess: tail },
      { behaviour: 'untrimmed', start: lead, excess: lead + tail },
      { behaviour: 'untrimmed-info-frame', start: info + lead, excess: info + lead + tail },
    );
  }
  let best = candidates[0]!;
  for (const c of candidates) {
    if (Math.abs(c.excess - excess) < Math.abs(best.excess - excess)) best = c;
  }
  if (Math.abs(best.excess - excess) > MAX_MISMATCH_SEC * contextRate) {
    return { startFrame: 0, frameCount, behaviour: 'unknown' };
  }
  return {
    startFrame: Math.max(0, Math.min(Math.round(best.start), Math.max(0, decodedFrames - 1))),
    frameCount,
    behaviour: best.behaviour,
  };
}
