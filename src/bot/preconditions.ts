import { PermissionFlagsBits } from 'discord.js';
import type { Campaign } from '../playback';
import type { Caller, Precondition } from './command';
import type { SlashInteraction } from './interaction';
import { refuse, type Refusal } from './refusals';

/** Works out who the caller is for this campaign: manager, DM, voice channel. */
export function callerOf(interaction: SlashInteraction, campaign: Campaign): Caller {
  // `has` counts Administrator as every permission.
  const isManager = interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
  const hasDmRole =
    campaign.dmRoleId !== null && (interaction.member?.roles.cache.has(campaign.dmRoleId) ?? false);
  return {
    userId: interaction.user.id,
    isManager,
    isDm: isManager || hasDmRole,
    voiceChannelId: interaction.member?.voice.channelId ?? null,
  };
}

/** What the voice preconditions need to know besides the caller. */
export interface VoiceFacts {
  /** The channel the bot is in (or joining) in this guild. */
  botChannelId: string | null;
}

/** The first failing precondition as a refusal, or null when all pass. */
export function checkPreconditions(
  required: readonly Precondition[],
  caller: Caller,
  campaign: Campaign,
  voice: VoiceFacts,
): Refusal | null {
  for (const p of required) {
    switch (p) {
      case 'dm':
        if (!caller.isDm) return refuse('not_dm', { dmRoleId: campaign.dmRoleId });
        break;
      case 'manager':
        if (!caller.isManager) return refuse('not_manager');
        break;
      case 'inVoice':
        if (!caller.voiceChannelId) return refuse('caller_not_in_voice');
        break;
      case 'voiceReachable':
        if (!voice.botChannelId && !caller.voiceChannelId && !campaign.voiceChannelId) {
          return refuse('no_voice_channel');
        }
        break;
    }
  }
  return null;
}
