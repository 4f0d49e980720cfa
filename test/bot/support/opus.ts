import prism from 'prism-media';
import { oggCrc } from '../../../src/media';
import type { EncodedAudio } from '../../../src/playback';

/**
 * Synthetic Ogg Opus for voice tests, shaped like ffmpeg's output: its own
 * random serial, OpusHead (pre-skip 312) and OpusTags pages, then 20 ms CELT
 * packets. Each packet is `[TOC 0xF8, tag, index lo, index hi]`, so a test
 * can tell which chunk and which packet the demuxer produced.
 */
export const PRE_SKIP = 312;
const TOC_CELT_FB_20MS_MONO = 0xf8;

function page(
  serial: number,
  sequence: number,
  granule: number,
  headerType: number,
  packets: Buffer[],
): Buffer {
  const lacing = packets.map((p) => p.length); // all packets here are < 255 bytes
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[5] = headerType;
  header.writeBigInt64LE(BigInt(granule), 6);
  header.writeUInt32LE(serial, 14);
  header.writeUInt32LE(sequence, 18);
  header[26] = lacing.length;
  Buffer.from(lacing).copy(header, 27);
  const out = Buffer.concat([header, ...packets]);
  out.writeUInt32LE(oggCrc(out), 22);
  return out;
}

function opusHead(): Buffer {
  const h = Buffer.alloc(19);
  h.write('OpusHead', 0, 'latin1');
  h[8] = 1;
  h[9] = 1; // mono
  h.writeUInt16LE(PRE_SKIP, 10);
  h.writeUInt32LE(48_000, 12);
  return h;
}

/** The packet the synthetic stream carries for chunk `tag`, packet `index`. */
export function packetOf(tag: number, index: number): Buffer {
  return Buffer.from([TOC_CELT_FB_20MS_MONO, tag & 0xff, index & 0xff, (index >> 8) & 0xff]);
}

/** Decodes a synthetic packet back to its tag and index (null for anything else). */
export function tagOf(packet: Buffer): { tag: number; index: number } | null {
  if (packet.length !== 4 || packet[0] !== TOC_CELT_FB_20MS_MONO) return null;
  return { tag: packet[1] as number, index: (packet[2] as number) | ((packet[3] as number) << 8) };
}

/** Packets a chunk of `durationMs` playable audio needs (pre-skip included). */
export function packetCount(durationMs: number): number {
  return Math.ceil((durationMs * 48 + PRE_SKIP) / 960);
}

/** An Ogg Opus file of `durationMs` playable audio whose packets carry `tag`. */
export function oggOpusOf(durationMs: number, tag: number, serial = 0x1000 + tag * 7919): Buffer {
  const n = packetCount(durationMs);
  const pages = [
    page(serial, 0, 0, 0x02, [opusHead()]),
    page(serial, 1, 0, 0, [Buffer.from('OpusTags\0\0\0\0\0\0\0\0')]),
  ];
  let seq = 2;
  for (let i = 0; i < n; i += 25) {
    const packets = Array.from({ length: Math.min(25, n - i) }, (_, k) => packetOf(tag, i + k));
    const last = i + packets.length >= n;
    const granule = last ? durationMs * 48 + PRE_SKIP : (i + packets.length) * 960;
    pages.push(page(serial, seq++, granule, last ? 0x04 : 0, packets));
  }
  return Buffer.concat(pages);
}

/** EncodedAudio for the writer whose Opus is {@link oggOpusOf}. */
export function encodedOf(durationMs: number, tag: number): EncodedAudio {
  const sampleCount = Math.round(durationMs * 48);
  return {
    opus: oggOpusOf(durationMs, tag),
    mp3: Buffer.from(`ID3-${tag}-${durationMs}`),
    durationMs,
    sampleCount,
    mp3FrameCount: Math.ceil(sampleCount / 1152),
  };
}

/** Runs bytes through prism-media's OggDemuxer — what `StreamType.OggOpus` uses — and returns the packets. */
export async function demux(bytes: Buffer): Promise<Buffer[]> {
  const demuxer = new prism.opus.OggDemuxer();
  const out: Buffer[] = [];
  demuxer.on('data', (p: Buffer) => out.push(p));
  const done = new Promise<void>((resolve, reject) => {
    demuxer.on('end', resolve);
    demuxer.on('error', reject);
  });
  demuxer.end(bytes);
  await done;
  return out;
}

/** `demux` then {@link tagOf} for each packet: `"tag:index"` strings. */
export async function demuxTags(bytes: Buffer): Promise<string[]> {
  return (await demux(bytes)).map((p) => {
    const t = tagOf(p);
    return t ? `${t.tag}:${t.index}` : `?${p.length}`;
  });
}
