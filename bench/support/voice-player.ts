// The measured process of bench/voice.ts: N guild playbacks through the real
// @discordjs/voice (VoiceConnection, AudioPlayer, UDP, aead_aes256_gcm_rtpsize)
// against the loopback voice server, one of three ways:
//  - bardcast: Bardcast's own path. Engine (in-memory PGlite), VoiceManager →
//    GuildVoice → StationSink → RequestFeed/OggOpusJoiner → DiscordVoiceAdapter's
//    resource. Every station is paused, given a request of 8 × 5 s chunks,
//    then all are resumed in one tick: N requests start at once.
//  - floor: a pre-encoded Ogg Opus file of the same audio straight into the
//    library (`StreamType.OggOpus`), all started in one tick.
//  - ffmpeg: what music bots do, the MP3 through `StreamType.Arbitrary` (one
//    ffmpeg process per stream, transcoding to Opus).
// Only the Discord gateway is stood in for: the adapter creator hands the
// library the voice server's address, as discord.js does with Discord's.
//
// IPC out: `started` { burstAt }, `result` {...}. IPC in: `go` (window starts).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  NoSubscriberBehavior,
  StreamType,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
  type DiscordGatewayAdapterCreator,
} from '@discordjs/voice';
import type { Client } from 'discord.js';
import { DiscordVoiceAdapter, OggOpusJoiner, VoiceManager, defaultPageScheduler } from '../../src/bot/voice';
import { systemClock } from '../../src/clock';
import { PrismaPlaybackRepository } from '../../src/db/playback-repository';
import { silentLogger } from '../../src/log';
import { FfmpegAudioEncoder, resolveFfmpeg } from '../../src/narration/encoder';
import { FileAudioStore, startPlaybackEngine } from '../../src/playback';
import { treeUsage } from './proc';
import { openBenchDatabase } from './database';

const { values } = parseArgs({
  options: {
    path: { type: 'string' },
    n: { type: 'string' },
    window: { type: 'string', default: '20' },
    endpoint: { type: 'string' },
    settle: { type: 'string', default: '3' },
    // bardcast: a PostgreSQL server URL (a database is created for the run) instead of in-process PGlite.
    postgres: { type: 'string' },
  },
});
const MODE = values.path as 'bardcast' | 'floor' | 'ffmpeg';
const N = Number(values.n);
const ENDPOINT = values.endpoint!;
const CHUNK_MS = 5000;
const CHUNKS = 8;
const epochMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const send = (m: unknown) => process.send?.(m);

// prism-media finds ffmpeg on PATH.
const ffmpeg = resolveFfmpeg().path;
process.env['PATH'] = `${path.dirname(ffmpeg)}:${process.env['PATH'] ?? ''}`;

/** Speech-like test audio: a voiced tone whose pitch and loudness wander. */
function speechPcm(ms: number, seed: number): Buffer {
  const n = Math.round((ms / 1000) * 48_000);
  const pcm = Buffer.alloc(n * 2);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / 48_000;
    const f = 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t + seed) + 25 * Math.sin(2 * Math.PI * 3.1 * t);
    phase += (2 * Math.PI * f) / 48_000;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 2.3 * t + seed) ** 2;
    const v = env * (Math.sin(phase) + 0.4 * Math.sin(2 * phase) + 0.2 * Math.sin(3 * phase));
    pcm.writeInt16LE(Math.round(6000 * v), i * 2);
  }
  return pcm;
}

/** What discord.js does for a guild: relay voice state and server updates to the library. */
function adapterFor(guildId: string): DiscordGatewayAdapterCreator {
  return (methods) => ({
    sendPayload(payload: { d?: { channel_id?: string | null } }) {
      const channelId = payload.d?.channel_id;
      if (channelId) {
        setImmediate(() => {
          methods.onVoiceStateUpdate({
            guild_id: guildId,
            channel_id: channelId,
            user_id: '100000000000000001',
            session_id: `session-${guildId}`,
            deaf: false,
            mute: false,
            self_deaf: true,
            self_mute: false,
            self_video: false,
            suppress: false,
            request_to_speak_timestamp: null,
          } as Parameters<typeof methods.onVoiceStateUpdate>[0]);
          methods.onVoiceServerUpdate({ guild_id: guildId, token: `token-${guildId}`, endpoint: ENDPOINT });
        });
      }
      return true;
    },
    destroy() {},
  });
}

/** Runs `fn(i)` for i < n, at most `k` at a time. */
async function pool(n: number, k: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(k, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
let maxGcMs = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    maxGcMs = Math.max(maxGcMs, e.duration);
    gcMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-voice-bench-'));
const encoder = new FfmpegAudioEncoder({ ffmpegPath: ffmpeg });
const chunk = await encoder.encode({ data: speechPcm(CHUNK_MS, 1), format: 'pcm_s16le', sampleRate: 48_000 });

/** RSS before the first connection: what N playbacks add is measured from here. */
let base = treeUsage(process.pid);
let starts: () => void;
let cleanup: () => Promise<void>;

if (MODE === 'bardcast') {
  const { db, drop: dropDb } = await openBenchDatabase({
    name: 'bardcast_voice_bench',
    postgresUrl: values.postgres,
  });
  const engine = await startPlaybackEngine({
    repository: new PrismaPlaybackRepository(db.prisma, db.ping),
    store: new FileAudioStore(path.join(dir, 'audio')),
    clock: systemClock,
    log: silentLogger,
  });
  const guilds = new Map<string, unknown>();
  for (let i = 0; i < N; i++) {
    guilds.set(`g${i}`, {
      voiceAdapterCreator: adapterFor(`g${i}`),
      channels: { cache: new Map([[`ch${i}`, { isVoiceBased: () => true, full: false }]]) },
      members: { me: null },
    });
  }
  const client = { guilds: { cache: guilds } } as unknown as Client;
  base = treeUsage(process.pid); // after the engine and database: they are not per playback
  const voice = new VoiceManager({
    adapter: new DiscordVoiceAdapter(client, { group: 'bench', log: silentLogger }),
    stations: engine.stations,
    campaigns: engine.campaigns,
    store: engine.store,
    clock: systemClock,
    log: silentLogger,
  });
  await pool(N, 25, async (i) => {
    const campaign = await engine.campaigns.ensure(`c${i}`, { guildId: `g${i}`, name: `c${i}` });
    const r = await voice.join(campaign, `ch${i}`);
    if (!r.ok) throw new Error(`join ${i}: ${r.why}`);
  });
  // Queue a whole request on every station, paused, then start them all in one tick. A station
  // refuses to pause with nothing queued, so each is paused once its request is there and
  // before its first chunk is.
  await pool(N, 10, async (i) => {
    const w = engine.writer;
    const r = await w.create(`c${i}`, 'bench', { mode: 'say' });
    const paused = engine.stations.get(`c${i}`).pause();
    if (!paused.ok) throw new Error(`pause c${i}: ${paused.reason}`);
    for (let k = 0; k < CHUNKS; k++) await w.addChunk(r.id, k, { text: `s${k}`, audio: chunk });
    await w.complete(r.id, CHUNKS);
  });
  await sleep(500);
  starts = () => {
    for (let i = 0; i < N; i++) engine.stations.get(`c${i}`).resume();
  };
  cleanup = async () => {
    voice.close();
    await engine.stop();
    await db.close();
    await dropDb();
  };
} else {
  // The same audio as one file: Ogg Opus joined from the chunks, or MP3 for ffmpeg.
  const joiner = new OggOpusJoiner();
  const ogg = Buffer.concat(
    Array.from({ length: CHUNKS }, () => joiner.append(Buffer.from(chunk.opus)).bytes),
  );
  const oggFile = path.join(dir, 'request.ogg');
  await writeFile(oggFile, ogg);
  const mp3File = path.join(dir, 'request.mp3');
  await writeFile(mp3File, Buffer.concat(Array.from({ length: CHUNKS }, () => Buffer.from(chunk.mp3))));
  const players = Array.from({ length: N }, () =>
    createAudioPlayer({
      behaviors: { noSubscriber: NoSubscriberBehavior.Play, maxMissedFrames: Number.POSITIVE_INFINITY },
    }),
  );
  const connections: ReturnType<typeof joinVoiceChannel>[] = [];
  await pool(N, 25, async (i) => {
    const c = joinVoiceChannel({
      guildId: `g${i}`,
      channelId: `ch${i}`,
      adapterCreator: adapterFor(`g${i}`),
      group: 'bench',
      selfDeaf: true,
    });
    connections.push(c);
    await entersState(c, VoiceConnectionStatus.Ready, 60_000);
    c.subscribe(players[i]!);
  });
  starts = () => {
    for (const p of players) {
      p.play(
        MODE === 'floor'
          ? createAudioResource(createReadStream(oggFile), { inputType: StreamType.OggOpus })
          : createAudioResource(mp3File, { inputType: StreamType.Arbitrary }),
      );
    }
  };
  cleanup = async () => {
    for (const p of players) p.stop(true);
    for (const c of connections) c.destroy();
  };
}

// The start: N requests in one tick.
eld.reset();
maxGcMs = 0;
const burstAt = epochMs();
const t = performance.now();
starts();
const startCallMs = performance.now() - t;
await sleep(Number(values.settle) * 1000);
const startEld = eld.max / 1e6;
const startScheduler = defaultPageScheduler.longestRunMs;
const startSchedulerCpu = defaultPageScheduler.longestRunCpuMs;
send({ type: 'started', burstAt });
await new Promise<void>((resolve) => process.once('message', () => resolve()));

// The measurement window.
eld.reset();
maxGcMs = 0;
gcMs = 0;
defaultPageScheduler.longestRunMs = 0;
defaultPageScheduler.longestRunCpuMs = 0;
const u0 = treeUsage(process.pid);
const w0 = performance.now();
await sleep(Number(values.window) * 1000);
const u1 = treeUsage(process.pid);
const windowSec = (performance.now() - w0) / 1000;
send({
  type: 'result',
  n: N,
  mode: MODE,
  windowSec,
  cpuSec: u1.cpuSec - u0.cpuSec,
  rssBaseKiB: base.rssKiB,
  rssKiB: u1.rssKiB,
  processes: u1.processes,
  burstAt,
  startCallMs,
  startEldMaxMs: startEld,
  startSchedulerMaxMs: startScheduler,
  eldMaxMs: eld.max / 1e6,
  eldP99Ms: eld.percentile(99) / 1e6,
  schedulerMaxMs: defaultPageScheduler.longestRunMs,
  startSchedulerCpuMs: startSchedulerCpu,
  schedulerCpuMs: defaultPageScheduler.longestRunCpuMs,
  gcMaxMs: maxGcMs,
  gcTotalMs: gcMs,
});
await cleanup().catch(() => {});
await rm(dir, { recursive: true, force: true });
process.exit(0);
