/**
 * The queue's recent history kept in memory, so `GET …/audio/queue` still
 * shows what just aired while the database is unreachable (DESIGN.md rule 6:
 * the service keeps playing from memory, and says what it played).
 *
 * It remembers the last answer storage gave for each campaign and every
 * request that ended since (from the station registry's events); during an
 * outage the two are merged, newest first. Storage stays the source of truth
 * whenever it answers.
 */
import type { PlaybackRepository, PlaybackRequest, StationEvents, StationRegistry } from '../playback';

/** A finished request and how many chunks it had. */
export interface HistoryItem {
  request: PlaybackRequest;
  chunkCount: number;
}

type Ended = StationEvents['requestEnded'][0];
type Ready = StationEvents['chunkReady'][0];

/** Options of {@link RecentHistory}. */
export interface RecentHistoryOptions {
  stations: StationRegistry;
  /** Items kept per campaign. */
  limit: number;
}

/** Per-campaign memory of recently finished requests; see the module comment. */
export class RecentHistory {
  readonly #limit: number;
  readonly #stations: StationRegistry;
  /** Finished since the last storage answer, newest first. */
  readonly #ended = new Map<string, HistoryItem[]>();
  /** The last answer storage gave, newest first. */
  readonly #stored = new Map<string, HistoryItem[]>();
  /** Chunks seen per request still in a queue (for requests that end without a total). */
  readonly #chunks = new Map<string, number>();
  readonly #onEnded = (e: Ended) => this.#remember(e);
  readonly #onReady = (e: Ready) =>
    this.#chunks.set(e.request.id, Math.max(this.#chunks.get(e.request.id) ?? 0, e.chunk.sequenceNumber + 1));

  constructor(options: RecentHistoryOptions) {
    this.#limit = options.limit;
    this.#stations = options.stations;
    this.#stations.on('requestEnded', this.#onEnded);
    this.#stations.on('chunkReady', this.#onReady);
  }

  /** Records what storage answered (call after each successful read). */
  stored(campaignId: string, items: HistoryItem[]): void {
    this.#stored.set(campaignId, items.slice(0, this.#limit));
    const ids = new Set(items.map((i) => i.request.id));
    // What storage already has no longer needs the memory copy.
    const ended = (this.#ended.get(campaignId) ?? []).filter((i) => !ids.has(i.request.id));
    this.#ended.set(campaignId, ended);
  }

  /** The recent history from memory: ended requests, then storage's last answer, newest first. */
  list(campaignId: string, limit = this.#limit): HistoryItem[] {
    const seen = new Set<string>();
    const out: HistoryItem[] = [];
    for (const item of [...(this.#ended.get(campaignId) ?? []), ...(this.#stored.get(campaignId) ?? [])]) {
      if (seen.has(item.request.id)) continue;
      seen.add(item.request.id);
      out.push(item);
    }
    const at = (i: HistoryItem) => (i.request.finishedAt ?? i.request.createdAt).getTime();
    return out.sort((a, b) => at(b) - at(a)).slice(0, limit);
  }

  close(): void {
    this.#stations.off('requestEnded', this.#onEnded);
    this.#stations.off('chunkReady', this.#onReady);
  }

  #remember(e: Ended): void {
    const chunkCount = e.request.totalChunks ?? this.#chunks.get(e.request.id) ?? 0;
    this.#chunks.delete(e.request.id);
    const list = this.#ended.get(e.campaignId) ?? [];
    list.unshift({ request: { ...e.request }, chunkCount });
    list.length = Math.min(list.length, this.#limit);
    this.#ended.set(e.campaignId, list);
  }
}

const attached = new WeakMap<StationRegistry, RecentHistory>();

/** The one {@link RecentHistory} of a station registry (created on first use). */
export function recentHistoryOf(stations: StationRegistry, limit: number): RecentHistory {
  let history = attached.get(stations);
  if (!history) {
    history = new RecentHistory({ stations, limit });
    attached.set(stations, history);
  }
  return history;
}

/** Reads the history from storage, remembering it; from memory when storage can't answer. */
export async function readHistory(
  repository: Pick<PlaybackRepository, 'listHistory' | 'getRequest'> & { readonly inOutage?: boolean },
  history: RecentHistory,
  campaignId: string,
  limit: number,
): Promise<{ items: HistoryItem[]; source: 'database' | 'memory' }> {
  // During an outage storage lacks the journalled writes: memory is the newer truth.
  if (repository.inOutage) return { items: history.list(campaignId, limit), source: 'memory' };
  try {
    const requests = await repository.listHistory(campaignId, limit);
    // Finished requests without a total (failed, cancelled) need their chunks counted.
    const counts = await Promise.all(
      requests.map(async (r) =>
        r.totalChunks !== null ? r.totalChunks : ((await repository.getRequest(r.id))?.chunks.length ?? 0),
      ),
    );
    const items = requests.map((request, i) => ({ request, chunkCount: counts[i] ?? 0 }));
    history.stored(campaignId, items);
    return { items, source: 'database' };
  } catch {
    return { items: history.list(campaignId, limit), source: 'memory' };
  }
}
