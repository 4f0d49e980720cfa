/**
 * The app restarted with a narration on air: the new process logs in, the
 * bot rejoins the voice channel by itself, and the request goes on from the
 * first chunk that had not finished airing.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { accountFor } from './analysis';
import { LoopbackDiscord } from './loopback';
import { startBotApp, startFakeOpenAi, type BotApp } from './support/app';
import { connectListener, WebListener } from './support/listener';

let loopback: LoopbackDiscord;
let openai: { server: FakeOpenAiServer; url: string };
let first: BotApp | undefined;
let second: BotApp | undefined;
let listener: WebListener | undefined;
let afterRestart: WebListener | undefined;

beforeAll(async () => {
  loopback = await LoopbackDiscord.start();
  openai = await startFakeOpenAi();
  first = await startBotApp(loopback, openai, { removeDataDir: false });
  listener = await connectListener(loopback, first, loopback.guild());
}, 120_000);

afterAll(async () => {
  await listener?.close().catch(() => undefined);
  await afterRestart?.close().catch(() => undefined);
  await first?.stop();
  await second?.stop();
  if (first) await rm(first.dataDir, { recursive: true, force: true });
  await openai?.server.stop();
  await loopback?.close();
});

it('rejoins voice after a restart and resumes the narration at its first unplayed chunk', async () => {
  const guild = loopback.guild();
  const audio = () => loopback.voice.packetsOf(guild.id).filter((p) => !p.silence);
  loopback.command(guild, 'say', {
    // Long enough (about 30 s) to be still on air when the first process has shut down.
    text: Array.from(
      { length: 6 },
      (_, k) =>
        `Part ${k + 1}. The ship groans as the storm takes hold of it. Waves break over the rail. ` +
        'The captain shouts orders nobody can hear. A mast cracks somewhere above. ' +
        'Rain hammers the deck. The lanterns swing wildly.',
    ).join(' '),
  });
  await loopback.until(() => audio().length >= 60, 'the narration on air', 60_000);
  const requestId = listener!.startedRequests()[0]!;
  const before = audio().length;
  const joinsBefore = loopback.voiceRequests(guild).filter((r) => r.channelId).length;

  await first!.stop();
  const stoppedAt = loopback.now();

  second = await startBotApp(loopback, openai, {
    dataDir: first!.dataDir,
    removeDataDir: false,
    port: first!.port,
    env: { TOKEN_SECRET: first!.tokenSecret },
  });
  // The chunks of the request: those the first process scheduled (generation may still have been
  // running at the stop), and from the second process those it had stored when a DM listener
  // joined (the late joiner's `audio_stream_started` names them all) and scheduled after.
  afterRestart = new WebListener(second, guild, second.token(guild, 'dm'));
  await afterRestart.socket.opened;
  await loopback.until(
    () => afterRestart!.startedChunkIds(requestId).length > 0,
    'the request on air for a late joiner',
    60_000,
  );
  // A new gateway session, a join request of its own, and audio of the same request again.
  await loopback.until(
    () => loopback.voiceRequests(guild).filter((r) => r.channelId && r.at > stoppedAt).length > 0,
    'the bot to rejoin voice',
    60_000,
  );
  expect(loopback.voiceRequests(guild).filter((r) => r.channelId).length).toBe(joinsBefore + 1);
  await loopback.until(() => audio().length >= before + 20, 'the narration to go on', 60_000);
  const bySeq = new Map<number, string>();
  afterRestart.startedChunkIds(requestId).forEach((id, seq) => bySeq.set(seq, id));
  for (const c of [...listener!.chunksOf(requestId), ...afterRestart.chunksOf(requestId)]) {
    bySeq.set(c.sequenceNumber, c.chunkId);
  }
  const chunks = [...bySeq.entries()]
    .sort(([a], [b]) => a - b)
    .map(([sequenceNumber, chunkId]) => ({ sequenceNumber, chunkId }));
  expect(
    chunks.map((c) => c.sequenceNumber),
    'no chunk unseen by both listeners',
  ).toEqual(chunks.map((_, i) => i));
  const { packets: frames, perChunk: chunkFrames } = await afterRestart.packetsOf(chunks);
  const airedBefore = accountFor(
    loopback.voice.packetsOf(guild.id).filter((p) => p.at <= stoppedAt),
    frames,
  );
  expect(airedBefore.ok).toBe(true);
  const lastBefore = Math.max(...airedBefore.positions);
  // Chunk boundaries (frame index of each chunk's first frame).
  const starts = chunkFrames.map((_, k) => chunkFrames.slice(0, k).reduce((x, y) => x + y, 0));
  const chunkOf = (frame: number) => starts.findLastIndex((s) => s <= frame);
  const onAir = chunkOf(lastBefore);
  // The first frames after the restart: frames of the same request, in order, from the chunk
  // that was on air at the stop (it had not finished airing), never from a chunk that had aired
  // whole. The bot cuts in where the station is, and the station resumed that chunk from its
  // start no earlier than the stop: so no further in than the time since the stop (how long the
  // restart and the rejoin took depends on the machine's load).
  const after = loopback.voice
    .packetsOf(guild.id)
    .filter((p) => p.at > stoppedAt && !p.silence)
    .slice(0, 20);
  const resumed = accountFor(after, frames.slice(starts[onAir]));
  const firstAfter = starts[onAir]! + resumed.positions[0]!;
  const framesSinceStop = Math.ceil((after[0]!.at - stoppedAt) / 20);
  const report = JSON.stringify({
    lastFrameBefore: lastBefore,
    firstFrameAfter: firstAfter,
    framesSinceStop,
    starts,
    resumed,
  });
  console.info('[loopback] restart', report);
  expect(resumed.ok, report).toBe(true);
  expect(chunkOf(firstAfter), report).toBeGreaterThanOrEqual(onAir);
  expect(firstAfter, report).toBeLessThanOrEqual(starts[onAir]! + framesSinceStop + 2);
}, 180_000);
