import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK } from '../refusals';
import { respond } from '../replies';

/** `/pause`: holds the station mid-sentence; `/resume` continues from the same spot. */
export const pauseCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('pause')
    .setDescription('Pause the station (DM only).')
    .setContexts(InteractionContextType.Guild),
  requires: ['dm'],
  publicReply: true,
  async execute({ interaction, deps, campaign }) {
    const result = deps.stations.get(campaign.id).pause();
    if (!result.ok) return result;
    await respond(interaction, '⏸️ Paused. `/resume` continues.', true);
    return OK;
  },
};
