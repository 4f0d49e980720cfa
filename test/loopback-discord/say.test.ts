/**
 * The unmodified app against the loopback Discord: one `/say` of four
 * sentences, followed from the interaction to the last RTP packet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { FRAME_MS, FRAME_SAMPLES, decode, spurts, type Spurt } from './analysis';
import { CallbackType, currentContent, firstCallback, CALLBACK_DEADLINE_MS } from './interactions';
import { LoopbackDiscord } from './loopback';
import { startBotApp, startFakeOpenAi, type BotApp } from './support/app';
import { connectListener, type ScheduledChunk, type WebListener } from './support/listener';

// A long first sentence: the next ones are spoken and encoded while it airs, so the station has no underrun.
const SENTENCES = [
  'The door creaks open on rusted hinges and the smell of wet stone rolls out to meet you.',
  'A cold wind fills the hall.',
  'Somewhere, a bell tolls twice.',
  'Then the torches die.',
];

/** What the first test saw, for the timing test after it. */
let seen: { spurt: Spurt; chunks: ScheduledChunk[]; packetCounts: number[] } | null = null;

let loopback: LoopbackDiscord;
let app: BotApp;
let openai: { server: FakeOpenAiServer; url: string };
let listener: WebListener;

beforeAll(async () => {
  loopback = await LoopbackDiscord.start();
  openai = await startFakeOpenAi();
  app = await startBotApp(loopback, openai);
  listener = await connectListener(loopback, app, loopback.guild());
}, 120_000);

afterAll(async () => {
  await listener?.close();
  await app?.dispose();
  await openai?.server.stop();
  await loopback?.close();
});

describe('/say of four sentences over the loopback', () => {
  it('defers ephemerally within 3 s, airs every frame of every chunk with no gap, and ends the reply aired', async () => {
    const guild = loopback.guild();
    const i = loopback.command(guild, 'say', { text: SENTENCES.join(' ') });

    const cb = await loopback.until(() => firstCallback(i), 'the first interaction response');
    expect(cb.type).toBe(CallbackType.DeferredChannelMessageWithSource);
    expect(cb.flags & 64).toBe(64); // ephemeral: a DM's text is a spoiler
    expect(cb.at - i.createdAt).toBeLessThan(CALLBACK_DEADLINE_MS);
    expect(i.events.filter((e) => e.kind === 'rejected')).toEqual([]);

    await loopback.until(
      () => /✅|⚠️|⏭️|⏹️/.test(currentContent(i) ?? ''),
      () =>
        `the aired edit; events: ${JSON.stringify(i.events)}\n${app
          .output()
          .split('\n')
          .filter((l) => /"level":[45]0/.test(l))
          .join('\n')}`,
      60_000,
    );
    expect(currentContent(i)).toMatch(/^✅ aired — 4 sentences$/m);
    // The bot joined the DM's voice channel, with one join request.
    expect(loopback.botChannel(guild)).toBe(guild.voiceChannelIds[0]);
    expect(loopback.voiceRequests(guild)).toHaveLength(1);
    // DAVE: the client offered protocol 1; the loopback negotiated 0 (see README of this folder).
    expect(loopback.voice.session(guild.id)?.offeredDave).toBeGreaterThanOrEqual(1);

    const requestId = listener.startedRequests()[0]!;
    const chunks = listener.chunksOf(requestId);
    expect(chunks.map((c) => c.sequenceNumber)).toEqual([0, 1, 2, 3]);
    const files = await Promise.all(chunks.map((c) => listener.opusPackets(c.chunkId)));
    const expected = files.flatMap((f) => f.packets);

    // The request's packets: one spurt, closed by the player's silence frames.
    await loopback.until(
      () => spurts(loopback.voice.packetsOf(guild.id))[0]?.trailingSilence,
      'the end of the request',
    );
    const all = spurts(loopback.voice.packetsOf(guild.id));
    expect(all).toHaveLength(1);
    const spurt = all[0]!;
    // Every 20 ms frame of every chunk, in order, byte for byte; no silence frame inside, no RTP jump.
    expect(spurt.packets.length).toBe(expected.length);
    expect(spurt.packets.every((p, k) => p.opus.equals(expected[k]!))).toBe(true);
    expect(spurt.seqJumps).toBe(0);
    expect(spurt.timestampJumps).toBe(0);

    // Decoded: audible, and as long as the station's chunks, to the frame.
    const audio = decode(spurt.packets);
    expect(audio.rms).toBeGreaterThan(0.01);
    expect(audio.samples).toBe(spurt.packets.length * FRAME_SAMPLES);
    seen = { spurt, chunks, packetCounts: files.map((f) => f.packets.length) };
    console.info(
      '[loopback] /say',
      JSON.stringify({
        firstResponseMs: cb.at - i.createdAt,
        firstPacketAfterInteractionMs: spurt.packets[0]!.at - i.createdAt,
        firstPacketAfterStationStartMs: spurt.packets[0]!.at - chunks[0]!.startsAt,
        maxArrivalGapMs: spurt.maxArrivalGapMs,
        packets: spurt.packets.length,
      }),
    );
  }, 90_000);

  // Voice defect (issue 9 item 4, "Discord behind the station"): each chunk's
  // Opus pre-skip and end padding make Discord's audio ~20 ms longer per chunk
  // than the station's schedule. Re-enable when the voice fix lands on main.
  it.skip('plays each chunk at its station start time: decoded length = scheduled length ± 1 frame, no drift', () => {
    expect(seen).not.toBeNull();
    const { spurt, chunks, packetCounts } = seen!;
    const audio = decode(spurt.packets);
    const scheduledMs = chunks.reduce((sum, c) => sum + c.durationSec * 1000, 0);
    // Media time (RTP) from one chunk's first packet to the next one's, against the station's step.
    const steps = chunks.slice(1).map((c, k) => ({
      media: packetCounts[k]! * FRAME_MS,
      station: c.startsAt - chunks[k]!.startsAt,
      underrun: c.startsAt - chunks[k]!.startsAt - chunks[k]!.durationSec * 1000 > 1,
    }));
    const drift = steps.filter((s) => !s.underrun).reduce((sum, s) => sum + s.media - s.station, 0);
    const report = JSON.stringify({ decodedMs: audio.durationMs, scheduledMs, steps, drift });
    expect(Math.abs(audio.durationMs - scheduledMs), report).toBeLessThanOrEqual(FRAME_MS);
    expect(Math.abs(drift), report).toBeLessThanOrEqual(FRAME_MS);
  });
});
