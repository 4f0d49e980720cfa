import type { BotDeps, CommandContext } from './command';
import { resolveCampaign } from './campaign';
import type { AutocompleteView, SlashInteraction } from './interaction';
import { callerOf, checkPreconditions } from './preconditions';
import { refuse, type RefusalReason } from './refusals';
import type { CommandRegistry } from './registry';
import { apologize, sendRefusal } from './replies';

/** How one invocation ended (logged; tests assert on it). */
export type DispatchOutcome = 'ok' | 'unknown_command' | 'error' | RefusalReason;

/** Max autocomplete choices Discord accepts. */
const MAX_CHOICES = 25;

/**
 * Runs one slash command: resolve the guild's campaign, check the declared
 * preconditions, execute, and word any refusal — all refusals and all
 * unexpected errors end here, in one place. Unexpected errors are logged with
 * command, guild and user, and answered with a short apology.
 */
export async function dispatchCommand(
  interaction: SlashInteraction,
  registry: CommandRegistry,
  deps: BotDeps,
  accepting: () => boolean = () => true,
): Promise<DispatchOutcome> {
  const log = deps.log.child({
    command: interaction.commandName,
    guild: interaction.guildId,
    user: interaction.user.id,
  });
  const command = registry.get(interaction.commandName);
  try {
    if (!command) {
      // A command Discord still has but this build doesn't (stale deploy-commands).
      log.warn('unknown command');
      await apologize(interaction);
      return 'unknown_command';
    }
    if (!accepting()) {
      await sendRefusal(interaction, refuse('closing'));
      return 'closing';
    }
    const guild = interaction.guild;
    if (!guild) {
      await sendRefusal(interaction, refuse('guild_only'));
      return 'guild_only';
    }
    const campaign = await resolveCampaign(deps.campaigns, guild);
    const caller = callerOf(interaction, campaign);
    const sub = command.subcommandRequires ? interaction.options.getSubcommand(false) : null;
    const required = [...command.requires, ...((sub && command.subcommandRequires?.[sub]) || [])];
    const refusal = checkPreconditions(required, caller, campaign, {
      botChannelId: deps.voice.channelOf(guild.id),
    });
    if (refusal) {
      log.debug({ reason: refusal.reason }, 'command refused by precondition');
      await sendRefusal(interaction, refusal);
      return refusal.reason;
    }
    const ctx: CommandContext = { interaction, deps, campaign, guildId: guild.id, caller, log };
    const result = await command.execute(ctx);
    if (!result.ok) {
      log.debug({ reason: result.reason }, 'command refused');
      await sendRefusal(interaction, result);
      return result.reason;
    }
    return 'ok';
  } catch (err) {
    log.error({ err }, 'command failed');
    await apologize(interaction);
    return 'error';
  }
}

/** Answers an autocomplete request; failures answer with no suggestions (and are logged). */
export async function dispatchAutocomplete(
  interaction: AutocompleteView,
  registry: CommandRegistry,
  deps: BotDeps,
): Promise<void> {
  const command = registry.get(interaction.commandName);
  try {
    const choices = command?.autocomplete
      ? await command.autocomplete({ interaction, deps, query: interaction.options.getFocused() })
      : [];
    if (!interaction.responded) await interaction.respond(choices.slice(0, MAX_CHOICES));
  } catch (err) {
    deps.log.warn(
      { err, command: interaction.commandName, guild: interaction.guildId, user: interaction.user.id },
      'autocomplete failed',
    );
    if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
  }
}
