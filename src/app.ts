import path from 'node:path';
import { TokenSigner } from './auth';
import { CastService } from './cast';
import type { BotHandle } from './bot';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { openDatabase, type Database } from './db';
import { PrismaPlaybackRepository } from './db/playback-repository';
import { waitForDatabase } from './db/wait';
import { redactSecret, redactTokenParam, type Logger } from './log';
import { createNarrationService } from './narration';
import type { NarrationService } from './narration/service';
import { FileAudioStore, shardOwnership, startPlaybackEngine } from './playback';
import { SceneService } from './scenes';
import { loadTokenSecret } from './secret';
import { RecapService, TranscriptRecorder, TranscriptService } from './transcript';
import type { AppServices } from './services';
import { createConsoleLinks, startWebServer } from './web';

/** A running Bardcast process: services, the web server, and the bot when configured. */
export interface App {
  services: AppServices;
  /** Base URL the web server listens on. */
  url: string;
  bot: BotHandle | null;
  /** Stops accepting work, leaves voice, flushes writes, closes the database. */
  close(): Promise<void>;
}

/**
 * The composition root: database → playback engine → narration → web
 * companion → Discord bot (when `DISCORD_TOKEN` is set), one station per
 * campaign shared by both sinks.
 */
export async function startApp(config: Config, log: Logger, clock: Clock = systemClock): Promise<App> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const stop of closers.reverse()) {
      await stop().catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
    }
  };
  try {
    const db = await openStore(config, log, clock);
    closers.push(() => db.close());
    const engine = await startPlaybackEngine({
      repository: new PrismaPlaybackRepository(db.prisma, db.ping),
      store: new FileAudioStore(config.audioDir),
      clock,
      log,
      gapMs: config.gapBetweenRequestsMs,
      stallTimeoutMs: config.stallTimeoutMs,
      retentionMs: config.retentionDays * 24 * 3600 * 1000,
      heartbeatTimeoutMs: config.heartbeatTimeoutMs,
      cleanupIntervalMs: config.cleanupIntervalMs,
      dbRetryIntervalMs: config.dbRetryIntervalMs,
      journalFile: path.join(config.dataDir, 'journal.ndjson'),
      ...(config.shards ? { ownsCampaign: shardOwnership(config.shards.ids, config.shards.count) } : {}),
    });
    closers.push(() => engine.stop());
    engine.cleanup.start();
    await engine.campaigns.ensure(config.defaultCampaign, { name: 'Demo campaign' });

    // The cast draws voices from the TTS engine the narration service picks, which exists only below.
    const voicesOf: { service?: NarrationService } = {};
    const cast = new CastService({
      prisma: db.prisma,
      voices: () => voicesOf.service?.voices() ?? Promise.resolve([]),
      logger: log,
    });
    const narration = await createNarrationService({
      engine,
      cast,
      apiKey: config.openaiApiKey,
      baseURL: config.openaiBaseUrl,
      model: config.openaiModel,
      systemPrompt: config.llmSystemPrompt,
      ttsProvider: config.ttsProvider,
      ttsModel: config.openaiTtsModel,
      voice: config.ttsVoice,
      concurrency: config.ttsConcurrency,
      narrationsPerMinute: config.narrationsPerMinute,
      ffmpegPath: config.ffmpegPath,
      encoderTmpDir: path.join(config.dataDir, 'tmp'),
      demo: config.demoLlm,
      logger: log,
      clock,
    });
    voicesOf.service = narration;
    // Every narration that leaves the station goes into the campaign's transcript.
    const recorder = new TranscriptRecorder({
      prisma: db.prisma,
      stations: engine.stations,
      repository: engine.repository,
      clock,
      logger: log,
    });
    closers.push(() => recorder.close());
    const scenes = new SceneService({
      prisma: db.prisma,
      store: engine.store,
      writer: engine.writer,
      campaigns: engine.campaigns,
      tts: narration.tts,
      encoder: narration.encoder,
      cast,
      onQueued: (requestId, requestedBy) => recorder.noteRequester(requestId, requestedBy),
      clock,
      logger: log,
    });
    closers.push(() => scenes.close());
    void scenes
      .resumeRendering()
      .catch((err: unknown) => log.warn({ err }, 'could not resume rendering prepared scenes'));
    // On shutdown, narrations being generated get a few seconds to finish storing their audio;
    // what is left continues at the next start.
    closers.push(() => narration.close({ drainMs: 15_000 }));
    // Generations a restart cut short continue where they stopped (recovery queued them already).
    narration.resume(engine.takeInterrupted());
    if (!narration.llmAvailable) {
      log.warn(
        'no LLM configured (OPENAI_API_KEY unset): /narrate speaks the prompt as written; DEMO_LLM=true for a demo narrator',
      );
    }

    const tokenSecret = await loadTokenSecret(config.tokenSecret, config.dataDir);
    // Generated into the data dir when not configured: the logger learns it here.
    redactSecret(tokenSecret);
    const tokens = new TokenSigner(tokenSecret);
    const transcript = new TranscriptService({
      prisma: db.prisma,
      clock,
      sessionGapMs: config.transcriptSessionGapHours * 3600_000,
    });
    const tracked = recorder.track(narration);
    const recap = new RecapService({ llm: narration.llm, transcript, narration: tracked, logger: log });
    const services: AppServices = {
      config,
      log,
      clock,
      engine,
      narration: tracked,
      tokens,
      cast,
      scenes,
      transcript,
      recap,
    };

    // Under ShardingManager each shard process serves its own stations on PORT + its first shard id.
    const port = config.shards ? config.port + Math.min(...config.shards.ids) : config.port;
    const web = await startWebServer(services, { port, host: config.host });
    closers.push(() => web.close());
    log.info(`Bardcast web companion on ${web.url}`);

    if (config.icecast) {
      const { startIcecastPublisher } = await import('./relay');
      const shards = config.shards;
      const publisher = await startIcecastPublisher({
        settings: config.icecast,
        engine,
        clock,
        log,
        ...(shards ? { ownsCampaign: shardOwnership(shards.ids, shards.count) } : {}),
      });
      closers.push(async () => publisher.close());
    }

    let bot: BotHandle | null = null;
    if (config.discordToken) {
      const { startBot } = await import('./bot');
      bot = await startBot(services);
      closers.push(() => bot!.close());
    } else {
      log.info('DISCORD_TOKEN is not set: running the web station and DM console only');
      const links = createConsoleLinks(services, { baseUrl: config.publicUrl });
      // The tokens go to the terminal only; the log line says where the links are, not what they hold.
      log.info(
        {
          dm: redactTokenParam(links.dmUrl),
          listen: redactTokenParam(links.listenUrl),
          live: redactTokenParam(links.liveUrl),
          expiresAt: links.expiresAt.toISOString(),
        },
        'console links printed to the terminal',
      );
      process.stdout.write(
        `\n  DM console:    ${links.dmUrl}\n  Listener page: ${links.listenUrl}\n  Live MP3:      ${links.liveUrl}\n\n`,
      );
    }
    return { services, url: web.url, bot, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function openStore(config: Config, log: Logger, clock: Clock): Promise<Database> {
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    log.info('database: PostgreSQL server (DATABASE_URL)');
    // A server that isn't up yet is waited for (with backoff, said once), not a reason to exit.
    return waitForDatabase(() => openDatabase({ kind: 'postgres', url }, log), { log, clock });
  }
  log.info({ dir: config.pgliteDir }, 'database: embedded PGlite');
  return openDatabase({ kind: 'pglite', dataDir: config.pgliteDir }, log);
}
