/**
 * Narration: from a DM's prompt to stored, encoded chunks on the campaign's
 * station. The bot and the web use {@link createNarrationService} and the
 * {@link NarrationService} interface; the rest is exported for the
 * composition root, tests and benchmarks.
 */

// The service the bot and the web call, and its factory.
export {
  RateLimitedError,
  UnknownVoiceError,
  type NarrationHandle,
  type NarrationInput,
  type NarrationPhase,
  type NarrationProgress,
  type NarrationService,
} from './service';
export {
  createNarrationService,
  type CreateNarrationServiceOptions,
  type ManagedNarrationService,
  type NarrationSetup,
} from './create';
export {
  createNarrationPipeline,
  EmptyNarrationError,
  NarrationPipeline,
  SHUTDOWN_REASON,
  type NarrationEngine,
  type NarrationPipelineOptions,
  type PipelineTraceEvent,
} from './pipeline';
export { NarrationProgressTracker } from './progress';
export { TaskPool } from './task-pool';
export { DEMO_NARRATIONS, demoNarrationFor, startDemoLlmServer, type DemoLlmServer } from './demo';

// LLM, splitter, retries, rate limit, voices.
export {
  CONTINUE_INSTRUCTION,
  DEFAULT_NARRATOR_PROMPT,
  LlmError,
  LlmStallError,
  OpenAiLlmClient,
  type LlmClient,
  type NarrationRequest,
  type OpenAiLlmOptions,
} from './llm';
export {
  createSentenceSplitter,
  splitSentences,
  stripMarkdown,
  type SentenceSplitter,
  type SentenceSplitterOptions,
} from './splitter';
export {
  abortReason,
  backoffDelay,
  describeError,
  isAbortError,
  isTransientError,
  retryAfterMs,
  RetryExhaustedError,
  sleep,
  withRetry,
  type RetryInfo,
  type RetryOptions,
} from './retry';
export { createRateLimiter, RateLimiter, type RateLimiterOptions, type RateLimitResult } from './rate-limit';
export { isKnownVoice, MAX_VOICE_CHOICES, resolveVoice, searchVoices } from './voices';

// Text to speech. The TTS layer's own unknown-voice error is renamed: the service's wins the short name.
export {
  createTtsProvider,
  DEFAULT_TTS_INSTRUCTIONS,
  FLITE_VOICES,
  FliteTtsProvider,
  FliteWorkerError,
  OPENAI_PCM_SAMPLE_RATE,
  OPENAI_TTS_VOICES,
  OpenAiTtsProvider,
  parseWav,
  pcmToWav,
  toFliteText,
  TtsError,
  UnknownVoiceError as TtsUnknownVoiceError,
  type CreateTtsProviderOptions,
  type FliteTtsOptions,
  type OpenAiTtsOptions,
  type SynthesizeRequest,
  type TtsAudio,
  type TtsProvider,
  type TtsProviderName,
  type TtsVoice,
  type WavInfo,
} from './tts';

// Encoding.
export {
  checkFfmpeg,
  ENCODED_SAMPLE_RATE,
  EncoderError,
  FfmpegAudioEncoder,
  prepareEncoderTempDir,
  FfmpegNotFoundError,
  resolveFfmpeg,
  type AudioEncoder,
  type EncodeInput,
  type EncoderErrorCode,
  type FfmpegAudioEncoderOptions,
  type FfmpegSource,
  type ResolveFfmpegOptions,
} from './encoder';

// The fake OpenAI server (tests, benchmarks, demo mode).
export {
  FAKE_TTS_SAMPLE_RATE,
  FakeOpenAiServer,
  fakeSpeechPcm,
  fakeTokenize,
  type FakeChatMessage,
  type FakeEndpoint,
  type FakeFailure,
  type FakeOpenAiOptions,
  type FakeOpenAiStats,
} from './fake-openai-server';
