import { PassThrough } from 'node:stream';
import { AudioPlayerStatus, StreamType, createAudioResource } from '@discordjs/voice';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiscordVoiceAdapter, OggOpusJoiner } from '../../src/bot/voice';
import { silentLogger } from '../../src/log';
import { opusPacketInfo, scanOggOpus } from '../../src/media';
import { FfmpegAudioEncoder, resolveFfmpeg } from '../../src/narration/encoder';
import { oggOpusOf, packetCount } from './support/opus';
import { chunkTimings, startTimingBench, type ChunkTiming, type TimingBench } from './support/real-player';

/** `ms` of a 440 Hz tone, 48 kHz mono s16le. */
function tone(ms: number): Buffer {
  const n = Math.round(ms * 48);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++)
    out.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48_000)), i * 2);
  return out;
}

describe('real encoder output through the real @discordjs/voice resource', () => {
  it('one AudioResource reads every packet of two ffmpeg-encoded chunks back to back', async () => {
    const encoder = new FfmpegAudioEncoder({ ffmpegPath: resolveFfmpeg().path });
    const chunks = await Promise.all(
      [700, 1300].map((ms) => encoder.encode({ data: tone(ms), format: 'pcm_s16le', sampleRate: 48_000 })),
    );
    const expected = chunks.reduce((sum, c) => sum + (scanOggOpus(c.opus)?.packetCount ?? 0), 0);
    expect(expected).toBeGreaterThan(90);

    const stream = new PassThrough();
    const resource = createAudioResource(stream, { inputType: StreamType.OggOpus });
    const joiner = new OggOpusJoiner();
    for (const c of chunks) stream.write(joiner.append(c.opus).bytes);
    stream.end();

    const packets: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      resource.playStream.on('error', reject);
      resource.playStream.on('end', resolve);
      resource.playStream.on('readable', () => {
        for (let p = resource.read(); p; p = resource.read()) packets.push(p);
      });
    });
    expect(packets.length).toBe(expected);
    // 20 ms Opus frames throughout: the player's one-packet-per-20-ms clock stays exact.
    expect(packets.every((p) => opusPacketInfo(p).samples === 960)).toBe(true);
  });
});

describe('the real AudioPlayer (no connection) on a joined stream', () => {
  it('plays two chunks with an underrun between them as one resource: never Idle until the stream ends', async () => {
    // createPlayer/createResource don't touch the client.
    const adapter = new DiscordVoiceAdapter({} as never, { group: 'test', log: silentLogger });
    const player = adapter.createPlayer();
    const stream = new PassThrough();
    const joiner = new OggOpusJoiner();
    const seen: string[] = [];
    player.on('stateChange', (o, n) => seen.push(`${o.status}→${n.status}`));
    stream.write(joiner.append(oggOpusOf(200, 1)).bytes);
    player.play(adapter.createResource(stream));
    await new Promise((r) => setTimeout(r, 450)); // chunk 1 (~220 ms) is over: an underrun
    expect(player.state.status).toBe(AudioPlayerStatus.Playing);
    stream.end(joiner.append(oggOpusOf(200, 2)).bytes);
    const started = Date.now();
    await new Promise<void>((resolve) =>
      player.on('stateChange', (_o, n) => n.status === AudioPlayerStatus.Idle && resolve()),
    );
    // chunk 2's packets plus the 5 trailing silence frames, at 20 ms each
    expect(Date.now() - started).toBeGreaterThanOrEqual((packetCount(200) + 5) * 20 - 60);
    expect(seen).toEqual(['idle→buffering', 'buffering→playing', 'playing→idle']);
  });
});

describe('Discord on the station clock (real AudioPlayer, fake time)', () => {
  let bench: TimingBench;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'], now: Date.UTC(2026, 10, 25, 12) });
    bench = startTimingBench();
  });
  afterEach(() => {
    bench.dispose();
    vi.useRealTimers();
  });

  const report = (label: string, t: ChunkTiming[]) =>
    console.info(
      `[timing] ${label}: late ms per chunk (first packet − station start) ${t.map((x) => x.lateMs).join(', ')}; ` +
        `content late ${t.map((x) => x.contentLateMs).join(', ')}`,
    );

  it('sends each chunk within one frame of its station start, with no drift across requests and the configured pause', async () => {
    const a = [1730, 2410, 980, 3150, 1260, 2020].map((durationMs, i) => ({ tag: 10 + i, durationMs }));
    const b = [1500, 1333, 2222].map((durationMs, i) => ({ tag: 20 + i, durationMs }));
    bench.enqueue(a);
    bench.enqueue(b);
    await bench.run(a.reduce((s, c) => s + c.durationMs, 0) + 400 + 5000 + 500);
    const timings = chunkTimings(bench);
    report('two requests', timings);
    expect(timings.map((t) => t.tag)).toEqual([...a, ...b].map((c) => c.tag));
    // The pause at the receiver: from the end of A's last real packet to B's first.
    const sent = bench.connection.tags();
    const lastA = sent.filter((p) => p.tag === 15).at(-1)!;
    const firstB = sent.find((p) => p.tag === 20)!;
    const pause = firstB.at - (lastA.at + 20);
    console.info(`[timing] pause between requests ${pause} ms (setting 400)`);
    for (const t of timings) {
      // What each packet carries is the station's moment within a frame. Its first packet may be
      // one packet in (the pre-skip one, cut to stay on the clock), so it leaves up to 40 ms after.
      expect(Math.abs(t.contentLateMs), `chunk ${t.tag}`).toBeLessThanOrEqual(20);
      expect(Math.abs(t.lateMs), `chunk ${t.tag}`).toBeLessThanOrEqual(40);
    }
    expect(Math.abs(pause - 400)).toBeLessThanOrEqual(20);
    // Inside a request every 20 ms slot carries audio: no silence frame, no hole.
    const inA = sent.filter((p) => p.at >= timings[0]!.firstAt && p.at <= lastA.at);
    expect(inA.every((p) => p.tag !== null)).toBe(true);
    expect(inA.at(-1)!.at - inA[0]!.at).toBe((inA.length - 1) * 20);
  });

  it('stays on the station clock after an underrun and a pause', async () => {
    const r = bench.enqueue([{ tag: 30, durationMs: 1210 }], { complete: false });
    await bench.run(1210 + 470); // the station waits for chunk 1
    bench.addChunk(r, 1, { tag: 31, durationMs: 1770 });
    await bench.run(600);
    bench.station.pause();
    await bench.run(1300);
    bench.station.resume();
    bench.addChunk(r, 2, { tag: 32, durationMs: 990 });
    await bench.run(2500);
    const timings = chunkTimings(bench);
    report('underrun and pause', timings);
    expect(timings.map((t) => t.tag)).toEqual([30, 31, 32]);
    const chunk2 = bench.starts.filter((s) => s.tag === 32).at(-1)!;
    const first2 = bench.connection.tags().find((p) => p.tag === 32)!;
    for (const t of timings) expect(Math.abs(t.contentLateMs), `chunk ${t.tag}`).toBeLessThanOrEqual(20);
    expect(Math.abs(first2.at - chunk2.startsAt - (first2.index * 960 - 312) / 48)).toBeLessThanOrEqual(20);
  });

  it('after the event loop stalls at a request start, the later chunks still leave on the station clock', async () => {
    bench.enqueue([1200, 900, 1500].map((durationMs, i) => ({ tag: 60 + i, durationMs })));
    vi.advanceTimersByTime(300); // 300 ms with nothing else running: no page, no player cycle
    await bench.run(3600 + 500);
    const timings = chunkTimings(bench);
    report('stall at the start', timings);
    // The first chunk's packets go out late, in the player's catch-up burst; the rest are back on
    // the clock (a frame and a half: the burst starts a cycle after the page). Anchored where it
    // was paged instead of where play began, they ran 250 ms ahead.
    expect(timings).toHaveLength(3);
    for (const t of timings.slice(1))
      expect(Math.abs(t.contentLateMs), `chunk ${t.tag}`).toBeLessThanOrEqual(30);
  });

  it('joins mid-chunk at the station position', async () => {
    bench.connected = false;
    bench.enqueue([
      { tag: 40, durationMs: 3000 },
      { tag: 41, durationMs: 1000 },
    ]);
    await bench.run(1337);
    bench.connected = true;
    bench.sink.voiceReady();
    await bench.run(3500);
    const sent = bench.connection.tags();
    const first = sent.find((p) => p.tag === 40)!;
    const start = bench.starts[0]!.startsAt;
    const contentLate = first.at - (start + (first.index * 960 - 312) / 48);
    console.info(`[timing] late join: first packet ${first.index}, content late ${contentLate} ms`);
    expect(Math.abs(contentLate)).toBeLessThanOrEqual(20);
    expect(Math.abs(chunkTimings(bench).find((t) => t.tag === 41)!.contentLateMs)).toBeLessThanOrEqual(20);
  });

  it('sends no frame of a skipped narration after the skip (none kept for the next play)', async () => {
    bench.enqueue([{ tag: 50, durationMs: 3000 }]);
    bench.enqueue([{ tag: 51, durationMs: 1000 }]);
    await bench.run(1000);
    bench.station.skip();
    const skippedAt = Date.now();
    await bench.run(2000);
    const sent = bench.connection.tags();
    const after = sent.filter((p) => p.tag === 50 && p.at > skippedAt);
    expect(after.every((p) => p.at <= skippedAt + 20)).toBe(true);
    const firstNext = sent.findIndex((p) => p.tag === 51);
    expect(firstNext).toBeGreaterThan(0);
    // What directly precedes the next narration is the end of the skipped one's stop, not a stale frame.
    expect(sent.slice(0, firstNext).filter((p) => p.at > skippedAt + 20)).toEqual([]);
    expect(bench.connection.speaking).toBe(false); // the flush lowers the flag it raised
  });
});
