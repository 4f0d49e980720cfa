import { randomInt } from 'node:crypto';
import { iterateOggPackets, oggCrc, opusPacketInfo, parseOpusHead } from '../../media';

/**
 * Joins the chunks of one request into ONE continuous Ogg Opus logical
 * stream, so the Discord player never sees a stream end between chunks.
 *
 * Why not simply concatenate the chunk files: each is its own logical stream
 * (new serial, new OpusHead/OpusTags). prism-media's OggDemuxer, which
 * `@discordjs/voice` uses for `StreamType.OggOpus`, locks onto the first
 * serial it sees and silently drops every page of any other serial — so a
 * naive concatenation plays chunk 0 and then silence. (Were serials equal, it
 * would push the second OpusHead/OpusTags as audio packets.) Instead, each
 * chunk's audio packets are re-paged here under one serial with running page
 * sequence numbers and granule positions, behind a single OpusHead/OpusTags:
 * a valid Ogg stream that the demuxer reads straight through.
 */

/** A chunk's bytes are not an Ogg Opus stream. */
export class InvalidChunkAudioError extends Error {
  constructor(readonly detail: string) {
    super(`chunk audio is not Ogg Opus: ${detail}`);
    this.name = 'InvalidChunkAudioError';
  }
}

/** The parsed pieces of one chunk. */
export interface OpusChunkPackets {
  head: Buffer;
  preSkip: number;
  packets: Buffer[];
}

/** Splits one Ogg Opus file into its OpusHead and audio packets (OpusTags dropped). */
export function readOpusChunk(ogg: Buffer): OpusChunkPackets {
  let serial: number | null = null;
  let head: Buffer | null = null;
  let preSkip = 0;
  let sawTags = false;
  const packets: Buffer[] = [];
  for (const packet of iterateOggPackets(ogg)) {
    if (serial === null) {
      const parsed = parseOpusHead(packet.data);
      if (!parsed) continue;
      serial = packet.serial;
      head = packet.data;
      preSkip = parsed.preSkip;
      continue;
    }
    if (packet.serial !== serial) continue;
    if (!sawTags) {
      sawTags = true; // RFC 7845: the packet after OpusHead is OpusTags
      continue;
    }
    packets.push(packet.data);
  }
  if (!head) throw new InvalidChunkAudioError('no OpusHead');
  return { head, preSkip, packets };
}

const MAX_PACKETS_PER_PAGE = 50; // one second of 20 ms packets
const VENDOR = Buffer.from('bardcast');

/** Options for {@link OggOpusJoiner.append}. */
export interface AppendOptions {
  /** Late start: drop the packets that end before this many playable ms into the chunk. */
  skipMs?: number;
}

/** What {@link OggOpusJoiner.append} wrote. */
export interface AppendResult {
  /** Ogg pages to write to the stream (headers first on the first call). */
  bytes: Buffer;
  packets: number;
  /** Samples at 48 kHz that those packets decode to (pre-skip included). */
  samples: number;
}

/** Re-pages chunks into one logical stream; one instance per request stream. */
export class OggOpusJoiner {
  readonly serial: number;
  #sequence = 0;
  #granule = 0;
  #started = false;

  constructor(serial: number = randomInt(1, 2 ** 31)) {
    this.serial = serial >>> 0;
  }

  /** Pages for the next chunk of the request, given its Ogg Opus file. */
  append(ogg: Buffer, options: AppendOptions = {}): AppendResult {
    const chunk = readOpusChunk(ogg);
    const pages: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      pages.push(this.#page([chunk.head], 0, 0x02));
      pages.push(this.#page([opusTags()], 0, 0));
    }
    let packets = chunk.packets;
    if (options.skipMs && options.skipMs > 0) {
      const target = Math.round(options.skipMs * 48) + chunk.preSkip;
      let end = 0;
      let drop = 0;
      for (const p of packets) {
        const next = end + opusPacketInfo(p).samples;
        if (next > target) break;
        end = next;
        drop++;
      }
      packets = packets.slice(drop);
    }
    let samples = 0;
    for (let i = 0; i < packets.length;) {
      const group: Buffer[] = [];
      let lacing = 0;
      while (i < packets.length && group.length < MAX_PACKETS_PER_PAGE) {
        const p = packets[i] as Buffer;
        const need = Math.floor(p.length / 255) + 1;
        if (need > 255) throw new InvalidChunkAudioError(`packet of ${p.length} bytes`);
        if (lacing + need > 255) break;
        lacing += need;
        group.push(p);
        samples += opusPacketInfo(p).samples;
        i++;
      }
      this.#granule += group.reduce((sum, p) => sum + opusPacketInfo(p).samples, 0);
      pages.push(this.#page(group, this.#granule, 0));
    }
    return { bytes: Buffer.concat(pages), packets: packets.length, samples };
  }

  #page(packets: Buffer[], granule: number, headerType: number): Buffer {
    const lacing: number[] = [];
    for (const p of packets) {
      for (let n = p.length; ; n -= 255) {
        if (n >= 255) lacing.push(255);
        else {
          lacing.push(n);
          break;
        }
      }
    }
    const header = Buffer.alloc(27 + lacing.length);
    header.write('OggS', 0, 'latin1');
    header[4] = 0; // version
    header[5] = headerType;
    header.writeBigInt64LE(BigInt(granule), 6);
    header.writeUInt32LE(this.serial, 14);
    header.writeUInt32LE(this.#sequence++, 18);
    header[26] = lacing.length;
    Buffer.from(lacing).copy(header, 27);
    const page = Buffer.concat([header, ...packets]);
    page.writeUInt32LE(oggCrc(page), 22);
    return page;
  }
}

function opusTags(): Buffer {
  const out = Buffer.alloc(8 + 4 + VENDOR.length + 4);
  out.write('OpusTags', 0, 'latin1');
  out.writeUInt32LE(VENDOR.length, 8);
  VENDOR.copy(out, 12);
  out.writeUInt32LE(0, 12 + VENDOR.length);
  return out;
}
