import type { ArrivalTicket } from './arrival-order';
import type { BotDeps, CommandContext } from './command';
import { resolveCampaign } from './campaign';
import type { AutocompleteView, SlashInteraction } from './interaction';
import { callerOf, checkPreconditions } from './preconditions';
import { refuse, type RefusalReason } from './refusals';
import type { CommandRegistry } from './registry';
import { apologize, deferOnce, sendRefusal } from './replies';

/** How one invocation ended (logged; tests assert on it). */
export type DispatchOutcome = 'ok' | 'unknown_command' | 'error' | RefusalReason;

/** Max autocomplete choices Discord accepts. */
const MAX_CHOICES = 25;

/**
 * Runs one slash command: take its place in line (commands that create
 * requests), resolve the guild's campaign (deferring first when that needs the
 * database), check the declared
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
  let arrival: ArrivalTicket | null = null;
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
    arrival = command.inArrivalOrder ? deps.arrivals.reserve(guild.id) : null;
    const lookup = resolveCampaign(deps.campaigns, guild);
    // Known campaigns come from memory; one that needs the database must not hold up the first answer.
    let campaign = await settledThisTurn(lookup);
    if (campaign === undefined) {
      await deferOnce(interaction, command.publicReply);
      campaign = await lookup;
    }
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
    const ctx: CommandContext = { interaction, deps, campaign, guildId: guild.id, caller, log, arrival };
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
  } finally {
    arrival?.release();
  }
}

/**
 * `promise`'s value if it settles within this turn of the event loop (a
 * cache hit resolves in microtasks), else undefined: then it waits on I/O.
 * Not a timeout: it measures "did we have to wait", not how long.
 */
function settledThisTurn<T>(promise: Promise<T>): Promise<T | undefined> {
  return Promise.race([promise, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]);
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
