import { VoiceConnectionStatus } from '@discordjs/voice';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  GuildVoice,
  GuildVoiceStatus,
  StateWaitError,
  entersState,
  type GuildVoiceState,
} from '../../src/bot/voice';
import { silentLogger } from '../../src/log';
import { ManualClock } from '../support/manual-clock';
import { FakeVoiceAdapter, type FakeConnection } from './support/fake-voice';
import { advance, settle } from './support/time';

let clock: ManualClock;
let adapter: FakeVoiceAdapter;
let states: string[];

function open(timing = {}): { voice: GuildVoice; conn: FakeConnection } {
  const voice = new GuildVoice({
    guildId: 'g1',
    channelId: 'vc-1',
    adapter,
    clock,
    log: silentLogger,
    timing,
  });
  const start = clock.now();
  voice.on('stateChange', (_o, n: GuildVoiceState) => {
    const extra =
      n.status === GuildVoiceStatus.Reconnecting
        ? ` #${n.attempt}`
        : n.status === GuildVoiceStatus.Destroyed
          ? ` ${n.reason}`
          : n.status === GuildVoiceStatus.Ready
            ? ` ${n.channelId}`
            : '';
    states.push(`${clock.now() - start} ${n.status}${extra}`);
  });
  return { voice, conn: adapter.connection() };
}

beforeEach(() => {
  clock = new ManualClock();
  adapter = new FakeVoiceAdapter(() => clock.now());
  adapter.autoReady = false;
  states = [];
});

describe('entersState on a manual clock', () => {
  it('resolves when the state arrives, rejects on timeout or on a failing state', async () => {
    const { conn } = open();
    const ok = entersState(conn, VoiceConnectionStatus.Ready, 1000, clock);
    conn.ready();
    await expect(ok).resolves.toBeUndefined();
    const late = entersState(conn, VoiceConnectionStatus.Signalling, 1000, clock);
    clock.advance(1000);
    await expect(late).rejects.toMatchObject({ timedOut: true });
    const failing = entersState(conn, VoiceConnectionStatus.Signalling, 1000, clock, [
      VoiceConnectionStatus.Destroyed,
    ]);
    conn.destroy();
    await expect(failing).rejects.toBeInstanceOf(StateWaitError);
    expect(clock.pending).toBe(0);
  });
});

describe('GuildVoice lifecycle', () => {
  it('subscribes its one player to the connection and is Ready when the connection is', async () => {
    const { voice, conn } = open();
    expect(conn.subscribed).toBe(voice.player);
    const ready = voice.waitReady();
    conn.ready();
    await expect(ready).resolves.toBe(true);
    expect(states).toEqual(['0 ready vc-1']);
  });

  it('gives up a first join that does not become Ready in time', async () => {
    const { voice, conn } = open({ joinTimeoutMs: 3000 });
    const ready = voice.waitReady();
    clock.advance(3000);
    await expect(ready).resolves.toBe(false);
    expect(voice.state).toMatchObject({ status: GuildVoiceStatus.Destroyed, reason: 'join_timeout' });
    expect(conn.destroyed).toBe(true);
  });

  it('treats Disconnected followed by Signalling within 5 s as a move: no rejoin, new channel remembered', async () => {
    const { voice, conn } = open();
    conn.ready();
    conn.disconnect(4014); // Discord closes the old session when the bot is dragged
    await settle();
    clock.advance(1200);
    conn.signalling();
    conn.ready('vc-2');
    await settle();
    expect(conn.rejoins).toBe(0);
    expect(voice.state).toEqual({ status: GuildVoiceStatus.Ready, channelId: 'vc-2' });
    expect(states).toEqual(['0 ready vc-1', '0 reconnecting #0', '1200 ready vc-2']);
  });

  it('rejoins after a real drop with backoff and recovers', async () => {
    const { voice, conn } = open();
    conn.ready();
    conn.onRejoin = (c) => clock.setTimeout(() => c.ready(), 300);
    conn.disconnect(4006);
    await advance(clock, 5000 + 1000 + 300);
    expect(conn.rejoins).toBe(1);
    expect(voice.ready).toBe(true);
    expect(states).toEqual(['0 ready vc-1', '0 reconnecting #0', '5000 reconnecting #1', '6300 ready vc-1']);
  });

  it('gives up after the bounded number of rejoins and cleans up', async () => {
    const { voice, conn } = open({ maxRejoinAttempts: 3, readyTimeoutMs: 2000 });
    conn.ready();
    conn.disconnect(); // adapter unavailable; every rejoin goes nowhere
    await advance(clock, 5000 + (1000 + 2000) + (2000 + 2000) + (4000 + 2000) + 100);
    expect(conn.rejoins).toBe(3);
    expect(voice.state).toMatchObject({ status: GuildVoiceStatus.Destroyed, reason: 'reconnect_failed' });
    expect(conn.destroyed).toBe(true);
    expect(adapter.player().calls.at(-1)).toMatch(/stop force$/);
    expect(states.slice(1)).toEqual([
      '0 reconnecting #0',
      '5000 reconnecting #1',
      '8000 reconnecting #2',
      '12000 reconnecting #3',
      '18000 destroyed reconnect_failed',
    ]);
  });

  it('does not reconnect after 4014 (kicked or channel deleted) once no move follows', async () => {
    const { voice, conn } = open();
    conn.ready();
    conn.disconnect(4014);
    await advance(clock, 5000);
    expect(conn.rejoins).toBe(0);
    expect(voice.state).toEqual({ status: GuildVoiceStatus.Destroyed, reason: 'kicked', closeCode: 4014 });
    expect(conn.destroyed).toBe(true);
  });

  it.each([
    [4021, 'rate_limited'],
    [4022, 'channel_gone'],
  ])('gives up at once on close code %i (%s), although the library would retry', async (code, reason) => {
    const { voice, conn } = open();
    conn.ready();
    conn.networkClose(code); // we hear it before the library, which would rejoin at once
    await settle();
    expect(voice.state).toEqual({ status: GuildVoiceStatus.Destroyed, reason, closeCode: code });
    expect(conn.destroyed).toBe(true);
    expect(conn.payloads).toEqual(['join vc-1', 'leave']); // the leave, and no join before it
    expect(conn.rejoins).toBe(0);
    await advance(clock, 60_000, 5000);
    expect(conn.rejoins).toBe(0);
  });

  it('lets the library rejoin at once after a first close (a blip heals fastest), with no backoff', async () => {
    const { voice, conn } = open();
    conn.ready();
    conn.onRejoin = (c) => clock.setTimeout(() => c.ready(), 150);
    conn.networkClose(4006);
    await advance(clock, 200, 50);
    expect(conn.autoRejoins).toBe(1);
    expect(conn.rejoins).toBe(0);
    expect(voice.ready).toBe(true);
  });

  it('a close that repeats on every attempt (4017): at most 5 joins in 60 s with backoff, then gives up', async () => {
    const { voice, conn } = open();
    conn.ready();
    // Discord answers each join, and the voice server closes the session again 100 ms later.
    conn.onRejoin = (c) => clock.setTimeout(() => c.networkClose(4017), 100);
    conn.networkClose(4017);
    await advance(clock, 60_000, 100);
    const joins = conn.payloads.filter((p) => p.startsWith('join')).length - 1;
    expect(joins).toBeLessThanOrEqual(5);
    expect(joins).toBe(conn.autoRejoins + conn.rejoins);
    expect(voice.state).toEqual({
      status: GuildVoiceStatus.Destroyed,
      reason: 'reconnect_failed',
      closeCode: 4017,
    });
    expect(conn.payloads.at(-1)).toBe('leave');
    // Backed off: the library's immediate join, then rejoins #2…#5 after 2, 4, 8 and 16 s.
    expect(states.filter((s) => s.includes('reconnecting #')).map((s) => s.split(' ')[2])).toEqual([
      '#0',
      '#0',
      '#2',
      '#3',
      '#4',
      '#5',
    ]);
  });

  it('moves to another channel without leaving first (rejoin), and follows a drag', async () => {
    const { voice, conn } = open();
    conn.ready();
    expect(voice.move('vc-2')).toBe(true);
    expect(voice.state).toEqual({ status: GuildVoiceStatus.Ready, channelId: 'vc-2' });
    conn.signalling(); // Discord's new voice server for that channel
    conn.ready('vc-2');
    expect(conn.payloads).toEqual(['join vc-1', 'join vc-2']);
    expect(voice.state).toEqual({ status: GuildVoiceStatus.Ready, channelId: 'vc-2' });
    // Someone drags the bot to vc-3: the library reconnects there by itself.
    conn.signalling();
    conn.ready('vc-3');
    expect(voice.state).toEqual({ status: GuildVoiceStatus.Ready, channelId: 'vc-3' });
    expect(conn.destroyed).toBe(false);
  });

  it("rejoins with backoff when the library's own rejoin is never answered", async () => {
    const { voice, conn } = open({ readyTimeoutMs: 5000 });
    conn.ready();
    conn.networkClose(4006); // the library sends its join; Discord never answers
    await advance(clock, 5000 + 2000 + 50, 50);
    expect(conn.autoRejoins).toBe(1);
    expect(conn.rejoins).toBe(1); // the watchdog's rejoin, after the backoff for attempt 2
    conn.ready();
    expect(voice.ready).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('follows a connection destroyed from outside', () => {
    const { voice, conn } = open();
    conn.ready();
    conn.destroy();
    expect(voice.state).toMatchObject({ status: GuildVoiceStatus.Destroyed, reason: 'connection_destroyed' });
  });
});
