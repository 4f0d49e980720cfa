import { VoiceConnectionStatus, type DiscordGatewayAdapterLibraryMethods } from '@discordjs/voice';
import { PermissionFlagsBits, type Client } from 'discord.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import {
  DiscordVoiceAdapter,
  GuildVoice,
  GuildVoiceStatus,
  type VoiceConnectionPort,
} from '../../src/bot/voice';
import { createLogger, silentLogger } from '../../src/log';
import { ManualClock } from '../support/manual-clock';

/** Just enough of a discord.js Client for the adapter: one guild with one voice channel. */
function fakeClient(options: { perms?: bigint[]; full?: boolean; voice?: boolean } = {}) {
  const sent: unknown[] = [];
  let onSend: (payload: unknown) => void = () => undefined;
  let library: DiscordGatewayAdapterLibraryMethods | null = null;
  const channel = {
    isVoiceBased: () => options.voice ?? true,
    full: options.full ?? false,
    permissionsFor: () => ({
      has: (bit: bigint) => (options.perms ?? [1024n, 1048576n, 2097152n]).includes(bit),
    }),
  };
  const guild = {
    members: { me: {} },
    channels: { cache: new Map([['vc-1', channel]]) },
    voiceAdapterCreator: (methods: DiscordGatewayAdapterLibraryMethods) => {
      library = methods;
      return {
        sendPayload: (p: unknown) => {
          sent.push(p);
          onSend(p);
          return true;
        },
        destroy: () => undefined,
      };
    },
  };
  const client = { guilds: { cache: new Map([['g1', guild]]) } } as unknown as Client;
  return {
    client,
    sent,
    library: () => library as DiscordGatewayAdapterLibraryMethods,
    onSend: (fn: (payload: unknown) => void) => (onSend = fn),
  };
}

let connection: VoiceConnectionPort | null = null;
afterEach(() => {
  if (connection && connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
  connection = null;
});

describe('DiscordVoiceAdapter (real @discordjs/voice, loopback only)', () => {
  it('checks View Channel, Connect and Speak, and a full channel, before joining', () => {
    expect(
      new DiscordVoiceAdapter(fakeClient().client, { group: 't', log: silentLogger }).check('g1', 'vc-1'),
    ).toEqual({ ok: true });
    const noSpeak = fakeClient({ perms: [PermissionFlagsBits.ViewChannel, PermissionFlagsBits.Connect] });
    expect(
      new DiscordVoiceAdapter(noSpeak.client, { group: 't', log: silentLogger }).check('g1', 'vc-1'),
    ).toEqual({
      ok: false,
      why: 'missing_permissions',
      missing: ['Speak'],
    });
    const full = new DiscordVoiceAdapter(fakeClient({ full: true }).client, {
      group: 't',
      log: silentLogger,
    });
    expect(full.check('g1', 'vc-1')).toEqual({ ok: false, why: 'channel_full' });
    const adapter = new DiscordVoiceAdapter(fakeClient({ voice: false }).client, {
      group: 't',
      log: silentLogger,
    });
    expect(adapter.check('g1', 'vc-1')).toEqual({ ok: false, why: 'channel_not_found' });
    expect(adapter.check('g2', 'vc-1')).toEqual({ ok: false, why: 'channel_not_found' });
  });

  it('joins with DAVE left on (the library default), deafened, in its own group', () => {
    const f = fakeClient();
    const port = new DiscordVoiceAdapter(f.client, { group: 'bardcast-test', log: silentLogger }).join(
      'g1',
      'vc-1',
    );
    connection = port;
    const real = (port as unknown as { connection: object }).connection;
    // Not passed at all, so @discordjs/voice applies its default: DAVE on (`daveEncryption ?? true`).
    expect(Reflect.get(real, 'options')).toHaveProperty('daveEncryption', undefined);
    expect(Reflect.get(real, 'joinConfig')).toMatchObject({
      group: 'bardcast-test',
      selfDeaf: true,
      channelId: 'vc-1',
    });
    expect(f.sent[0]).toMatchObject({ op: 4, d: { guild_id: 'g1', channel_id: 'vc-1', self_deaf: true } });
    expect(port.state.status).toBe(VoiceConnectionStatus.Signalling);
  });

  it('surfaces the voice WebSocket close code that the library handles silently', async () => {
    const f = fakeClient();
    const port = new DiscordVoiceAdapter(f.client, { group: 'bardcast-test-2', log: silentLogger }).join(
      'g1',
      'vc-1',
    );
    connection = port;
    const codes: number[] = [];
    const states: string[] = [];
    port.on('networkClose', (code) => codes.push(code));
    port.on('stateChange', (_o, n) => states.push(n.status));
    f.library().onVoiceStateUpdate({
      session_id: 's',
      channel_id: 'vc-2',
      user_id: 'u',
      guild_id: 'g1',
    } as never);
    // Nothing listens on 127.0.0.1:1, so the voice WebSocket closes at once.
    f.library().onVoiceServerUpdate({ token: 't', guild_id: 'g1', endpoint: '127.0.0.1:1' });
    const real = (port as unknown as { connection: { state: { networking?: object } } }).connection;
    // The voice session it opens negotiates DAVE.
    expect(Reflect.get(real.state.networking ?? {}, 'options')).toMatchObject({ daveEncryption: true });
    await vi.waitFor(() => expect(codes).toHaveLength(1), { timeout: 5000 });
    expect(states.slice(0, 2)).toEqual([VoiceConnectionStatus.Connecting, VoiceConnectionStatus.Signalling]);
    expect(port.channelId).toBe('vc-2'); // the state update's channel (a drag) is what the port reports
  });

  it('creates a player that keeps reading with no connection and never gives up on missed frames', () => {
    const adapter = new DiscordVoiceAdapter(fakeClient().client, { group: 't', log: silentLogger });
    const player = adapter.createPlayer() as unknown as { player: { behaviors: object } };
    expect(player.player.behaviors).toEqual({
      noSubscriber: 'play',
      maxMissedFrames: Number.POSITIVE_INFINITY,
    });
  });
});

describe('GuildVoice on the real @discordjs/voice connection', () => {
  /** Gateway payloads as `join <channel>` / `leave`. */
  const ops = (sent: unknown[]) =>
    sent.map((p) => {
      const d = (p as { d: { channel_id: string | null } }).d;
      return d.channel_id ? `join ${d.channel_id}` : 'leave';
    });

  function openReal(group: string) {
    const f = fakeClient();
    const clock = new ManualClock();
    const lines: { level: number; msg: string }[] = [];
    const log = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
          cb();
        },
      }),
    });
    const adapter = new DiscordVoiceAdapter(f.client, { group, log });
    let port: VoiceConnectionPort | null = null;
    const join = adapter.join.bind(adapter);
    adapter.join = (g, c) => (port = join(g, c));
    const voice = new GuildVoice({ guildId: 'g1', channelId: 'vc-1', adapter, clock, log });
    const library = () =>
      (port as unknown as { connection: { state: { networking?: EventEmitter } } }).connection;
    return { f, clock, voice, lines, library };
  }

  /** What Discord answers to a join: the bot's voice state, then a voice server (nothing listens there). */
  function answerJoin(f: ReturnType<typeof fakeClient>): void {
    f.library().onVoiceStateUpdate({
      session_id: 's',
      channel_id: 'vc-1',
      user_id: 'u',
      guild_id: 'g1',
    } as never);
    f.library().onVoiceServerUpdate({ token: 't', guild_id: 'g1', endpoint: '127.0.0.1:1' });
  }

  it.each([4021, 4022])('on %i sends the leave and no join of its own first', (code) => {
    const { f, voice, library } = openReal(`bardcast-close-${code}`);
    answerJoin(f);
    // What Networking does when the voice WebSocket closes with that code.
    library().state.networking?.emit('close', code);
    expect(ops(f.sent)).toEqual(['join vc-1', 'leave']);
    expect(voice.state).toMatchObject({ status: GuildVoiceStatus.Destroyed, closeCode: code });
  });

  it('a close that repeats on every attempt: at most 5 rejoins in 60 s with backoff, then one warn and it gives up', async () => {
    const { f, clock, voice, lines } = openReal('bardcast-storm');
    // Every join is answered; every voice session then fails (nothing listens on 127.0.0.1:1).
    let answered = 0;
    f.onSend((p) => {
      if (ops([p])[0] !== 'leave' && answered++ < 60) setImmediate(() => answerJoin(f));
    });
    answerJoin(f);
    const start = clock.now();
    // The real sockets fail in real time, the backoff runs on the manual clock: move it on
    // while waiting; how far it gets per real millisecond doesn't matter (a safety net only).
    const deadline = Date.now() + 60_000;
    while (voice.state.status !== GuildVoiceStatus.Destroyed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      clock.advance(250);
    }
    const joins = ops(f.sent).filter((o) => o.startsWith('join'));
    console.info(
      `[storm] ${joins.length - 1} rejoins after the first join, gave up after ${clock.now() - start} ms of backoff`,
    );
    expect(joins.length - 1).toBeLessThanOrEqual(5);
    expect(voice.state).toMatchObject({ status: GuildVoiceStatus.Destroyed, reason: 'reconnect_failed' });
    expect(ops(f.sent).at(-1)).toBe('leave');
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'voice: could not reconnect; giving up',
    ]);
  });
});
