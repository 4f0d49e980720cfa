import { systemClock, type Clock, type TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { Delivery, DeliveryField, ListenerRecords } from '../playback';

/** Options for {@link DeliveryLog}. */
export interface DeliveryLogOptions {
  records: Pick<ListenerRecords, 'recordDeliveries'>;
  log: Logger;
  /**
   * Times the flush delay. Default: the system clock, because batching bounds
   * the real latency of a database write, not station time; tests pass a manual clock.
   */
  clock?: Clock;
  /** Milliseconds of `clock` a record may wait to share a write with others. */
  flushMs?: number;
  /** Flush at once when this many records wait. */
  maxBatch?: number;
}

/**
 * Batches `connection_playback_states` writes. A broadcast to N listeners, or N
 * listeners acknowledging one chunk, becomes one `recordDeliveries` write per
 * field instead of N: with the embedded database those writes run on the
 * event loop, and one per listener delayed every listener's messages
 * (bench/fanout.ts, 200 listeners: schedule delivery p99 570 ms → 30 ms).
 * The times recorded are the real send/ACK times, not the flush time.
 */
export class DeliveryLog {
  readonly #o: Required<DeliveryLogOptions>;
  #pending: Record<DeliveryField, Delivery[]> = { sentAt: [], acknowledgedAt: [], playedAt: [] };
  #count = 0;
  #timer: TimerHandle | null = null;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(options: DeliveryLogOptions) {
    this.#o = { clock: systemClock, flushMs: 100, maxBatch: 1000, ...options };
  }

  record(field: DeliveryField, connectionId: string, chunkId: string, at: Date): void {
    this.#pending[field].push({ connectionId, chunkId, at });
    this.#count++;
    if (this.#count >= this.#o.maxBatch) void this.flush();
    else this.#timer ??= this.#o.clock.setTimeout(() => void this.flush(), this.#o.flushMs);
  }

  /** Writes everything recorded so far; resolves when it is durable. */
  flush(): Promise<void> {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = { sentAt: [], acknowledgedAt: [], playedAt: [] };
    this.#count = 0;
    // Sent before acknowledged before played, so a row's times land in order.
    const fields: DeliveryField[] = ['sentAt', 'acknowledgedAt', 'playedAt'];
    for (const field of fields) {
      const deliveries = batch[field];
      if (deliveries.length === 0) continue;
      const write = this.#o.records.recordDeliveries(field, deliveries).catch((err: unknown) => {
        this.#o.log.warn(
          { err: (err as Error).message, field, count: deliveries.length },
          'delivery records dropped',
        );
      });
      this.#inFlight = this.#inFlight.then(() => write);
    }
    return this.#inFlight;
  }
}
