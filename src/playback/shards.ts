import type { CampaignOwnership } from './recovery';

/**
 * Discord routes a guild to shard `(guild_id >> 22) % shard_count`. A process
 * running `ids` owns the campaigns of those guilds; campaigns with no guild
 * (web-only) belong to the process that runs shard 0.
 */
export function shardOwnership(ids: readonly number[], count: number): CampaignOwnership {
  const mine = new Set(ids);
  return (campaign) => {
    if (!campaign.guildId || !/^\d{1,20}$/.test(campaign.guildId)) return mine.has(0);
    return mine.has(Number((BigInt(campaign.guildId) >> 22n) % BigInt(count)));
  };
}
