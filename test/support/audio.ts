import type { EncodedAudio } from '../../src/playback';

/**
 * Encoded-audio input for engine tests, with a chosen exact duration. The
 * engine only stores and times the bytes; real encodes are tested in
 * test/narration with ffmpeg.
 */
export function audioOf(durationMs: number, tag = 'x'): EncodedAudio {
  const sampleCount = Math.round(durationMs * 48);
  return {
    opus: Buffer.from(`OggS-${tag}-${durationMs}`),
    mp3: Buffer.from(`ID3-${tag}-${durationMs}`),
    durationMs,
    sampleCount,
    mp3FrameCount: Math.ceil(sampleCount / 1152),
  };
}
