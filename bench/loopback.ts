/**
 * The bot on the loopback Discord (test/loopback-discord/): `npx tsx
 * bench/loopback.ts` (`--runs 10`). The real app as a child process (the same
 * one `npm start` runs) with `DISCORD_API_URL` pointing at the loopback and
 * the fake OpenAI server for TTS. The bot joins voice with the first request
 * and stays; then, `--runs` times, a DM sends `/say` of three sentences and
 * waits for it to air, then two back to back. Measured at the loopback:
 *
 * - interaction → first response (the defer) and → first voice packet, beside
 *   the same request's station on-air time (its first chunk's `starts_at`
 *   from a web listener's `station_schedule`);
 * - frames left out (the bot cuts chunks in on the station clock) and silence
 *   frames inside requests (target 0);
 * - the pause between two back-to-back requests as a Discord listener hears it
 *   (end of the first request's last frame to the second's first frame),
 *   against `GAP_BETWEEN_REQUESTS_MS` and the station's own gap.
 *
 * Wall-clock figures depend on the machine's load; the load average is printed.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { FRAME_MS, accountFor, percentiles } from '../test/loopback-discord/analysis';
import {
  currentContent,
  firstCallback,
  type LoopbackInteraction,
} from '../test/loopback-discord/interactions';
import { LoopbackDiscord } from '../test/loopback-discord/loopback';
import { startBotApp, startFakeOpenAi } from '../test/loopback-discord/support/app';
import { connectListener } from '../test/loopback-discord/support/listener';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } }, strict: false });
const RUNS = Number(values.runs);
const GAP_MS = 400;

const loopback = await LoopbackDiscord.start();
const openai = await startFakeOpenAi();
const app = await startBotApp(loopback, openai, {
  env: { GAP_BETWEEN_REQUESTS_MS: String(GAP_MS) },
});
const guild = loopback.guild();
const listener = await connectListener(loopback, app, guild);
const packets = () => loopback.voice.packetsOf(guild.id);

async function aired(i: LoopbackInteraction): Promise<void> {
  await loopback.until(() => /✅|⚠️|⏭️|⏹️|😓/.test(currentContent(i) ?? ''), `/${i.command} to end`, 120_000);
  if (!/✅/.test(currentContent(i) ?? '')) throw new Error(`did not air: ${currentContent(i)}`);
}

/** Waits for the packets since `mark` to reach the end of `requestIds`' frames (or go quiet). */
async function account(mark: number, requestIds: string[]) {
  const requests = await Promise.all(
    requestIds.map(async (id) => (await listener.requestPackets(id)).packets),
  );
  const expected = requests.flat();
  const acc = await loopback.until(() => {
    const a = accountFor(packets().slice(mark), expected);
    const last = packets().at(-1);
    return (
      (!a.ok ||
        a.notReached === 0 ||
        (!!last && performance.timeOrigin + performance.now() - last.at > 1000)) &&
      a
    );
  }, 'the last frame');
  return { acc, requests };
}

try {
  // Warm-up: the bot joins voice.
  await aired(loopback.command(guild, 'say', { text: 'The bard clears his throat.' }));
  const toPacket: number[] = [];
  const toOnAir: number[] = [];
  const toResponse: number[] = [];
  const leftOut: number[] = [];
  const silenceInside: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await new Promise((r) => setTimeout(r, 1000));
    const mark = packets().length;
    const started = listener.startedRequests().length;
    const i = loopback.command(guild, 'say', {
      text: 'The tavern falls silent. A stranger stands in the doorway, dripping with rain. Nobody moves.',
    });
    await aired(i);
    const id = await loopback.until(() => listener.startedRequests()[started], 'the request on air');
    const { acc } = await account(mark, [id]);
    const first = packets()
      .slice(mark)
      .find((p) => !p.silence)!;
    toPacket.push(first.at - i.createdAt);
    toOnAir.push(listener.chunksOf(id)[0]!.startsAt - i.createdAt);
    toResponse.push(firstCallback(i)!.at - i.createdAt);
    leftOut.push(acc.leftOut + (acc.positions[0] ?? 0));
    silenceInside.push(acc.silenceInside);
    if (!acc.ok) throw new Error(`run ${run}: frames out of order ${JSON.stringify(acc)}`);
  }
  const gaps: { heard: number; station: number }[] = [];
  for (let run = 0; run < Math.max(3, Math.floor(RUNS / 3)); run++) {
    await new Promise((r) => setTimeout(r, 1000));
    const mark = packets().length;
    const started = listener.startedRequests().length;
    const a = loopback.command(guild, 'say', { text: 'The first door opens onto a long corridor.' });
    const b = loopback.command(guild, 'say', { text: 'The second door stays shut.' });
    await aired(a);
    await aired(b);
    const [ra, rb] = await loopback.until(() => {
      const s = listener.startedRequests().slice(started);
      return s.length >= 2 && s;
    }, 'both on air');
    const { acc, requests } = await account(mark, [ra!, rb!]);
    const audio = packets()
      .slice(mark)
      .filter((p) => !p.silence);
    const split = requests[0]!.length;
    const lastA = audio.filter((_, k) => acc.positions[k]! < split).at(-1)!;
    const firstB = audio.find((_, k) => acc.positions[k]! >= split)!;
    const ca = listener.chunksOf(ra!);
    gaps.push({
      heard: firstB.at - (lastA.at + FRAME_MS),
      station: listener.chunksOf(rb!)[0]!.startsAt - (ca.at(-1)!.startsAt + ca.at(-1)!.durationSec * 1000),
    });
  }
  const fmt = (xs: number[]) => {
    const p = percentiles(xs);
    return `${p.median.toFixed(0)} / ${p.p95.toFixed(0)}`;
  };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(
    `\nLoopback Discord, ${RUNS} runs of /say (3 sentences), load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores\n`,
  );
  console.log('| measure (ms, median / p95)                     | value |');
  console.log('| ---------------------------------------------- | ----: |');
  console.log(`| interaction → first response (defer)           | ${fmt(toResponse)} |`);
  console.log(`| interaction → station on air (first chunk)     | ${fmt(toOnAir)} |`);
  console.log(`| interaction → first voice packet               | ${fmt(toPacket)} |`);
  console.log(
    `| first voice packet − station on air            | ${fmt(toPacket.map((t, k) => t - toOnAir[k]!))} |`,
  );
  console.log(`| frames left out per request (cut-ins)          | ${fmt(leftOut)} |`);
  console.log(`| silence frames inside requests (all runs)      | ${sum(silenceInside)} |`);
  console.log(`| pause heard between requests (setting ${GAP_MS})   | ${fmt(gaps.map((g) => g.heard))} |`);
  console.log(`| pause at the station                           | ${fmt(gaps.map((g) => g.station))} |`);
} finally {
  await listener.close();
  await app.dispose();
  await openai.server.stop();
  await loopback.close();
}
