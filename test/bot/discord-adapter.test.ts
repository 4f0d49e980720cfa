import { VoiceConnectionStatus, type DiscordGatewayAdapterLibraryMethods } from '@discordjs/voice';
import { PermissionFlagsBits, type Client } from 'discord.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiscordVoiceAdapter, type VoiceConnectionPort } from '../../src/bot/voice';
import { silentLogger } from '../../src/log';

/** Just enough of a discord.js Client for the adapter: one guild with one voice channel. */
function fakeClient(options: { perms?: bigint[]; full?: boolean; voice?: boolean } = {}) {
  const sent: unknown[] = [];
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
      return { sendPayload: (p: unknown) => (sent.push(p), true), destroy: () => undefined };
    },
  };
  const client = { guilds: { cache: new Map([['g1', guild]]) } } as unknown as Client;
  return { client, sent, library: () => library as DiscordGatewayAdapterLibraryMethods };
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
