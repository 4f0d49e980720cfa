import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/manual-clock';
import { scanOggOpus } from '../../src/media';
import { InvalidChunkAudioError, OggOpusJoiner, readOpusChunk, RequestFeed } from '../../src/bot/voice';
import { silentLogger } from '../../src/log';
import type { AudioChunk } from '../../src/playback';
import { settle } from './support/time';
import { demuxTags, oggOpusOf, packetCount } from './support/opus';

const range = (tag: number, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${tag}:${from + i}`);

describe('OggOpusJoiner (one continuous stream per request)', () => {
  it("a naive concatenation loses every chunk after the first in prism-media's OggDemuxer", async () => {
    // This is why the sink re-pages: the demuxer locks onto the first serial.
    const naive = Buffer.concat([oggOpusOf(100, 1), oggOpusOf(100, 2)]);
    const tags = await demuxTags(naive);
    expect(tags).toEqual(range(1, 0, packetCount(100)));
  });

  it('joined chunks demux to every packet of every chunk, in order, with no header packets between', async () => {
    const joiner = new OggOpusJoiner(42);
    const parts = [oggOpusOf(1000, 1), oggOpusOf(420, 2), oggOpusOf(2500, 3)].map(
      (c) => joiner.append(c).bytes,
    );
    const tags = await demuxTags(Buffer.concat(parts));
    expect(tags).toEqual([
      ...range(1, 0, packetCount(1000)),
      ...range(2, 0, packetCount(420)),
      ...range(3, 0, packetCount(2500)),
    ]);
  });

  it('writes a valid single logical stream: one serial, running sequence and granule, CRCs that verify', () => {
    const joiner = new OggOpusJoiner(7);
    const bytes = Buffer.concat([
      joiner.append(oggOpusOf(1000, 1)).bytes,
      joiner.append(oggOpusOf(1000, 2)).bytes,
    ]);
    const info = scanOggOpus(bytes); // verifies CRCs by default
    expect(info?.serial).toBe(7);
    expect(info?.packetCount).toBe(2 * packetCount(1000));
    expect(info?.lastGranule).toBe(2 * packetCount(1000) * 960);
    expect(info?.head.preSkip).toBe(312);
  });

  it('late start drops the packets before the offset (packet boundary at or before it)', async () => {
    const joiner = new OggOpusJoiner();
    const first = joiner.append(oggOpusOf(2000, 5), { skipMs: 500 });
    // 500 ms playable + 312 pre-skip samples = 24312 samples: 25 whole packets end before it.
    expect(first.packets).toBe(packetCount(2000) - 25);
    const tags = await demuxTags(Buffer.concat([first.bytes, joiner.append(oggOpusOf(100, 6)).bytes]));
    expect(tags[0]).toBe('5:25');
    expect(tags.at(-1)).toBe(`6:${packetCount(100) - 1}`);
  });

  it('pages() yields, one page at a time, exactly what append() writes at once', () => {
    const chunks = [oggOpusOf(2500, 1), oggOpusOf(300, 2)];
    const whole = new OggOpusJoiner(9);
    const expected = Buffer.concat(
      chunks.map((c, i) => whole.append(c, { skipMs: i === 0 ? 120 : 0 }).bytes),
    );
    const lazy = new OggOpusJoiner(9);
    const pages: Buffer[] = [];
    chunks.forEach((c, i) => pages.push(...lazy.pages(c, { skipMs: i === 0 ? 120 : 0 })));
    // Headers, then at most 50 packets (one second) per page.
    expect(pages.length).toBe(2 + 3 + 1);
    expect(Buffer.concat(pages).equals(expected)).toBe(true);
  });

  it('rejects bytes that are not Ogg Opus', () => {
    expect(() => readOpusChunk(Buffer.from('OggS-x-1000'))).toThrow(InvalidChunkAudioError);
  });
});

describe('RequestFeed (pages as the player reads)', () => {
  // 2500 ms of playable audio is 126 packets (2520 ms with pre-skip and padding); with the station
  // counting those 2520 ms per chunk and no player lead, the feed keeps every packet.
  const chunkOf = (seq: number): AudioChunk =>
    ({ id: `k${seq}`, sequenceNumber: seq, durationMs: packetCount(2500) * 20 }) as AudioChunk;
  const clock = new ManualClock();

  it('a long request queued whole is paged as it is read, not all at once, and reads out complete and in order', async () => {
    const count = 40;
    const feed = new RequestFeed({
      requestId: 'r',
      startIndex: 0,
      startsAt: clock.now(),
      clock,
      leadMs: 0,
      load: (chunk) => Promise.resolve(oggOpusOf(2500, chunk.sequenceNumber + 1)),
      log: silentLogger,
    });
    feed.pump(Array.from({ length: count }, (_, i) => chunkOf(i)));
    feed.finish();
    feed.stream.read(0); // a consumer that fills its buffer and then reads nothing
    for (let i = 0; i < 20; i++) await settle();
    // Paging stopped at the stream's buffer, far short of the request.
    expect(feed.written.length).toBeGreaterThan(0);
    expect(feed.written.length).toBeLessThan(count / 2);
    const parts: Buffer[] = [];
    for await (const part of feed.stream) parts.push(part as Buffer);
    expect(feed.written).toEqual(Array.from({ length: count }, (_, i) => i));
    const tags = await demuxTags(Buffer.concat(parts));
    expect(tags).toEqual(Array.from({ length: count }, (_, i) => range(i + 1, 0, packetCount(2500))).flat());
  });
});
