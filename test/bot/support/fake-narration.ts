import type {
  NarrationHandle,
  NarrationInput,
  NarrationProgress,
  NarrationService,
} from '../../../src/narration/service';
import type { AudioChunk, PlaybackRequest, PlaybackRequestWriter } from '../../../src/playback';
import { encodedOf } from './opus';

/**
 * One narration the test moves along by hand, writing real chunks through the
 * real PlaybackRequestWriter (so the station and the voice sink see exactly
 * what the real pipeline would produce).
 */
export class ControlledNarration {
  readonly handle: NarrationHandle;
  readonly #listeners = new Set<(p: NarrationProgress) => void>();
  #resolveDone!: (p: NarrationProgress) => void;
  #seq = 0;
  #total: number | null = null;

  constructor(
    private readonly writer: PlaybackRequestWriter,
    readonly request: PlaybackRequest,
    readonly input: NarrationInput,
    spokenVerbatim: boolean,
    /** Tag in the synthetic Opus packets (tells chunks of different requests apart). */
    readonly tag: number,
  ) {
    const done = new Promise<NarrationProgress>((resolve) => (this.#resolveDone = resolve));
    this.handle = {
      request,
      spokenVerbatim,
      onProgress: (l) => {
        this.#listeners.add(l);
        return () => this.#listeners.delete(l);
      },
      done,
    };
  }

  emit(p: Omit<NarrationProgress, 'requestId'>): void {
    for (const l of this.#listeners) l({ requestId: this.request.id, ...p });
  }

  /** The text is written: `total` sentences to speak. */
  written(total: number): void {
    this.#total = total;
    this.emit({ phase: 'speaking', sentencesDone: this.#seq, sentencesTotal: total });
  }

  /** Stores the next chunk (its packets carry `tag` and their index). */
  async addChunk(durationMs: number, text = `Sentence ${this.#seq + 1}.`): Promise<AudioChunk> {
    const seq = this.#seq++;
    const chunk = await this.writer.addChunk(this.request.id, seq, {
      text,
      audio: encodedOf(durationMs, this.tag),
    });
    this.emit({ phase: 'speaking', sentencesDone: this.#seq, sentencesTotal: this.#total });
    return chunk;
  }

  async complete(): Promise<void> {
    await this.writer.complete(this.request.id, this.#seq);
    const p: NarrationProgress = {
      requestId: this.request.id,
      phase: 'done',
      sentencesDone: this.#seq,
      sentencesTotal: this.#seq,
    };
    this.emit(p);
    this.#resolveDone(p);
  }

  async fail(error: string): Promise<void> {
    await this.writer.fail(this.request.id, error);
    const p: NarrationProgress = {
      requestId: this.request.id,
      phase: 'failed',
      sentencesDone: this.#seq,
      sentencesTotal: this.#total,
      error,
    };
    this.emit(p);
    this.#resolveDone(p);
  }
}

/** A NarrationService test double built on the real writer. */
export class FakeNarration implements NarrationService {
  readonly started: ControlledNarration[] = [];
  /** Thrown by the next `start` (RateLimitedError, UnknownVoiceError, anything). */
  nextError: Error | null = null;
  voiceList = [
    { id: 'slt', label: 'Sally (flite)' },
    { id: 'awb', label: 'Alan (flite)' },
    { id: 'alloy', label: 'Alloy (OpenAI)' },
  ];
  closed = false;

  constructor(
    private readonly writer: PlaybackRequestWriter,
    public llmAvailable = true,
  ) {}

  async start(input: NarrationInput): Promise<NarrationHandle> {
    if (this.nextError) {
      const err = this.nextError;
      this.nextError = null;
      throw err;
    }
    const request = await this.writer.create(input.campaignId, input.text, {
      mode: input.mode,
      voice: input.voice ?? null,
      ...(input.receivedAt === undefined ? {} : { receivedAt: input.receivedAt }),
    });
    const n = new ControlledNarration(
      this.writer,
      request,
      input,
      input.mode === 'narrate' && !this.llmAvailable,
      this.started.length + 1,
    );
    this.started.push(n);
    return n.handle;
  }

  async voices(): Promise<{ id: string; label: string }[]> {
    return this.voiceList;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The newest narration. */
  get last(): ControlledNarration {
    const n = this.started.at(-1);
    if (!n) throw new Error('no narration started');
    return n;
  }
}
