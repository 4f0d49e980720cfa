import {
  RateLimitedError,
  UnknownVoiceError,
  type NarrationInput,
  type NarrationService,
} from '../../../src/narration/service';
import type { PlaybackRequestWriter } from '../../../src/playback';

/**
 * NarrationService at its seam: records what the web layer asked for and
 * creates the request on the real writer (audio is added by the test).
 * `voice: "nope"` is unknown; `rateLimited` makes the next call refuse.
 */
export class FakeNarration implements NarrationService {
  readonly calls: NarrationInput[] = [];
  rateLimited = false;
  readonly llmAvailable = false;

  constructor(private readonly writer: () => PlaybackRequestWriter) {}

  async start(input: NarrationInput) {
    this.calls.push(input);
    if (this.rateLimited) throw new RateLimitedError(12_300);
    if (input.voice === 'nope') throw new UnknownVoiceError(input.voice);
    const request = await this.writer().create(input.campaignId, input.text, {
      mode: input.mode,
      voice: input.voice ?? null,
    });
    return {
      request,
      spokenVerbatim: input.mode === 'narrate',
      onProgress: () => () => {},
      done: Promise.resolve({
        requestId: request.id,
        phase: 'done' as const,
        sentencesDone: 0,
        sentencesTotal: 0,
      }),
    };
  }

  async voices() {
    return [{ id: 'alloy', label: 'Alloy' }];
  }

  async close() {}
}
