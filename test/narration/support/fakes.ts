/**
 * Fakes at the narration pipeline's seams (TtsProvider, AudioEncoder,
 * LlmClient). The pipeline, writer, station and database stay real.
 */
import type { EncodeInput, AudioEncoder } from '../../../src/narration/encoder';
import type { LlmClient, NarrationRequest } from '../../../src/narration/llm';
import { abortReason } from '../../../src/narration/retry';
import type { SynthesizeRequest, TtsAudio, TtsProvider, TtsVoice } from '../../../src/narration/tts/types';
import type { EncodedAudio } from '../../../src/playback';
import { audioOf } from '../../support/audio';

/** One TTS call the test decides the outcome of. */
export interface TtsCall {
  text: string;
  voice: string | undefined;
  signal: AbortSignal | undefined;
  settled: boolean;
  /** Rejected with the abort reason when the pipeline aborted the call. */
  aborted: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A TtsProvider whose calls finish when the test says (or at once with
 * `auto`). The audio carries the text, so the fake encoder can give each
 * sentence its own duration.
 */
export class ControlledTts implements TtsProvider {
  readonly name = 'fake';
  readonly defaultVoice = 'narrator';
  readonly calls: TtsCall[] = [];
  auto = false;
  #waiters: Array<() => void> = [];

  constructor(
    readonly voiceList: TtsVoice[] = [
      { id: 'narrator', label: 'Narrator' },
      { id: 'onyx', label: 'Onyx' },
      { id: 'sage', label: 'Sage' },
    ],
  ) {}

  async voices(): Promise<TtsVoice[]> {
    return [...this.voiceList];
  }

  /** Calls started and not yet settled. */
  get pending(): TtsCall[] {
    return this.calls.filter((c) => !c.settled);
  }

  /** Resolves on the next call (or immediately if `count` calls were already made). */
  nextCall(count = this.calls.length + 1): Promise<void> {
    if (this.calls.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  synthesize({ text, voice, signal }: SynthesizeRequest): Promise<TtsAudio> {
    return new Promise<TtsAudio>((resolve, reject) => {
      const call: TtsCall = {
        text,
        voice,
        signal,
        settled: false,
        aborted: false,
        resolve: () => {
          if (call.settled) return;
          call.settled = true;
          resolve({ data: Buffer.from(text), format: 'wav' });
        },
        reject: (error) => {
          if (call.settled) return;
          call.settled = true;
          reject(error);
        },
      };
      if (signal?.aborted) {
        call.settled = true;
        call.aborted = true;
        reject(abortReason(signal));
        return;
      }
      signal?.addEventListener(
        'abort',
        () => {
          if (call.settled) return;
          call.aborted = true;
          call.reject(abortReason(signal));
        },
        { once: true },
      );
      this.calls.push(call);
      for (const wake of this.#waiters.splice(0)) wake();
      if (this.auto) call.resolve();
    });
  }
}

/** Milliseconds of audio per character of text, as the fake encoder makes it. */
export const FAKE_MS_PER_CHAR = 50;

/** An encoder that returns fake bytes with a duration from the text's length; can be told to fail. */
export class FakeEncoder implements AudioEncoder {
  calls = 0;
  failOn: ((text: string) => Error | undefined) | undefined;

  async encode(input: EncodeInput, signal?: AbortSignal): Promise<EncodedAudio> {
    this.calls++;
    if (signal?.aborted) throw abortReason(signal);
    const text = input.data.toString();
    const error = this.failOn?.(text);
    if (error) throw error;
    return audioOf(Math.max(20, text.length * FAKE_MS_PER_CHAR), String(this.calls));
  }
}

/** An LLM that streams scripted deltas and records what it was asked. */
export class ScriptedLlm implements LlmClient {
  readonly requests: NarrationRequest[] = [];
  constructor(public deltas: string[] | ((prompt: string) => string[])) {}

  async *streamNarration(request: NarrationRequest): AsyncIterable<string> {
    this.requests.push(request);
    const deltas = typeof this.deltas === 'function' ? this.deltas(request.prompt) : this.deltas;
    for (const delta of deltas) {
      if (request.signal?.aborted) throw abortReason(request.signal);
      await Promise.resolve();
      yield delta;
    }
  }
}
