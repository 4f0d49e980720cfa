import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import type { Choice } from '../interaction';
import { OK, refuse } from '../refusals';
import { deferOnce, respond } from '../replies';

/** The autocomplete value that clears the campaign's voice. */
export const DEFAULT_VOICE = 'default';

/** `/voice name`: picks the campaign's TTS voice, with autocomplete. */
export const voiceCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('voice')
    .setDescription("Pick the narrator's voice for this campaign (DM only).")
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      o
        .setName('name')
        .setDescription('Start typing to see voices')
        .setRequired(true)
        .setAutocomplete(true)
        .setMaxLength(100),
    ),
  requires: ['dm'],
  async execute({ interaction, deps, campaign }) {
    const name = (interaction.options.getString('name', true) ?? '').trim();
    await deferOnce(interaction); // the voice list and the settings write may wait
    if (name === '' || name === DEFAULT_VOICE) {
      await deps.campaigns.update(campaign.id, { ttsVoice: null });
      await respond(interaction, "🗣️ Back to the TTS engine's default voice.");
      return OK;
    }
    const voice = (await deps.narration.voices()).find((v) => v.id === name);
    if (!voice) return refuse('unknown_voice', { voice: name });
    await deps.campaigns.update(campaign.id, { ttsVoice: voice.id });
    await respond(interaction, `🗣️ Narrator voice set to **${voice.label}** (\`${voice.id}\`).`);
    return OK;
  },
  async autocomplete({ deps, query }) {
    const q = query.trim().toLowerCase();
    const voices = await deps.narration.voices();
    const matches: Choice[] = voices
      .filter((v) => v.id.toLowerCase().includes(q) || v.label.toLowerCase().includes(q))
      .sort((a, b) => Number(!a.id.toLowerCase().startsWith(q)) - Number(!b.id.toLowerCase().startsWith(q)))
      .map((v) => ({ name: `${v.label}`.slice(0, 100), value: v.id.slice(0, 100) }));
    const withDefault = DEFAULT_VOICE.includes(q)
      ? [{ name: 'Default voice', value: DEFAULT_VOICE }, ...matches]
      : matches;
    return withDefault.slice(0, 25);
  },
};
