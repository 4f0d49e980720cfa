/**
 * The Discord bot: slash commands for the DM and the table, and the voice
 * sink that plays each guild's station. `startBot` is the entry point.
 */
export {
  BOT_INTENTS,
  createBotClient,
  logVoiceDependencies,
  startBot,
  type BotHandle,
  type StartBotOptions,
} from './bot';
export type {
  AutocompleteContext,
  BackgroundTask,
  BotDeps,
  Caller,
  Command,
  CommandContext,
  CommandData,
  Precondition,
} from './command';
export { ArrivalOrder, ArrivalTicket } from './arrival-order';
export { ALL_COMMANDS } from './commands';
export { guildCampaignId, resolveCampaign } from './campaign';
export { dispatchAutocomplete, dispatchCommand, type DispatchOutcome } from './dispatcher';
export type {
  AutocompleteView,
  Choice,
  MemberView,
  OptionReader,
  PermissionView,
  Repliable,
  ReplyBody,
  SlashInteraction,
} from './interaction';
export { callerOf, checkPreconditions } from './preconditions';
export {
  OK,
  refuse,
  type CommandResult,
  type JoinFailure,
  type Refusal,
  type RefusalReason,
} from './refusals';
export { CommandRegistry, DuplicateCommandError } from './registry';
export { APOLOGY, refusalMessage, respond, sendRefusal } from './replies';
export { IDLE_MINUTES_MAX, IDLE_MINUTES_MIN, PROMPT_MAX, SAY_MAX } from './validate';
export * from './voice';
