import type { Campaign, CampaignDirectory } from '../playback';

/** The campaign id the bot gives a guild's campaign when it creates one. */
export function guildCampaignId(guildId: string): string {
  return `g${guildId}`;
}

/**
 * The guild's campaign: the one already linked to the guild (made by the bot
 * or the web companion), else a new one named after the guild.
 */
export async function resolveCampaign(
  campaigns: CampaignDirectory,
  guild: { id: string; name: string },
): Promise<Campaign> {
  return (
    (await campaigns.findByGuild(guild.id)) ??
    (await campaigns.ensure(guildCampaignId(guild.id), { guildId: guild.id, name: guild.name }))
  );
}
