/**
 * OpenAI text to speech (`audio.speech`) through the official SDK. Asks for
 * raw 24 kHz PCM (or WAV) so the only lossy encode is Bardcast's own.
 */
import OpenAI from 'openai';
import { systemClock, type Clock } from '../../clock';
import { silentLogger, type Logger } from '../../log';
import {
  abortReason,
  describeError,
  isAbortError,
  isTransientError,
  withRetry,
  type RetryOptions,
} from '../retry';
import {
  parseWav,
  TtsError,
  UnknownVoiceError,
  type SynthesizeRequest,
  type TtsAudio,
  type TtsProvider,
  type TtsVoice,
} from './types';

/** OpenAI's built-in voices. The last four need a `gpt-4o-mini-tts` model. */
export const OPENAI_TTS_VOICES: readonly TtsVoice[] = [
  { id: 'alloy', label: 'Alloy (neutral, balanced)' },
  { id: 'ash', label: 'Ash (clear, assertive)' },
  { id: 'coral', label: 'Coral (warm, friendly)' },
  { id: 'echo', label: 'Echo (resonant, calm)' },
  { id: 'fable', label: 'Fable (storyteller, British)' },
  { id: 'onyx', label: 'Onyx (deep, authoritative)' },
  { id: 'nova', label: 'Nova (bright, energetic)' },
  { id: 'sage', label: 'Sage (soft, thoughtful)' },
  { id: 'shimmer', label: 'Shimmer (light, gentle)' },
  { id: 'ballad', label: 'Ballad (expressive; gpt-4o-mini-tts)' },
  { id: 'verse', label: 'Verse (dramatic; gpt-4o-mini-tts)' },
  { id: 'marin', label: 'Marin (natural; gpt-4o-mini-tts)' },
  { id: 'cedar', label: 'Cedar (natural; gpt-4o-mini-tts)' },
];

/** Sample rate of OpenAI's `pcm` response format (mono, s16le). */
export const OPENAI_PCM_SAMPLE_RATE = 24_000;

/** Style instructions for models that take them (not `tts-1`/`tts-1-hd`). */
export const DEFAULT_TTS_INSTRUCTIONS =
  'Narrate like a storyteller at a tabletop game: warm, measured and atmospheric, with natural pauses.';

/** Options for {@link OpenAiTtsProvider}. */
export interface OpenAiTtsOptions {
  apiKey: string;
  baseURL?: string | undefined;
  /** Default `gpt-4o-mini-tts`. */
  model?: string;
  /** Default `fable`. */
  defaultVoice?: string;
  /** `pcm` (default) or `wav`: both uncompressed, so there is no lossy double encode. */
  responseFormat?: 'pcm' | 'wav';
  /** Speaking rate, 0.25–4 (default 1). */
  speed?: number;
  /** Style instructions; sent only to models that accept them. Default {@link DEFAULT_TTS_INSTRUCTIONS}. */
  instructions?: string | null;
  /** Per-attempt timeout, ms (default 30 s). */
  timeout?: number;
  /** Backoff for transient failures (default: 3 retries from 300 ms). */
  retry?: Omit<RetryOptions, 'signal' | 'clock'>;
  clock?: Clock;
  logger?: Logger;
}

/** {@link TtsProvider} on OpenAI's speech endpoint (or any server that speaks it). */
export class OpenAiTtsProvider implements TtsProvider {
  readonly name = 'openai';
  readonly defaultVoice: string;
  readonly model: string;
  readonly #client: OpenAI;
  readonly #options: OpenAiTtsOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(options: OpenAiTtsOptions) {
    this.#options = options;
    this.model = options.model ?? 'gpt-4o-mini-tts';
    this.defaultVoice = options.defaultVoice ?? 'fable';
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'tts', provider: 'openai' });
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL ?? null,
      maxRetries: 0,
      timeout: options.timeout ?? 30_000,
    });
  }

  async voices(): Promise<TtsVoice[]> {
    return [...OPENAI_TTS_VOICES];
  }

  /**
   * Speaks `text`. Transient failures (429, 5xx, timeouts, resets) are
   * retried here with backoff; the error thrown after that is final.
   */
  async synthesize({ text, voice, signal }: SynthesizeRequest): Promise<TtsAudio> {
    const chosen = voice ?? this.defaultVoice;
    if (!OPENAI_TTS_VOICES.some((v) => v.id === chosen)) throw new UnknownVoiceError(this.name, chosen);
    const input = text.trim();
    if (!input) throw new TtsError('nothing to say: empty text', this.name, false);
    const format = this.#options.responseFormat ?? 'pcm';
    const instructions =
      this.#options.instructions === undefined ? DEFAULT_TTS_INSTRUCTIONS : this.#options.instructions;
    const takesInstructions = !/^tts-1/.test(this.model);
    const body = {
      model: this.model,
      voice: chosen,
      input,
      response_format: format,
      ...(this.#options.speed === undefined ? {} : { speed: this.#options.speed }),
      ...(instructions && takesInstructions ? { instructions } : {}),
    };
    let data: Buffer;
    try {
      data = await withRetry(
        async () => {
          const response = await this.#client.audio.speech.create(body, { signal });
          return Buffer.from(await response.arrayBuffer());
        },
        {
          baseDelayMs: 300,
          ...this.#options.retry,
          clock: this.#clock,
          signal,
          onRetry: ({ attempt, delayMs, error }) =>
            this.#logger.warn({ attempt, delayMs, err: describeError(error) }, 'TTS call failed, retrying'),
        },
      );
    } catch (error) {
      if (isAbortError(error) || signal?.aborted) throw signal ? abortReason(signal) : error;
      throw new TtsError(`OpenAI TTS failed: ${describeError(error)}`, this.name, isTransientError(error), {
        cause: error,
      });
    }
    if (format === 'wav') {
      try {
        const wav = parseWav(data);
        if (wav.data.length === 0) throw new Error('no samples');
      } catch (error) {
        throw new TtsError(`OpenAI TTS returned a bad WAV: ${describeError(error)}`, this.name, false);
      }
      return { data, format: 'wav' };
    }
    if (data.length < 2) throw new TtsError('OpenAI TTS returned no audio', this.name, false);
    // An odd trailing byte would shift every later sample; drop it.
    const pcm = data.length % 2 === 0 ? data : data.subarray(0, data.length - 1);
    return { data: pcm, format: 'pcm_s16le', sampleRate: OPENAI_PCM_SAMPLE_RATE, channels: 1 };
  }
}
