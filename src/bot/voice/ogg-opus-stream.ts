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
  /**
   * Late start: drop packets so the first one kept starts as near as possible
   * to this many playable ms into the chunk (the pre-skip counts as before 0).
   */
  skipMs?: number;
}

/** What {@link OggOpusJoiner.append} (or a finished {@link OggOpusJoiner.pages}) wrote. */
export interface AppendCounts {
  packets: number;
  /** Samples at 48 kHz that those packets decode to (pre-skip included). */
  samples: number;
}

/** What {@link OggOpusJoiner.append} wrote. */
export interface AppendResult extends AppendCounts {
  /** Ogg pages to write to the stream (headers first on the first call). */
  bytes: Buffer;
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

  /** Pages for the next chunk of the request, given its Ogg Opus file, all at once. */
  append(ogg: Buffer, options: AppendOptions = {}): AppendResult {
    const pages: Buffer[] = [];
    const it = this.pages(ogg, options);
    for (let r = it.next(); ; r = it.next()) {
      if (r.done) return { bytes: Buffer.concat(pages), ...r.value };
      pages.push(r.value);
    }
  }

  /**
   * The same pages as {@link append}, one at a time, parsed as they are asked
   * for: a caller can spread a chunk's work over several turns of the event
   * loop. Pages of one chunk must be taken before the next chunk's. Throws
   * {@link InvalidChunkAudioError} (before yielding anything of the chunk's
   * audio) when the bytes hold no OpusHead.
   */
  *pages(ogg: Buffer, options: AppendOptions = {}): Generator<Buffer, AppendCounts, void> {
    let serial: number | null = null;
    let sawTags = false;
    // Late start: samples to drop from the chunk's start (pre-skip added once it is known).
    let dropUntil = 0;
    let dropped = 0;
    let group: Buffer[] = [];
    let lacing = 0;
    let groupSamples = 0;
    let packets = 0;
    let samples = 0;
    for (const packet of iterateOggPackets(ogg)) {
      if (serial === null) {
        const head = parseOpusHead(packet.data);
        if (!head) continue;
        serial = packet.serial;
        if (options.skipMs && options.skipMs > 0) dropUntil = Math.round(options.skipMs * 48) + head.preSkip;
        if (!this.#started) {
          this.#started = true;
          yield this.#page([packet.data], 0, 0x02);
          yield this.#page([opusTags()], 0, 0);
        }
        continue;
      }
      if (packet.serial !== serial) continue;
      if (!sawTags) {
        sawTags = true; // RFC 7845: the packet after OpusHead is OpusTags
        continue;
      }
      const p = packet.data;
      const n = opusPacketInfo(p).samples;
      if (dropUntil > 0) {
        // Keep the packet whose start is nearest the target (not the first to end after it).
        if (dropped + n / 2 <= dropUntil) {
          dropped += n;
          continue;
        }
        dropUntil = 0;
      }
      const need = Math.floor(p.length / 255) + 1;
      if (need > 255) throw new InvalidChunkAudioError(`packet of ${p.length} bytes`);
      if (group.length === MAX_PACKETS_PER_PAGE || lacing + need > 255) {
        this.#granule += groupSamples;
        yield this.#page(group, this.#granule, 0);
        group = [];
        lacing = 0;
        groupSamples = 0;
      }
      group.push(p);
      lacing += need;
      groupSamples += n;
      packets++;
      samples += n;
    }
    if (serial === null) throw new InvalidChunkAudioError('no OpusHead');
    if (group.length > 0) {
      this.#granule += groupSamples;
      yield this.#page(group, this.#granule, 0);
    }
    return { packets, samples };
  }

  /** One page holding `packets`, written into a single buffer. */
  #page(packets: Buffer[], granule: number, headerType: number): Buffer {
    let segments = 0;
    let body = 0;
    for (const p of packets) {
      segments += Math.floor(p.length / 255) + 1;
      body += p.length;
    }
    const page = Buffer.alloc(27 + segments + body);
    page.write('OggS', 0, 'latin1');
    page[4] = 0; // version
    page[5] = headerType;
    page.writeBigInt64LE(BigInt(granule), 6);
    page.writeUInt32LE(this.serial, 14);
    page.writeUInt32LE(this.#sequence++, 18);
    page[26] = segments;
    let at = 27;
    for (const p of packets) {
      for (let n = p.length; n >= 255; n -= 255) page[at++] = 255;
      page[at++] = p.length % 255;
    }
    for (const p of packets) at += p.copy(page, at);
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
