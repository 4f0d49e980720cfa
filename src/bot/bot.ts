import { randomUUID } from 'node:crypto';
import { generateDependencyReport } from '@discordjs/voice';
import { Client, Events, GatewayIntentBits, Options, type Interaction } from 'discord.js';
import type { Logger } from '../log';
import type { AppServices } from '../services';
import { ArrivalOrder } from './arrival-order';
import type { BackgroundTask, BotDeps, Command } from './command';
import { ALL_COMMANDS } from './commands';
import { dispatchAutocomplete, dispatchCommand } from './dispatcher';
import { refuse } from './refusals';
import { CommandRegistry } from './registry';
import { sendRefusal } from './replies';
import { DiscordVoiceAdapter, VoiceManager, type GuildVoiceTiming, type VoiceAdapter } from './voice';

/** Options for {@link startBot}. */
export interface StartBotOptions {
  /** Use this client instead of creating one (tests; a custom shard setup). */
  client?: Client;
  /** The voice seam; default: `@discordjs/voice`. */
  voiceAdapter?: VoiceAdapter;
  /** Log in with `config.discordToken` (default true). */
  login?: boolean;
  /** Commands to serve (default: all of them). */
  commands?: readonly Command[];
  voiceTiming?: Partial<GuildVoiceTiming>;
  /** Minimum time between two edits of a progress reply (default 1000 ms). */
  progressEditIntervalMs?: number;
  /** Idle timeout for campaigns without one (default 600 s). */
  defaultIdleTimeoutSec?: number;
}

/** A running bot. */
export interface BotHandle {
  client: Client;
  voice: VoiceManager;
  registry: CommandRegistry;
  /** Stops accepting commands, leaves every voice channel, destroys the client. */
  close(): Promise<void>;
}

/**
 * The minimum intents: `Guilds` (guild, channel and role caches, interactions)
 * and `GuildVoiceStates` (who is in which voice channel, and voice
 * connections). No message content, no members.
 */
export const BOT_INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] as const;

/** Options for {@link createBotClient}. */
export interface BotClientOptions {
  /**
   * REST API base of a Discord-compatible server (`DISCORD_API_URL`); Discord's
   * own when unset. The gateway URL comes from that server's `GET /gateway/bot`.
   */
  apiUrl?: string | undefined;
}

/** A discord.js client with Bardcast's intents; messages are never cached (the bot doesn't read them). */
export function createBotClient(options: BotClientOptions = {}): Client {
  return new Client({
    intents: [...BOT_INTENTS],
    makeCache: Options.cacheWithLimits({ ...Options.DefaultMakeCacheSettings, MessageManager: 0 }),
    ...(options.apiUrl ? { rest: { api: options.apiUrl } } : {}),
  });
}

/** Logs `@discordjs/voice`'s dependency report, with the encryption/DAVE libraries on one info line. */
export function logVoiceDependencies(log: Logger): void {
  const report = generateDependencyReport();
  log.debug({ report }, 'voice dependency report');
  const find = (name: string): string =>
    report
      .split('\n')
      .find((l) => l.includes(name))
      ?.split(': ')
      .slice(1)
      .join(': ')
      .trim() ?? 'unknown';
  log.info(
    {
      dave: find('@snazzah/davey'),
      aes256gcm: find('aes-256-gcm'),
      voice: find('@discordjs/voice'),
      prism: find('prism-media'),
    },
    'voice: DAVE end-to-end encryption library and transport encryption',
  );
}

/**
 * Starts the Discord bot on the shared services: registers command and
 * autocomplete handling, logs in, and after the client is ready rejoins the
 * voice channels of campaigns that were on air before a restart. All state
 * lives in the returned instance (no module globals), so a ShardingManager
 * can run one per shard.
 */
export async function startBot(services: AppServices, options: StartBotOptions = {}): Promise<BotHandle> {
  const log = services.log.child({ module: 'bot' });
  const token = services.config.discordToken;
  if (options.login !== false && !token)
    throw new Error('startBot needs config.discordToken (DISCORD_TOKEN)');
  logVoiceDependencies(log);
  const client = options.client ?? createBotClient({ apiUrl: services.config.discordApiUrl });
  const engine = services.engine;
  const voice = new VoiceManager({
    adapter:
      options.voiceAdapter ?? new DiscordVoiceAdapter(client, { group: `bardcast-${randomUUID()}`, log }),
    stations: engine.stations,
    campaigns: engine.campaigns,
    store: engine.store,
    clock: services.clock,
    log,
    ...(options.voiceTiming ? { timing: options.voiceTiming } : {}),
    ...(options.defaultIdleTimeoutSec === undefined
      ? {}
      : { defaultIdleTimeoutSec: options.defaultIdleTimeoutSec }),
  });
  const tasks = new Set<BackgroundTask>();
  const deps: BotDeps = {
    log,
    clock: services.clock,
    stations: engine.stations,
    campaigns: engine.campaigns,
    repository: engine.repository,
    narration: services.narration,
    cast: services.cast,
    scenes: services.scenes,
    transcript: services.transcript,
    recap: services.recap,
    tokens: services.tokens,
    publicUrl: services.config.publicUrl,
    tokenTtlHours: services.config.tokenTtlHours,
    voice,
    progressEditIntervalMs: options.progressEditIntervalMs ?? 1000,
    tasks,
    arrivals: new ArrivalOrder(),
  };
  const registry = new CommandRegistry(options.commands ?? ALL_COMMANDS);
  let accepting = true;
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const onInteraction = (interaction: Interaction): void => {
    if (interaction.isChatInputCommand()) {
      if (interaction.inCachedGuild()) {
        track(dispatchCommand(interaction, registry, deps, () => accepting));
      } else {
        track(
          sendRefusal(interaction, refuse('guild_only')).catch((err: unknown) =>
            log.warn({ err, command: interaction.commandName }, 'could not answer an interaction'),
          ),
        );
      }
    } else if (interaction.isAutocomplete() && interaction.inCachedGuild() && accepting) {
      track(dispatchAutocomplete(interaction, registry, deps));
    }
  };
  client.on(Events.InteractionCreate, onInteraction);

  const restore = (): void => {
    voice
      .restore(client.guilds.cache.keys())
      .catch((err: unknown) => log.error({ err }, 'voice: restore failed'));
  };
  if (client.isReady()) restore();
  else client.once(Events.ClientReady, restore);

  if (options.login !== false) {
    try {
      await client.login(token);
    } catch (err) {
      client.off(Events.InteractionCreate, onInteraction);
      client.off(Events.ClientReady, restore);
      voice.close();
      await client.destroy();
      throw err;
    }
    log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'bot logged in');
  }

  return {
    client,
    voice,
    registry,
    close: async () => {
      accepting = false;
      for (const t of [...tasks]) t.stop();
      voice.close();
      // Let commands already running answer (they see `accepting` and the closed voice manager).
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, 5_000).unref()),
      ]);
      client.off(Events.InteractionCreate, onInteraction);
      await client.destroy();
      log.info('bot stopped');
    },
  };
}
