import { describe, expect, it } from 'vitest';
import { MP3_DECODER_DELAY, makeSilenceFrame } from '../../src/media/mp3';
import { mp3WithLameTag } from './fixtures';
import { computeTrim, readMp3Gapless, type Mp3Gapless } from '../../web/src/gapless';

describe('readMp3Gapless', () => {
  it('reads rate, frame size and LAME delay/padding', () => {
    expect(readMp3Gapless(mp3WithLameTag(48000, 576, 1104))).toEqual({
      sampleRate: 48000,
      samplesPerFrame: 1152,
      encoderDelay: 576,
      encoderPadding: 1104,
    });
    expect(readMp3Gapless(mp3WithLameTag(24000, 576, 960))).toMatchObject({
      sampleRate: 24000,
      samplesPerFrame: 576,
    });
  });

  it('has null delay/padding without a LAME tag, and null for non-MP3 bytes', () => {
    const silence = makeSilenceFrame({ sampleRate: 48000, channels: 1, bitrateKbps: 64 });
    const plain = new Uint8Array(silence.length * 3);
    for (let i = 0; i < 3; i++) plain.set(silence, i * silence.length);
    expect(readMp3Gapless(plain)).toEqual({
      sampleRate: 48000,
      samplesPerFrame: 1152,
      encoderDelay: null,
      encoderPadding: null,
    });
    expect(readMp3Gapless(new TextEncoder().encode('definitely not audio'))).toBeNull();
  });
});

describe('computeTrim', () => {
  const mp3: Mp3Gapless = { sampleRate: 24000, samplesPerFrame: 576, encoderDelay: 576, encoderPadding: 960 };
  const duration = 1.5; // 36 000 samples at 24 kHz
  const lead = 576 + MP3_DECODER_DELAY; // 1105
  const tail = 960 - MP3_DECODER_DELAY; // 431

  it('keeps a buffer the decoder already trimmed (Chromium), at the same rate', () => {
    expect(computeTrim({ decodedFrames: 36000, contextRate: 24000, durationSec: duration, mp3 })).toEqual({
      startFrame: 0,
      frameCount: 36000,
      behaviour: 'trimmed',
    });
  });

  it('keeps a trimmed buffer resampled to the context rate, a frame short or long', () => {
    for (const decodedFrames of [66149, 66150, 66151]) {
      expect(computeTrim({ decodedFrames, contextRate: 44100, durationSec: duration, mp3 })).toEqual({
        startFrame: 0,
        frameCount: 66150,
        behaviour: 'trimmed',
      });
    }
  });

  it('skips delay + decoder delay when the decoder trimmed nothing', () => {
    const decodedFrames = 36000 + 576 + 960;
    expect(computeTrim({ decodedFrames, contextRate: 24000, durationSec: duration, mp3 })).toEqual({
      startFrame: lead,
      frameCount: 36000,
      behaviour: 'untrimmed',
    });
  });

  it('scales the skip when decoding resampled 24 kHz to 48 kHz', () => {
    const decodedFrames = (36000 + 576 + 960) * 2;
    expect(computeTrim({ decodedFrames, contextRate: 48000, durationSec: duration, mp3 })).toEqual({
      startFrame: lead * 2,
      frameCount: 72000,
      behaviour: 'untrimmed',
    });
  });

  it('also skips the Info frame when a decoder played it as silence', () => {
    const decodedFrames = 36000 + 576 + 960 + 576;
    expect(computeTrim({ decodedFrames, contextRate: 24000, durationSec: duration, mp3 })).toMatchObject({
      startFrame: 576 + lead,
      behaviour: 'untrimmed-info-frame',
    });
  });

  it('starts at 0 when only the padding was left', () => {
    const decodedFrames = 36000 + tail;
    expect(computeTrim({ decodedFrames, contextRate: 24000, durationSec: duration, mp3 })).toMatchObject({
      startFrame: 0,
      behaviour: 'front-trimmed',
    });
  });

  it('plays from the start when nothing fits (no LAME tag, odd length)', () => {
    expect(
      computeTrim({ decodedFrames: 37000, contextRate: 24000, durationSec: duration, mp3: null }),
    ).toEqual({
      startFrame: 0,
      frameCount: 36000,
      behaviour: 'unknown',
    });
  });

  it('always plays exactly the chunk duration', () => {
    for (const decodedFrames of [10, 36000, 40000]) {
      const trim = computeTrim({ decodedFrames, contextRate: 48000, durationSec: 0.75, mp3 });
      expect(trim.frameCount).toBe(36000);
    }
  });
});
