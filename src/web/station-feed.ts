import type { Logger } from '../log';
import { STATION_EVENT_NAMES, type StationEvents, type StationRegistry } from '../playback';

type Payload<K extends keyof StationEvents> = StationEvents[K][0];
type FeedName = Exclude<keyof StationEvents, 'stateChange'>;

/** One station event, tagged with its name. */
export type StationEvent = { [K in FeedName]: { type: K } & Payload<K> }[FeedName];

/** Receives a campaign's station events. */
export type StationListener = (event: StationEvent) => void;

const NAMES = STATION_EVENT_NAMES.filter((n): n is FeedName => n !== 'stateChange');

/**
 * Fans the station registry's events out to web subscribers (WebSocket hub,
 * audio streams) by campaign. The registry gets one listener per event name
 * however many streams are open, and a subscriber that throws is logged,
 * never allowed to unwind into the station that emitted the event.
 */
export class StationFeed {
  readonly #byCampaign = new Map<string, Set<StationListener>>();
  readonly #detach: (() => void)[] = [];
  readonly #log: Logger;

  constructor(stations: StationRegistry, log: Logger) {
    this.#log = log;
    for (const name of NAMES) {
      const handler = (payload: Payload<typeof name>) =>
        this.#dispatch({ type: name, ...payload } as StationEvent);
      const on = stations.on.bind(stations) as (n: string, h: (p: Payload<typeof name>) => void) => void;
      const off = stations.off.bind(stations) as (n: string, h: (p: Payload<typeof name>) => void) => void;
      on(name, handler);
      this.#detach.push(() => off(name, handler));
    }
  }

  /** Calls `listener` with every event of `campaignId`; returns the unsubscribe function. */
  subscribe(campaignId: string, listener: StationListener): () => void {
    let set = this.#byCampaign.get(campaignId);
    if (!set) {
      set = new Set();
      this.#byCampaign.set(campaignId, set);
    }
    set.add(listener);
    return () => {
      const s = this.#byCampaign.get(campaignId);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.#byCampaign.delete(campaignId);
    };
  }

  /** Subscribers of a campaign (tests, metrics). */
  listenerCount(campaignId?: string): number {
    if (campaignId !== undefined) return this.#byCampaign.get(campaignId)?.size ?? 0;
    let n = 0;
    for (const s of this.#byCampaign.values()) n += s.size;
    return n;
  }

  close(): void {
    for (const detach of this.#detach) detach();
    this.#detach.length = 0;
    this.#byCampaign.clear();
  }

  #dispatch(event: StationEvent): void {
    const set = this.#byCampaign.get(event.campaignId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (err) {
        this.#log.error(
          { err, event: event.type, campaign: event.campaignId },
          'station event subscriber failed',
        );
      }
    }
  }
}
