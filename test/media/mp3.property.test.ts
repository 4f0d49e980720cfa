import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  framePlayableStart,
  readLameGapless,
  scanMp3,
  sliceFromTime,
  stripInfoFrame,
} from '../../src/media/mp3';
import { encodeMp3, sineWav } from './fixtures';

const cbr = encodeMp3(sineWav(1.5), ['-b:a', '64k']);
const vbr = encodeMp3(sineWav(1.5, 24_000, 1, 250), ['-q:a', '2']);

/** Random bytes with pieces of a real stream, frame headers, Xing/LAME markers and ID3 headers mixed in. */
const noise = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.tuple(fc.nat(cbr.length), fc.nat(800)).map(([at, n]) => cbr.subarray(at, at + n)),
    fc
      .constantFrom(
        [0xff, 0xfb, 0x54, 0xc4],
        [0xff, 0xf3, 0x44, 0x40],
        [0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 1, 0],
        [...'Info'].map((c) => c.charCodeAt(0)),
        [...'LAME'].map((c) => c.charCodeAt(0)),
      )
      .map((b) => new Uint8Array(b)),
  ),
  { maxLength: 30 },
);

describe('MP3 parser properties', () => {
  it('never throws on random bytes, and every frame it reports lies inside the input', () => {
    fc.assert(
      fc.property(noise, fc.double({ min: -1, max: 10, noNaN: true }), (parts, sec) => {
        const bytes = Buffer.concat(parts);
        const scan = scanMp3(bytes);
        for (const f of scan.frames) expect(f.offset + f.length).toBeLessThanOrEqual(bytes.length);
        readLameGapless(bytes);
        stripInfoFrame(bytes);
        sliceFromTime(bytes, sec, scan);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on real streams with random bytes spliced in, and keeps most frames', () => {
    const clean = scanMp3(cbr).frames.length;
    const audioStart = scanMp3(cbr).infoFrame!.offset; // splices land after ffmpeg's ID3 tag
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: audioStart, max: cbr.length }),
            fc.uint8Array({ minLength: 1, maxLength: 64 }),
          ),
          { maxLength: 4 },
        ),
        (splices) => {
          let bytes: Uint8Array = cbr;
          for (const [at, junk] of splices) {
            const p = Math.min(at, bytes.length);
            bytes = Buffer.concat([bytes.subarray(0, p), junk, bytes.subarray(p)]);
          }
          // Each splice can spoil at most the frame it lands in (and the one it fakes past).
          expect(scanMp3(bytes).frames.length).toBeGreaterThanOrEqual(clean - 2 * splices.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  for (const [name, bytes] of [
    ['CBR', cbr],
    ['VBR', vbr],
  ] as const) {
    it(`cuts ${name} at random times on frame boundaries, at most one frame late`, () => {
      const scan = scanMp3(bytes);
      const starts = new Set(scan.frames.map((f) => f.offset));
      const frameSec = 1152 / scan.sampleRate;
      const lastStart = framePlayableStart(scan, scan.frames.length - 1) / scan.sampleRate;
      fc.assert(
        fc.property(fc.double({ min: 1e-6, max: lastStart, noNaN: true }), (sec) => {
          const slice = sliceFromTime(bytes, sec, scan);
          expect(starts.has(bytes.length - slice.bytes.length)).toBe(true);
          expect(slice.timeSec).toBeGreaterThanOrEqual(sec);
          expect(slice.timeSec).toBeLessThan(sec + frameSec);
          expect(slice.timeSec).toBe(framePlayableStart(scan, slice.frameIndex) / scan.sampleRate);
          // The frame before the cut starts before the requested time: the cut is the first eligible frame.
          if (slice.frameIndex > 0) {
            expect(framePlayableStart(scan, slice.frameIndex - 1) / scan.sampleRate).toBeLessThan(sec);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
