/**
 * The sentences a page has been allowed to read, by request. A player's
 * schedule carries a chunk's text only once it airs (DESIGN.md rule 7: the
 * server re-sends the schedule as each chunk starts), so the page learns
 * each sentence at its moment and keeps it here; the DM's schedule carries
 * every text at once. Pure, bounded, tested without a DOM.
 */
import type { ScheduleEntry } from './protocol';

/** Revealed sentences of the last few requests. */
export class Transcript {
  readonly #maxRequests: number;
  /** request id → sequence number → sentence. */
  readonly #requests = new Map<string, Map<number, string>>();
  /** chunk id → sentence. */
  readonly #chunks = new Map<string, string>();

  constructor(maxRequests = 20) {
    this.#maxRequests = maxRequests;
  }

  /** Takes the texts a schedule reveals (entries whose `text` is null are not known yet). */
  noteSchedule(entries: readonly ScheduleEntry[]): void {
    for (const e of entries) {
      if (e.text !== null) this.note(e.request_id, e.chunk_id, e.sequence_number, e.text);
    }
  }

  note(requestId: string, chunkId: string, sequence: number, text: string): void {
    let request = this.#requests.get(requestId);
    if (!request) {
      request = new Map();
      this.#requests.set(requestId, request);
      if (this.#requests.size > this.#maxRequests) this.#requests.delete(this.#requests.keys().next().value!);
    }
    request.set(sequence, text);
    this.#chunks.delete(chunkId);
    this.#chunks.set(chunkId, text);
    if (this.#chunks.size > this.#maxRequests * 50) this.#chunks.delete(this.#chunks.keys().next().value!);
  }

  /** The sentence of a chunk, once revealed. */
  textOf(chunkId: string): string | null {
    return this.#chunks.get(chunkId) ?? null;
  }

  /** Revealed sentences of a request in order, joined; null when none is known. */
  spoken(requestId: string, upTo = Number.POSITIVE_INFINITY): string | null {
    const request = this.#requests.get(requestId);
    if (!request) return null;
    const sentences = [...request.entries()]
      .filter(([seq]) => seq <= upTo)
      .sort(([a], [b]) => a - b)
      .map(([, text]) => text);
    return sentences.length > 0 ? sentences.join(' ') : null;
  }
}
