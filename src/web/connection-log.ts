import { systemClock, type Clock, type TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { ClosedConnectionStatus, ConnectionBatch, ConnectionRecord, ListenerRecords } from '../playback';

/** Options for {@link ConnectionLog}. */
export interface ConnectionLogOptions {
  records: Pick<ListenerRecords, 'recordConnections'>;
  /** Makes sure a campaign row exists before connection rows refer to it (cached after the first call). */
  ensureCampaign: (campaignId: string) => Promise<unknown>;
  log: Logger;
  /**
   * Times the flush delay. Default: the system clock, because batching bounds
   * the real latency of a database write, not station time; tests pass a manual clock.
   */
  clock?: Clock;
  /** Milliseconds of `clock` a write may wait to share a statement with others. */
  flushMs?: number;
  /** Flush at once when this many writes wait. */
  maxBatch?: number;
}

/** A row waiting to be written, and who waits for it. */
interface PendingOpen {
  record: ConnectionRecord;
  resolve: () => void;
}

/**
 * Batches `websocket_connections` writes (opens, heartbeats, closes) into one
 * `recordConnections` write per flush, like {@link DeliveryLog} does for
 * deliveries. Nothing on a socket's accept path waits for the database: with
 * the embedded PGlite every statement runs on the event loop, and two
 * statements per connect held 5,000 listeners to 10–41 connects a second
 * (bench/RESULTS.md, "Web listeners"). Heartbeats of one connection coalesce to
 * the latest; a heartbeat or close of a row still waiting is folded into it.
 * The times written are the real ones, not the flush time; a crash loses at
 * most the writes of the last flush window (a row left CONNECTED is marked
 * DISCONNECTED by the cleanup once its heartbeat is stale).
 */
export class ConnectionLog {
  readonly #o: Required<ConnectionLogOptions>;
  #opened = new Map<string, PendingOpen>();
  #heartbeats = new Map<string, Date>();
  #closed = new Map<string, { id: string; status: ClosedConnectionStatus; at: Date }>();
  #timer: TimerHandle | null = null;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(options: ConnectionLogOptions) {
    this.#o = { clock: systemClock, flushMs: 100, maxBatch: 1000, ...options };
  }

  /** Writes waiting for the next flush. */
  get pending(): number {
    return this.#opened.size + this.#heartbeats.size + this.#closed.size;
  }

  /**
   * A new connection's row (it supersedes the older CONNECTED rows of its tab).
   * Resolves once the row is written, or its write gave up (logged): delivery
   * rows refer to it, so they wait for this.
   */
  opened(record: ConnectionRecord): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#opened.set(record.id, { record: { ...record }, resolve });
      this.#added();
    });
  }

  /** Liveness of a CONNECTED connection; only the latest time per flush is written. */
  heartbeat(id: string, at: Date): void {
    const waiting = this.#opened.get(id);
    if (waiting) {
      if (waiting.record.status === 'CONNECTED' && waiting.record.lastHeartbeat < at) {
        waiting.record.lastHeartbeat = at;
      }
      return;
    }
    const seen = this.#heartbeats.get(id);
    if (seen && seen >= at) return;
    this.#heartbeats.set(id, at);
    this.#added();
  }

  /** A CONNECTED connection ended (a row already SUPERSEDED keeps that status). */
  closed(id: string, status: ClosedConnectionStatus, at: Date): void {
    const waiting = this.#opened.get(id);
    if (waiting) {
      if (waiting.record.status === 'CONNECTED') {
        waiting.record.status = status;
        waiting.record.disconnectedAt = at;
      }
      return;
    }
    if (this.#closed.has(id)) return;
    this.#closed.set(id, { id, status, at });
    this.#added();
  }

  /** Writes everything recorded so far; resolves when it is durable (or its write failed, logged). */
  flush(): Promise<void> {
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    if (this.pending === 0) return this.#inFlight;
    const opened = [...this.#opened.values()];
    const batch: ConnectionBatch = {
      opened: opened.map((o) => o.record),
      heartbeats: [...this.#heartbeats].map(([id, at]) => ({ id, at })),
      closed: [...this.#closed.values()],
    };
    this.#opened = new Map();
    this.#heartbeats = new Map();
    this.#closed = new Map();
    // Batches go out one after another, so a close never overtakes its open.
    this.#inFlight = this.#inFlight.then(async () => {
      try {
        const campaigns = new Set(batch.opened.map((r) => r.campaignId));
        await Promise.all([...campaigns].map((id) => this.#o.ensureCampaign(id)));
        await this.#o.records.recordConnections(batch);
      } catch (err) {
        this.#o.log.warn(
          {
            err: (err as Error).message,
            opened: batch.opened.length,
            heartbeats: batch.heartbeats.length,
            closed: batch.closed.length,
          },
          'connection records dropped',
        );
      } finally {
        for (const o of opened) o.resolve();
      }
    });
    return this.#inFlight;
  }

  #added(): void {
    if (this.pending >= this.#o.maxBatch) void this.flush();
    else this.#timer ??= this.#o.clock.setTimeout(() => void this.flush(), this.#o.flushMs);
  }
}
