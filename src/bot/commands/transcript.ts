import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { sessionFileName, sessionMarkdown } from '../../transcript';
import type { Command } from '../command';
import { OK } from '../refusals';
import { deferOnce, respond } from '../replies';

/**
 * `/transcript get`: the DM gets the latest session's transcript as a
 * Markdown file, privately. `/transcript new-session [title]`: what airs
 * from now on is a new session.
 */
export const transcriptCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('transcript')
    .setDescription('What aired this session, as a file for you only (DM only).')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) =>
      s.setName('get').setDescription("Send me the latest session's transcript (Markdown)."),
    )
    .addSubcommand((s) =>
      s
        .setName('new-session')
        .setDescription('Start a new session now (otherwise a long pause starts one).')
        .addStringOption((o) =>
          o.setName('title').setDescription('e.g. "Session 12: the vault"').setMaxLength(100),
        ),
    ),
  requires: ['dm'],
  async execute({ interaction, deps, campaign }) {
    const transcript = deps.transcript;
    if (!transcript) {
      await respond(interaction, '📜 Transcripts are not available on this server.');
      return OK;
    }
    if (interaction.options.getSubcommand(true) === 'new-session') {
      const title = interaction.options.getString('title', false) ?? undefined;
      await transcript.startSession(campaign.id, title);
      await respond(
        interaction,
        `📜 New session started${title ? `: **${title.trim()}**` : ''}. What airs from now on goes in it.`,
      );
      return OK;
    }
    await deferOnce(interaction);
    const session = await transcript.session(campaign.id, 'latest');
    if (!session) {
      await respond(interaction, '📜 Nothing has aired yet, so there is no transcript.');
      return OK;
    }
    const markdown = sessionMarkdown(session, { campaignName: campaign.name });
    await interaction.editReply({
      content: `📜 Transcript of the latest session (${session.entries.length} narrations).`,
      files: [{ attachment: Buffer.from(markdown, 'utf8'), name: sessionFileName(campaign.name, session) }],
      allowedMentions: { parse: [] },
    });
    return OK;
  },
};
