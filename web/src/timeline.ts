/**
 * Time bases of the listener and how to convert between them:
 * - server time: epoch ms of the station (`starts_at`, `server_time`);
 * - local time: `performance.timeOrigin + performance.now()` in ms;
 * - context time: seconds of the AudioContext timeline.
 *
 * `AudioContext.getOutputTimestamp()` pairs a context time with the local
 * (performance) time at which that sample leaves the speaker, so output
 * latency is already in the mapping: a source started at context time `t` is
 * heard at the local time the mapping gives for `t`.
 */

/** A `getOutputTimestamp()` reading: `performanceTime` is `performance.now()`-based ms. */
export interface OutputTimestamp {
  contextTime: number;
  performanceTime: number;
}

/** Everything needed to convert between server and context time at one moment. */
export interface TimeMapping {
  /** server − local, ms (from clock sync). */
  clockOffsetMs: number;
  /** `performance.timeOrigin`, ms. */
  timeOrigin: number;
  output: OutputTimestamp;
}

/** Context time (s) at which server time `serverMs` is heard. */
export function serverToContextTime(serverMs: number, m: TimeMapping): number {
  const performanceMs = serverMs - m.clockOffsetMs - m.timeOrigin;
  return m.output.contextTime + (performanceMs - m.output.performanceTime) / 1000;
}

/** Server time (ms) at which context time `contextSec` is heard. */
export function contextToServerTime(contextSec: number, m: TimeMapping): number {
  const performanceMs = m.output.performanceTime + (contextSec - m.output.contextTime) * 1000;
  return performanceMs + m.timeOrigin + m.clockOffsetMs;
}

/**
 * Where each chunk starts inside its request (seconds), learnt from chunk
 * durations (`audio_chunk_ready`, `station_schedule`) and from exact anchors
 * (`now_playing` of the HTTP queue: `request_position_sec − position_sec`).
 * Needed because a late joiner never hears about the earlier chunks' lengths.
 * Keeps the most recent `maxRequests` requests.
 */
export class RequestPositions {
  readonly #maxRequests: number;
  readonly #requests = new Map<string, { durations: Map<number, number>; anchors: Map<number, number> }>();

  constructor(maxRequests = 8) {
    this.#maxRequests = maxRequests;
  }

  /** Chunk `sequence` (0-based) of `requestId` lasts `durationSec`. */
  noteDuration(requestId: string, sequence: number, durationSec: number): void {
    this.#request(requestId).durations.set(sequence, durationSec);
  }

  /** Chunk `sequence` of `requestId` starts `startSec` into the request. */
  noteStart(requestId: string, sequence: number, startSec: number): void {
    this.#request(requestId).anchors.set(sequence, startSec);
  }

  /**
   * Start of chunk `sequence` inside its request, from the nearest anchor at
   * or before it (sequence 0 starts at 0) plus the durations in between; null
   * when a duration in between is unknown.
   */
  startOf(requestId: string, sequence: number): number | null {
    const request = this.#requests.get(requestId);
    let sum = 0;
    for (let s = sequence; s >= 0; s--) {
      const anchor = request?.anchors.get(s);
      if (anchor !== undefined) return anchor + sum;
      if (s === 0) return sum;
      const previous = request?.durations.get(s - 1);
      if (previous === undefined) return null;
      sum += previous;
    }
    return null;
  }

  #request(requestId: string) {
    let request = this.#requests.get(requestId);
    if (!request) {
      request = { durations: new Map(), anchors: new Map() };
      this.#requests.set(requestId, request);
      if (this.#requests.size > this.#maxRequests) {
        this.#requests.delete(this.#requests.keys().next().value!);
      }
    }
    return request;
  }
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Options of {@link OutputClockFilter}. */
export interface OutputClockFilterOptions {
  /** Readings before this context time are ignored (Chromium's first one is ~10 ms off). Default 0.03 s. */
  warmupSec?: number;
  /** Readings kept. Default 15. */
  window?: number;
  /** Readings needed before the relation is trusted. Default 3. */
  minReadings?: number;
}

/**
 * Steadies the context↔performance clock relation. Each
 * `getOutputTimestamp()` reading gives `contextTime·1000 − performanceTime`
 * (ms); the two clocks run at the same rate to a few ppm, so that difference
 * is nearly constant and the median of recent readings removes the jitter
 * and the odd outlier, while still following slow drift.
 */
export class OutputClockFilter {
  readonly #warmupSec: number;
  readonly #window: number;
  readonly #minReadings: number;
  #deltas: number[] = [];
  #lastContextTime = -1;

  constructor(options: OutputClockFilterOptions = {}) {
    this.#warmupSec = options.warmupSec ?? 0.03;
    this.#window = options.window ?? 15;
    this.#minReadings = options.minReadings ?? 3;
  }

  /** Takes one reading; ignores invalid, warm-up and repeated ones. */
  add(reading: OutputTimestamp): void {
    const { contextTime, performanceTime } = reading;
    if (!(performanceTime > 0) || !(contextTime >= this.#warmupSec) || contextTime === this.#lastContextTime)
      return;
    this.#lastContextTime = contextTime;
    this.#deltas.push(contextTime * 1000 - performanceTime);
    if (this.#deltas.length > this.#window) this.#deltas.shift();
  }

  /** True once enough readings were taken. */
  get settled(): boolean {
    return this.#deltas.length >= this.#minReadings;
  }

  /** The filtered relation as a timestamp at `performanceNow`, or null before any reading. */
  timestampAt(performanceNow: number): OutputTimestamp | null {
    if (this.#deltas.length === 0) return null;
    return { contextTime: (performanceNow + median(this.#deltas)) / 1000, performanceTime: performanceNow };
  }

  /** Forgets every reading (the context was suspended: its clock stopped). */
  reset(): void {
    this.#deltas = [];
    this.#lastContextTime = -1;
  }
}
