import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { runNarration } from '../narration-flow';
import { SAY_MAX, validateText } from '../validate';

/** `/say text`: reads the text aloud exactly as written. */
export const sayCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('say')
    .setDescription('Read text aloud exactly as written (DM only).')
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      o.setName('text').setDescription('The words to speak').setRequired(true).setMaxLength(SAY_MAX),
    ),
  requires: ['dm', 'voiceReachable'],
  inArrivalOrder: true,
  async execute(ctx) {
    const text = validateText(ctx.interaction.options.getString('text', true), 'text', SAY_MAX);
    if (!text.ok) return text;
    return runNarration(ctx, 'say', text.value);
  },
};
