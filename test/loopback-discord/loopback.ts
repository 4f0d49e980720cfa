import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLoopbackCertificate, type LoopbackCertificate } from './cert';
import { LoopbackGateway, type GatewaySession } from './gateway';
import type { LoopbackInteraction } from './interactions';
import {
  createGuild,
  guildCreateJson,
  memberJson,
  memberPermissions,
  shardOf,
  snowflake,
  userJson,
  voiceStateJson,
  type LoopbackGuild,
  type LoopbackUser,
} from './model';
import { createRestHandler, type RestCall } from './rest';
import { LoopbackVoice, realNow } from './voice-server';

/** Options of {@link startLoopbackDiscord}. */
export interface LoopbackOptions {
  /** Guild names; one guild each (default: one guild). */
  guilds?: string[];
  /** Shards the bot is told to run (`GET /gateway/bot`'s `shards`). */
  shardCount?: number;
}

/** A command option value. */
export type OptionValue = string | number | boolean;

/** Options of {@link LoopbackDiscord.command}. */
export interface CommandOptions {
  /** Who sends it (default: the guild's DM). */
  user?: LoopbackUser;
  /** Subcommand name, for commands that have them. */
  subcommand?: string;
  /** The interaction's creation time (its snowflake), loopback clock; default now. */
  createdAt?: number;
}

/**
 * A Discord on 127.0.0.1 for the real app: REST (`DISCORD_API_URL`), the
 * gateway whose URL `GET /gateway/bot` hands out, a TLS voice gateway and a
 * UDP voice server. Tests inject commands, move or disconnect the bot, close
 * voice sockets with any code, and read what the bot sent.
 */
export class LoopbackDiscord extends EventEmitter {
  readonly botToken = `loopback.${randomBytes(12).toString('hex')}`;
  readonly applicationId = snowflake();
  readonly bot: LoopbackUser = { id: this.applicationId, username: 'Bardcast', bot: true };
  readonly guilds: LoopbackGuild[] = [];
  readonly interactions: LoopbackInteraction[] = [];
  readonly restCalls: RestCall[] = [];
  readonly commands = new Map<string, unknown[]>();
  /** Added to the wall clock: moves Discord's deadlines (3 s callback, 15 min token) without waiting. */
  clockOffsetMs = 0;
  readonly gateway: LoopbackGateway;
  readonly voice: LoopbackVoice;
  /** When false, op 4 join requests get no answer (the bot stays "joining"). */
  answerJoins = true;
  /** Delay before answering an op 4 (a slow voice server: the bot is "joining" meanwhile). */
  joinDelayMs = 0;

  private constructor(
    private readonly http: Server,
    readonly cert: LoopbackCertificate,
    readonly shardCount: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.gateway = new LoopbackGateway(http, {
      now: () => this.now(),
      botToken: this.botToken,
      ready: (shard, count) => ({
        user: { ...userJson(this.bot), verified: true, mfa_enabled: false, flags: 0 },
        guilds: this.guildsOf(shard, count).map((g) => ({ id: g.id, unavailable: true })),
        application: { id: this.applicationId, flags: 0 },
        private_channels: [],
        user_settings: {},
        relationships: [],
        presences: [],
        guild_join_requests: [],
        geo_ordered_rtc_regions: [],
      }),
      guildCreates: (shard, count) => this.guildsOf(shard, count).map(guildCreateJson),
      voiceStateUpdate: (session, d) => {
        if (this.joinDelayMs > 0) setTimeout(() => this.#onVoiceStateUpdate(session, d), this.joinDelayMs);
        else this.#onVoiceStateUpdate(session, d);
      },
    });
    this.voice = new LoopbackVoice(cert, () => this.now());
    for (const source of [this.gateway, this.voice]) {
      for (const ev of ['received', 'packet', 'identified', 'resumed', 'ready'])
        source.on(ev, () => this.emit('change'));
    }
  }

  /** Starts REST + gateway on one port, the voice gateway (TLS) and UDP on others. */
  static async start(options: LoopbackOptions = {}): Promise<LoopbackDiscord> {
    const cert = await createLoopbackCertificate();
    const http = createServer();
    const shardCount = options.shardCount ?? 1;
    const loopback = new LoopbackDiscord(http, cert, shardCount);
    for (const name of options.guilds ?? ['Loopback Table']) loopback.addGuild(name);
    http.on(
      'request',
      createRestHandler(
        {
          now: () => loopback.now(),
          applicationId: loopback.applicationId,
          bot: loopback.bot,
          botToken: loopback.botToken,
          gatewayUrl: () => `ws://127.0.0.1:${loopback.port}`,
          shardCount,
          interactionByToken: (t) => loopback.interactions.find((i) => i.token === t),
          interactionById: (id) => loopback.interactions.find((i) => i.id === id),
          changed: () => loopback.emit('change'),
          commands: loopback.commands,
        },
        loopback.restCalls,
      ),
    );
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    await loopback.voice.listen();
    return loopback;
  }

  /** The loopback's clock: the wall clock plus {@link clockOffsetMs}. */
  now(): number {
    return realNow() + this.clockOffsetMs;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The app's `DISCORD_API_URL`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** Settings for the app child: token, API URL, the certificate to trust. */
  appEnv(): Record<string, string> {
    return {
      DISCORD_TOKEN: this.botToken,
      DISCORD_CLIENT_ID: this.applicationId,
      DISCORD_API_URL: this.apiUrl,
      NODE_EXTRA_CA_CERTS: this.cert.certFile,
    };
  }

  /** Adds a guild; its id is chosen so that it lands on shard `guilds.length % shardCount`. */
  addGuild(name: string): LoopbackGuild {
    const want = this.guilds.length % this.shardCount;
    let id = snowflake();
    while (shardOf(id, this.shardCount) !== want) id = snowflake();
    const guild = createGuild(name, this.bot, id);
    this.guilds.push(guild);
    return guild;
  }

  guildsOf(shard: number, count: number): LoopbackGuild[] {
    return this.guilds.filter((g) => shardOf(g.id, count) === shard);
  }

  guild(index = 0): LoopbackGuild {
    const g = this.guilds[index];
    if (!g) throw new Error(`no guild ${index}`);
    return g;
  }

  #sessionOf(guild: LoopbackGuild): GatewaySession {
    const session = this.gateway.session(shardOf(guild.id, this.shardCount));
    if (!session) throw new Error(`no gateway session for guild ${guild.name}`);
    return session;
  }

  /** The bot's voice channel in a guild, as the loopback sees it. */
  botChannel(guild: LoopbackGuild = this.guild()): string | null {
    return guild.voiceStates.get(this.bot.id)?.channelId ?? null;
  }

  /** Sends INTERACTION_CREATE for a slash command; returns the record its answers land in. */
  command(
    guild: LoopbackGuild,
    name: string,
    options: Record<string, OptionValue> = {},
    o: CommandOptions = {},
  ): LoopbackInteraction {
    const user = o.user ?? guild.dm;
    const createdAt = o.createdAt ?? this.now();
    const id = snowflake(createdAt);
    const token = `aW50ZXJhY3Rpb24${randomBytes(24).toString('base64url')}`;
    const typeOf = (v: OptionValue) => (typeof v === 'string' ? 3 : typeof v === 'boolean' ? 5 : 10);
    const opts = Object.entries(options).map(([n, value]) => ({ name: n, type: typeOf(value), value }));
    const data = o.subcommand
      ? { id: snowflake(), name, type: 1, options: [{ name: o.subcommand, type: 1, options: opts }] }
      : { id: snowflake(), name, type: 1, options: opts };
    const interaction: LoopbackInteraction = {
      id,
      token,
      guildId: guild.id,
      userId: user.id,
      command: name,
      options,
      createdAt,
      sentAt: this.now(),
      events: [],
    };
    this.interactions.push(interaction);
    const permissions = memberPermissions(guild, user.id).toString();
    this.gateway.dispatch(this.#sessionOf(guild), 'INTERACTION_CREATE', {
      id,
      application_id: this.applicationId,
      type: 2,
      data,
      guild_id: guild.id,
      guild: { id: guild.id, locale: 'en-US', features: [] },
      channel_id: guild.textChannelId,
      channel: { id: guild.textChannelId, type: 0, name: 'table', guild_id: guild.id, permissions },
      member: { ...memberJson(guild, user.id), permissions },
      token,
      version: 1,
      app_permissions: memberPermissions(guild, this.bot.id).toString(),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: 10_485_760,
    });
    return interaction;
  }

  /** Moves a member (the bot too) to a voice channel, or out of voice with `null`. */
  moveMember(guild: LoopbackGuild, userId: string, channelId: string | null): void {
    const old = guild.voiceStates.get(userId);
    const state = {
      userId,
      channelId,
      sessionId: old?.sessionId ?? `vs-${userId}`,
      selfDeaf: old?.selfDeaf ?? false,
      selfMute: old?.selfMute ?? false,
    };
    guild.voiceStates.set(userId, state);
    const session = this.#sessionOf(guild);
    this.gateway.dispatch(session, 'VOICE_STATE_UPDATE', voiceStateJson(guild, state));
    if (userId !== this.bot.id) return;
    if (channelId === null) {
      // Kicked from voice: Discord ends the voice session with 4014.
      this.voice.closeSession(guild.id, 4014);
    } else {
      const grant = this.voice.grant(guild.id, this.bot.id, state.sessionId);
      this.gateway.dispatch(session, 'VOICE_SERVER_UPDATE', {
        token: grant.token,
        guild_id: guild.id,
        endpoint: this.voice.endpoint,
      });
    }
  }

  /** Op 4 requests (joins and leaves) the bot sent for a guild. */
  voiceRequests(guild: LoopbackGuild = this.guild()): { at: number; channelId: string | null }[] {
    return this.gateway.received
      .filter((r) => r.op === 4 && (r.d as { guild_id?: string }).guild_id === guild.id)
      .map((r) => ({ at: r.at, channelId: (r.d as { channel_id: string | null }).channel_id }));
  }

  #onVoiceStateUpdate(session: GatewaySession, d: Record<string, unknown>): void {
    const guild = this.guilds.find((g) => g.id === d.guild_id);
    if (!guild || !this.answerJoins) return;
    const channelId = (d.channel_id as string | null) ?? null;
    const old = guild.voiceStates.get(this.bot.id);
    const state = {
      userId: this.bot.id,
      channelId,
      // Discord's voice session id is the gateway session's.
      sessionId: session.id,
      selfDeaf: Boolean(d.self_deaf),
      selfMute: Boolean(d.self_mute),
    };
    guild.voiceStates.set(this.bot.id, state);
    this.gateway.dispatch(session, 'VOICE_STATE_UPDATE', voiceStateJson(guild, state));
    if (channelId === null) {
      if (old?.channelId) this.voice.closeSession(guild.id, 4014);
      return;
    }
    const grant = this.voice.grant(guild.id, this.bot.id, session.id);
    this.gateway.dispatch(session, 'VOICE_SERVER_UPDATE', {
      token: grant.token,
      guild_id: guild.id,
      endpoint: this.voice.endpoint,
    });
  }

  /** Resolves when `predicate` holds (checked on every change); rejects after `timeoutMs` with `label`. */
  async until<T>(
    predicate: () => T | undefined | null | false,
    label: string | (() => string),
    timeoutMs = 30_000,
  ): Promise<T> {
    const first = predicate();
    if (first) return first;
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = predicate();
        if (v) {
          done();
          resolve(v);
        }
      };
      // Timers in the app (edits, station) change nothing here; poll as well as listen, cheaply.
      const poll = setInterval(check, 50);
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `loopback: timed out after ${timeoutMs} ms waiting for ${typeof label === 'string' ? label : label()}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearInterval(poll);
        clearTimeout(timer);
        this.off('change', check);
      };
      this.on('change', check);
    });
  }

  async close(): Promise<void> {
    this.gateway.close();
    this.voice.close();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
    await this.cert.dispose();
  }
}
