import { Writable } from 'node:stream';
import { PermissionFlagsBits } from 'discord.js';
import { TokenSigner } from '../../../src/auth';
import {
  ALL_COMMANDS,
  ArrivalOrder,
  CommandRegistry,
  VoiceManager,
  dispatchAutocomplete,
  dispatchCommand,
  type BackgroundTask,
  type BotDeps,
  type DispatchOutcome,
  type GuildVoiceTiming,
} from '../../../src/bot';
import { createLogger } from '../../../src/log';
import type { PlaybackRepository } from '../../../src/playback';
import type { TestDatabase } from '../../support/db';
import { ManualClock } from '../../support/manual-clock';
import { startTestEngine, type TestEngine } from '../../support/engine';
import { FakeAutocomplete, FakeInteraction, type FakeInteractionInit } from './fake-interaction';
import { FakeNarration } from './fake-narration';
import { FakeVoiceAdapter } from './fake-voice';

export const GUILD = { id: 'guild-1', name: 'The Table' };
export const CAMPAIGN_ID = `g${GUILD.id}`;
export const DM_ROLE = 'role-dm';
export const VOICE_CHANNEL = 'vc-1';
export const TOKEN_SECRET = 'a-test-secret-of-32-characters!!';

/** Callers: a member with the DM role, a server manager, an admin, a plain player. */
export const AS_DM = {
  roles: [DM_ROLE],
  voiceChannelId: VOICE_CHANNEL,
} satisfies Partial<FakeInteractionInit>;
export const AS_MANAGER = {
  permissions: [PermissionFlagsBits.ManageGuild],
} satisfies Partial<FakeInteractionInit>;
export const AS_ADMIN = {
  permissions: [PermissionFlagsBits.Administrator],
} satisfies Partial<FakeInteractionInit>;
export const AS_PLAYER = {
  roles: ['role-player'],
  voiceChannelId: VOICE_CHANNEL,
} satisfies Partial<FakeInteractionInit>;

/** A structured log line. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The real registry and dispatcher on the real engine (PGlite, manual clock), with fakes at the seams. */
export interface BotHarness {
  t: TestEngine;
  narration: FakeNarration;
  adapter: FakeVoiceAdapter;
  voice: VoiceManager;
  deps: BotDeps;
  registry: CommandRegistry;
  logs: LogLine[];
  tokens: TokenSigner;
  /** Dispatches one command and waits for it (created now on the test clock unless `createdTimestamp`). */
  run(init: FakeInteractionInit): Promise<{ i: FakeInteraction; outcome: DispatchOutcome }>;
  /** Dispatches one command without waiting: the interaction at once, the outcome later. */
  start(init: FakeInteractionInit): { i: FakeInteraction; done: Promise<DispatchOutcome> };
  /** Latency every repository call waits first, on the test clock (0 = none). */
  latency: { ms: number };
  autocomplete(command: string, focused: string, option?: string): Promise<FakeAutocomplete>;
  dispose(): Promise<void>;
}

/** Options for {@link startHarness}. */
export interface HarnessOptions {
  llmAvailable?: boolean;
  /** Campaign settings to start with (the bot's guild campaign is created with the DM role set). */
  dmRoleId?: string | null;
  timing?: Partial<GuildVoiceTiming>;
}

/**
 * The repository seam with injected latency: every call first waits
 * `latency.ms` of the manual clock (a slow or distant database).
 */
function withLatency(
  repository: PlaybackRepository,
  clock: ManualClock,
  latency: { ms: number },
): PlaybackRepository {
  return new Proxy(repository, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (latency.ms > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, latency.ms));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export async function startHarness(tdb: TestDatabase, options: HarnessOptions = {}): Promise<BotHarness> {
  await tdb.reset();
  const clock = new ManualClock();
  const latency = { ms: 0 };
  const t = await startTestEngine(withLatency(tdb.repository, clock, latency), { clock });
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      cb();
    },
  });
  const log = createLogger({ level: 'debug', destination: sink });
  const narration = new FakeNarration(t.engine.writer, options.llmAvailable ?? true);
  const adapter = new FakeVoiceAdapter(() => t.clock.now());
  const voice = new VoiceManager({
    adapter,
    stations: t.engine.stations,
    campaigns: t.engine.campaigns,
    store: t.engine.store,
    clock: t.clock,
    log,
    ...(options.timing ? { timing: options.timing } : {}),
  });
  await t.engine.campaigns.ensure(CAMPAIGN_ID, {
    guildId: GUILD.id,
    name: GUILD.name,
    dmRoleId: options.dmRoleId === undefined ? DM_ROLE : options.dmRoleId,
  });
  const tokens = new TokenSigner(TOKEN_SECRET);
  const deps: BotDeps = {
    log,
    clock: t.clock,
    stations: t.engine.stations,
    campaigns: t.engine.campaigns,
    repository: t.engine.repository,
    narration,
    tokens,
    publicUrl: 'https://bardcast.example',
    tokenTtlHours: 24,
    voice,
    progressEditIntervalMs: 1000,
    tasks: new Set<BackgroundTask>(),
    arrivals: new ArrivalOrder(),
  };
  const registry = new CommandRegistry(ALL_COMMANDS);
  return {
    t,
    narration,
    adapter,
    voice,
    deps,
    registry,
    logs,
    tokens,
    run: async (init) => {
      const i = new FakeInteraction({ createdTimestamp: t.clock.now(), ...init });
      const outcome = await dispatchCommand(i, registry, deps);
      return { i, outcome };
    },
    start: (init) => {
      const i = new FakeInteraction({ createdTimestamp: t.clock.now(), ...init });
      return { i, done: dispatchCommand(i, registry, deps) };
    },
    latency,
    autocomplete: async (command, focused, option) => {
      const a = new FakeAutocomplete(command, focused, option);
      await dispatchAutocomplete(a, registry, deps);
      return a;
    },
    dispose: async () => {
      for (const task of [...deps.tasks]) task.stop();
      voice.close();
      await t.dispose();
    },
  };
}
