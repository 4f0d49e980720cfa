import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { CastInputError, MAX_SPEAKER_NAME } from '../../cast';
import type { Command } from '../command';
import type { Choice } from '../interaction';
import { OK, refuse } from '../refusals';
import { respond } from '../replies';

/**
 * `/cast set|list|remove`: the campaign's characters and their voices. Lines
 * a character speaks (`Grimble: …` in `/say`, or the LLM's markup in
 * `/narrate`) use that voice.
 */
export const castCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('cast')
    .setDescription("The campaign's characters and their voices (DM only).")
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) =>
      s
        .setName('set')
        .setDescription('Give a character a voice (adds the character if new).')
        .addStringOption((o) =>
          o
            .setName('name')
            .setDescription('The character, as named in the text')
            .setRequired(true)
            .setAutocomplete(true)
            .setMaxLength(MAX_SPEAKER_NAME),
        )
        .addStringOption((o) =>
          o
            .setName('voice')
            .setDescription('Start typing to see voices')
            .setRequired(true)
            .setAutocomplete(true)
            .setMaxLength(100),
        ),
    )
    .addSubcommand((s) => s.setName('list').setDescription('Show the cast and their voices.'))
    .addSubcommand((s) =>
      s
        .setName('remove')
        .setDescription('Remove a character (it gets an automatic voice again if it speaks).')
        .addStringOption((o) =>
          o
            .setName('name')
            .setDescription('The character')
            .setRequired(true)
            .setAutocomplete(true)
            .setMaxLength(MAX_SPEAKER_NAME),
        ),
    ),
  requires: ['dm'],
  async execute({ interaction, deps, campaign }) {
    const cast = deps.cast;
    if (!cast) {
      await respond(interaction, '🎭 The cast is not available on this server.');
      return OK;
    }
    const sub = interaction.options.getSubcommand(true);
    if (sub === 'list') {
      const members = await cast.list(campaign.id);
      const labels = new Map((await deps.narration.voices()).map((v) => [v.id, v.label]));
      const lines = members.map(
        (m) =>
          `• **${m.name}** — ${labels.get(m.voice) ?? m.voice} (\`${m.voice}\`)${m.auto ? ' · picked automatically' : ''}`,
      );
      await respond(
        interaction,
        lines.length > 0
          ? `🎭 **Cast**\n${lines.join('\n')}`
          : '🎭 No cast yet. `/cast set` adds one, or write `Grimble: Who goes there?` in `/say`.',
      );
      return OK;
    }
    const name = (interaction.options.getString('name', true) ?? '').trim();
    if (name === '') return refuse('empty_option', { option: 'name' });
    if (sub === 'remove') {
      const removed = await cast.remove(campaign.id, name);
      await respond(
        interaction,
        removed ? `🎭 **${name}** left the cast.` : `🎭 There is no **${name}** in the cast.`,
      );
      return OK;
    }
    const voice = (interaction.options.getString('voice', true) ?? '').trim();
    try {
      const member = await cast.set(campaign.id, name, voice);
      await respond(interaction, `🎭 **${member.name}** now speaks with \`${member.voice}\`.`);
    } catch (error) {
      if (error instanceof CastInputError) {
        if (error.code === 'unknown_voice') return refuse('unknown_voice', { voice });
        await respond(interaction, `🚫 ${error.message}.`);
        return OK;
      }
      throw error;
    }
    return OK;
  },
  async autocomplete({ interaction, deps, query }) {
    const q = query.trim().toLowerCase();
    const focused = interaction.options.getFocused(true).name;
    if (focused === 'voice') {
      return (await deps.narration.voices())
        .filter((v) => v.id.toLowerCase().includes(q) || v.label.toLowerCase().includes(q))
        .map((v): Choice => ({ name: v.label.slice(0, 100), value: v.id.slice(0, 100) }))
        .slice(0, 25);
    }
    const campaign = interaction.guildId ? await deps.campaigns.findByGuild(interaction.guildId) : null;
    if (!campaign || !deps.cast) return [];
    return (await deps.cast.list(campaign.id))
      .filter((m) => m.name.toLowerCase().includes(q))
      .map((m): Choice => ({ name: `${m.name} (${m.voice})`.slice(0, 100), value: m.name }))
      .slice(0, 25);
  },
};
