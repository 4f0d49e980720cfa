import type { PlaybackRepository } from './repository';
import type { Campaign } from './types';

/** Settings a DM may change. */
export type CampaignSettings = Partial<Omit<Campaign, 'id'>>;

/**
 * Campaigns with a write-through cache: reads are answered from memory after
 * the first load, so a database outage doesn't stop a running table.
 */
export class CampaignDirectory {
  readonly #cache = new Map<string, Campaign>();

  constructor(private readonly repository: PlaybackRepository) {}

  async get(id: string): Promise<Campaign | null> {
    const hit = this.#cache.get(id);
    if (hit) return hit;
    const row = await this.repository.getCampaign(id);
    if (row) this.#cache.set(id, row);
    return row;
  }

  /**
   * Returns the campaign, creating it with `defaults` if it doesn't exist. A
   * campaign first opened without a guild (a listener link used before the
   * bot ever saw the server) is linked to `defaults.guildId` on the bot's
   * first use, so Discord commands find their guild.
   */
  async ensure(id: string, defaults: CampaignSettings = {}): Promise<Campaign> {
    const existing = await this.get(id).catch(() => this.#cache.get(id) ?? null);
    if (existing) {
      if (!defaults.guildId || existing.guildId !== null) return existing;
      const named = existing.name === id && defaults.name ? { name: defaults.name } : {};
      return this.update(id, { guildId: defaults.guildId, ...named });
    }
    const campaign: Campaign = {
      id,
      name: defaults.name ?? id,
      guildId: defaults.guildId ?? null,
      voiceChannelId: defaults.voiceChannelId ?? null,
      textChannelId: defaults.textChannelId ?? null,
      dmRoleId: defaults.dmRoleId ?? null,
      ttsVoice: defaults.ttsVoice ?? null,
      idleTimeoutSec: defaults.idleTimeoutSec ?? null,
    };
    await this.repository.apply({ op: 'upsertCampaign', campaign });
    this.#cache.set(id, campaign);
    return campaign;
  }

  /** Changes settings of an existing campaign. */
  async update(id: string, settings: CampaignSettings): Promise<Campaign> {
    const current = await this.ensure(id);
    const next: Campaign = { ...current, ...settings, id };
    await this.repository.apply({ op: 'upsertCampaign', campaign: next });
    this.#cache.set(id, next);
    return next;
  }

  async findByGuild(guildId: string): Promise<Campaign | null> {
    for (const c of this.#cache.values()) if (c.guildId === guildId) return c;
    const row = await this.repository.findCampaignByGuild(guildId);
    if (row) this.#cache.set(row.id, row);
    return row;
  }

  list(): Promise<Campaign[]> {
    return this.repository.listCampaigns();
  }
}
