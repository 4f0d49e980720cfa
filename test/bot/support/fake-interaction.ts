import { ChannelType, MessageFlags, PermissionFlagsBits } from 'discord.js';
import type {
  AutocompleteView,
  Choice,
  MemberView,
  OptionReader,
  PermissionView,
  ReplyBody,
  SlashInteraction,
} from '../../../src/bot';

/** One call the command made on the interaction. */
export interface RecordedCall {
  kind: 'deferReply' | 'reply' | 'editReply' | 'followUp';
  content: string | null;
  ephemeral: boolean;
}

/** What a fake invocation looks like. */
export interface FakeInteractionInit {
  command: string;
  subcommand?: string;
  options?: Record<string, string | number | { id: string; type?: ChannelType } | null>;
  guild?: { id: string; name: string } | null;
  userId?: string;
  /** Permission bits the member has (Administrator implies all, as in discord.js). */
  permissions?: bigint[];
  roles?: string[];
  voiceChannelId?: string | null;
  /** When Discord created it (ms, on the test's clock); default 0 (the harness sets its clock's now). */
  createdTimestamp?: number;
}

/** Thrown like discord.js's InteractionAlreadyReplied. */
export class AlreadyRepliedError extends Error {
  constructor() {
    super('The reply to this interaction has already been sent or deferred.');
    this.name = 'InteractionAlreadyReplied';
  }
}

/**
 * A ChatInputCommandInteraction at the seam: options, member permissions and
 * roles, and deferReply/reply/editReply/followUp recorded in order. It
 * enforces Discord's rules (one initial response; edits only after one).
 */
export class FakeInteraction implements SlashInteraction {
  readonly commandName: string;
  readonly guildId: string | null;
  readonly guild: { id: string; name: string } | null;
  readonly user: { id: string; username: string };
  readonly memberPermissions: PermissionView | null;
  readonly member: MemberView | null;
  readonly options: OptionReader;
  readonly calls: RecordedCall[] = [];
  readonly createdTimestamp: number;
  deferred = false;
  replied = false;
  ephemeral = false;
  /** Makes the next editReply reject (an expired token, a dismissed message). */
  failEdits = false;

  constructor(init: FakeInteractionInit) {
    this.commandName = init.command;
    this.createdTimestamp = init.createdTimestamp ?? 0;
    this.guild = init.guild === undefined ? { id: 'guild-1', name: 'The Table' } : init.guild;
    this.guildId = this.guild?.id ?? null;
    this.user = { id: init.userId ?? 'user-1', username: 'someone' };
    const perms = init.permissions ?? [];
    this.memberPermissions = this.guild
      ? {
          has: (bit: bigint, checkAdmin = true) =>
            perms.includes(bit) || (checkAdmin && perms.includes(PermissionFlagsBits.Administrator)),
        }
      : null;
    const roles = new Set(init.roles ?? []);
    this.member = this.guild
      ? {
          roles: { cache: { has: (id: string) => roles.has(id) } },
          voice: { channelId: init.voiceChannelId ?? null },
        }
      : null;
    const values = init.options ?? {};
    const get = <T>(name: string, required: boolean | undefined, check: (v: unknown) => v is T): T | null => {
      const v = values[name];
      if (v === undefined || v === null) {
        if (required) throw new TypeError(`option "${name}" is required`);
        return null;
      }
      if (!check(v)) throw new TypeError(`option "${name}" has the wrong type`);
      return v;
    };
    const isObj = (v: unknown): v is { id: string; type?: ChannelType } =>
      typeof v === 'object' && v !== null;
    this.options = {
      getString: (n, r) => get(n, r, (v): v is string => typeof v === 'string'),
      getInteger: (n, r) => get(n, r, (v): v is number => typeof v === 'number'),
      getRole: (n, r) => get(n, r, isObj),
      getChannel: (n, r) => {
        const c = get(n, r, isObj);
        return c ? { id: c.id, type: c.type ?? ChannelType.GuildVoice } : null;
      },
      getSubcommand: (required) => {
        if (!init.subcommand && required) throw new TypeError('no subcommand');
        return init.subcommand ?? null;
      },
    };
  }

  async deferReply(options?: { flags?: MessageFlags.Ephemeral }): Promise<void> {
    if (this.deferred || this.replied) throw new AlreadyRepliedError();
    this.deferred = true;
    this.ephemeral = options?.flags === MessageFlags.Ephemeral;
    this.calls.push({ kind: 'deferReply', content: null, ephemeral: this.ephemeral });
  }

  async reply(options: ReplyBody): Promise<void> {
    if (this.deferred || this.replied) throw new AlreadyRepliedError();
    this.replied = true;
    this.ephemeral = options.flags === MessageFlags.Ephemeral;
    this.calls.push({ kind: 'reply', content: options.content, ephemeral: this.ephemeral });
  }

  async editReply(options: Omit<ReplyBody, 'flags'>): Promise<void> {
    if (!this.deferred && !this.replied)
      throw new Error('The reply to this interaction has not been sent or deferred.');
    if (this.failEdits) throw new Error('Unknown Webhook');
    this.replied = true;
    this.calls.push({ kind: 'editReply', content: options.content, ephemeral: this.ephemeral });
  }

  async followUp(options: ReplyBody): Promise<void> {
    if (!this.deferred && !this.replied) throw new Error('not replied');
    this.calls.push({
      kind: 'followUp',
      content: options.content,
      ephemeral: options.flags === MessageFlags.Ephemeral,
    });
  }

  /** The text the user sees now (the last reply or edit). */
  get content(): string | null {
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const c = this.calls[i] as RecordedCall;
      if (c.kind === 'reply' || c.kind === 'editReply') return c.content;
    }
    return null;
  }

  /** Every text shown, in order. */
  get contents(): string[] {
    return this.calls
      .filter((c) => c.content !== null && c.kind !== 'followUp')
      .map((c) => c.content as string);
  }
}

/** An AutocompleteInteraction at the seam. */
export class FakeAutocomplete implements AutocompleteView {
  readonly guildId = 'guild-1';
  readonly user = { id: 'user-1' };
  responded = false;
  choices: readonly Choice[] | null = null;
  readonly options: AutocompleteView['options'];

  constructor(
    readonly commandName: string,
    focused: string,
    /** The focused option's name (commands with more than one autocompleted option). */
    option = 'name',
  ) {
    const getFocused = (full?: true) => (full ? { name: option, value: focused } : focused);
    this.options = { getFocused } as AutocompleteView['options'];
  }

  async respond(choices: readonly Choice[]): Promise<void> {
    if (this.responded) throw new AlreadyRepliedError();
    this.responded = true;
    this.choices = choices;
  }
}
