import type {
  AutocompleteInteraction,
  ChannelType,
  ChatInputCommandInteraction,
  MessageFlags,
} from 'discord.js';

/**
 * The discord.js seam. Commands see only these narrow views of an
 * interaction; a real `ChatInputCommandInteraction<'cached'>` satisfies them
 * (checked at the bottom of this file), and tests pass small fakes.
 */

/** A reply body. Mentions are rendered but never ping (`allowedMentions: { parse: [] }`). */
export interface ReplyBody {
  content: string;
  flags?: MessageFlags.Ephemeral;
  allowedMentions?: { parse: [] };
  /** Files attached to the reply (e.g. a transcript). */
  files?: { attachment: Buffer; name: string }[];
}

/** Something that can be answered: a slash command or anything else repliable. */
export interface Repliable {
  /** When Discord created the interaction (ms since the epoch); its token lives 15 minutes from here. */
  readonly createdTimestamp: number;
  readonly deferred: boolean;
  readonly replied: boolean;
  deferReply(options?: { flags?: MessageFlags.Ephemeral }): Promise<unknown>;
  reply(options: ReplyBody): Promise<unknown>;
  editReply(options: Omit<ReplyBody, 'flags'>): Promise<unknown>;
  followUp(options: ReplyBody): Promise<unknown>;
}

/** Permission bits of the caller in the channel of the interaction. */
export interface PermissionView {
  /** With `checkAdmin` (the default), Administrator counts as every permission. */
  has(permission: bigint, checkAdmin?: boolean): boolean;
}

/** The calling guild member: roles and voice state. */
export interface MemberView {
  readonly roles: { readonly cache: { has(roleId: string): boolean } };
  readonly voice: { readonly channelId: string | null };
}

/** The options a command reads. */
export interface OptionReader {
  getString(name: string, required?: boolean): string | null;
  getInteger(name: string, required?: boolean): number | null;
  getRole(name: string, required?: boolean): { readonly id: string } | null;
  getChannel(name: string, required?: boolean): { readonly id: string; readonly type: ChannelType } | null;
  getSubcommand(required: boolean): string | null;
}

/** A slash command invocation in a guild the bot has cached. */
export interface SlashInteraction extends Repliable {
  readonly commandName: string;
  readonly guildId: string | null;
  readonly guild: { readonly id: string; readonly name: string } | null;
  readonly user: { readonly id: string; readonly username: string };
  readonly memberPermissions: PermissionView | null;
  readonly member: MemberView | null;
  readonly options: OptionReader;
}

/** One autocomplete suggestion. */
export interface Choice {
  name: string;
  value: string;
}

/** An autocomplete request: the focused option's partial value. */
export interface AutocompleteView {
  readonly commandName: string;
  readonly guildId: string | null;
  readonly user: { readonly id: string };
  readonly responded: boolean;
  readonly options: {
    getFocused(): string;
    /** With `true`: which option is focused, and its text so far. */
    getFocused(full: true): { name: string; value: string };
  };
  respond(choices: readonly Choice[]): Promise<void>;
}

// Compile-time proof that the real interactions fit the seam.
type Assert<T extends true> = T;
export type _SlashFits = Assert<
  ChatInputCommandInteraction<'cached'> extends SlashInteraction ? true : false
>;
export type _RepliableFits = Assert<ChatInputCommandInteraction extends Repliable ? true : false>;
export type _AutocompleteFits = Assert<
  AutocompleteInteraction<'cached'> extends AutocompleteView ? true : false
>;
