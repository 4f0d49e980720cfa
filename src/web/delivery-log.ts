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
  /**
   * Rows per statement: a larger flush is split, with a turn of the event
   * loop between statements, so the embedded database never holds the loop
   * (socket writes, live MP3 pacing) for one long statement. 5,000 rows took
   * ~100 ms of PGlite on the bench machine.
   */
  statementRows?: number;
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
  /** Statements chained behind others and not yet issued. */
  #waiting = 0;

  constructor(options: DeliveryLogOptions) {
    this.#o = { clock: systemClock, flushMs: 100, maxBatch: 1000, statementRows: 1000, ...options };
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
      for (let i = 0; i < deliveries.length; i += this.#o.statementRows) {
        this.#issue(field, deliveries.slice(i, i + this.#o.statementRows));
      }
    }
    return this.#inFlight;
  }

  /**
   * One statement's rows. Issued at once when nothing waits before it (so a
   * flush starts its write in the same turn); otherwise after the statements
   * before it, one turn of the event loop later.
   */
  #issue(field: DeliveryField, deliveries: Delivery[]): void {
    const write = () =>
      this.#o.records.recordDeliveries(field, deliveries).catch((err: unknown) => {
        this.#o.log.warn(
          { err: (err as Error).message, field, count: deliveries.length },
          'delivery records dropped',
        );
      });
    if (this.#waiting === 0) {
      const started = write();
      this.#waiting++;
      const done = started.finally(() => this.#waiting--);
      this.#inFlight = this.#inFlight.then(() => done);
      return;
    }
    this.#waiting++;
    this.#inFlight = this.#inFlight
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(write)
      .finally(() => this.#waiting--);
  }
}
