import { ChannelType, InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Campaign } from '../../playback';
import type { Command, CommandContext } from '../command';
import { OK, refuse, type CommandResult } from '../refusals';
import { deferOnce, respond } from '../replies';
import { IDLE_MINUTES_MAX, IDLE_MINUTES_MIN, validateInteger } from '../validate';

const DEFAULT_IDLE_MINUTES = 10;
const VOICE_TYPES = [ChannelType.GuildVoice, ChannelType.GuildStageVoice] as const;

/** The `/campaign show` text. */
export function describeCampaign(c: Campaign): string {
  const idle =
    c.idleTimeoutSec === null
      ? `${DEFAULT_IDLE_MINUTES} min (default)`
      : `${Math.round(c.idleTimeoutSec / 60)} min`;
  return [
    `📜 **${c.name}** (\`${c.id}\`)`,
    `DM role: ${c.dmRoleId ? `<@&${c.dmRoleId}>` : 'none — members with Manage Server act as DM'}`,
    `Voice channel: ${c.voiceChannelId ? `<#${c.voiceChannelId}>` : 'none yet — `/join` remembers one'}`,
    `Leave voice after: ${idle} with nothing queued`,
    `Narrator voice: ${c.ttsVoice ? `\`${c.ttsVoice}\`` : 'default'}`,
  ].join('\n');
}

async function save(ctx: CommandContext, patch: Partial<Campaign>, done: string): Promise<CommandResult> {
  await deferOnce(ctx.interaction); // the settings write may wait on the database
  const updated = await ctx.deps.campaigns.update(ctx.campaign.id, patch);
  ctx.deps.voice.campaignChanged(updated);
  await respond(ctx.interaction, `✅ ${done}\n\n${describeCampaign(updated)}`);
  return OK;
}

/** `/campaign`: show or change this guild's campaign settings. */
export const campaignCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('campaign')
    .setDescription("Show or change this server's campaign settings.")
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) => s.setName('show').setDescription('Show the settings'))
    .addSubcommand((s) =>
      s
        .setName('dm-role')
        .setDescription('Set the role that may narrate and control playback (Manage Server)')
        .addRoleOption((o) => o.setName('role').setDescription('Leave empty to clear')),
    )
    .addSubcommand((s) =>
      s
        .setName('voice-channel')
        .setDescription('Set the voice channel Bardcast joins by default (DM)')
        .addChannelOption((o) =>
          o
            .setName('channel')
            .setDescription('Leave empty to clear')
            .addChannelTypes(...VOICE_TYPES),
        ),
    )
    .addSubcommand((s) =>
      s
        .setName('idle-timeout')
        .setDescription('Minutes with nothing queued before Bardcast leaves voice (DM)')
        .addIntegerOption((o) =>
          o
            .setName('minutes')
            .setDescription(`${IDLE_MINUTES_MIN}–${IDLE_MINUTES_MAX}`)
            .setRequired(true)
            .setMinValue(IDLE_MINUTES_MIN)
            .setMaxValue(IDLE_MINUTES_MAX),
        ),
    ),
  requires: [],
  subcommandRequires: { 'dm-role': ['manager'], 'voice-channel': ['dm'], 'idle-timeout': ['dm'] },
  async execute(ctx) {
    const { interaction, campaign } = ctx;
    const sub = interaction.options.getSubcommand(false) ?? 'show';
    switch (sub) {
      case 'dm-role': {
        const role = interaction.options.getRole('role', false);
        return save(
          ctx,
          { dmRoleId: role?.id ?? null },
          role ? `DM role is now <@&${role.id}>.` : 'DM role cleared.',
        );
      }
      case 'voice-channel': {
        const channel = interaction.options.getChannel('channel', false);
        if (channel && !(VOICE_TYPES as readonly ChannelType[]).includes(channel.type))
          return refuse('not_a_voice_channel');
        return save(
          ctx,
          { voiceChannelId: channel?.id ?? null },
          channel ? `Default voice channel is now <#${channel.id}>.` : 'Default voice channel cleared.',
        );
      }
      case 'idle-timeout': {
        const minutes = validateInteger(
          interaction.options.getInteger('minutes', true),
          'minutes',
          IDLE_MINUTES_MIN,
          IDLE_MINUTES_MAX,
        );
        if (!minutes.ok) return minutes;
        return save(
          ctx,
          { idleTimeoutSec: minutes.value * 60 },
          `I'll leave voice after ${minutes.value} min with nothing queued.`,
        );
      }
      default:
        await respond(interaction, describeCampaign(campaign));
        return OK;
    }
  },
};
