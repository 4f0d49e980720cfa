/**
 * Cast and prepared-scene benchmark (issue 12). Run with
 * `npx tsx bench/cast-scenes.ts [--runs 3]`; prints Markdown tables, not a
 * timed test. Real parts except the model: the `openai` SDK against the fake
 * OpenAI server (LLM first token 300 ms then 30 tokens/s; TTS 250 ms + 0.2 ×
 * audio length), ffmpeg, on-disk PGlite, the station, all on the real clock.
 *
 * - Cast narration: the LLM's reply carries voice tags for two characters;
 *   counts the voice changes between consecutive chunks and the silence the
 *   station schedules at each (0 = gapless).
 * - Scene: text saved ahead and rendered; `play` → the station's
 *   `requestStarted`, against `say` of the same text (TTS on demand), and
 *   the TTS calls the fake server saw during each.
 */
import { performance } from 'node:perf_hooks';
import { CastService } from '../src/cast';
import { systemClock } from '../src/clock';
import { createNarrationService } from '../src/narration';
import type { PlaybackEngine } from '../src/playback';
import { SceneService } from '../src/scenes';
import { startBenchStation } from './support/station';

const CAMPAIGN = 'bench';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const REPLY =
  'The gate creaks open on rusted hinges. <v Grimble>"Who goes there? Name yourselves!"</v> ' +
  'A lantern swings toward you. <v Old Mara>"Friends," she calls, "only tired friends."</v> ' +
  'The guard lowers his spear. <v Grimble>"Then come in, and quickly."</v> The gate shuts behind you.';
const SCENE =
  'The vault door grinds open, and cold air spills out.\n' +
  'Grimble: Nobody has stood here in a thousand years.\n' +
  'Dust settles on the gold.';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Wall time at which each request went on air (the station's `requestStarted`). */
function airTimes(engine: PlaybackEngine): Map<string, number> {
  const times = new Map<string, number>();
  engine.stations.on('requestStarted', (e) => times.set(e.request.id, performance.now()));
  return times;
}

/** Resolves once `id` has gone on air; its wall time. */
async function airedAt(times: Map<string, number>, id: string): Promise<number> {
  for (let i = 0; i < 2000 && !times.has(id); i++) await new Promise((r) => setTimeout(r, 5));
  const at = times.get(id);
  if (at === undefined) throw new Error(`request ${id} never went on air`);
  return at;
}

async function idle(engine: PlaybackEngine): Promise<void> {
  engine.stations.get(CAMPAIGN).stop();
  await new Promise((r) => setTimeout(r, 500));
}

async function main(): Promise<void> {
  const station = await startBenchStation('bardcast-bench-cast-', CAMPAIGN, {
    firstTokenLatencyMs: 300,
    tokensPerSec: 30,
    ttsBaseLatencyMs: 250,
    ttsRealtimeFactor: 0.2,
    reply: REPLY,
  });
  const { db, engine, server, url } = station;
  const holder: { voices?: () => Promise<{ id: string; label: string }[]> } = {};
  const cast = new CastService({ prisma: db.prisma, voices: () => holder.voices?.() ?? Promise.resolve([]) });
  const narration = await createNarrationService({
    engine,
    apiKey: 'sk-bench',
    baseURL: url,
    voice: 'onyx',
    cast,
    narrationsPerMinute: 0,
    clock: systemClock,
  });
  holder.voices = () => narration.voices();
  const scenes = new SceneService({
    prisma: db.prisma,
    store: engine.store,
    writer: engine.writer,
    campaigns: engine.campaigns,
    tts: narration.tts,
    encoder: narration.encoder,
    cast,
  });
  const times = airTimes(engine);
  try {
    process.stderr.write('cast narrations…\n');
    const castRows: string[] = [];
    for (let run = 0; run <= RUNS; run++) {
      const handle = await narration.start({
        campaignId: CAMPAIGN,
        text: 'At the gate',
        mode: 'narrate',
        requestedBy: 'bench',
      });
      await handle.done;
      const schedule = engine.stations
        .get(CAMPAIGN)
        .schedule()
        .filter((s) => s.request.id === handle.request.id);
      let changes = 0;
      const gaps: number[] = [];
      for (let i = 1; i < schedule.length; i++) {
        const prev = schedule[i - 1]!;
        const cur = schedule[i]!;
        if ((prev.chunk.voice ?? null) !== (cur.chunk.voice ?? null)) {
          changes++;
          gaps.push(cur.startsAt - (prev.startsAt + prev.chunk.durationMs));
        }
      }
      const voices = new Set(schedule.map((s) => s.chunk.voice));
      if (run > 0) {
        castRows.push(
          `| ${run} | ${schedule.length} | ${voices.size} | ${changes} | ${gaps.map((g) => g.toFixed(3)).join(', ')} |`,
        );
      }
      await idle(engine);
    }
    process.stdout.write(
      `\nCast narration (LLM markup, 3 voices)\n\n| run | chunks | voices | voice changes | silence at each change (ms) |\n| --- | --- | --- | --- | --- |\n${castRows.join('\n')}\n`,
    );

    process.stderr.write('scenes…\n');
    await scenes.save(CAMPAIGN, 'Vault', SCENE);
    await scenes.whenRendered(CAMPAIGN, 'Vault');
    const scenePlay: number[] = [];
    const sayPlay: number[] = [];
    const sceneTts: number[] = [];
    const sayTts: number[] = [];
    for (let run = 0; run <= RUNS; run++) {
      server.resetStats();
      const t0 = performance.now();
      const request = await scenes.play(CAMPAIGN, 'Vault');
      const sceneAt = await airedAt(times, request.id);
      const sceneCalls = server.stats.calls.speech;
      await idle(engine);

      server.resetStats();
      const t1 = performance.now();
      const handle = await narration.start({
        campaignId: CAMPAIGN,
        text: SCENE,
        mode: 'say',
        requestedBy: 'bench',
      });
      const sayAt = await airedAt(times, handle.request.id);
      await handle.done;
      const sayCalls = server.stats.calls.speech;
      await idle(engine);
      if (run > 0) {
        scenePlay.push(sceneAt - t0);
        sayPlay.push(sayAt - t1);
        sceneTts.push(sceneCalls);
        sayTts.push(sayCalls);
      }
    }
    process.stdout.write(
      `\nPrepared scene vs say of the same text (${RUNS} runs, median)\n\n| | command → on air (ms) | TTS calls |\n| --- | --- | --- |\n` +
        `| /scene play | ${median(scenePlay).toFixed(0)} (${scenePlay.map((x) => x.toFixed(0)).join(', ')}) | ${sceneTts.join(', ')} |\n` +
        `| /say | ${median(sayPlay).toFixed(0)} (${sayPlay.map((x) => x.toFixed(0)).join(', ')}) | ${sayTts.join(', ')} |\n`,
    );
  } finally {
    await scenes.close();
    await narration.close();
    await station.close();
  }
}

await main();
