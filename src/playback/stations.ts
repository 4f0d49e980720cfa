import { EventEmitter } from 'node:events';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import type { PlaybackMetrics } from './metrics';
import type { PlaybackRepository } from './repository';
import { Station } from './station';
import { STATION_EVENT_NAMES, type StationEvents } from './station-types';
import { RequestStatus } from './types';

/** Options shared by every campaign's station. */
export interface StationRegistryOptions {
  clock: Clock;
  log: Logger;
  repository: PlaybackRepository;
  metrics?: PlaybackMetrics;
  gapMs?: number;
  stallTimeoutMs?: number;
}

/**
 * One {@link Station} per campaign, created on first use. Re-emits every
 * station's events, so a sink subscribes once for all campaigns. State lives
 * here (not in module globals), so each shard of a sharded bot has its own.
 */
export class StationRegistry extends EventEmitter<StationEvents> {
  readonly #stations = new Map<string, Station>();
  readonly #options: StationRegistryOptions;

  constructor(options: StationRegistryOptions) {
    super();
    this.setMaxListeners(50);
    this.#options = options;
  }

  /** The campaign's station (created if needed). */
  get(campaignId: string): Station {
    let station = this.#stations.get(campaignId);
    if (!station) {
      const o = this.#options;
      station = new Station({
        campaignId,
        clock: o.clock,
        log: o.log,
        repository: o.repository,
        metrics: o.metrics,
        ...(o.gapMs === undefined ? {} : { gapMs: o.gapMs }),
        ...(o.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: o.stallTimeoutMs }),
      });
      for (const name of STATION_EVENT_NAMES) {
        const s = station;
        s.on(name, (...args: unknown[]) => {
          (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args);
        });
      }
      station.on('queueChanged', () => this.#updateGauge());
      this.#stations.set(campaignId, station);
    }
    return station;
  }

  /** The station if it exists, without creating one. */
  peek(campaignId: string): Station | undefined {
    return this.#stations.get(campaignId);
  }

  all(): Station[] {
    return [...this.#stations.values()];
  }

  destroy(): void {
    for (const s of this.#stations.values()) s.destroy();
    this.#stations.clear();
    this.removeAllListeners();
  }

  #updateGauge(): void {
    const gauge = this.#options.metrics?.requestsByStatus;
    if (!gauge) return;
    let pending = 0;
    let playing = 0;
    for (const s of this.#stations.values()) {
      for (const e of s.queue()) {
        if (e.request.status === RequestStatus.Playing) playing++;
        else pending++;
      }
    }
    gauge.set({ status: RequestStatus.Pending }, pending);
    gauge.set({ status: RequestStatus.Playing }, playing);
  }
}
