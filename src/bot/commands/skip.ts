import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK } from '../refusals';
import { respond } from '../replies';

/** `/skip`: cancels what is on air; the next request follows. */
export const skipCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('skip')
    .setDescription('Skip the narration on air (DM only).')
    .setContexts(InteractionContextType.Guild),
  requires: ['dm'],
  publicReply: true,
  async execute({ interaction, deps, campaign }) {
    const result = deps.stations.get(campaign.id).skip();
    if (!result.ok) return result;
    await respond(interaction, '⏭️ Skipped.', true);
    return OK;
  },
};
