import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK, refuse } from '../refusals';
import { respond } from '../replies';

/** `/leave`: the bot leaves voice; the station keeps airing for web listeners. */
export const leaveCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('leave')
    .setDescription('Make Bardcast leave the voice channel (DM only).')
    .setContexts(InteractionContextType.Guild),
  requires: ['dm'],
  publicReply: true,
  async execute({ interaction, deps, guildId }) {
    if (!deps.voice.leave(guildId, 'left')) return refuse('bot_not_in_voice');
    await respond(
      interaction,
      '👋 Left the voice channel. Web listeners (`/listen`) still hear the station.',
      true,
    );
    return OK;
  },
};
