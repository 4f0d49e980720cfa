import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  iterateOggPackets,
  iterateOggPages,
  oggCrc,
  opusPacketInfo,
  parseOpusHead,
  scanOggOpus,
} from '../../src/media/ogg';
import { runFfmpeg, sineWav } from './fixtures';

/** Ogg Opus from the real ffmpeg (a pipe output, as the encoder does). */
function encodeOpus(seconds: number, inputRate = 24_000, extra: string[] = []): Buffer {
  const args = ['-f', 'wav', '-i', 'pipe:0', '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '48k'];
  return runFfmpeg([...args, ...extra, '-f', 'ogg', 'pipe:1'], sineWav(seconds, inputRate));
}

/** One hand-built page carrying `lacing` over `body`, with a correct CRC. */
function page(opts: {
  serial: number;
  sequence: number;
  granule: number;
  type: number;
  lacing: number[];
}): Buffer {
  const bodyLength = opts.lacing.reduce((a, b) => a + b, 0);
  const buf = Buffer.alloc(27 + opts.lacing.length + bodyLength);
  buf.write('OggS', 0, 'latin1');
  buf[5] = opts.type;
  buf.writeBigInt64LE(BigInt(opts.granule), 6);
  buf.writeUInt32LE(opts.serial, 14);
  buf.writeUInt32LE(opts.sequence, 18);
  buf[26] = opts.lacing.length;
  buf.set(opts.lacing, 27);
  for (let i = 27 + opts.lacing.length, v = opts.sequence; i < buf.length; i++) buf[i] = v++ & 0xff;
  buf.writeUInt32LE(oggCrc(buf), 22);
  return buf;
}

const opus = encodeOpus(1.5);

describe('Ogg pages', () => {
  it('parses every page of an ffmpeg stream with valid CRCs and rising granules', () => {
    const pages = [...iterateOggPages(opus)];
    expect(pages.length).toBeGreaterThan(2);
    expect(pages[0]!.bos).toBe(true);
    expect(pages.at(-1)!.eos).toBe(true);
    expect(pages.reduce((n, p) => n + p.length, 0)).toBe(opus.length);
    expect(new Set(pages.map((p) => p.serial)).size).toBe(1);
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i));
    const granules = pages.map((p) => p.granulePosition);
    expect([...granules].sort((a, b) => a - b)).toEqual(granules);
    for (const p of pages)
      expect(oggCrc(opus.subarray(p.offset, p.offset + p.length))).toBe(opus.readUInt32LE(p.offset + 22));
  });

  it('reads OpusHead and the exact playable length (last granule − pre-skip)', () => {
    const info = scanOggOpus(opus)!;
    expect(info.head).toMatchObject({ version: 1, channels: 1, mappingFamily: 0 });
    expect(info.head.preSkip).toBeGreaterThan(0);
    expect(info.playableSamples).toBe(1.5 * 48_000);
    expect(info.durationMs).toBe(1500);
    expect(info.lastGranule - info.head.preSkip).toBe(info.playableSamples);
    // 20 ms packets of one frame each, covering pre-skip and the padded end.
    expect(info.frameCount).toBe(info.packetCount);
    expect(info.encodedSamples).toBe(info.packetCount * 960);
    expect(info.encodedSamples).toBeGreaterThanOrEqual(info.lastGranule);
    expect(info.encodedSamples - info.lastGranule).toBeLessThan(960);
  });

  it('counts 60 ms packets and other frame sizes from the TOC byte', () => {
    const info = scanOggOpus(encodeOpus(1, 24_000, ['-frame_duration', '60']))!;
    expect(info.encodedSamples).toBe(info.packetCount * 2880);
    expect(info.playableSamples).toBe(48_000);
    expect(opusPacketInfo(new Uint8Array([(31 << 3) | 0]))).toEqual({ frames: 1, samples: 960 }); // CELT 20 ms
    expect(opusPacketInfo(new Uint8Array([(16 << 3) | 1]))).toEqual({ frames: 2, samples: 240 }); // CELT 2.5 ms ×2
    expect(opusPacketInfo(new Uint8Array([(1 << 3) | 3, 3]))).toEqual({ frames: 3, samples: 2880 }); // SILK 20 ms ×3
    expect(opusPacketInfo(new Uint8Array([(13 << 3) | 2]))).toEqual({ frames: 2, samples: 1920 }); // hybrid 20 ms ×2
    expect(opusPacketInfo(new Uint8Array([]))).toEqual({ frames: 0, samples: 0 });
  });

  it('skips a page whose CRC does not match, unless told not to verify', () => {
    const pages = [...iterateOggPages(opus)];
    const victim = pages[2]!;
    const damaged = Buffer.from(opus);
    damaged[victim.offset + victim.length - 1]! ^= 0x55;
    expect([...iterateOggPages(damaged)].map((p) => p.offset)).not.toContain(victim.offset);
    expect([...iterateOggPages(damaged)]).toHaveLength(pages.length - 1);
    expect([...iterateOggPages(damaged, { verifyCrc: false })]).toHaveLength(pages.length);
  });

  it('resyncs on the next capture pattern after garbage', () => {
    const pages = [...iterateOggPages(opus)];
    const cut = pages[3]!.offset;
    const junk = Buffer.from('OggS\0garbage OggS!!', 'latin1');
    const dirty = Buffer.concat([junk, opus.subarray(0, cut), junk, opus.subarray(cut), junk]);
    expect([...iterateOggPages(dirty)]).toHaveLength(pages.length);
    expect(scanOggOpus(dirty)!.playableSamples).toBe(scanOggOpus(opus)!.playableSamples);
  });

  it('joins a packet that spans pages and drops one whose start was lost', () => {
    const first = page({ serial: 7, sequence: 0, granule: -1, type: 2, lacing: [255, 255] });
    const second = page({ serial: 7, sequence: 1, granule: 960, type: 1, lacing: [90, 10] });
    const packets = [...iterateOggPackets(Buffer.concat([first, second]))];
    expect(packets.map((p) => p.data.length)).toEqual([600, 10]);
    expect(packets[0]!.data.subarray(0, 510)).toEqual(first.subarray(29));
    expect(packets[0]!.data.subarray(510)).toEqual(second.subarray(29, 119));
    expect(packets.map((p) => [p.granulePosition, p.lastOnPage])).toEqual([
      [960, false],
      [960, true],
    ]);
    // Without the first page the continuation is orphaned: only the packet that starts on page 2 survives.
    expect([...iterateOggPackets(second)].map((p) => p.data.length)).toEqual([10]);
  });

  it('returns null without an OpusHead, and parses OpusHead fields', () => {
    expect(
      scanOggOpus(Buffer.concat([page({ serial: 1, sequence: 0, granule: 0, type: 2, lacing: [30] })])),
    ).toBeNull();
    const head = Buffer.from('OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00', 'latin1');
    expect(parseOpusHead(head)).toEqual({
      version: 1,
      channels: 2,
      preSkip: 312,
      inputSampleRate: 48_000,
      outputGainQ8: 0,
      mappingFamily: 0,
    });
    expect(parseOpusHead(head.subarray(0, 18))).toBeNull();
  });

  it('never throws on random bytes or on truncated and spliced streams', () => {
    fc.assert(
      // Random bytes with capture patterns and OpusHead sprinkled in, so page parsing gets exercised.
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.constant(new Uint8Array(Buffer.from('OggS\0', 'latin1'))),
            fc.constant(new Uint8Array(Buffer.from('OpusHead\x01\x01', 'latin1'))),
          ),
          { maxLength: 20 },
        ),
        (parts) => {
          const buf = Buffer.concat(parts);
          for (const packet of iterateOggPackets(buf, { verifyCrc: false })) {
            expect(packet.data.length).toBeLessThanOrEqual(buf.length);
          }
          scanOggOpus(buf, { verifyCrc: false });
        },
      ),
      { numRuns: 300 },
    );
    const total = [...iterateOggPages(opus)].length;
    fc.assert(
      fc.property(
        fc.nat(opus.length),
        fc.nat(opus.length),
        fc.uint8Array({ maxLength: 40 }),
        (end, at, junk) => {
          const p = Math.min(at, end);
          const buf = Buffer.concat([opus.subarray(0, p), junk, opus.subarray(p, end)]);
          const pages = [...iterateOggPages(buf)];
          expect(pages.length).toBeLessThanOrEqual(total);
          const info = scanOggOpus(buf);
          if (info) expect(info.playableSamples).toBeLessThanOrEqual(1.5 * 48_000);
        },
      ),
      { numRuns: 200 },
    );
  });
});
