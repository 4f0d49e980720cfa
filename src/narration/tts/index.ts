/**
 * Text to speech: the {@link TtsProvider} seam, its two engines, and the
 * choice between them (OpenAI when a key is configured, flite offline otherwise).
 */
import type { Logger } from '../../log';
import { FliteTtsProvider, type FliteTtsOptions } from './flite';
import { OpenAiTtsProvider, type OpenAiTtsOptions } from './openai';
import type { TtsProvider } from './types';

export * from './types';
export { FLITE_VOICES, FliteTtsProvider, FliteWorkerError, toFliteText, type FliteTtsOptions } from './flite';
export {
  DEFAULT_TTS_INSTRUCTIONS,
  OPENAI_PCM_SAMPLE_RATE,
  OPENAI_TTS_VOICES,
  OpenAiTtsProvider,
  type OpenAiTtsOptions,
} from './openai';

/** Names of the built-in engines. */
export type TtsProviderName = 'openai' | 'flite';

/** Options for {@link createTtsProvider}. */
export interface CreateTtsProviderOptions {
  /** Force an engine; by default OpenAI when `openai.apiKey` is set, flite otherwise. */
  provider?: TtsProviderName | undefined;
  openai?: Partial<OpenAiTtsOptions>;
  flite?: FliteTtsOptions;
  logger?: Logger;
}

/** Picks and builds the TTS engine. Throws when OpenAI is asked for without a key. */
export function createTtsProvider(options: CreateTtsProviderOptions = {}): TtsProvider {
  const apiKey = options.openai?.apiKey;
  const name = options.provider ?? (apiKey ? 'openai' : 'flite');
  const logger = options.logger;
  if (name === 'openai') {
    if (!apiKey) throw new Error('OpenAI TTS needs an API key');
    return new OpenAiTtsProvider({ ...options.openai, apiKey, ...(logger ? { logger } : {}) });
  }
  return new FliteTtsProvider({ ...options.flite, ...(logger ? { logger } : {}) });
}
