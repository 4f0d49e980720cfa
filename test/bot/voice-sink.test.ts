import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GuildVoiceStatus, VoiceManager } from '../../src/bot/voice';
import { silentLogger } from '../../src/log';
import { RequestStatus, type Station } from '../../src/playback';
import { useTestDatabase } from '../support/hooks';
import { startTestEngine } from '../support/engine';
import type { ControlledNarration } from './support/fake-narration';
import { FakeVoiceAdapter, type FakeResource } from './support/fake-voice';
import { AS_DM, CAMPAIGN_ID, GUILD, VOICE_CHANNEL, startHarness, type BotHarness } from './support/harness';
import { packetCount } from './support/opus';
import { advance, settle } from './support/time';

const tdb = useTestDatabase('pglite');
let h: BotHarness;
let station: Station;
let t0: number;

beforeEach(async () => {
  h = await startHarness(tdb);
  station = h.t.engine.stations.get(CAMPAIGN_ID);
  t0 = h.t.clock.now();
});
afterEach(async () => {
  await h.dispose();
});

const at = (ms: number) => `${t0 + ms}`;
const range = (tag: number, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${tag}:${from + i}`);

async function join(): Promise<void> {
  const campaign = await h.t.engine.campaigns.get(CAMPAIGN_ID);
  const result = await h.voice.join(campaign!, VOICE_CHANNEL);
  expect(result.ok).toBe(true);
}

async function say(durations: number[], complete = true): Promise<ControlledNarration> {
  await h.narration.start({ campaignId: CAMPAIGN_ID, text: 'words', mode: 'say', requestedBy: 'dm' });
  const n = h.narration.last;
  for (const d of durations) await n.addChunk(d);
  if (complete) await n.complete();
  return n;
}

function resource(i = -1): FakeResource {
  const r = h.adapter.resources.at(i);
  if (!r) throw new Error('no resource');
  return r;
}

async function tagsEventually(r: FakeResource, expected: string[]): Promise<void> {
  await vi.waitFor(async () => expect(await r.tags()).toEqual(expected), {
    timeout: 20_000, // a safety net for a busy machine, not a target: the audio is already queued
    interval: 10,
  });
}

describe('voice sink: gapless playback of a request', () => {
  it('plays a request as ONE resource holding every chunk in order, the next chunk queued before the current ends', async () => {
    await join();
    await say([1000, 1500, 700]);
    const player = h.adapter.player();
    expect(player.calls).toEqual([`${at(0)} play`]);
    // The first chunk starts two packets in (the player sends ~30 ms after the page is written),
    // the others one: the previous chunk's pre-skip and padding ran 20 ms past the station's count.
    // So every chunk leaves on the station clock.
    const expected = [
      ...range(1, 2, packetCount(1000)),
      ...range(1, 1, packetCount(1500)),
      ...range(1, 1, packetCount(700)),
    ];
    // Still inside chunk 0: chunks 1 and 2 are already in the stream the player reads.
    h.t.clock.advance(999);
    await tagsEventually(resource(), expected);
    await advance(h.t.clock, 1500 + 700 + 1, 250);
    expect(station.now()).toBeNull();
    // The station is done; the stream ends after what it holds and the player plays it out.
    await vi.waitFor(() => expect(resource().streamEnded).toBe(true), { timeout: 20_000 });
    expect(player.calls).toEqual([`${at(0)} play`]); // no Idle, no second play between chunks
    expect(h.adapter.resources).toHaveLength(1);
  });

  it('appends a chunk that arrives while the request is on air (underrun waits, no new resource)', async () => {
    await join();
    const n = await say([1000], false);
    await tagsEventually(resource(), range(1, 2, packetCount(1000))); // read from disk before time moves on
    await advance(h.t.clock, 1500, 250); // chunk 0 over; the station waits for chunk 1
    await n.addChunk(800);
    await n.complete();
    // Chunk 1 started on the station at its arrival; the player sends it 20–40 ms later, so it
    // starts 30 ms in (packet 2).
    await tagsEventually(resource(), [...range(1, 2, packetCount(1000)), ...range(1, 2, packetCount(800))]);
    expect(h.adapter.player().calls).toEqual([`${at(0)} play`]);
  });

  it('reads chunk audio ahead of time: a request queued behind another starts without a store read', async () => {
    await join();
    await say([500]);
    const get = vi.spyOn(h.t.engine.store, 'get');
    await say([500, 500]); // queued: its chunks are read now, while A plays
    await vi.waitFor(() => expect(get).toHaveBeenCalledTimes(2), { timeout: 20_000 });
    h.adapter.player().drained();
    await advance(h.t.clock, 500 + 400, 100);
    expect(station.now()?.request.text).toBe('words');
    await tagsEventually(resource(), [...range(2, 2, packetCount(500)), ...range(2, 1, packetCount(500))]);
    expect(get).toHaveBeenCalledTimes(2);
  });
});

describe('voice sink follows the station at once', () => {
  it('skip, pause, resume and stop reach the player at the same fake instant', async () => {
    await join();
    await say([3000]);
    await say([3000]);
    const player = h.adapter.player();
    h.t.clock.advance(300);
    expect((await h.run({ command: 'pause', ...AS_DM })).outcome).toBe('ok');
    h.t.clock.advance(5000);
    expect((await h.run({ command: 'resume', ...AS_DM })).outcome).toBe('ok');
    h.t.clock.advance(200);
    expect((await h.run({ command: 'skip', ...AS_DM })).outcome).toBe('ok');
    await advance(h.t.clock, 400, 100); // the gap, then the second request
    expect((await h.run({ command: 'stop', ...AS_DM })).outcome).toBe('ok');
    expect(player.calls).toEqual([
      `${at(0)} play`,
      `${at(300)} pause`,
      `${at(5300)} unpause`,
      `${at(5500)} stop force`,
      `${at(5900)} play`,
      `${at(5900)} stop force`,
    ]);
    expect(resource(0).stream.destroyed).toBe(true);
    expect(resource(1).stream.destroyed).toBe(true);
  });

  it("lets the previous request's tail finish before the next one starts, up to the drain timeout", async () => {
    await join();
    await say([500]);
    await say([500]);
    await say([3000]);
    const player = h.adapter.player();
    await advance(h.t.clock, 900, 100); // A ended at 500 on the station; B starts at 900
    expect(player.calls).toEqual([`${at(0)} play`]); // Discord still plays A's last packets
    h.t.clock.advance(30);
    player.drained();
    expect(player.calls).toEqual([`${at(0)} play`, `${at(930)} play`]);
    await advance(h.t.clock, 470 + 400 + 1000, 100); // B ends at 1400, C starts at 1800; B never drains
    expect(player.calls).toEqual([`${at(0)} play`, `${at(930)} play`, `${at(2800)} play`]);
    // C starts from its first word (only the lead, as always), a drain timeout behind the
    // station: held words are not dropped.
    await tagsEventually(resource(), range(3, 2, packetCount(3000)));
  });

  it('starts a held request from its first word even when its audio is read only after the hold', async () => {
    await join();
    await say([500]);
    await say([500]);
    // C's audio is slow to read (a busy disk): it arrives after the drain timeout released C.
    const store = h.t.engine.store;
    const read = store.get.bind(store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(store, 'get').mockImplementation(async (key) => {
      await gate;
      return read(key);
    });
    await say([3000]);
    const player = h.adapter.player();
    await advance(h.t.clock, 930, 100);
    player.drained(); // A's tail out: B plays; B's tail never drains
    await advance(h.t.clock, 470 + 400 + 1000, 100);
    expect(player.calls).toEqual([`${at(0)} play`, `${at(930)} play`, `${at(2800)} play`]);
    release();
    await tagsEventually(resource(), range(3, 2, packetCount(3000)));
  });
});

describe('voice sink: joining mid-request, idle leave, restart', () => {
  it('starts at the station position when it joins late (whole chunks skipped, the partial one cut at a packet)', async () => {
    await say([1000, 2000]);
    h.t.clock.advance(1500); // chunk 1, 500 ms in
    await join();
    // 500 ms in, and its first packet leaves ~30 ms later: 530 ms + 312 pre-skip samples = 25752
    // samples, nearest packet boundary 27.
    await tagsEventually(resource(), range(1, 27, packetCount(2000)));
  });

  it('starts a request that began during a reconnect once the connection is Ready again', async () => {
    await join();
    const conn = h.adapter.connection();
    conn.signalling(); // a blip: the library reconnects by itself
    await say([1000]);
    expect(h.adapter.player().calls).toEqual([]);
    h.t.clock.advance(400);
    conn.ready();
    // 400 ms + ~30 ms until the player sends + 312 pre-skip samples = 20952: packet 22 is nearest.
    await tagsEventually(resource(), range(1, 22, packetCount(1000)));
    expect(h.adapter.player().calls).toEqual([`${at(400)} play`]);
  });

  it('leaves after the idle timeout with nothing queued; a new request resets it', async () => {
    await join();
    await advance(h.t.clock, 300_000, 50_000);
    await say([1000]);
    await advance(h.t.clock, 1000 + 599_000, 50_000);
    expect(h.voice.statusOf(GUILD.id)).toBe(GuildVoiceStatus.Ready);
    await advance(h.t.clock, 1000, 500);
    expect(h.voice.statusOf(GUILD.id)).toBeNull();
    expect(h.adapter.connection().destroyed).toBe(true);
  });

  it("uses the campaign's idle timeout set with /campaign", async () => {
    await join();
    const { outcome } = await h.run({
      command: 'campaign',
      subcommand: 'idle-timeout',
      options: { minutes: 1 },
      ...AS_DM,
    });
    expect(outcome).toBe('ok');
    await advance(h.t.clock, 59_000, 10_000);
    expect(h.voice.size).toBe(1);
    await advance(h.t.clock, 1000, 500);
    expect(h.voice.size).toBe(0);
  });

  it('cleans up the sink when kicked: later station events never touch the old player', async () => {
    await join();
    await say([1000]);
    const player = h.adapter.player();
    h.adapter.connection().disconnect(4014);
    await advance(h.t.clock, 5000, 500);
    expect(h.voice.size).toBe(0);
    const calls = [...player.calls];
    await say([1000]);
    await advance(h.t.clock, 2000, 500);
    expect(player.calls).toEqual(calls);
    expect(h.adapter.connections).toHaveLength(1);
  });

  it('remembers the channel and rejoins it after a restart when the station still has a queue', async () => {
    await join();
    await say([1000, 1000]);
    h.t.clock.advance(1500);
    await vi.waitFor(
      async () => expect((await tdb.repository.getCampaign(CAMPAIGN_ID))?.voiceChannelId).toBe(VOICE_CHANNEL),
      { timeout: 20_000 },
    );
    await h.t.engine.repository.flush();

    // A new process: the engine recovers the on-air request; the bot comes back to the channel.
    const t2 = await startTestEngine(tdb.repository, { audioDir: h.t.audioDir });
    try {
      const adapter = new FakeVoiceAdapter(() => t2.clock.now());
      const voice = new VoiceManager({
        adapter,
        stations: t2.engine.stations,
        campaigns: t2.engine.campaigns,
        store: t2.engine.store,
        clock: t2.clock,
        log: silentLogger,
      });
      expect(await voice.restore(['some-other-guild'])).toEqual([]);
      expect(await voice.restore([GUILD.id])).toEqual([GUILD.id]);
      expect(adapter.connection().channelId).toBe(VOICE_CHANNEL);
      const recovered = t2.engine.stations.get(CAMPAIGN_ID).now();
      expect(recovered?.request.status).toBe(RequestStatus.Playing);
      // Chunk 1 was cut mid-air by the "crash": it airs again from its start.
      expect(recovered?.chunkIndex).toBe(1);
      await settle();
      await vi.waitFor(
        async () => expect(await adapter.resources[0]?.tags()).toEqual(range(1, 2, packetCount(1000))),
        { timeout: 20_000 },
      );
      voice.close();
    } finally {
      await t2.engine.stop();
    }
  });
});
