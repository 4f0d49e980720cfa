import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { RecapError } from '../../transcript';
import type { Command } from '../command';
import { OK } from '../refusals';
import { clamp, deferOnce, respond } from '../replies';
import { SAY_MAX, validateText } from '../validate';

/**
 * `/recap write|air|drop`: the LLM drafts a "previously on…" from the last
 * session; the DM reads it first, then airs it as is (or an edited text),
 * or drops it.
 */
export const recapCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('recap')
    .setDescription('A "previously on…" recap of the last session (DM only).')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) =>
      s.setName('write').setDescription('Draft a recap; only you see it until you air it.'),
    )
    .addSubcommand((s) =>
      s
        .setName('air')
        .setDescription('Air the draft, or your edited text.')
        .addStringOption((o) =>
          o
            .setName('text')
            .setDescription('Your edited recap (leave empty to air the draft)')
            .setMaxLength(SAY_MAX),
        ),
    )
    .addSubcommand((s) => s.setName('drop').setDescription('Throw the draft away.')),
  requires: ['dm'],
  subcommandRequires: { air: ['voiceReachable'] },
  async execute({ interaction, deps, campaign, caller }) {
    const recap = deps.recap;
    if (!recap) {
      await respond(interaction, '📜 Recaps are not available on this server.');
      return OK;
    }
    const sub = interaction.options.getSubcommand(true);
    if (sub === 'drop') {
      await respond(interaction, recap.drop(campaign.id) ? '🗑️ Recap dropped.' : 'There is no recap draft.');
      return OK;
    }
    await deferOnce(interaction);
    if (sub === 'air') {
      const raw = interaction.options.getString('text', false);
      const edited = raw === null || raw.trim() === '' ? null : validateText(raw, 'text', SAY_MAX);
      if (edited && !edited.ok) return edited;
      try {
        await recap.air(campaign.id, caller.userId, edited?.value);
      } catch (error) {
        if (error instanceof RecapError) {
          await respond(interaction, `🚫 ${error.message}.`);
          return OK;
        }
        throw error;
      }
      await respond(interaction, '📣 Recap queued.');
      return OK;
    }
    const draft = await recap.draft(campaign.id);
    if (draft.kind === 'no_llm') {
      await respond(
        interaction,
        'ℹ️ No LLM is configured, so I can’t write a recap. `/transcript get` sends you the last session to recap yourself (then `/say` it).',
      );
    } else if (draft.kind === 'empty') {
      await respond(interaction, '📜 Nothing has aired yet, so there is nothing to recap.');
    } else {
      await respond(
        interaction,
        clamp(`📜 **Recap draft** (only you see this):\n>>> ${draft.text}\n\n`, 1700) +
          '`/recap air` airs it as is, `/recap air text:…` airs your edit, `/recap drop` throws it away.',
      );
    }
    return OK;
  },
};
