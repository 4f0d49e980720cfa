/**
 * Speaking a narration's first chunk before the splitter is sure of it.
 *
 * The splitter decides the first chunk's cut only once it has seen enough of
 * the sentence to know no better boundary comes (`firstMaxChars` + 1
 * characters, or the sentence's end): for "The torchlight gutters | as you
 * step…" that is ~15 characters after the chunk's last one, a few LLM tokens.
 * Meanwhile its `SentenceSplitter.tentativeFirst` already names the
 * likely cut. A guess starts TTS on that text at once; when the certain first
 * chunk comes out with the same text, its audio is the guess's, already on
 * its way. Otherwise the guess is cancelled and the chunk is spoken as usual:
 * the chunks themselves never depend on the guess (they are the splitter's,
 * as without it), only when their speech started.
 *
 * At most {@link MAX_GUESSES} TTS calls per narration are spent on guesses
 * (a later guess replaces an earlier one whose cut moved, e.g. a comma came),
 * and a guess is only the narrator's line, whose voice is known up front.
 */
import type { AttributedSentence } from '../cast/attributed-splitter';
import type { TtsAudio, TtsProvider } from './tts/types';

/** TTS calls a narration may start on guesses of its first chunk. */
export const MAX_GUESSES = 2;

/** Why a guess was dropped (the reason its TTS call is aborted with). */
export class GuessDroppedError extends Error {
  override readonly name = 'AbortError';
  constructor(readonly text: string) {
    super(`first-chunk guess dropped: "${text}"`);
  }
}

/** Options of {@link FirstChunkGuess}. */
export interface FirstChunkGuessOptions {
  tts: TtsProvider;
  /** The narrator's voice for this narration. */
  voice: string;
  /** The narration's signal: aborting it aborts the guess's TTS call. */
  signal: AbortSignal;
  /** Called when a guess starts speaking (traces). */
  onGuess?: (text: string) => void;
}

interface Guess {
  text: string;
  audio: Promise<TtsAudio>;
  controller: AbortController;
  unlink: () => void;
}

/** The guesses of one narration's first chunk (see the module comment). */
export class FirstChunkGuess {
  readonly #o: FirstChunkGuessOptions;
  #current: Guess | null = null;
  #made = 0;
  /** Set once the first chunk is known: no more guessing. */
  #settled = false;

  constructor(options: FirstChunkGuessOptions) {
    this.#o = options;
  }

  /** Offers the splitter's current `SentenceSplitter.tentativeFirst`; starts TTS on a new guess. */
  offer(candidate: AttributedSentence | null): void {
    if (this.#settled || candidate === null || candidate.speaker !== null) return;
    if (this.#current?.text === candidate.text || this.#made >= MAX_GUESSES) return;
    if (this.#o.signal.aborted) return;
    this.#drop();
    this.#made++;
    const controller = new AbortController();
    const onAbort = () => controller.abort(this.#o.signal.reason);
    this.#o.signal.addEventListener('abort', onAbort, { once: true });
    const text = candidate.text;
    this.#o.onGuess?.(text);
    const audio = this.#o.tts.synthesize({ text, voice: this.#o.voice, signal: controller.signal });
    // Whoever takes the guess sees its failure; an untaken one fails silently.
    audio.catch(() => {});
    this.#current = {
      text,
      audio,
      controller,
      unlink: () => this.#o.signal.removeEventListener('abort', onAbort),
    };
  }

  /**
   * Called with the certain first chunk: the guess's audio when it guessed
   * exactly this (the narrator's) text, else null (and the guess is dropped).
   */
  take(sentence: AttributedSentence): Promise<TtsAudio> | null {
    this.#settled = true;
    const guess = this.#current;
    if (!guess) return null;
    if (guess.text !== sentence.text || sentence.speaker !== null) {
      this.#drop();
      return null;
    }
    this.#current = null;
    void guess.audio.finally(guess.unlink).catch(() => {});
    return guess.audio;
  }

  /** No first chunk will come (the narration ended or failed first): drop any guess. */
  cancel(): void {
    this.#settled = true;
    this.#drop();
  }

  #drop(): void {
    const guess = this.#current;
    if (!guess) return;
    this.#current = null;
    guess.unlink();
    guess.controller.abort(new GuessDroppedError(guess.text));
  }
}
