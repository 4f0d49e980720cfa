/**
 * Voice and gateway lifecycle through the loopback Discord, one app for the
 * file: voice closes that resume or reconnect, closes that end the session
 * for good, a close that repeats on every attempt, a gateway drop, being
 * moved. "The audio goes on" = new audio frames arrive after the event.
 */
import { describe, expect, it } from 'vitest';
import { currentContent, firstCallback } from './interactions';
import type { LoopbackDiscord } from './loopback';
import type { BotApp } from './support/app';
import { useLoopbackApp } from './support/fixture';
import type { WebListener } from './support/listener';
import { VoiceOp } from './voice-server';

let loopback: LoopbackDiscord;
let app: BotApp;
let listener: WebListener;
useLoopbackApp({}, (started) => ({ loopback, app, listener } = started));

const LONG =
  'The caravan rolls on through the night under a sky full of strange stars. ' +
  'The wheels creak. The oxen snort. A guard hums an old song about the sea. ' +
  'Far away, a bell rings once. The road bends toward the hills. Nobody speaks for a long time. ' +
  'The moon rises over the ridge. An owl calls. The fire in the lantern gutters and flares.';

const guild = () => loopback.guild();
const audioCount = () => loopback.voice.packetsOf(guild().id).filter((p) => !p.silence).length;
const joins = () => loopback.voiceRequests(guild()).filter((r) => r.channelId !== null);
const logsSaying = (msg: string) => app.logs().filter((l) => l.msg === msg);

/** Puts a long narration on air (joining voice if needed) and waits for its audio. */
async function onAir(): Promise<void> {
  loopback.command(guild(), 'say', { text: LONG });
  const from = audioCount();
  await loopback.until(() => audioCount() >= from + 10, 'audio on air', 60_000);
}

/** Waits until `n` more audio frames arrived. */
async function audioGoesOn(n = 25): Promise<void> {
  const from = audioCount();
  await loopback.until(() => audioCount() >= from + n, `${n} more audio frames`, 60_000);
}

/** Ends what is on air and gets the bot back into its channel. */
async function reset(): Promise<void> {
  const stop = loopback.command(guild(), 'stop');
  await loopback.until(() => currentContent(stop), '/stop answered');
}

describe('voice lifecycle over the loopback', () => {
  it('voice close 4015 → the library resumes the voice session, no new join; the audio goes on', async () => {
    await onAir();
    const before = joins().length;
    const resumes = () => loopback.voice.received.filter((r) => r.op === VoiceOp.Resume).length;
    const r0 = resumes();
    loopback.voice.closeSession(guild().id, 4015);
    await loopback.until(() => resumes() > r0, 'a voice resume (op 7)');
    await audioGoesOn();
    expect(joins()).toHaveLength(before);
  }, 90_000);

  it('voice close 4006 (session no longer valid) → the bot joins again; the audio goes on', async () => {
    await onAir();
    const before = joins().length;
    const identifies = () => loopback.voice.received.filter((r) => r.op === VoiceOp.Identify).length;
    const i0 = identifies();
    loopback.voice.closeSession(guild().id, 4006);
    await loopback.until(() => identifies() > i0, 'a new voice identify');
    await audioGoesOn();
    expect(joins().length - before).toBeLessThanOrEqual(1);
  }, 90_000);

  it('a UDP outage of 2 s → the audio goes on after it', async () => {
    await onAir();
    await loopback.voice.dropUdp(2000);
    await audioGoesOn();
  }, 90_000);

  it('gateway drop → the shard resumes its session (op 6, RESUMED) and commands work', async () => {
    const session = loopback.gateway.session(0)!;
    const resumed = new Promise<void>((r) => loopback.gateway.once('resumed', () => r()));
    loopback.gateway.drop(0, 4000);
    await resumed;
    expect(loopback.gateway.session(0)?.id).toBe(session.id);
    const q = loopback.command(guild(), 'queue');
    await loopback.until(() => firstCallback(q), 'an answer to /queue after the resume');
    await audioGoesOn(10);
  }, 90_000);

  it('moved to another channel → follows it; the audio goes on', async () => {
    await onAir();
    const target = guild().voiceChannelIds[1];
    loopback.moveMember(guild(), loopback.bot.id, target);
    await loopback.until(
      () => loopback.voice.session(guild().id)?.grant && loopback.botChannel(guild()) === target,
      'moved',
    );
    await audioGoesOn();
    expect(loopback.botChannel(guild())).toBe(target);
    await reset();
  }, 90_000);

  it('a close that repeats on every attempt (4017) → at most 5 joins in 60 s, then one warning and the DM is told', async () => {
    // Back in the DM's channel, on air, then every voice identify is refused with 4017.
    const join = loopback.command(guild(), 'join');
    await loopback.until(
      () => /🎙️|✅|joined|Joined/.test(currentContent(join) ?? '') && loopback.voice.session(guild().id),
      '/join',
    );
    await onAir();
    const before = joins().length;
    const t0 = loopback.now();
    loopback.voice.closeOnIdentify.set(guild().id, 4017);
    loopback.voice.closeSession(guild().id, 4017);
    await loopback.until(
      () => logsSaying('voice: could not reconnect; giving up').length > 0,
      'the give-up warning',
      90_000,
    );
    loopback.voice.closeOnIdentify.delete(guild().id);
    const storm = joins().filter((j) => j.at >= t0);
    expect(storm.length).toBeLessThanOrEqual(5 + 1);
    expect(joins().length - before).toBe(storm.length);
    expect(logsSaying('voice: could not reconnect; giving up')).toHaveLength(1);
    // The web listener keeps playing: the station is unaffected.
    expect(listener.stopped().filter((s) => s.at >= t0 && s.reason !== 'played')).toEqual([]);
  }, 120_000);

  for (const code of [4014, 4021, 4022] as const) {
    it(`voice close ${code} → no further join request; the web listener keeps playing`, async () => {
      const join = loopback.command(guild(), 'join');
      await loopback.until(() => currentContent(join) && loopback.voice.session(guild().id), '/join');
      await onAir();
      const t0 = loopback.now();
      if (code === 4014) loopback.moveMember(guild(), loopback.bot.id, null);
      else loopback.voice.closeSession(guild().id, code);
      await loopback.until(
        () =>
          logsSaying('voice: Discord closed the connection for good').some((l) => l.closeCode === code) ||
          (code === 4014 && loopback.voiceRequests(guild()).some((r) => r.at >= t0)),
        'the bot to let go',
        30_000,
      );
      // Once the bot has left (op 4 with no channel), the destroyed connection can't join again:
      // any re-join (the library's at once, or a backoff step of the bot's) came before it.
      await loopback.until(
        () => loopback.voiceRequests(guild()).some((r) => r.at >= t0 && r.channelId === null),
        'the bot to leave the voice channel',
        30_000,
      );
      expect(joins().filter((j) => j.at >= t0)).toEqual([]);
      // The station goes on for the web: its next schedule reaches the listener.
      const schedules = () =>
        listener.arrivals.filter((a) => a.at >= t0 && a.msg.type === 'station_schedule').length;
      await loopback.until(() => schedules() > 0, 'a station schedule for the web listener', 30_000);
      expect(schedules()).toBeGreaterThan(0);
      await reset();
    }, 90_000);
  }

  it('/join from another channel moves the bot there without leaving first', async () => {
    const g = guild();
    const join = loopback.command(g, 'join');
    await loopback.until(
      () => currentContent(join) && loopback.botChannel(g) === g.voiceChannelIds[0],
      '/join',
    );
    await loopback.until(() => loopback.voice.session(g.id), 'the voice session');
    const t0 = loopback.now();
    loopback.moveMember(g, g.dm.id, g.voiceChannelIds[1]);
    const again = loopback.command(g, 'join');
    await loopback.until(
      () => currentContent(again) && loopback.botChannel(g) === g.voiceChannelIds[1],
      () => `the move; requests ${JSON.stringify(loopback.voiceRequests(g).filter((r) => r.at >= t0))}`,
    );
    expect(loopback.voiceRequests(g).filter((r) => r.at >= t0)).toEqual([
      expect.objectContaining({ channelId: g.voiceChannelIds[1] }),
    ]);
    loopback.moveMember(g, g.dm.id, g.voiceChannelIds[0]);
  }, 60_000);
});
