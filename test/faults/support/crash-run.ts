/**
 * The crash trial of the fault suite: the real server process (`src/main.ts`
 * via tsx, as `npm start` runs it), TTS and LLM through the fake OpenAI
 * server, 20 narrations queued, SIGKILL at seeded random moments (several
 * while generation is still running), restart on the same data dir, then an
 * audit of the database and of what a web listener saw aired.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  FakeOpenAiServer,
  seededRandom,
  type FakeChatMessage,
} from '../../../src/narration/fake-openai-server';
import { freePort, startAppProcess, type AppProcess } from '../../browser/support/app-process';
import { TestSocket, type Msg } from '../../web/support/ws-client';
import { firstUnplayed, generating, snapshotPglite, snapshotPostgres, type Snapshot } from './snapshot';

/** Options of {@link runCrashTrial}. */
export interface CrashTrialOptions {
  /** PostgreSQL URL of a database of the trial's own; PGlite under the data dir when absent. */
  databaseUrl?: string;
  seed: number;
  kills: number;
  narrations: number;
  /**
   * How many of the kills come while narrations are still being generated
   * (each within a second of the restart); the rest wait until every
   * narration is generated and fall during playback only.
   */
  killsDuringGeneration: number;
  /** Extra environment for the app. */
  env?: Record<string, string>;
}

/** One kill and what the database held right after it. */
export interface KillRecord {
  /** Wall ms after the app printed its links when it was killed. */
  afterMs: number;
  killedAt: number;
  /** Some request was still generating when the process died. */
  midGeneration: boolean;
  /** Where the next run must resume. */
  resumeAt: { requestId: string; seq: number } | null;
  /** Requests that had aired whole but were not yet PLAYED themselves (the kill fell between the two writes). */
  airedWhole: number;
  /** Encoder temporary files the killed process left in DATA_DIR/tmp. */
  tempFiles: string[];
}

/** What one run of the app (start → kill or stop) saw on its WebSocket. */
interface RunRecord {
  startedAt: number;
  endedAt: number;
  /** server_time of the listener's registration. */
  listeningFrom: number;
  /** Every schedule entry seen: chunk id → planned end on the station clock. */
  scheduledEnds: Map<string, number>;
}

/** The outcome of a trial, audited. */
export interface CrashReport {
  seed: number;
  kills: KillRecord[];
  posted: string[];
  final: Snapshot;
  /** Requests not found, not PLAYED, or with chunks missing / not PLAYED. */
  lost: string[];
  /** Duplicate requests (same text twice) or duplicate chunk sequence numbers. */
  duplicated: string[];
  /** Kills after which the next run's first aired chunk was not the first unplayed one. */
  wrongResumes: string[];
  /** Kills after which the next run aired something, so the resume point could be checked. */
  resumesChecked: number;
  /** PLAYED chunks whose airing contradicts the listener's schedule or the run's lifetime. */
  playedNotAired: string[];
  /** The last run's output when something was lost (diagnosis). */
  lastOutput: string;
  /** Temporary files of a killed process still there after the next start. */
  leftovers: string[];
  /** PLAYED chunks checked against a schedule the listener saw / that ended before it connected. */
  airingChecked: { observed: number; beforeListener: number };
  wallMs: number;
}

/** Two short sentences the fake LLM writes for a narrate prompt. */
export function replyFor(messages: FakeChatMessage[]): string {
  const prompt = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const n = /(\d+)/.exec(prompt)?.[1] ?? '0';
  return `Scene ${n} opens on a cold road. Rain starts to fall on scene ${n}.`;
}

/** The text of narration `i`: a `say` of two sentences, or a `narrate` prompt. */
export function narration(i: number): { text: string; mode: 'say' | 'narrate' } {
  return i % 2 === 0
    ? { text: `Line ${i} begins the tale. Line ${i} ends it here.`, mode: 'say' }
    : { text: `Describe scene ${i}`, mode: 'narrate' };
}

export async function post(app: AppProcess, body: { text: string; mode: string }): Promise<string> {
  const res = await fetch(`${app.baseUrl}/api/campaigns/${app.campaignId}/narrations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${app.dmToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`narration refused: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { request_id: string }).request_id;
}

/** A DM listener on the app's WebSocket that records every schedule entry. */
async function listen(app: AppProcess, run: RunRecord): Promise<TestSocket> {
  const s = new TestSocket(`ws://127.0.0.1:${app.port}/ws?campaign=${app.campaignId}&token=${app.dmToken}`);
  s.ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Msg;
    if (m.type !== 'station_schedule') return;
    for (const e of m.entries as { chunk_id: string; starts_at: number; duration_sec: number }[]) {
      run.scheduledEnds.set(e.chunk_id, e.starts_at + e.duration_sec * 1000);
    }
  });
  await s.opened;
  const registered = await s.next('connection_registered', 30_000);
  run.listeningFrom = registered.server_time as number;
  return s;
}

/** Waits until the station's queue (as the HTTP API reports it) is empty and nothing is on air. */
export async function drained(app: AppProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const res = await fetch(`${app.baseUrl}/api/campaigns/${app.campaignId}/audio/queue`, {
      headers: { Authorization: `Bearer ${app.dmToken}` },
    });
    last = await res.text();
    const queue = JSON.parse(last) as { pending: unknown[]; now_playing: unknown };
    if (res.ok && queue.pending.length === 0 && queue.now_playing === null) return;
    if (Date.now() > deadline) throw new Error(`the queue did not drain: ${last}`);
    await sleep(100);
  }
}

/** Waits until every narration's audio is stored (the fake API answered them all, the queue says GENERATED). */
export async function generated(
  app: AppProcess,
  fake: FakeOpenAiServer,
  expected: { chats: number; sentences: number },
): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const stats = fake.stats;
    if (stats.completed.chat >= expected.chats && stats.completed.speech >= expected.sentences) {
      const res = await fetch(`${app.baseUrl}/api/campaigns/${app.campaignId}/audio/queue`, {
        headers: { Authorization: `Bearer ${app.dmToken}` },
      });
      const queue = (await res.json()) as { pending: { generation: string }[] };
      if (queue.pending.every((p) => p.generation === 'GENERATED')) return;
    }
    if (Date.now() > deadline) throw new Error('generation did not finish');
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the trial and audits it; never throws on a finding (the test asserts on the report). */
export async function runCrashTrial(options: CrashTrialOptions): Promise<CrashReport> {
  const t0 = Date.now();
  const random = seededRandom(options.seed);
  const fake = new FakeOpenAiServer({
    reply: replyFor,
    msPerChar: 12, // ~0.35 s of audio per sentence
    ttsBaseLatencyMs: 150, // generation runs well into playback
    firstTokenLatencyMs: 50,
    tokensPerSec: 150,
  });
  const { url: openaiUrl } = await fake.start();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bardcast-crash-'));
  const port = await freePort();
  const env: Record<string, string> = {
    OPENAI_API_KEY: 'sk-fault-suite',
    OPENAI_BASE_URL: openaiUrl,
    TTS_PROVIDER: 'openai',
    DEMO_LLM: 'false',
    GAP_BETWEEN_REQUESTS_MS: '5',
    TTS_CONCURRENCY: '2',
    NARRATIONS_PER_MINUTE: '10000',
    LOG_LEVEL: 'warn',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  };
  const snapshot = () =>
    options.databaseUrl ? snapshotPostgres(options.databaseUrl) : snapshotPglite(path.join(dataDir, 'pg'));
  const runs: RunRecord[] = [];
  const kills: KillRecord[] = [];
  const posted: string[] = [];
  const leftovers: string[] = [];
  let app: AppProcess | null = null;
  let socket: TestSocket | null = null;

  const start = async () => {
    app = await startAppProcess({ dataDir, port, env, removeDataDir: false });
    const run: RunRecord = { startedAt: Date.now(), endedAt: 0, listeningFrom: 0, scheduledEnds: new Map() };
    runs.push(run);
    socket = await listen(app, run);
    return { app, run };
  };
  try {
    let { app: current, run } = await start();
    for (let i = 0; i < options.narrations; i++) posted.push(await post(current, narration(i)));
    for (let k = 0; k < options.kills; k++) {
      const duringGeneration = k < options.killsDuringGeneration;
      if (k === options.killsDuringGeneration) {
        await generated(current, fake, {
          chats: Math.floor(options.narrations / 2),
          sentences: 2 * options.narrations,
        });
      }
      // While generating: soon after the restart; during playback: anywhere in the next two seconds.
      const afterMs = Math.round(duringGeneration ? 100 + random() * 700 : 200 + random() * 2_000);
      await sleep(afterMs);
      const exited = new Promise<void>((resolve) => current.child.once('exit', () => resolve()));
      current.child.kill('SIGKILL');
      await exited;
      (socket as TestSocket | null)?.ws.terminate();
      run.endedAt = Date.now();
      const snap = await snapshot();
      const tempFiles = await readdir(path.join(dataDir, 'tmp')).catch(() => [] as string[]);
      kills.push({
        tempFiles,
        afterMs,
        killedAt: run.endedAt,
        midGeneration: generating(snap),
        ...firstUnplayed(snap),
      });
      ({ app: current, run } = await start());
      const still = new Set(await readdir(path.join(dataDir, 'tmp')).catch(() => [] as string[]));
      leftovers.push(...tempFiles.filter((f) => still.has(f)));
    }
    // A queue that never drains is a finding (a request waiting for audio nobody makes), not a crash of the test.
    const stuck = await drained(current, 120_000).then(
      () => null,
      (err: unknown) => (err as Error).message.slice(0, 300),
    );
    // A clean stop: SIGTERM, and time to drain and flush (a SIGKILL here would be one more crash).
    await current.stop(120_000);
    const stoppedBy = current.child.signalCode;
    const lastOutput = current.output();
    run.endedAt = Date.now();
    app = null;
    const final = await snapshot();
    const audited = audit(final, posted, kills, runs);
    if (stoppedBy === 'SIGKILL') audited.lost.push('the final SIGTERM did not stop the app within 120 s');
    if (stuck) audited.lost.push(`after the last restart: ${stuck}`);
    return {
      ...audited,
      lastOutput: audited.lost.length > 0 ? lastOutput.slice(-4_000) : '',
      leftovers,
      seed: options.seed,
      kills,
      posted,
      final,
      wallMs: Date.now() - t0,
    };
  } finally {
    (socket as TestSocket | null)?.ws.terminate();
    await (app as AppProcess | null)?.stop(2_000);
    await fake.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function audit(
  final: Snapshot,
  posted: string[],
  kills: KillRecord[],
  runs: RunRecord[],
): Pick<
  CrashReport,
  'lost' | 'duplicated' | 'wrongResumes' | 'resumesChecked' | 'playedNotAired' | 'airingChecked'
> {
  const lost: string[] = [];
  const duplicated: string[] = [];
  const byId = new Map(final.requests.map((r) => [r.id, r]));
  const texts = new Map<string, number>();
  for (const r of final.requests) texts.set(r.text, (texts.get(r.text) ?? 0) + 1);
  for (const [text, n] of texts) if (n > 1) duplicated.push(`request text ${JSON.stringify(text)} ×${n}`);
  if (final.requests.length !== posted.length)
    duplicated.push(`${final.requests.length} request rows for ${posted.length} posted`);
  for (const id of posted) {
    const r = byId.get(id);
    if (!r) {
      lost.push(`${id}: no row`);
      continue;
    }
    const seqs = r.chunks.map((c) => c.seq);
    if (new Set(seqs).size !== seqs.length) duplicated.push(`${id}: chunk seqs ${seqs.join(',')}`);
    const complete = r.totalChunks !== null && seqs.length === r.totalChunks && seqs.every((s, i) => s === i);
    const allPlayed = r.chunks.every((c) => c.status === 'PLAYED');
    if (r.status !== 'PLAYED' || !complete || !allPlayed || r.chunks.length === 0) {
      lost.push(
        `${id} (${r.mode} #${r.queueSeq}): ${r.status}/${r.generation}${r.error ? ` "${r.error}"` : ''}, chunks ${r.chunks
          .map((c) => `${c.seq}:${c.status}`)
          .join(' ')} of ${r.totalChunks ?? '?'}`,
      );
    }
  }

  // Each PLAYED chunk belongs to the run whose lifetime holds its played_at.
  const chunks = final.requests.flatMap((r) => r.chunks);
  const playedAt = (c: (typeof chunks)[number]) => c.playedAt as number;
  const playedNotAired: string[] = [];
  const airingChecked = { observed: 0, beforeListener: 0 };
  for (const c of chunks) {
    if (c.status !== 'PLAYED' || c.playedAt === null) continue;
    const run = runs.find((r) => c.playedAt! >= r.startedAt - 5_000 && c.playedAt! <= r.endedAt);
    if (!run) {
      playedNotAired.push(`${c.id}: played_at ${c.playedAt} outside every run`);
      continue;
    }
    const planned = run.scheduledEnds.get(c.id);
    if (planned !== undefined) {
      airingChecked.observed++;
      if (Math.abs(planned - c.playedAt) > 2)
        playedNotAired.push(`${c.id}: PLAYED at ${c.playedAt}, scheduled end ${planned}`);
    } else if (c.playedAt <= run.listeningFrom) {
      airingChecked.beforeListener++;
    } else {
      playedNotAired.push(`${c.id}: PLAYED at ${c.playedAt} but never in the listener's schedule`);
    }
  }

  // After kill k, the first chunk the next run PLAYED must be the first unplayed one of the snapshot.
  const wrongResumes: string[] = [];
  let resumesChecked = 0;
  kills.forEach((kill, k) => {
    const next = runs[k + 1];
    if (!next || !kill.resumeAt) return;
    const aired = chunks
      .filter(
        (c) =>
          c.status === 'PLAYED' &&
          c.playedAt !== null &&
          c.playedAt > kill.killedAt &&
          c.playedAt <= next.endedAt,
      )
      .sort((a, b) => playedAt(a) - a.durationMs - (playedAt(b) - b.durationMs));
    const first = aired[0];
    if (!first) return; // nothing finished airing before the next kill
    resumesChecked++;
    if (first.requestId !== kill.resumeAt.requestId || first.seq !== kill.resumeAt.seq) {
      wrongResumes.push(
        `kill ${k + 1}: expected ${kill.resumeAt.requestId}#${kill.resumeAt.seq}, first aired ${first.requestId}#${first.seq}`,
      );
    }
  });
  return { lost, duplicated, wrongResumes, resumesChecked, playedNotAired, airingChecked };
}
