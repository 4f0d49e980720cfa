/**
 * Narrations through the loopback Discord, one app for the whole file:
 * order while joining, back-to-back requests and the pause between them,
 * /skip /stop /pause /resume as seen in the packet stream, a TTS failure,
 * and the web listener against the voice channel.
 */
import { describe, expect, it } from 'vitest';
import { FRAME_MS, accountFor, machineIsQuiet, type Accounting } from './analysis';
import { currentContent, firstCallback, type LoopbackInteraction } from './interactions';
import { realNow } from './voice-server';
import type { LoopbackDiscord } from './loopback';
import { useLoopbackApp, type LoopbackApp } from './support/fixture';
import type { WebListener } from './support/listener';

const GAP_MS = 400;

let loopback: LoopbackDiscord;
let openai: LoopbackApp['openai'];
let listener: WebListener;
useLoopbackApp(
  {
    env: { GAP_BETWEEN_REQUESTS_MS: String(GAP_MS) },
    // The fake LLM narrates the prompt as given, so a test knows the sentences.
    openai: { reply: (messages) => messages.filter((m) => m.role === 'user').at(-1)?.content ?? 'Silence.' },
  },
  (started) => ({ loopback, openai, listener } = started),
);

const guild = () => loopback.guild();
const packets = () => loopback.voice.packetsOf(guild().id);
/** Audio packets (not silence) since `mark`. */
const audioSince = (mark: number) =>
  packets()
    .slice(mark)
    .filter((p) => !p.silence);
/** Where a test starts: the packets so far, the requests started so far. */
const marks = () => ({ mark: packets().length, started: listener.startedRequests().length });

/** Waits until `count` audio frames arrived since `mark`. */
async function onAir(mark: number, count: number, what: string): Promise<void> {
  await loopback.until(() => audioSince(mark).length >= count, what);
}

/** The chunk count an aired reply names ("✅ aired — 3 sentences"). */
function airedCount(reply: string): number {
  const m = /✅ aired — (\d+) sentences?/.exec(reply);
  if (!m) throw new Error(`not an aired reply: ${reply}`);
  return Number(m[1]);
}

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
 * Waits until the audio since `mark` reaches the last frame of `requests` (their packets in
 * order), and returns how it accounts for them: every frame in order, none repeated or foreign.
 */
async function airedInOrder(mark: number, requests: Buffer[][]): Promise<Accounting & { bounds: number[] }> {
  const expected = requests.flat();
  const bounds = requests.map((_, k) => requests.slice(0, k + 1).reduce((n, r) => n + r.length, 0));
  // The last frame, or (a lagging bot cuts a request's tail when the station ends it) quiet for a while.
  const acc = await loopback.until(
    () => {
      const a = accountFor(packets().slice(mark), expected);
      const last = packets().at(-1);
      const quiet = !!last && realNow() - last.at > 700;
      return (!a.ok || a.notReached === 0 || quiet) && a;
    },
    () => `the last frame; so far ${JSON.stringify(accountFor(packets().slice(mark), expected))}`,
  );
  // Frames cut from the tail depend on the app keeping its 20 ms cycle: asserted when the machine is quiet.
  if (machineIsQuiet()) expect(acc.notReached, JSON.stringify(acc)).toBe(0);
  return { ...acc, bounds };
}

/** Audio packets (since `mark`) that carry frames of request `k` of an {@link airedInOrder} result. */
function framesOf(mark: number, acc: Accounting & { bounds: number[] }, k: number) {
  const audio = audioSince(mark);
  const lo = k === 0 ? 0 : acc.bounds[k - 1]!;
  return audio.filter((_, i) => acc.positions[i]! >= lo && acc.positions[i]! < acc.bounds[k]!);
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
    loopback.joinDelayMs = 500;
    const { mark, started } = marks();
    const first = loopback.command(guild(), 'say', {
      text: 'First words by the fire tonight. The logs settle.',
    });
    await new Promise((r) => setTimeout(r, 200));
    const second = loopback.command(guild(), 'say', {
      text: 'Second words come from the old man in the corner by the fire. And more of them follow. Then more. And the last.',
    });
    const firstCount = airedCount(await finalReply(first));
    const secondCount = airedCount(await finalReply(second));
    loopback.joinDelayMs = 0;
    expect(firstCount).toBeLessThan(secondCount); // how the two are told apart on the air
    const [a, b] = await startedSince(started, 2);
    expect(listener.chunksOf(a!)).toHaveLength(firstCount);
    expect(listener.chunksOf(b!)).toHaveLength(secondCount);
    const acc = await airedInOrder(mark, [
      (await listener.requestPackets(a!)).packets,
      (await listener.requestPackets(b!)).packets,
    ]);
    expect(acc.ok, JSON.stringify(acc)).toBe(true);
    // The station starts the first request while the bot is still joining, and the bot joins
    // the station where it is: on a loaded machine the whole first request can be over by then.
    if (machineIsQuiet()) expect(framesOf(mark, acc, 0).length).toBeGreaterThan(0);
    expect(framesOf(mark, acc, 1).length).toBeGreaterThan(0);
    expect(loopback.voiceRequests(guild()).filter((r) => r.channelId !== null)).toHaveLength(1);
  }, 90_000);

  it('two /narrate back to back: both air in order, the pause between them measured against GAP_BETWEEN_REQUESTS_MS', async () => {
    const { mark, started } = marks();
    const a = loopback.command(guild(), 'narrate', {
      prompt: 'The rain stops and the clouds part over the silent village square. A lantern swings.',
    });
    const b = loopback.command(guild(), 'narrate', {
      prompt: 'Footsteps approach along the wet cobbles from the direction of the well. Someone knocks.',
    });
    expect(await finalReply(a)).toMatch(/✅ aired/);
    expect(await finalReply(b)).toMatch(/✅ aired/);
    const [ra, rb] = await startedSince(started, 2);
    const acc = await airedInOrder(mark, [
      (await listener.requestPackets(ra!)).packets,
      (await listener.requestPackets(rb!)).packets,
    ]);
    expect(acc.ok, JSON.stringify(acc)).toBe(true);
    // The pause as a Discord listener hears it: from the end of A's last frame to B's first.
    const heardGap = framesOf(mark, acc, 1)[0]!.at - (framesOf(mark, acc, 0).at(-1)!.at + FRAME_MS);
    const ca = listener.chunksOf(ra!);
    const stationGap =
      listener.chunksOf(rb!)[0]!.startsAt - (ca.at(-1)!.startsAt + ca.at(-1)!.durationSec * 1000);
    console.info(
      '[loopback] gap',
      JSON.stringify({
        setting: GAP_MS,
        heardGap,
        stationGap,
        acc: { leftOut: acc.leftOut, silenceInside: acc.silenceInside },
      }),
    );
    expect(stationGap).toBeGreaterThanOrEqual(GAP_MS - 1);
    // Wall clock on a shared machine: asserted within a frame and some jitter only when it is quiet.
    if (machineIsQuiet()) expect(Math.abs(heardGap - GAP_MS)).toBeLessThan(50 + FRAME_MS);
    expect(heardGap).toBeGreaterThan(0);
  }, 90_000);

  it('/skip stops the request at once, sends no stale frame of it, and the next request plays', async () => {
    const { mark, started } = marks();
    const long = loopback.command(guild(), 'say', {
      text: 'The bridge sways above the gorge as you step onto its first worn plank. Wind howls. A plank cracks. The river roars.',
    });
    const next = loopback.command(guild(), 'say', { text: 'You reach the other side.' });
    await onAir(mark, 25, 'the long request on air');
    const skip = loopback.command(guild(), 'skip');
    expect(await finalReply(long)).toMatch(/⏭️ skipped/);
    expect(await finalReply(next)).toMatch(/✅ aired/);
    const [rLong, rNext] = await startedSince(started, 2);
    const skipped = (await listener.requestPackets(rLong!)).packets;
    // In order: a part of the skipped request, then the next one; a frame of the skipped
    // request after the next one began would be out of order.
    const acc = await airedInOrder(mark, [skipped, (await listener.requestPackets(rNext!)).packets]);
    expect(acc.ok, JSON.stringify(acc)).toBe(true);
    const cut = framesOf(mark, acc, 0);
    expect(cut.length).toBeGreaterThanOrEqual(25);
    expect(Math.max(...acc.positions.filter((p) => p < skipped.length))).toBeLessThan(skipped.length - 1);
    const skipAnswered = firstCallback(skip)!.at;
    const lastSkipped = cut.at(-1)!.at;
    console.info(
      '[loopback] skip',
      JSON.stringify({ lastFrameAfterSkipAnswerMs: lastSkipped - skipAnswered }),
    );
    // Issue 9 item 4 "stale frame after /skip": the skipped request's last frame leaves at once,
    // not ~GAP_MS later just before the next request. Wall clock: asserted when the machine is quiet.
    if (machineIsQuiet()) expect(lastSkipped - skipAnswered).toBeLessThan(GAP_MS / 2);
  }, 90_000);

  it('/pause holds the audio (no frame until /resume), and /resume goes on in order', async () => {
    const { mark, started } = marks();
    const say = loopback.command(guild(), 'say', {
      text: 'The fire crackles low and the shadows stretch long across the floor. Nobody speaks. The wind moans outside.',
    });
    await onAir(mark, 20, 'the request on air');
    const pause = loopback.command(guild(), 'pause');
    await loopback.until(() => firstCallback(pause), 'the /pause answer');
    const pausedAt = packets().length;
    // Held: after the frame or two already on their way, nothing but silence frames while paused.
    await new Promise((r) => setTimeout(r, 800));
    const during = audioSince(pausedAt);
    expect(during.length, 'audio frames while paused').toBeLessThanOrEqual(3);
    const heldFrom = packets().length;
    await new Promise((r) => setTimeout(r, 400));
    expect(audioSince(heldFrom)).toHaveLength(0);
    const resume = loopback.command(guild(), 'resume');
    expect(await finalReply(say)).toMatch(/✅ aired/);
    const [rid] = await startedSince(started, 1);
    const acc = await airedInOrder(mark, [(await listener.requestPackets(rid!)).packets]);
    expect(acc.ok, JSON.stringify(acc)).toBe(true);
    const audio = audioSince(mark);
    const firstAfter = audio.find((p) => p.at > firstCallback(resume)!.at);
    console.info(
      '[loopback] pause',
      JSON.stringify({
        framesAfterPauseAnswer: during.length,
        firstFrameAfterResumeAnswerMs: firstAfter ? firstAfter.at - firstCallback(resume)!.at : null,
        leftOut: acc.leftOut,
      }),
    );
  }, 90_000);

  it('/stop ends the request on air and drops the queue; nothing more plays', async () => {
    const { mark, started } = marks();
    const a = loopback.command(guild(), 'say', {
      text: 'The ogre raises its club high above its head and bellows at the ceiling. The ground shakes. Dust falls.',
    });
    const b = loopback.command(guild(), 'say', { text: 'This is never heard.' });
    await onAir(mark, 20, 'the request on air');
    loopback.command(guild(), 'stop');
    expect(await finalReply(a)).toMatch(/⏹️ stopped/);
    expect(await finalReply(b)).toMatch(/⏹️ stopped|⏭️ skipped/);
    await new Promise((r) => setTimeout(r, GAP_MS + 600));
    const [ra] = await startedSince(started, 1);
    expect(listener.startedRequests().slice(started)).toEqual([ra]);
    // Only frames of the stopped request, in order (the never-heard one starts like it: out of order).
    const acc = accountFor(packets().slice(mark), (await listener.requestPackets(ra!)).packets);
    expect(acc.ok, JSON.stringify(acc)).toBe(true);
    expect(acc.notReached).toBeGreaterThan(0);
  }, 90_000);

  it('a TTS failure mid-request fails that request with a reply saying so; the next narration plays', async () => {
    const { mark, started } = marks();
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
    expect(await finalReply(next)).toMatch(/✅ aired/);
    const ids = await startedSince(started, 1);
    const requests = await Promise.all(ids.map(async (id) => (await listener.requestPackets(id)).packets));
    const acc = await airedInOrder(mark, requests);
    expect(acc.ok, JSON.stringify(acc)).toBe(true);
    expect(framesOf(mark, acc, requests.length - 1).length).toBeGreaterThan(0);
  }, 90_000);
});
