/**
 * Two shards over PostgreSQL (README "Scaling out: sharding with PostgreSQL")
 * against one loopback Discord with two guilds, one per shard: each shard
 * plays into its own guild, and killing and restarting one shard leaves the
 * other one's narration on air.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { freePort } from '../support/app-process';
import { accountFor, machineIsQuiet, spurts } from './analysis';
import { currentContent, type LoopbackInteraction } from './interactions';
import { LoopbackDiscord } from './loopback';
import { shardOf, type LoopbackGuild } from './model';
import { startBotApp, startFakeOpenAi, type BotApp } from './support/app';
import { connectListener, type WebListener } from './support/listener';

const SERVER_URL = process.env['TEST_DATABASE_URL'];
if (!SERVER_URL) {
  console.warn('[loopback] shards.test.ts skipped: set TEST_DATABASE_URL (a PostgreSQL server) to run it');
}

const SHARD_COUNT = 2;

let db: TestDatabase | undefined;
let loopback: LoopbackDiscord | undefined;
let openai: { server: FakeOpenAiServer; url: string } | undefined;
const apps: BotApp[] = [];
let listener: WebListener | undefined;
/** Each shard's web port is PORT + its shard id: shard 1 gets a free port minus one as PORT. */
let ports: [number, number] = [0, 0];

/**
 * One shard process, started the way discord.js's ShardingManager starts it:
 * the same entry point with `SHARDS=<id>` and `SHARD_COUNT=<total>` in its
 * environment (ShardingManager also sets SHARDING_MANAGER for its IPC, which
 * the app does not use), all shards on one PostgreSQL database.
 */
async function startShard(id: number): Promise<BotApp> {
  const app = await startBotApp(loopback!, openai!, {
    port: ports[id]!,
    env: { DATABASE_URL: db!.url!, SHARDS: String(id), SHARD_COUNT: String(SHARD_COUNT) },
  });
  apps.push(app);
  return app;
}

/** Waits for a `/say`'s reply to end as aired. */
async function aired(i: LoopbackInteraction, app: BotApp): Promise<void> {
  await loopback!.until(
    () => /✅ aired/.test(currentContent(i) ?? ''),
    () => `the aired edit; events ${JSON.stringify(i.events)}\n${app.output().slice(-4000)}`,
    60_000,
  );
}

const LONG = Array.from(
  { length: 8 },
  (_, k) =>
    `Part ${k + 1}. The ship groans as the storm takes hold of it. Waves break over the rail. ` +
    'The captain shouts orders nobody can hear. A mast cracks somewhere above. ' +
    'Rain hammers the deck. The lanterns swing wildly.',
).join(' ');

describe.skipIf(!SERVER_URL)('two shards over PostgreSQL', () => {
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    loopback = await LoopbackDiscord.start({
      guilds: ['Shard Zero Table', 'Shard One Table'],
      shardCount: SHARD_COUNT,
    });
    openai = await startFakeOpenAi();
    ports = [await freePort(), (await freePort()) - 1];
    // One after the other: the first applies the migrations (already applied here, but the
    // check takes a lock each start).
    await startShard(0);
    await startShard(1);
    listener = await connectListener(loopback, apps[0]!, loopback.guild(0));
  }, 150_000);

  afterAll(async () => {
    await listener?.close().catch(() => undefined);
    for (const app of apps) await app.dispose().catch(() => undefined);
    await openai?.server.stop();
    await loopback?.close();
    await db?.close();
  });

  it('each shard plays into its own guild; restarting shard 1 leaves shard 0 on air', async () => {
    const lb = loopback!;
    const [g0, g1] = [lb.guild(0), lb.guild(1)] as [LoopbackGuild, LoopbackGuild];
    expect([shardOf(g0.id, SHARD_COUNT), shardOf(g1.id, SHARD_COUNT)]).toEqual([0, 1]);
    const audio = (g: LoopbackGuild) => lb.voice.packetsOf(g.id).filter((p) => !p.silence);
    /** The guilds announced (GUILD_CREATE) on a shard's gateway session. */
    const guildsOn = (shard: number) =>
      lb.gateway
        .session(shard)
        ?.sent.filter((e) => e.t === 'GUILD_CREATE')
        .map((e) => (e.d as { id: string }).id);
    // Each shard's gateway session got its own guild only.
    expect(guildsOn(0)).toEqual([g0.id]);
    expect(guildsOn(1)).toEqual([g1.id]);

    // Shard 1: a short /say airs whole in its guild.
    const short1 = lb.command(g1, 'say', { text: 'The gate swings shut. Nobody moves.' });
    await aired(short1, apps[1]!);
    expect(audio(g1).length).toBeGreaterThan(0);

    // Shard 0: a long /say, on air.
    const long0 = lb.command(g0, 'say', { text: LONG });
    await lb.until(() => audio(g0).length >= 50, 'shard 0 on air', 60_000);
    // Join requests went out on the gateway session of each guild's shard only.
    const joinsOn = (g: LoopbackGuild) =>
      lb.gateway.received
        .filter((r) => r.op === 4 && (r.d as { guild_id?: string }).guild_id === g.id)
        .map((r) => r.shard);
    expect(new Set(joinsOn(g0))).toEqual(new Set([0]));
    expect(new Set(joinsOn(g1))).toEqual(new Set([1]));

    // SIGKILL shard 1 mid-narration of shard 0, and start it again.
    const g1Before = audio(g1).length;
    const killedAt = lb.now();
    const atKill = audio(g0).length;
    const old1 = apps[1]!;
    const exited = new Promise((r) => old1.child.once('exit', r));
    old1.child.kill('SIGKILL');
    await exited;
    const new1 = await startShard(1);
    const restartedAt = lb.now();
    const duringRestart = audio(g0).filter((p) => p.at > killedAt && p.at <= restartedAt).length;
    // Shard 0 was still on air when shard 1 came back (the narration outlasts the restart).
    expect(currentContent(long0) ?? '').not.toMatch(/✅|⚠️|⏭️|⏹️/);

    // Shard 1 plays a new /say into its guild.
    const short2 = lb.command(g1, 'say', { text: 'The bell rings again. The hall falls silent.' });
    await aired(short2, new1);
    const g1After = audio(g1).filter((p) => p.at > restartedAt).length;
    expect(g1After).toBeGreaterThan(0);
    expect(audio(g1).length).toBe(g1Before + g1After);
    expect(guildsOn(1)).toEqual([g1.id]);

    // Shard 0's narration ends aired. Its audio is the request's frames in order, none repeated,
    // on the one voice connection it opened (one join, one SSRC, RTP sequence and timestamps
    // stepping by one packet throughout): shard 1's kill and restart did not touch it.
    await aired(long0, apps[0]!);
    const requestId = listener!.startedRequests()[0]!;
    const { packets: frames, perChunk } = await listener!.requestPackets(requestId);
    const all = lb.voice.packetsOf(g0.id);
    const acc = accountFor(all, frames);
    const rtp = spurts(all.map((p) => ({ ...p, silence: false })));
    const silenceAt = all
      .slice(
        all.findIndex((p) => !p.silence),
        all.findLastIndex((p) => !p.silence) + 1,
      )
      .filter((p) => p.silence)
      .map((p) => Math.round(p.at - killedAt));
    const report = JSON.stringify({
      atKill,
      duringRestart,
      restartMs: Math.round(restartedAt - killedAt),
      packets: audio(g0).length,
      frames: frames.length,
      chunks: perChunk.length,
      leftOut: acc.leftOut,
      notReached: acc.notReached,
      silenceInsideMsAfterKill: silenceAt,
      ssrcs: new Set(all.map((p) => p.ssrc)).size,
      rtpRuns: rtp.length,
      seqJumps: rtp[0]?.seqJumps,
      timestampJumps: rtp[0]?.timestampJumps,
      maxArrivalGapMs: rtp[0]?.maxArrivalGapMs,
      loadAverage: os.loadavg()[0],
    });
    console.info('[loopback] shards', report);
    expect(duringRestart, report).toBeGreaterThan(0);
    expect(acc.ok, report).toBe(true);
    expect(acc.notReached, report).toBe(0);
    expect(joinsOn(g0), report).toHaveLength(1);
    expect(new Set(all.map((p) => p.ssrc)).size, report).toBe(1);
    expect(rtp, report).toHaveLength(1);
    expect(rtp[0]!.seqJumps, report).toBe(0);
    expect(rtp[0]!.timestampJumps, report).toBe(0);
    // A silence frame inside the request (the player found no frame ready in its 20 ms cycle)
    // and frames left out where the bot cuts a chunk in on the station clock depend on the
    // machine keeping that cycle, which the restarting process competes for on a busy machine:
    // asserted when the machine is not overloaded (as in say.test.ts), reported always.
    if (machineIsQuiet()) {
      expect(acc.silenceInside, report).toBe(0);
      expect(acc.leftOut, report).toBeLessThanOrEqual(2 * perChunk.length);
    }
  }, 240_000);
});
