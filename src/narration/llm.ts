/**
 * The LLM seam: {@link LlmClient} streams a narration as text deltas.
 * {@link OpenAiLlmClient} speaks the chat-completions API through the official
 * `openai` SDK, so it works with OpenAI and with local OpenAI-compatible
 * servers (llama.cpp, Ollama, vLLM, LM Studio) through `baseURL`.
 */
import OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import { systemClock, type Clock } from '../clock';
import { silentLogger, type Logger } from '../log';
import { abortReason, describeError, isAbortError, withRetry, type RetryOptions } from './retry';

/** What the DM asked for, with the story so far. */
export interface NarrationRequest {
  prompt: string;
  /** The campaign's recent narration texts, oldest first, so the story keeps its thread. */
  history?: string[];
  /** Names of the campaign's cast, so voice tags name a character the same way every time. */
  cast?: string[];
  /**
   * The start of this narration, already written (and partly spoken) before a
   * restart cut the stream: the model is asked to continue it, and yields
   * only the rest.
   */
  continueFrom?: string;
  /** Aborts the call (skip/stop, or the request was cancelled). */
  signal?: AbortSignal | undefined;
}

/** Writes narration. Implementations: {@link OpenAiLlmClient}; tests may use any async generator. */
export interface LlmClient {
  /**
   * Yields the narration as it is written (text deltas, never empty strings).
   * Throws {@link LlmError} when the model fails, or the signal's abort error
   * when cancelled.
   */
  streamNarration(request: NarrationRequest): AsyncIterable<string>;
}

/** The LLM call failed. `afterFirstToken` means some text was already yielded (no retry was possible). */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  constructor(
    message: string,
    readonly afterFirstToken: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No token arrived for too long; transient, so it is retried before the first token. */
export class LlmStallError extends Error {
  override readonly name = 'LlmStallError';
  readonly transient = true;
  constructor(readonly waitedMs: number) {
    super(`no token from the model for ${waitedMs} ms`);
  }
}

/** The narrator's default instructions: spoken aloud, so prose only. */
export const DEFAULT_NARRATOR_PROMPT = [
  'You are the narrator of a tabletop role-playing campaign, speaking aloud to the players at the table.',
  'The Dungeon Master gives you a prompt; turn it into narration that will be read out by a text-to-speech voice.',
  'Write in the second person ("you") and the present tense. Be vivid and concrete: sights, sounds, smells, a hint of danger.',
  'Keep it short: one to three short paragraphs, about 60 to 150 words, unless the prompt asks for more.',
  'Plain prose only: no markdown, no headings, no lists, no asterisks, no emoji, no stage directions in brackets.',
  'When a character speaks aloud, wrap exactly their spoken words in a voice tag with their name, e.g. <v Grimble>"Who goes there?"</v> growls the guard.',
  'Use one short name per character and keep it the same every time; everything outside a tag is read by the narrator.',
  'Do not decide what the players do, say or feel; end on something they can react to.',
  'Stay consistent with the story so far. Never mention that you are an AI or that this is a game.',
].join(' ');

/** Introduces the campaign's cast in the system message. */
export const CAST_INTRO =
  'Characters of this campaign so far (when one of them speaks, use exactly this name in the voice tag):';

/** At most this many cast names go into the prompt. */
const MAX_CAST_NAMES = 40;

/** The follow-up that asks the model to finish a narration cut short. */
export const CONTINUE_INSTRUCTION =
  'Your narration above was cut off. Continue it exactly where it stops, mid-word or mid-sentence if ' +
  'that is where it stops: reply with only the missing rest, without repeating anything already written.';

/** Options for {@link OpenAiLlmClient}. */
export interface OpenAiLlmOptions {
  apiKey: string;
  /** An OpenAI-compatible server (e.g. `http://localhost:11434/v1`); OpenAI itself when unset. */
  baseURL?: string | undefined;
  /** Default `gpt-4o-mini`. */
  model?: string;
  /** Default {@link DEFAULT_NARRATOR_PROMPT}. */
  systemPrompt?: string;
  /** Upper bound of the reply's length in tokens (default 400). */
  maxTokens?: number;
  /**
   * Which request field carries `maxTokens`. OpenAI's newer models take only
   * `max_completion_tokens`; some local servers know only `max_tokens`.
   * Default: `max_completion_tokens` for OpenAI, `max_tokens` with a custom `baseURL`.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  temperature?: number;
  /** Connect-and-headers timeout per attempt, ms (default 30 s). */
  timeout?: number;
  /** Longest wait for the first token, or between two tokens, ms (default 30 s). */
  stallTimeoutMs?: number;
  /** At most this many characters of history go into the prompt, newest kept (default 6000). */
  historyChars?: number;
  /** Backoff for failures before the first token (default: 3 retries from 500 ms). */
  retry?: Omit<RetryOptions, 'signal' | 'clock'>;
  clock?: Clock;
  logger?: Logger;
}

/** {@link LlmClient} on the `openai` SDK's streaming chat completions. */
export class OpenAiLlmClient implements LlmClient {
  readonly model: string;
  readonly #client: OpenAI;
  readonly #options: OpenAiLlmOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(options: OpenAiLlmOptions) {
    this.#options = options;
    this.model = options.model ?? 'gpt-4o-mini';
    this.#clock = options.clock ?? systemClock;
    this.#logger = (options.logger ?? silentLogger).child({ module: 'llm' });
    // The SDK's own retries are off: retry.ts decides, so behaviour is the same everywhere and testable.
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL ?? null,
      maxRetries: 0,
      timeout: options.timeout ?? 30_000,
    });
  }

  /** The chat messages sent for `request` (exposed for tests and debugging). */
  buildMessages(
    request: Pick<NarrationRequest, 'prompt' | 'history' | 'cast' | 'continueFrom'>,
  ): Array<{ role: 'system' | 'user' | 'assistant'; content: string }> {
    const cast = (request.cast ?? []).slice(0, MAX_CAST_NAMES);
    const system =
      (this.#options.systemPrompt ?? DEFAULT_NARRATOR_PROMPT) +
      (cast.length > 0 ? `\n\n${CAST_INTRO} ${cast.join(', ')}.` : '');
    const story = recentHistory(request.history ?? [], this.#options.historyChars ?? 6000);
    // One system and one user message: the shape every chat template (local models included) accepts.
    const content = story ? `${system}\n\nThe story so far (oldest first):\n\n${story}` : system;
    const messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }> = [
      { role: 'system', content },
      { role: 'user', content: request.prompt },
    ];
    if (request.continueFrom) {
      // The reply so far, then an explicit ask: servers differ on continuing a trailing assistant turn.
      messages.push(
        { role: 'assistant', content: request.continueFrom },
        { role: 'user', content: CONTINUE_INSTRUCTION },
      );
    }
    return messages;
  }

  async *streamNarration(request: NarrationRequest): AsyncIterable<string> {
    const { signal } = request;
    const field =
      this.#options.maxTokensField ?? (this.#options.baseURL ? 'max_tokens' : 'max_completion_tokens');
    const body: ChatCompletionCreateParamsStreaming = {
      model: this.model,
      messages: this.buildMessages(request),
      stream: true,
      [field]: this.#options.maxTokens ?? 400,
      ...(this.#options.temperature === undefined ? {} : { temperature: this.#options.temperature }),
    };
    const started = this.#clock.now();
    let attempt: Attempt;
    try {
      attempt = await withRetry((n) => this.#open(body, signal, n), {
        baseDelayMs: 500,
        ...this.#options.retry,
        clock: this.#clock,
        signal,
        onRetry: ({ attempt: n, delayMs, error }) =>
          this.#logger.warn({ attempt: n, delayMs, err: describeError(error) }, 'LLM call failed, retrying'),
      });
    } catch (error) {
      if (isAbortError(error) || signal?.aborted) throw signal ? abortReason(signal) : error;
      throw new LlmError(`LLM call failed: ${describeError(error)}`, false, { cause: error });
    }
    this.#logger.debug({ firstTokenMs: this.#clock.now() - started, model: this.model }, 'first token');
    try {
      yield attempt.first;
      for (;;) {
        const text = await attempt.next();
        if (text === null) break;
        yield text;
      }
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (error instanceof LlmError) throw error;
      throw new LlmError(`LLM stream broke after the first token: ${describeError(error)}`, true, {
        cause: error,
      });
    } finally {
      attempt.close();
    }
  }

  /** One attempt: sends the request and waits for the first text, so failures up to there can be retried. */
  async #open(
    body: ChatCompletionCreateParamsStreaming,
    signal: AbortSignal | undefined,
    n: number,
  ): Promise<Attempt> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const stallMs = this.#options.stallTimeoutMs ?? 30_000;
    let stalled = false;
    let timer = this.#clock.setTimeout(() => {
      stalled = true;
      controller.abort();
    }, stallMs);
    const close = (): void => {
      this.#clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
    };
    const pull = async (iterator: AsyncIterator<ChatCompletionChunk>): Promise<string | null> => {
      for (;;) {
        let result: IteratorResult<ChatCompletionChunk>;
        try {
          result = await iterator.next();
        } catch (error) {
          throw stalled ? new LlmStallError(stallMs) : error;
        }
        // The SDK ends the iteration quietly when aborted; tell a stall or a cancel from a real end.
        if (stalled) throw new LlmStallError(stallMs);
        if (signal?.aborted) throw abortReason(signal);
        if (result.done) return null;
        const choice = result.value.choices[0];
        if (choice?.finish_reason && choice.finish_reason !== 'stop') {
          this.#logger.warn({ finishReason: choice.finish_reason }, 'LLM reply cut short');
        }
        const text = choice?.delta?.content;
        if (text) {
          this.#clock.clearTimeout(timer);
          timer = this.#clock.setTimeout(() => {
            stalled = true;
            controller.abort();
          }, stallMs);
          return text;
        }
      }
    };
    try {
      this.#logger.debug({ attempt: n, model: body.model }, 'LLM request');
      const stream = await this.#client.chat.completions.create(body, { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await pull(iterator);
      if (first === null) throw new LlmError('the model returned no text', false);
      return { first, next: () => pull(iterator), close };
    } catch (error) {
      close();
      if (stalled) throw new LlmStallError(stallMs);
      if (signal?.aborted) throw abortReason(signal);
      throw error;
    }
  }
}

interface Attempt {
  first: string;
  next(): Promise<string | null>;
  close(): void;
}

/** The newest history entries that fit in `maxChars`, oldest first. */
function recentHistory(history: string[], maxChars: number): string {
  const kept: string[] = [];
  let used = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const text = (history[i] ?? '').trim();
    if (!text) continue;
    if (used + text.length > maxChars) break;
    kept.unshift(text);
    used += text.length + 2;
  }
  return kept.join('\n\n');
}
