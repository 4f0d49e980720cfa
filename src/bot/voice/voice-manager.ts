import { EventEmitter } from 'node:events';
import type { Clock } from '../../clock';
import type { Logger } from '../../log';
import type { AudioStore, Campaign, CampaignDirectory, StationRegistry } from '../../playback';
import type { JoinFailure } from '../refusals';
import type { VoiceAdapter } from './adapter';
import { GuildVoice, GuildVoiceStatus, type GuildVoiceTiming, type LeaveReason } from './guild-voice';
import { StationSink } from './station-sink';

/** Options for {@link VoiceManager}. */
export interface VoiceManagerOptions {
  adapter: VoiceAdapter;
  stations: StationRegistry;
  campaigns: CampaignDirectory;
  store: AudioStore;
  clock: Clock;
  log: Logger;
  timing?: Partial<GuildVoiceTiming>;
  /** Idle timeout when the campaign has none (default 600 s). */
  defaultIdleTimeoutSec?: number;
  /** Longest wait for a request's tail before the next request cuts in (default 1 s). */
  drainTimeoutMs?: number;
}

/** The answer to {@link VoiceManager.join}. */
export type JoinResult =
  { ok: true; channelId: string; already: boolean } | { ok: false; why: JoinFailure; missing?: string[] };

/** Events of a {@link VoiceManager}. */
export interface VoiceManagerEvents {
  /** The bot left a guild's voice channel (any reason: `/leave`, idle, kicked, gave up…). */
  left: [event: { guildId: string; reason: LeaveReason; closeCode?: number }];
}

/** One guild's voice presence: the connection and the sink feeding it. */
interface VoiceSession {
  campaign: Campaign;
  voice: GuildVoice;
  sink: StationSink;
}

/**
 * Every guild's voice presence for one bot instance (one shard): at most one
 * connection and one player per guild. Holds no module globals, so each shard
 * process has its own.
 */
export class VoiceManager extends EventEmitter<VoiceManagerEvents> {
  readonly #o: VoiceManagerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, VoiceSession>();
  #closing = false;

  constructor(options: VoiceManagerOptions) {
    super();
    this.#o = options;
    this.#log = options.log.child({ module: 'voice' });
  }

  /**
   * Joins (or moves to) `channelId` for the campaign's guild and waits until
   * audio flows. Remembers the channel in the campaign for restarts.
   */
  async join(campaign: Campaign, channelId: string): Promise<JoinResult> {
    if (this.#closing) return { ok: false, why: 'closing' };
    const guildId = requireGuild(campaign);
    const existing = this.#sessions.get(guildId);
    if (existing && existing.voice.channelId === channelId) {
      existing.campaign = campaign;
      const ready = await existing.voice.waitReady();
      return ready ? { ok: true, channelId, already: true } : { ok: false, why: 'timeout' };
    }
    const check = this.#o.adapter.check(guildId, channelId);
    if (!check.ok)
      return check.why === 'missing_permissions'
        ? { ok: false, why: check.why, missing: check.missing }
        : { ok: false, why: check.why };
    if (existing) {
      // Move without leaving first: the same connection rejoins in the new channel.
      existing.campaign = campaign;
      if (existing.voice.move(channelId)) {
        const ready = await existing.voice.waitReady();
        if (!ready) return { ok: false, why: 'timeout' };
        return { ok: true, channelId: existing.voice.channelId ?? channelId, already: false };
      }
      existing.voice.destroy('moved');
    }
    const session = this.#open(campaign, channelId);
    const ready = await session.voice.waitReady();
    if (!ready) return { ok: false, why: 'timeout' };
    return { ok: true, channelId: session.voice.channelId ?? channelId, already: false };
  }

  /** Leaves the guild's channel; false when not in one. */
  leave(guildId: string, reason: LeaveReason = 'left'): boolean {
    const session = this.#sessions.get(guildId);
    if (!session) return false;
    session.voice.destroy(reason);
    return true;
  }

  /** The channel the bot is in (or joining) in `guildId`. */
  channelOf(guildId: string): string | null {
    return this.#sessions.get(guildId)?.voice.channelId ?? null;
  }

  /** The guild's voice status, or null when not in voice. */
  statusOf(guildId: string): GuildVoiceStatus | null {
    return this.#sessions.get(guildId)?.voice.state.status ?? null;
  }

  /** The campaign's settings changed (idle timeout): the sink re-arms its timer. */
  campaignChanged(campaign: Campaign): void {
    const session = campaign.guildId ? this.#sessions.get(campaign.guildId) : undefined;
    if (!session || session.campaign.id !== campaign.id) return;
    session.campaign = campaign;
    session.sink.settingsChanged();
  }

  /**
   * After a restart: rejoins the remembered channel of every campaign in
   * `guildIds` (this shard's guilds) whose station still has a queue.
   * Returns the guild ids it rejoined.
   */
  async restore(guildIds: Iterable<string>): Promise<string[]> {
    const mine = new Set(guildIds);
    const campaigns = await this.#o.campaigns.list();
    const due = campaigns.filter(
      (c) =>
        c.guildId !== null &&
        mine.has(c.guildId) &&
        c.voiceChannelId !== null &&
        (this.#o.stations.peek(c.id)?.queue().length ?? 0) > 0,
    );
    const results = await Promise.all(
      due.map(async (c) => ({ c, result: await this.join(c, c.voiceChannelId as string) })),
    );
    const rejoined: string[] = [];
    for (const { c, result } of results) {
      if (result.ok) rejoined.push(c.guildId as string);
      else
        this.#log.warn(
          { guild: c.guildId, campaign: c.id, why: result.why },
          'voice: could not rejoin after restart',
        );
    }
    if (due.length > 0)
      this.#log.info({ rejoined: rejoined.length, due: due.length }, 'voice: rejoined after restart');
    return rejoined;
  }

  /** Number of guilds with a voice presence. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Stops accepting joins and leaves every channel. */
  close(): void {
    this.#closing = true;
    for (const session of [...this.#sessions.values()]) session.voice.destroy('shutdown');
  }

  #open(campaign: Campaign, channelId: string): VoiceSession {
    const guildId = requireGuild(campaign);
    const o = this.#o;
    const voice = new GuildVoice({
      guildId,
      channelId,
      adapter: o.adapter,
      clock: o.clock,
      log: this.#log,
      ...(o.timing ? { timing: o.timing } : {}),
    });
    const session: VoiceSession = {
      campaign,
      voice,
      sink: new StationSink({
        station: o.stations.get(campaign.id),
        player: voice.player,
        createResource: (stream) => o.adapter.createResource(stream),
        store: o.store,
        clock: o.clock,
        log: this.#log,
        isConnected: () => voice.ready,
        idleTimeoutMs: () => (session.campaign.idleTimeoutSec ?? o.defaultIdleTimeoutSec ?? 600) * 1000,
        onIdle: () => {
          this.#log.info({ guild: guildId }, 'voice: idle timeout; leaving');
          voice.destroy('idle');
        },
        ...(o.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: o.drainTimeoutMs }),
      }),
    };
    this.#sessions.set(guildId, session);
    session.sink.start();
    voice.on('stateChange', (_old, next) => {
      if (next.status === GuildVoiceStatus.Ready) this.#onReady(session, next.channelId);
      else if (next.status === GuildVoiceStatus.Destroyed) {
        session.sink.dispose();
        if (this.#sessions.get(guildId) === session) this.#sessions.delete(guildId);
        this.#log.info(
          { guild: guildId, reason: next.reason, closeCode: next.closeCode },
          'voice: left channel',
        );
        this.emit('left', {
          guildId,
          reason: next.reason,
          ...(next.closeCode === undefined ? {} : { closeCode: next.closeCode }),
        });
      }
    });
    if (voice.state.status === GuildVoiceStatus.Ready) this.#onReady(session, voice.state.channelId);
    return session;
  }

  #onReady(session: VoiceSession, channelId: string): void {
    session.sink.voiceReady();
    if (session.campaign.voiceChannelId === channelId) return;
    // Remember the channel (joined, or dragged there) so a restart comes back to it.
    session.campaign = { ...session.campaign, voiceChannelId: channelId };
    this.#o.campaigns.update(session.campaign.id, { voiceChannelId: channelId }).then(
      (updated) => {
        if (this.#sessions.get(updated.guildId ?? '') === session) session.campaign = updated;
      },
      (err: unknown) =>
        this.#log.warn({ err, campaign: session.campaign.id }, 'voice: could not save the channel'),
    );
  }
}

function requireGuild(campaign: Campaign): string {
  if (!campaign.guildId) throw new Error(`campaign ${campaign.id} has no guild`);
  return campaign.guildId;
}
