/**
 * Ogg page and packet parsing, and the timing of an Ogg Opus stream: pre-skip
 * from OpusHead, the last granule position, and packet/frame counts.
 */

/** One Ogg page (RFC 3533). */
export interface OggPage {
  offset: number;
  /** Whole page in bytes, header included. */
  length: number;
  /** This page starts with the continuation of a packet from the previous page. */
  continued: boolean;
  bos: boolean;
  eos: boolean;
  /** -1 when no packet ends on this page. */
  granulePosition: number;
  serial: number;
  sequence: number;
  /** Lacing values; a value below 255 ends a packet. */
  segments: number[];
  bodyOffset: number;
  bodyLength: number;
}

/** One complete packet and the page it ended on. */
export interface OggPacket {
  serial: number;
  data: Buffer;
  /** Granule position of the page on which this packet ends. */
  granulePosition: number;
  /** This is the last packet completed on its page. */
  lastOnPage: boolean;
}

/** Fields of the OpusHead packet (RFC 7845 §5.1). */
export interface OpusHead {
  version: number;
  channels: number;
  /** Samples at 48 kHz to drop at the start of decoding. */
  preSkip: number;
  /** The encoder's input rate; informational, Opus always decodes at 48 kHz here. */
  inputSampleRate: number;
  outputGainQ8: number;
  mappingFamily: number;
}

/** Timing of an Ogg Opus stream, from {@link scanOggOpus}. */
export interface OggOpusInfo {
  serial: number;
  head: OpusHead;
  pageCount: number;
  /** Audio packets (OpusHead and OpusTags not counted). */
  packetCount: number;
  /** Opus frames inside those packets (a packet holds 1 to 48). */
  frameCount: number;
  /** Sum of the packets' durations at 48 kHz (before pre-skip and end trimming). */
  encodedSamples: number;
  lastGranule: number;
  /** `lastGranule - preSkip`: what a player outputs, at 48 kHz. */
  playableSamples: number;
  durationMs: number;
}

const HEADER_SIZE = 27;
/**
 * Tables for Ogg's CRC, four bytes at a time ("slicing by 4"): `CRC_TABLES[k][b]`
 * is the CRC of byte `b` followed by `k` zero bytes. Every page of every stream
 * is checked once and every re-paged page written once, so this runs a lot.
 */
const CRC_TABLES = (() => {
  const t = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)] as const;
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[0][i] = r >>> 0;
  }
  for (let k = 1; k < 4; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[k - 1]![i]!;
      t[k]![i] = ((prev << 8) ^ t[0][prev >>> 24]!) >>> 0;
    }
  }
  return t;
})();

/** Continues `crc` over `bytes[from, to)`. */
function crcUpdate(crc: number, bytes: Uint8Array, from: number, to: number): number {
  const [t0, t1, t2, t3] = CRC_TABLES;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    crc ^= (bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!;
    crc = t3[crc >>> 24]! ^ t2[(crc >>> 16) & 0xff]! ^ t1[(crc >>> 8) & 0xff]! ^ t0[crc & 0xff]!;
  }
  for (; i < to; i++) crc = (crc << 8) ^ t0[((crc >>> 24) ^ bytes[i]!) & 0xff]!;
  return crc >>> 0;
}

const CRC_FIELD_ZEROS = new Uint8Array(4);

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial 0) of `page` with its CRC field zeroed. */
export function oggCrc(page: Uint8Array): number {
  if (page.length <= 22) return crcUpdate(0, page, 0, page.length);
  let crc = crcUpdate(0, page, 0, 22);
  crc = crcUpdate(crc, CRC_FIELD_ZEROS, 0, Math.min(4, page.length - 22));
  return crcUpdate(crc, page, 26, page.length);
}

function isCapture(buf: Buffer, pos: number): boolean {
  return buf[pos] === 0x4f && buf[pos + 1] === 0x67 && buf[pos + 2] === 0x67 && buf[pos + 3] === 0x53;
}

/** Parses the page at `pos`; null when it is not a whole, valid page. */
function parsePage(buf: Buffer, pos: number, verifyCrc: boolean): OggPage | null {
  if (pos + HEADER_SIZE > buf.length || !isCapture(buf, pos) || buf[pos + 4] !== 0) return null;
  const count = buf[pos + 26]!;
  const bodyOffset = pos + HEADER_SIZE + count;
  if (bodyOffset > buf.length) return null;
  const segments = [...buf.subarray(pos + HEADER_SIZE, bodyOffset)];
  const bodyLength = segments.reduce((a, b) => a + b, 0);
  const length = HEADER_SIZE + count + bodyLength;
  if (pos + length > buf.length) return null;
  if (verifyCrc && oggCrc(buf.subarray(pos, pos + length)) !== buf.readUInt32LE(pos + 22)) return null;
  const type = buf[pos + 5]!;
  return {
    offset: pos,
    length,
    continued: (type & 1) !== 0,
    bos: (type & 2) !== 0,
    eos: (type & 4) !== 0,
    granulePosition: Number(buf.readBigInt64LE(pos + 6)),
    serial: buf.readUInt32LE(pos + 14),
    sequence: buf.readUInt32LE(pos + 18),
    segments,
    bodyOffset,
    bodyLength,
  };
}

/**
 * Yields every valid page, resynchronising on the next "OggS" after garbage,
 * a truncated page or (with `verifyCrc`, the default) a CRC mismatch.
 */
export function* iterateOggPages(buf: Buffer, options: { verifyCrc?: boolean } = {}): Generator<OggPage> {
  const verifyCrc = options.verifyCrc ?? true;
  let pos = 0;
  while (pos + HEADER_SIZE <= buf.length) {
    const page = parsePage(buf, pos, verifyCrc);
    if (page) {
      yield page;
      pos += page.length;
      continue;
    }
    const next = buf.indexOf('OggS', pos + 1, 'latin1');
    if (next < 0) return;
    pos = next;
  }
}

/**
 * Yields complete packets, joining those that span pages. A packet whose
 * start was lost (a page missing before a continued page) is dropped.
 */
export function* iterateOggPackets(buf: Buffer, options: { verifyCrc?: boolean } = {}): Generator<OggPacket> {
  const partial = new Map<number, { parts: Buffer[]; nextSequence: number }>();
  for (const page of iterateOggPages(buf, options)) {
    const pending = partial.get(page.serial);
    partial.delete(page.serial);
    // Continuation is only valid right after the page that started the packet.
    let parts: Buffer[] | null =
      page.continued && pending?.nextSequence === page.sequence ? pending.parts : null;
    let skipping = page.continued && parts === null;
    let start = page.bodyOffset;
    const ends: number[] = page.segments.flatMap((lace, i) => (lace < 255 ? [i] : []));
    const lastEnd = ends[ends.length - 1];
    for (const [i, lace] of page.segments.entries()) {
      const piece = buf.subarray(start, start + lace);
      start += lace;
      if (!skipping) (parts ??= []).push(piece);
      if (lace === 255) continue;
      if (!skipping && parts) {
        yield {
          serial: page.serial,
          data: parts.length === 1 ? parts[0]! : Buffer.concat(parts),
          granulePosition: page.granulePosition,
          lastOnPage: i === lastEnd,
        };
      }
      parts = null;
      skipping = false;
    }
    if (parts && !skipping) partial.set(page.serial, { parts, nextSequence: page.sequence + 1 });
  }
}

/** Parses an OpusHead packet; null when `packet` is not one. */
export function parseOpusHead(packet: Buffer): OpusHead | null {
  if (packet.length < 19 || packet.toString('latin1', 0, 8) !== 'OpusHead') return null;
  return {
    version: packet[8]!,
    channels: packet[9]!,
    preSkip: packet.readUInt16LE(10),
    inputSampleRate: packet.readUInt32LE(12),
    outputGainQ8: packet.readInt16LE(16),
    mappingFamily: packet[18]!,
  };
}

/** Samples at 48 kHz of one Opus frame for each TOC configuration (RFC 6716 §3.1). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK 10/20/40/60 ms
  if (config < 16) return [480, 960][config % 2]!; // hybrid 10/20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT 2.5/5/10/20 ms
}

/** Frames and samples (48 kHz) of one Opus packet, from its TOC byte; zeros for an empty packet. */
export function opusPacketInfo(packet: Uint8Array): { frames: number; samples: number } {
  const toc = packet[0];
  if (toc === undefined) return { frames: 0, samples: 0 };
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : (packet[1] ?? 0) & 0x3f;
  return { frames, samples: frames * frameSamples(toc >> 3) };
}

/**
 * Timing of the first Opus logical stream in `buf`, or null when there is no
 * OpusHead. Never throws on malformed input.
 */
export function scanOggOpus(buf: Buffer, options: { verifyCrc?: boolean } = {}): OggOpusInfo | null {
  let serial: number | null = null;
  let head: OpusHead | null = null;
  let headerPackets = 0;
  let packetCount = 0;
  let frameCount = 0;
  let encodedSamples = 0;
  let lastGranule = 0;
  for (const packet of iterateOggPackets(buf, options)) {
    if (serial === null) {
      head = parseOpusHead(packet.data);
      if (!head) continue;
      serial = packet.serial;
      headerPackets = 1;
      continue;
    }
    if (packet.serial !== serial) continue;
    if (headerPackets === 1) {
      headerPackets = 2; // OpusTags
      continue;
    }
    const info = opusPacketInfo(packet.data);
    packetCount++;
    frameCount += info.frames;
    encodedSamples += info.samples;
    if (packet.granulePosition >= 0) lastGranule = packet.granulePosition;
  }
  if (serial === null || !head) return null;
  const pageCount = [...iterateOggPages(buf, options)].filter((p) => p.serial === serial).length;
  const playableSamples = Math.max(0, lastGranule - head.preSkip);
  return {
    serial,
    head,
    pageCount,
    packetCount,
    frameCount,
    encodedSamples,
    lastGranule,
    playableSamples,
    durationMs: playableSamples / 48,
  };
}
