import { describe, expect, it } from 'vitest';
import {
  MP3_DECODER_DELAY,
  createSilenceFrames,
  framePlayableStart,
  id3v2Size,
  makeSilenceFrame,
  parseFrameHeader,
  readLameGapless,
  scanMp3,
  sliceFromTime,
  stripInfoFrame,
  type Mp3Scan,
} from '../../src/media/mp3';
import { decodeMp3, encodeMp3, id3Tag, sinePcm, sineWav } from './fixtures';

const SPF = 1152;
const RATE = 48_000;
const cbr = encodeMp3(sineWav(2), ['-b:a', '64k']);
const vbr = encodeMp3(sineWav(2.5, 44_100, 1, 330), ['-q:a', '2'], 44_100);

/** Every frame starts where the previous one ended and parses with the stream's parameters. */
function expectContiguous(scan: Mp3Scan, bytes: Uint8Array, from = scan.frames[0]!.offset): void {
  let pos = from;
  for (const frame of scan.frames) {
    expect(frame.offset).toBe(pos);
    expect(parseFrameHeader(bytes, frame.offset)?.sampleRate).toBe(scan.sampleRate);
    pos += frame.length;
  }
  expect(pos).toBe(bytes.length);
}

describe('parseFrameHeader', () => {
  it('reads MPEG-1, MPEG-2 and MPEG-2.5 Layer III headers', () => {
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x54, 0xc4]), 0)).toMatchObject({
      version: 1,
      bitrateKbps: 64,
      sampleRate: 48_000,
      channels: 1,
      frameLength: 192,
      samplesPerFrame: 1152,
      hasCrc: false,
    });
    // MPEG-2, 32 kbps, 24 kHz, joint stereo: 72 * 32000 / 24000 = 96
    expect(parseFrameHeader(new Uint8Array([0xff, 0xf3, 0x44, 0x40]), 0)).toMatchObject({
      version: 2,
      sampleRate: 24_000,
      channels: 2,
      frameLength: 96,
      samplesPerFrame: 576,
    });
    // MPEG-2.5, 8 kbps, 8 kHz, mono, with CRC: 72 * 8000 / 8000 = 72
    expect(parseFrameHeader(new Uint8Array([0xff, 0xe2, 0x18, 0xc0]), 0)).toMatchObject({
      version: 2.5,
      sampleRate: 8000,
      frameLength: 72,
      hasCrc: true,
    });
    // 44.1 kHz 128 kbps: 417 bytes, 418 with the padding bit.
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x90, 0x64]), 0)?.frameLength).toBe(417);
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x92, 0x64]), 0)?.frameLength).toBe(418);
  });

  it('rejects layers I/II, reserved fields, free format and short input', () => {
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfd, 0x54, 0xc4]), 0)).toBeNull(); // Layer II
    expect(parseFrameHeader(new Uint8Array([0xff, 0xeb, 0x54, 0xc4]), 0)).toBeNull(); // reserved version
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0xf4, 0xc4]), 0)).toBeNull(); // bad bitrate
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x04, 0xc4]), 0)).toBeNull(); // free format
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x5c, 0xc4]), 0)).toBeNull(); // reserved rate
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x54, 0xc6]), 0)).toBeNull(); // reserved emphasis
    expect(parseFrameHeader(new Uint8Array([0xff, 0xfb, 0x54]), 0)).toBeNull();
  });
});

describe('scanMp3', () => {
  it('counts CBR frames, finds the Info frame and its LAME delay/padding', () => {
    const scan = scanMp3(cbr);
    expect(scan).toMatchObject({ sampleRate: RATE, channels: 1, bitrateKbps: 64, hasLameTag: true });
    expect(scan.infoFrame).toEqual({ offset: id3v2Size(cbr), length: 192 });
    expect(id3v2Size(cbr)).toBeGreaterThan(0); // ffmpeg's own tag
    expect(scan.encoderDelay).toBe(576);
    expect(readLameGapless(cbr)).toEqual({
      encoderDelay: scan.encoderDelay,
      encoderPadding: scan.encoderPadding,
    });
    expect(scan.totalSamples).toBe(scan.frames.length * SPF);
    expect(scan.playableSamples).toBe(2 * RATE);
    expect(scan.durationMs).toBe(2000);
    expect(scan.frames.every((f, i) => f.startSample === i * SPF && f.length === 192)).toBe(true);
    expectContiguous(scan, cbr);
  });

  it('agrees with what ffmpeg decodes (gapless trimming uses the same delay and padding)', () => {
    expect(decodeMp3(cbr).length).toBe(scanMp3(cbr).playableSamples);
    const scan = scanMp3(vbr);
    expect(decodeMp3(vbr).length).toBe(scan.playableSamples);
    expect(scan.playableSamples).toBe(Math.round(2.5 * 44_100));
  });

  it('walks VBR frames of different lengths', () => {
    const scan = scanMp3(vbr);
    expect(scan.sampleRate).toBe(44_100);
    expect(new Set(scan.frames.map((f) => f.length)).size).toBeGreaterThan(2);
    expectContiguous(scan, vbr);
  });

  it('skips ID3v2 tags even when they contain sync-like bytes', () => {
    const tag = id3Tag();
    const tagged = Buffer.concat([tag, cbr]);
    const scan = scanMp3(tagged);
    const plain = scanMp3(cbr);
    expect(scan.infoFrame?.offset).toBe(tag.length + id3v2Size(cbr));
    expect(scan.frames.map((f) => f.offset - tag.length)).toEqual(plain.frames.map((f) => f.offset));
    expect(readLameGapless(tagged)).toEqual(readLameGapless(cbr));
  });

  it('resyncs over garbage, including a fake header that does not chain', () => {
    const plain = scanMp3(cbr);
    const cut = plain.frames[10]!.offset;
    const fake = new Uint8Array([0xff, 0xfb, 0x54, 0xc4, 1, 2, 3]); // valid header, but no frame follows it
    const garbage = new Uint8Array([0xff, 0x00, 0xff, 0xfb, 0x13, ...fake, 0xff, 0xff, 0xfb]);
    const dirty = Buffer.concat([
      garbage,
      cbr.subarray(0, cut),
      garbage,
      cbr.subarray(cut),
      garbage.subarray(0, 3),
    ]);
    const scan = scanMp3(dirty);
    expect(scan.frames).toHaveLength(plain.frames.length);
    expect(scan.playableSamples).toBe(plain.playableSamples);
    expect(scan.frames[10]!.offset).toBe(garbage.length + cut + garbage.length);
  });

  it('returns an empty scan for non-MP3 data and drops a truncated last frame', () => {
    expect(scanMp3(new Uint8Array(1000).fill(7))).toMatchObject({ frames: [], sampleRate: 0, durationMs: 0 });
    expect(readLameGapless(new Uint8Array([0xff, 0xfb]))).toBeNull();
    const truncated = scanMp3(cbr.subarray(0, cbr.length - 5));
    expect(truncated.frames).toHaveLength(scanMp3(cbr).frames.length - 1);
  });

  it('has no LAME tag once the Info frame is stripped', () => {
    const stripped = stripInfoFrame(Buffer.concat([id3Tag(), cbr]));
    expect(readLameGapless(stripped)).toBeNull();
    const scan = scanMp3(stripped);
    expect(scan).toMatchObject({ hasLameTag: false, encoderDelay: 0, encoderPadding: 0 });
    expect(scan.frames[0]!.offset).toBe(0);
    expect(scan.playableSamples).toBe(scan.totalSamples);
  });

  it('MP3_DECODER_DELAY is what a real decoder adds: untagged output lags its source by encoder delay + it', () => {
    // ffmpeg trims nothing without the LAME tag, so the decoded stream is the source shifted by the
    // encoder's delay plus the decoder's own; the best-matching shift is measured, not assumed.
    const source = sinePcm(2, RATE);
    const src = new Int16Array(source.buffer, source.byteOffset, source.length / 2);
    const decoded = decodeMp3(stripInfoFrame(cbr));
    const window = 24_000;
    let best = { lag: -1, score: -Infinity };
    for (let lag = 0; lag < 3 * SPF; lag++) {
      let score = 0;
      for (let i = 0; i < window; i++) score += (src[i + 4_800] ?? 0) * (decoded[i + 4_800 + lag] ?? 0);
      if (score > best.score) best = { lag, score };
    }
    expect(best.lag).toBe(scanMp3(cbr).encoderDelay + MP3_DECODER_DELAY);
  });
});

describe('sliceFromTime', () => {
  for (const [name, bytes] of [
    ['CBR', cbr],
    ['VBR', vbr],
  ] as const) {
    it(`cuts ${name} on a frame boundary at or just after the requested time`, () => {
      const scan = scanMp3(bytes);
      const frameSec = SPF / scan.sampleRate;
      const offsets = new Set(scan.frames.map((f) => f.offset));
      for (const sec of [0.001, 0.3, 0.51, 1, 1.234, 1.9]) {
        const slice = sliceFromTime(bytes, sec, scan);
        expect(slice.timeSec).toBeGreaterThanOrEqual(sec);
        expect(slice.timeSec).toBeLessThan(sec + frameSec);
        expect(offsets.has(bytes.length - slice.bytes.length)).toBe(true);
        const rest = scanMp3(slice.bytes);
        expect(rest.infoFrame).toBeUndefined();
        expect(rest.frames).toHaveLength(scan.frames.length - slice.frameIndex);
        expectContiguous(rest, slice.bytes, 0);
        // A decoder fed the cut outputs every remaining frame (nothing to trim without the Info frame).
        expect(decodeMp3(slice.bytes).length).toBe(
          scan.totalSamples - scan.frames[slice.frameIndex]!.startSample,
        );
      }
    });
  }

  it("returns a frame's own time when asked for it exactly", () => {
    const scan = scanMp3(cbr);
    const t = framePlayableStart(scan, 20) / RATE;
    expect(sliceFromTime(cbr, t, scan)).toMatchObject({ frameIndex: 20, timeSec: t });
  });

  it('returns the whole stream at 0 and nothing past the end', () => {
    expect(sliceFromTime(cbr, 0)).toMatchObject({ bytes: cbr, timeSec: 0 });
    const past = sliceFromTime(cbr, 60);
    expect(past.bytes.length).toBe(0);
    expect(past.frameIndex).toBe(scanMp3(cbr).frames.length);
  });
});

describe('stripInfoFrame and concatenation', () => {
  it('joins chunks into one stream whose frames all parse and decode', () => {
    const chunks = [0.7, 1.3, 0.4].map((s, i) =>
      encodeMp3(sineWav(s, 24_000, 1, 300 + 100 * i), ['-b:a', '64k']),
    );
    const joined = Buffer.concat(chunks.map((c) => stripInfoFrame(c)));
    const scan = scanMp3(joined);
    const expectedFrames = chunks.reduce((n, c) => n + scanMp3(c).frames.length, 0);
    expect(scan.frames).toHaveLength(expectedFrames);
    expect(scan.infoFrame).toBeUndefined();
    expectContiguous(scan, joined, 0);
    expect(decodeMp3(joined).length).toBe(expectedFrames * SPF);
  });
});

describe('silence frames', () => {
  for (const params of [
    { sampleRate: 48_000, channels: 1, bitrateKbps: 64 },
    { sampleRate: 44_100, channels: 2, bitrateKbps: 128 },
    { sampleRate: 24_000, channels: 1, bitrateKbps: 32 },
  ]) {
    it(`parse and decode to digital silence at ${params.sampleRate} Hz × ${params.channels}`, () => {
      const frame = makeSilenceFrame(params);
      expect(parseFrameHeader(frame, 0)).toMatchObject({ ...params, frameLength: frame.length });
      const bytes = createSilenceFrames(params, 25);
      const scan = scanMp3(bytes);
      expect(scan.frames).toHaveLength(25);
      const decoded = decodeMp3(bytes);
      expect(decoded.length).toBe(25 * parseFrameHeader(frame, 0)!.samplesPerFrame);
      expect(decoded.every((s) => s === 0)).toBe(true);
    });
  }

  it('pads a live stream between chunks: the whole stream parses and decodes', () => {
    const chunk = stripInfoFrame(cbr);
    const silence = createSilenceFrames(scanMp3(cbr), 10);
    const live = Buffer.concat([chunk, silence, chunk]);
    const scan = scanMp3(live);
    expect(scan.frames).toHaveLength(2 * scanMp3(chunk).frames.length + 10);
    expectContiguous(scan, live, 0);
    expect(decodeMp3(live).length).toBe(scan.frames.length * SPF);
  });

  it('refuses parameters MPEG audio cannot carry', () => {
    expect(() => makeSilenceFrame({ sampleRate: 96_000, channels: 1, bitrateKbps: 64 })).toThrow(RangeError);
    expect(() => makeSilenceFrame({ sampleRate: 48_000, channels: 1, bitrateKbps: 8 })).toThrow(RangeError);
    expect(() => makeSilenceFrame({ sampleRate: 48_000, channels: 3, bitrateKbps: 64 })).toThrow(RangeError);
  });
});
