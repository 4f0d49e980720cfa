import type { NarrationMode, PlaybackRequest } from '../playback';

/** What a DM asked for. */
export interface NarrationInput {
  campaignId: string;
  /** The prompt (`narrate`) or the exact words (`say`). */
  text: string;
  mode: NarrationMode;
  /** TTS voice id; the campaign's or the provider's default when absent. */
  voice?: string;
  /** Who asked (Discord user id or web token id): the rate limit's key. */
  requestedBy: string;
  /** Clock time the prompt arrived (time-to-first-audio); defaults to now. */
  receivedAt?: number;
}

/** Where a narration is, for progress replies ("writing… speaking 2/6… on air"). */
export type NarrationPhase = 'writing' | 'speaking' | 'done' | 'failed' | 'cancelled';

/** One progress report. */
export interface NarrationProgress {
  requestId: string;
  phase: NarrationPhase;
  /** Sentences stored so far. */
  sentencesDone: number;
  /** Known once the text is complete. */
  sentencesTotal: number | null;
  error?: string;
}

/** A narration that has been accepted and is being generated. */
export interface NarrationHandle {
  request: PlaybackRequest;
  /**
   * True when `narrate` was asked but no LLM is configured, so the prompt is
   * spoken verbatim; the reply must say so.
   */
  spokenVerbatim: boolean;
  /** Subscribes to progress; returns an unsubscribe function. */
  onProgress(listener: (p: NarrationProgress) => void): () => void;
  /** Settles when generation ends (stored everything, failed, or was cancelled). */
  done: Promise<NarrationProgress>;
}

/** The DM asked too often; carries when to retry. */
export class RateLimitedError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`too many narrations; try again in ${Math.ceil(retryAfterMs / 1000)} s`);
    this.name = 'RateLimitedError';
  }
}

/** The voice asked for does not exist in the TTS provider. */
export class UnknownVoiceError extends Error {
  constructor(readonly voice: string) {
    super(`unknown voice: ${voice}`);
    this.name = 'UnknownVoiceError';
  }
}

/** Turns DM input into stored, encoded chunks on the campaign's station. */
export interface NarrationService {
  /** Accepts a narration (throws {@link RateLimitedError} / {@link UnknownVoiceError}); generation runs on. */
  start(input: NarrationInput): Promise<NarrationHandle>;
  /** Voices for autocomplete. */
  voices(): Promise<{ id: string; label: string }[]>;
  /** True when an LLM is configured for `narrate`. */
  readonly llmAvailable: boolean;
  /** Aborts every running generation (shutdown). */
  close(options?: { drainMs?: number }): Promise<void>;
}
