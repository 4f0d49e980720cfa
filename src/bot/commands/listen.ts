import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK } from '../refusals';
import { respond } from '../replies';

/** `/listen`: a private link to the web player, with a signed listener token. For everyone. */
export const listenCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('listen')
    .setDescription('Get a private link to hear the narration in your browser.')
    .setContexts(InteractionContextType.Guild),
  requires: [],
  async execute({ interaction, deps, campaign }) {
    const ttlSec = Math.round(deps.tokenTtlHours * 3600);
    const now = deps.clock.now();
    const token = deps.tokens.sign(campaign.id, 'player', ttlSec, now);
    const url = `${deps.publicUrl}/listen/${encodeURIComponent(campaign.id)}?token=${encodeURIComponent(token)}`;
    const until = Math.floor(now / 1000) + ttlSec;
    await respond(
      interaction,
      `🎧 Your listener link — keep it to this table:\n${url}\nValid until <t:${until}:f>.`,
    );
    return OK;
  },
};
