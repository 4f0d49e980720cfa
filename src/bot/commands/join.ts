import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../command';
import { OK, refuse } from '../refusals';
import { deferOnce, respond } from '../replies';

/** `/join`: the bot joins the caller's voice channel (and remembers it for restarts). */
export const joinCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('join')
    .setDescription('Bring Bardcast into your voice channel (DM only).')
    .setContexts(InteractionContextType.Guild),
  requires: ['dm', 'inVoice'],
  async execute({ interaction, deps, campaign, caller }) {
    const channelId = caller.voiceChannelId as string; // the `inVoice` precondition holds
    await deferOnce(interaction); // a refusal edits it: keep it private
    const result = await deps.voice.join(campaign, channelId);
    if (!result.ok) {
      return refuse('join_failed', {
        why: result.why,
        ...(result.missing ? { missing: result.missing } : {}),
      });
    }
    await respond(
      interaction,
      result.already
        ? `🎙️ Already in <#${result.channelId}>.`
        : `🎙️ Joined <#${result.channelId}> — on air here.`,
    );
    return OK;
  },
};
