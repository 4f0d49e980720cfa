import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK } from '../refusals';
import { respond } from '../replies';

/** `/resume`: continues after `/pause`. */
export const resumeCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('resume')
    .setDescription('Resume the paused station (DM only).')
    .setContexts(InteractionContextType.Guild),
  requires: ['dm'],
  publicReply: true,
  async execute({ interaction, deps, campaign }) {
    const result = deps.stations.get(campaign.id).resume();
    if (!result.ok) return result;
    await respond(interaction, '▶️ Resumed.', true);
    return OK;
  },
};
