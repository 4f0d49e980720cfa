import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { runNarration } from '../narration-flow';
import { PROMPT_MAX, validateText } from '../validate';

/** `/narrate prompt`: the LLM writes the narration, the station airs it. */
export const narrateCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('narrate')
    .setDescription('Narrate a scene: an LLM writes it from your prompt, then it is read aloud (DM only).')
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      o
        .setName('prompt')
        .setDescription('What happens — e.g. "the party enters the flooded crypt"')
        .setRequired(true)
        .setMaxLength(PROMPT_MAX),
    ),
  requires: ['dm', 'voiceReachable'],
  inArrivalOrder: true,
  async execute(ctx) {
    const prompt = validateText(ctx.interaction.options.getString('prompt', true), 'prompt', PROMPT_MAX);
    if (!prompt.ok) return prompt;
    return runNarration(ctx, 'narrate', prompt.value);
  },
};
