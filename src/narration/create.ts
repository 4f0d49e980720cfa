/**
 * Builds the {@link NarrationService} from plain settings: which LLM (OpenAI
 * or a compatible server, the offline demo script, or none), which TTS engine,
 * which ffmpeg. The composition root maps its config onto
 * {@link CreateNarrationServiceOptions}; nothing here reads the environment.
 */
import type { SpeakerVoiceResolver } from '../cast/voices';
import { systemClock, type Clock } from '../clock';
import { silentLogger, type Logger } from '../log';
import type { RequestWithChunks } from '../playback';
import { startDemoLlmServer, type DemoLlmServer } from './demo';
import {
  checkFfmpeg,
  FfmpegAudioEncoder,
  prepareEncoderTempDir,
  resolveFfmpeg,
  type AudioEncoder,
  type FfmpegSource,
} from './encoder';
import { OpenAiLlmClient, type LlmClient } from './llm';
import { NarrationPipeline, type NarrationEngine, type PipelineTraceEvent } from './pipeline';
import { RateLimiter } from './rate-limit';
import type { NarrationHandle, NarrationInput, NarrationService } from './service';
import {
  createTtsProvider,
  FLITE_VOICES,
  FliteTtsProvider,
  OPENAI_TTS_VOICES,
  type TtsProvider,
} from './tts';

/** Settings for {@link createNarrationService}. */
export interface CreateNarrationServiceOptions {
  /** The playback engine (or the parts of it the pipeline uses). */
  engine: NarrationEngine;
  /** OpenAI (or compatible) API key; without one there is no LLM (unless `demo`) and TTS is flite. */
  apiKey?: string | undefined;
  /** An OpenAI-compatible server for LLM and TTS, e.g. `http://localhost:11434/v1`. */
  baseURL?: string | undefined;
  /** Chat model (default `gpt-4o-mini`). */
  model?: string | undefined;
  /** The narrator's instructions (default: the built-in narrator prompt). */
  systemPrompt?: string | undefined;
  /** `auto` (default): OpenAI with a key, flite without. */
  ttsProvider?: 'auto' | 'openai' | 'flite' | undefined;
  /** OpenAI TTS model (default `gpt-4o-mini-tts`). */
  ttsModel?: string | undefined;
  /** Default voice of the TTS engine (when a campaign has none); unknown ones fall back with a warning. */
  voice?: string | undefined;
  /** Sentences in TTS at once (default 3). */
  concurrency?: number | undefined;
  /** Narrations each DM may start per minute, sustained; also the burst size (default 6; 0 = no limit). */
  narrationsPerMinute?: number | undefined;
  /** Explicit ffmpeg binary (FFMPEG_PATH); otherwise the npm-shipped one. */
  ffmpegPath?: string | undefined;
  /**
   * The encoder's temporary folder (the app's `DATA_DIR/tmp`): made, and
   * emptied of files a killed process left, before the first encode.
   */
  encoderTmpDir?: string | undefined;
  /** With no API key: run the scripted offline LLM so `/narrate` works (say so in logs). */
  demo?: boolean | undefined;
  /** Earlier narrations given to the LLM as context (default 5). */
  historyRequests?: number | undefined;
  logger?: Logger | undefined;
  clock?: Clock | undefined;
  /** Seams (tests, benchmarks): used instead of building one from the settings. */
  llm?: LlmClient | null | undefined;
  tts?: TtsProvider | undefined;
  encoder?: AudioEncoder | undefined;
  onTrace?: ((event: PipelineTraceEvent) => void) | undefined;
  /** The campaigns' casts (voices per character); without it all lines are the narrator's. */
  cast?: SpeakerVoiceResolver | undefined;
}

/** What was chosen, for the start-up log and health pages. */
export interface NarrationSetup {
  llm: { kind: 'openai' | 'demo' | 'none' | 'custom'; model?: string; baseURL?: string };
  tts: { provider: string; defaultVoice: string };
  ffmpeg: { path: string; source: FfmpegSource; version: string } | null;
}

/** The narration service with what it was built from; `close()` also stops what it started. */
export interface ManagedNarrationService extends NarrationService {
  readonly setup: NarrationSetup;
  /** The pipeline itself (tests, benchmarks). */
  readonly pipeline: NarrationPipeline;
  /** Continues the generations a restart interrupted (the engine's `takeInterrupted()`). */
  resume(interrupted: readonly RequestWithChunks[]): void;
  /** The TTS engine and encoder in use (prepared scenes render with the same ones). */
  readonly tts: TtsProvider;
  readonly encoder: AudioEncoder;
  /** The LLM in use, if any (recaps are written with it). */
  readonly llm: LlmClient | null;
}

/**
 * Builds the service: resolves and checks ffmpeg, picks the TTS engine and
 * the LLM, starts the demo LLM server when asked, and logs every choice.
 * Throws when ffmpeg cannot be found or lacks libopus/libmp3lame, or OpenAI
 * TTS is forced without a key.
 */
export async function createNarrationService(
  options: CreateNarrationServiceOptions,
): Promise<ManagedNarrationService> {
  const logger = (options.logger ?? silentLogger).child({ module: 'narration' });
  const clock = options.clock ?? systemClock;
  const owned: Array<() => Promise<void>> = [];
  try {
    const { encoder, ffmpeg } = await buildEncoder(options, logger);
    const tts = options.tts ?? buildTts(options, logger, clock);
    if (!options.tts && tts.close) owned.push(() => (tts.close as () => Promise<void>).call(tts));
    const { llm, info, demo } = await buildLlm(options, logger, clock);
    if (demo) owned.push(() => demo.stop());

    const perMinute = options.narrationsPerMinute ?? 6;
    const pipeline = new NarrationPipeline({
      engine: options.engine,
      tts,
      encoder,
      llm,
      concurrency: options.concurrency ?? 3,
      rateLimiter:
        perMinute > 0 ? new RateLimiter({ capacity: perMinute, refillPerMinute: perMinute, clock }) : null,
      ...(options.historyRequests === undefined ? {} : { historyRequests: options.historyRequests }),
      clock,
      logger: options.logger ?? silentLogger,
      ...(options.onTrace ? { onTrace: options.onTrace } : {}),
      ...(options.cast ? { cast: options.cast } : {}),
    });
    const setup: NarrationSetup = {
      llm: info,
      tts: { provider: tts.name, defaultVoice: tts.defaultVoice },
      ffmpeg,
    };
    logger.info(
      {
        llm: info.kind,
        model: info.model,
        tts: tts.name,
        voice: tts.defaultVoice,
        concurrency: options.concurrency ?? 3,
      },
      `narration ready: LLM ${info.kind === 'none' ? 'not configured (/narrate speaks prompts verbatim)' : info.kind}, TTS ${tts.name}`,
    );
    // flite's workers start on demand and leave when idle (~100 MB each). Spawning one takes
    // ~0.4 s: start it with the narration, while the LLM writes, not on the first sentence.
    const warmUp =
      tts instanceof FliteTtsProvider
        ? () =>
            void tts
              .warmUp()
              .catch((error: unknown) => logger.warn({ err: String(error) }, 'flite warm-up failed'))
        : () => {};
    return {
      setup,
      pipeline,
      tts,
      encoder,
      llm,
      get llmAvailable() {
        return pipeline.llmAvailable;
      },
      start: (input: NarrationInput): Promise<NarrationHandle> => {
        warmUp();
        return pipeline.start(input);
      },
      voices: () => pipeline.voices(),
      resume: (interrupted) => pipeline.resume(interrupted),
      close: async (closeOptions?: { drainMs?: number }) => {
        await pipeline.close(closeOptions);
        await closeAll(owned, logger);
      },
    };
  } catch (error) {
    await closeAll(owned, logger);
    throw error;
  }
}

async function closeAll(closers: Array<() => Promise<void>>, logger: Logger): Promise<void> {
  for (const close of closers.splice(0).reverse()) {
    await close().catch((error: unknown) =>
      logger.warn({ err: String(error) }, 'narration shutdown step failed'),
    );
  }
}

async function buildEncoder(
  options: CreateNarrationServiceOptions,
  logger: Logger,
): Promise<{ encoder: AudioEncoder; ffmpeg: NarrationSetup['ffmpeg'] }> {
  if (options.encoder) return { encoder: options.encoder, ffmpeg: null };
  const { path, source } = resolveFfmpeg({ ffmpegPath: options.ffmpegPath });
  const version = await checkFfmpeg(path);
  logger.info({ path, source, version }, `ffmpeg: ${source} (${version})`);
  const tmpDir = options.encoderTmpDir;
  if (tmpDir) {
    const removed = await prepareEncoderTempDir(tmpDir);
    if (removed > 0) logger.info({ dir: tmpDir, removed }, 'removed temporary files a killed process left');
  }
  return {
    encoder: new FfmpegAudioEncoder({
      ffmpegPath: path,
      logger: options.logger ?? silentLogger,
      ...(tmpDir ? { tmpDir } : {}),
    }),
    ffmpeg: { path, source, version },
  };
}

function buildTts(options: CreateNarrationServiceOptions, logger: Logger, clock: Clock): TtsProvider {
  const choice = options.ttsProvider ?? 'auto';
  const name = choice === 'auto' ? (options.apiKey ? 'openai' : 'flite') : choice;
  const builtIn = name === 'openai' ? OPENAI_TTS_VOICES : FLITE_VOICES;
  let defaultVoice = options.voice;
  if (defaultVoice && !builtIn.some((v) => v.id === defaultVoice)) {
    logger.warn(
      { voice: defaultVoice, provider: name },
      `TTS voice "${defaultVoice}" is not a ${name} voice; using its default`,
    );
    defaultVoice = undefined;
  }
  return createTtsProvider({
    provider: name,
    openai: {
      ...(options.apiKey ? { apiKey: options.apiKey } : {}),
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      ...(options.ttsModel ? { model: options.ttsModel } : {}),
      ...(defaultVoice ? { defaultVoice } : {}),
      clock,
    },
    flite: { clock, ...(defaultVoice ? { defaultVoice } : {}) },
    logger: options.logger ?? silentLogger,
  });
}

async function buildLlm(
  options: CreateNarrationServiceOptions,
  logger: Logger,
  clock: Clock,
): Promise<{ llm: LlmClient | null; info: NarrationSetup['llm']; demo: DemoLlmServer | null }> {
  if (options.llm !== undefined) {
    return { llm: options.llm, info: { kind: options.llm ? 'custom' : 'none' }, demo: null };
  }
  const common = {
    ...(options.model ? { model: options.model } : {}),
    ...(options.systemPrompt ? { systemPrompt: options.systemPrompt } : {}),
    clock,
    logger: options.logger ?? silentLogger,
  };
  if (options.apiKey) {
    if (options.demo) logger.warn('demo mode ignored: an OpenAI API key is configured');
    const llm = new OpenAiLlmClient({ apiKey: options.apiKey, baseURL: options.baseURL, ...common });
    return {
      llm,
      info: { kind: 'openai', model: llm.model, ...(options.baseURL ? { baseURL: options.baseURL } : {}) },
      demo: null,
    };
  }
  if (options.demo) {
    const demo = await startDemoLlmServer({ logger });
    const llm = new OpenAiLlmClient({ apiKey: demo.apiKey, baseURL: demo.baseURL, ...common });
    return { llm, info: { kind: 'demo', model: llm.model, baseURL: demo.baseURL }, demo };
  }
  return { llm: null, info: { kind: 'none' }, demo: null };
}
