import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { TokenSigner } from '../auth';
import type { CastService } from '../cast';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { SceneService } from '../scenes';
import type { RecapService, TranscriptService } from '../transcript';
import type { NarrationService } from '../narration/service';
import type { Campaign, CampaignDirectory, PlaybackRepository, StationRegistry } from '../playback';
import type { ArrivalOrder, ArrivalTicket } from './arrival-order';
import type { AutocompleteView, Choice, SlashInteraction } from './interaction';
import type { CommandResult } from './refusals';
import type { VoiceManager } from './voice';

/**
 * Checks declared beside a command and run by the dispatcher before
 * `execute` (never `if`s inside it):
 * - `dm`: the campaign's DM role, or Manage Server (Administrator counts);
 * - `manager`: Manage Server (Administrator counts);
 * - `inVoice`: the caller is in a voice channel;
 * - `voiceReachable`: the bot is in voice, or can join the caller's channel or the campaign's.
 */
export type Precondition = 'dm' | 'manager' | 'inVoice' | 'voiceReachable';

/** Who ran the command, as far as permissions go. */
export interface Caller {
  userId: string;
  /** Manage Server or Administrator. */
  isManager: boolean;
  /** The campaign's DM role, or a manager. */
  isDm: boolean;
  /** The voice channel the caller is in. */
  voiceChannelId: string | null;
}

/** Background work a command leaves running (progress replies); stopped on shutdown. */
export interface BackgroundTask {
  stop(): void;
}

/** What commands use; built once per bot from AppServices. */
export interface BotDeps {
  log: Logger;
  clock: Clock;
  stations: StationRegistry;
  campaigns: CampaignDirectory;
  repository: Pick<PlaybackRepository, 'listHistory'>;
  narration: NarrationService;
  tokens: TokenSigner;
  /** Base URL of the web companion (no trailing slash). */
  publicUrl: string;
  tokenTtlHours: number;
  voice: VoiceManager;
  /** Minimum time between two edits of a progress reply. */
  progressEditIntervalMs: number;
  tasks: Set<BackgroundTask>;
  /** Per-guild arrival order for commands that create requests. */
  arrivals: ArrivalOrder;
  /** The campaigns' casts (`/cast`); absent when the server runs without one. */
  cast?: CastService | undefined;
  /** Prepared scenes (`/scene`); absent when the server runs without them. */
  scenes?: SceneService | undefined;
  /** Transcripts (`/transcript`) and recaps (`/recap`); absent when the server runs without them. */
  transcript?: TranscriptService | undefined;
  recap?: RecapService | undefined;
}

/** Everything `execute` gets. */
export interface CommandContext {
  interaction: SlashInteraction;
  deps: BotDeps;
  /** The guild's campaign (created on first use). */
  campaign: Campaign;
  guildId: string;
  caller: Caller;
  /** Logger with command, guild and user. */
  log: Logger;
  /** This invocation's place in the guild's line, for commands declared `inArrivalOrder`. */
  arrival: ArrivalTicket | null;
}

/** Everything `autocomplete` gets. */
export interface AutocompleteContext {
  interaction: AutocompleteView;
  deps: BotDeps;
  /** The focused option's text so far. */
  query: string;
}

/** The JSON Discord registers for a slash command (any SlashCommandBuilder shape). */
export interface CommandData {
  readonly name: string;
  toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody;
}

/** One slash command: its definition, its preconditions and what it does. */
export interface Command {
  readonly data: CommandData;
  /** Preconditions of every invocation. */
  readonly requires: readonly Precondition[];
  /**
   * The answer is for the whole table (skip, stop, pause…), not only the
   * caller. Decides how the dispatcher defers when it must wait before answering.
   */
  readonly publicReply?: boolean;
  /** Creates playback requests: they must be created in the order the interactions arrived. */
  readonly inArrivalOrder?: boolean;
  /** Extra preconditions per subcommand. */
  readonly subcommandRequires?: Readonly<Record<string, readonly Precondition[]>>;
  /** Does the work; returns a refusal for the dispatcher to word, or `{ ok: true }` once it has replied. */
  execute(ctx: CommandContext): Promise<CommandResult>;
  /** Suggestions for the focused option (at most 25 are sent). */
  autocomplete?(ctx: AutocompleteContext): Promise<Choice[]>;
}
