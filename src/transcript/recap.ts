/**
 * "Previously on…": the LLM writes a short recap from the last session's
 * transcript; the DM sees it first and airs it as is, edits it, or drops it.
 * Without an LLM it says so, and the DM gets the transcript instead.
 */
import { silentLogger, type Logger } from '../log';
import type { LlmClient } from '../narration/llm';
import type { NarrationHandle, NarrationService } from '../narration/service';
import { sessionPlainText } from './markdown';
import type { TranscriptService } from './sessions';

/** What `/recap` (or the console button) gets back. */
export type RecapDraft =
  | { kind: 'draft'; text: string; sessionId: string }
  | { kind: 'no_llm'; sessionId: string | null }
  | { kind: 'empty' };

/** Airing with nothing to air. */
export class RecapError extends Error {
  override readonly name = 'RecapError';
}

/** The instruction given with the transcript. */
export const RECAP_PROMPT = [
  'Write a short "Previously on…" recap of the last session of this campaign, to be read aloud at the start of the next one.',
  'Begin with "Previously…". Use 50 to 120 words, past tense, the key events and names only, no new events.',
  'Base it only on this transcript of what was narrated:',
].join(' ');

/** Options for {@link RecapService}. */
export interface RecapServiceOptions {
  llm: LlmClient | null;
  transcript: TranscriptService;
  narration: NarrationService;
  /** At most this many characters of transcript go to the LLM, the most recent kept (default 8000). */
  maxChars?: number;
  logger?: Logger;
}

/** Drafts, holds and airs recaps (one pending draft per campaign). */
export class RecapService {
  readonly #o: RecapServiceOptions;
  readonly #log: Logger;
  readonly #drafts = new Map<string, string>();

  constructor(options: RecapServiceOptions) {
    this.#o = options;
    this.#log = (options.logger ?? silentLogger).child({ module: 'recap' });
  }

  /** True when an LLM can write recaps. */
  get available(): boolean {
    return this.#o.llm !== null;
  }

  /** Writes a draft from the latest session; it waits for the DM's decision. */
  async draft(campaignId: string, signal?: AbortSignal): Promise<RecapDraft> {
    const session = await this.#o.transcript.session(campaignId, 'latest');
    const llm = this.#o.llm;
    if (!llm) return { kind: 'no_llm', sessionId: session?.id ?? null };
    const text = session ? sessionPlainText(session) : '';
    if (!text.trim()) return { kind: 'empty' };
    const max = this.#o.maxChars ?? 8000;
    const prompt = `${RECAP_PROMPT}\n\n${text.length > max ? `…${text.slice(-max)}` : text}`;
    let recap = '';
    for await (const delta of llm.streamNarration({ prompt, history: [], signal })) recap += delta;
    recap = recap.trim();
    if (!recap) return { kind: 'empty' };
    this.#drafts.set(campaignId, recap);
    this.#log.info({ campaign: campaignId, chars: recap.length }, 'recap drafted');
    return { kind: 'draft', text: recap, sessionId: (session as { id: string }).id };
  }

  /** The draft waiting for the DM, if any. */
  pending(campaignId: string): string | null {
    return this.#drafts.get(campaignId) ?? null;
  }

  /** Airs `text` (the DM's edit) or the pending draft, as `say`. Throws {@link RecapError} with neither. */
  async air(campaignId: string, requestedBy: string, text?: string): Promise<NarrationHandle> {
    const words = (text ?? this.#drafts.get(campaignId) ?? '').trim();
    if (!words) throw new RecapError('there is no recap to air: draft one first');
    const handle = await this.#o.narration.start({ campaignId, text: words, mode: 'say', requestedBy });
    this.#drafts.delete(campaignId);
    return handle;
  }

  /** Drops the pending draft; false when there was none. */
  drop(campaignId: string): boolean {
    return this.#drafts.delete(campaignId);
  }
}
