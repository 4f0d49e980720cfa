/**
 * NTP-style estimate of the server clock. A sample is a round trip: the page
 * sends at local time `t0`, the server stamps `server_time` somewhere in
 * between, the answer arrives at `t1`. Assuming a symmetric path the offset is
 * `server_time − (t0 + rtt/2)`, and its error is at most `rtt/2`; so the
 * samples with the lowest RTT are the ones to believe.
 *
 * Local times are the page's monotonic clock (`performance.timeOrigin +
 * performance.now()`), never `Date.now()`, which can jump.
 */

/** One round trip. */
export interface ClockSample {
  rttMs: number;
  /** server − local, ms. */
  offsetMs: number;
  /** Local time the answer arrived. */
  receivedAt: number;
}

/** Options of {@link ClockSync}. */
export interface ClockSyncOptions {
  /** How many recent samples are kept. Default 10. */
  window?: number;
  /** How many of those, lowest RTT first, are averaged. Default 3. */
  best?: number;
}

/** Keeps the recent round trips and estimates the server clock from the best ones. */
export class ClockSync {
  readonly #window: number;
  readonly #best: number;
  #samples: ClockSample[] = [];
  #offset: number | null = null;

  constructor(options: ClockSyncOptions = {}) {
    this.#window = Math.max(1, options.window ?? 10);
    this.#best = Math.max(1, options.best ?? 3);
  }

  /**
   * Records a round trip. Returns the sample, or null when the times are not
   * a round trip (answer before the question).
   */
  addSample(sentAt: number, serverTime: number, receivedAt: number): ClockSample | null {
    const rttMs = receivedAt - sentAt;
    if (!Number.isFinite(rttMs) || !Number.isFinite(serverTime) || rttMs < 0) return null;
    const sample: ClockSample = { rttMs, offsetMs: serverTime - (sentAt + rttMs / 2), receivedAt };
    this.#samples.push(sample);
    if (this.#samples.length > this.#window) this.#samples.shift();
    this.#offset = estimateOffset(this.#samples, this.#best);
    return sample;
  }

  /** Current estimate of server − local in ms, or null before the first sample. */
  get offsetMs(): number | null {
    return this.#offset;
  }

  /** RTT of the best sample kept, or null. */
  get bestRttMs(): number | null {
    return this.#samples.length ? Math.min(...this.#samples.map((s) => s.rttMs)) : null;
  }

  /** How many samples are kept. */
  get sampleCount(): number {
    return this.#samples.length;
  }

  /** Server time at local time `localNow` (the local time itself before any sample). */
  serverNow(localNow: number): number {
    return localNow + (this.#offset ?? 0);
  }

  /** Forgets every sample (a different server answered). */
  reset(): void {
    this.#samples = [];
    this.#offset = null;
  }
}

/**
 * Mean offset of the `best` lowest-RTT samples, leaving out any whose RTT is
 * more than twice the lowest (plus 5 ms): with few samples, averaging in a
 * slow one would only add its larger error. Null when there are none.
 */
export function estimateOffset(samples: readonly ClockSample[], best: number): number | null {
  const sorted = [...samples].sort((a, b) => a.rttMs - b.rttMs);
  const minRtt = sorted[0]?.rttMs;
  if (minRtt === undefined) return null;
  const chosen = sorted.slice(0, Math.max(1, best)).filter((s) => s.rttMs <= 2 * minRtt + 5);
  return chosen.reduce((sum, s) => sum + s.offsetMs, 0) / chosen.length;
}

/** Options of {@link heartbeatDelayMs}. */
export interface HeartbeatPacing {
  /** Heartbeats sent quickly after (re)connecting. Default 5. */
  fastCount?: number;
  /** Gap between those. Default 400 ms (5 within the first 2 s). */
  fastIntervalMs?: number;
  /** Gap afterwards. Default 5000 ms. */
  steadyIntervalMs?: number;
}

/**
 * Delay before the next heartbeat when `sent` have gone out on this
 * connection: the first one at once, then a quick burst so the estimate
 * is good before the listener taps start, then a steady pace that tracks
 * drift and keeps the connection alive.
 */
export function heartbeatDelayMs(sent: number, pacing: HeartbeatPacing = {}): number {
  const fastCount = pacing.fastCount ?? 5;
  if (sent === 0) return 0;
  return sent < fastCount ? (pacing.fastIntervalMs ?? 400) : (pacing.steadyIntervalMs ?? 5000);
}

/** Options of {@link HeartbeatTracker}. */
export interface HeartbeatTrackerOptions {
  /** A heartbeat unanswered this long is taken as lost. Default 3000 ms. */
  timeoutMs?: number;
  /** Bound on heartbeats awaiting an answer. Default 32. */
  max?: number;
}

/** What the tracker needs to know about the current estimate to spot strays. */
export interface OffsetEstimate {
  offsetMs: number | null;
  /** How far the estimate may be off (e.g. the best RTT plus a margin). */
  slackMs: number;
}

/**
 * Pairs `heartbeat_ack`s with the heartbeats that caused them. The protocol's
 * ack carries only `server_time`, so acks are matched first-in first-out
 * (exactly, when a server echoes `client_time`). Pairing an ack with an
 * earlier heartbeat than its own is harmless (the round trip only looks
 * wider and loses the lowest-RTT selection); pairing it with a later one is
 * not. So: a heartbeat unanswered for `timeoutMs` is dropped as lost, and an
 * ack that arrives after all (its `server_time` before the server time of the
 * oldest pending send, per the current estimate) is ignored as a stray
 * instead of being paired with the wrong heartbeat.
 */
export class HeartbeatTracker {
  readonly #timeoutMs: number;
  readonly #max: number;
  #pending: number[] = [];

  constructor(options: HeartbeatTrackerOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#max = options.max ?? 32;
  }

  /** Records a heartbeat sent at local time `sentAt`; returns the message to send. */
  sent(sentAt: number): { type: 'heartbeat'; client_time: number } {
    this.#pending = this.#pending.filter((t) => sentAt - t < this.#timeoutMs);
    this.#pending.push(sentAt);
    if (this.#pending.length > this.#max) this.#pending.shift();
    return { type: 'heartbeat', client_time: sentAt };
  }

  /** The local send time an ack answers, or null (stray, or nothing pending). */
  answered(ack: { server_time: number; client_time?: number }, estimate: OffsetEstimate): number | null {
    if (ack.client_time !== undefined) {
      const index = this.#pending.indexOf(ack.client_time);
      if (index >= 0) {
        // Earlier ones will not be answered any more: acks come in order.
        this.#pending.splice(0, index + 1);
        return ack.client_time;
      }
    }
    const head = this.#pending[0];
    if (head === undefined) return null;
    if (estimate.offsetMs !== null && ack.server_time < head + estimate.offsetMs - estimate.slackMs) {
      return null; // stamped before the oldest pending heartbeat left: an earlier, dropped one's
    }
    this.#pending.shift();
    return head;
  }

  /** How many heartbeats await an answer. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Forgets pending heartbeats (their connection is gone). */
  reset(): void {
    this.#pending = [];
  }
}
