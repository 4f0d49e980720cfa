import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK } from '../refusals';
import { respond } from '../replies';

/** `/stop`: cancels what is on air and clears the queue. */
export const stopCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('stop')
    .setDescription('Stop the narration on air and clear the queue (DM only).')
    .setContexts(InteractionContextType.Guild),
  requires: ['dm'],
  publicReply: true,
  async execute({ interaction, deps, campaign }) {
    const result = deps.stations.get(campaign.id).stop();
    if (!result.ok) return result;
    const n = result.cancelled ?? 0;
    await respond(interaction, `⏹️ Stopped — cleared ${n} request${n === 1 ? '' : 's'}.`, true);
    return OK;
  },
};
