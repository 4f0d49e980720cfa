import { describe, expect, it } from 'vitest';
import { ClockSync, HeartbeatTracker, estimateOffset, heartbeatDelayMs } from '../../web/src/clock-sync';

/** Deterministic PRNG (mulberry32) so jitter is reproducible. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One simulated round trip over a path with asymmetric, jittery delays:
 * returns the (send, server_time, receive) triple the page would see.
 */
function roundTrip(localSend: number, trueOffset: number, up: number, down: number) {
  const serverTime = localSend + up + trueOffset;
  return { sent: localSend, serverTime, received: localSend + up + down };
}

describe('ClockSync', () => {
  it('computes offset = server_time − (send + RTT/2) for one sample', () => {
    const sync = new ClockSync();
    const sample = sync.addSample(1000, 6020, 1040);
    expect(sample).toEqual({ rttMs: 40, offsetMs: 5000, receivedAt: 1040 });
    expect(sync.offsetMs).toBe(5000);
    expect(sync.serverNow(2000)).toBe(7000);
  });

  it('serverNow is the local time before any sample', () => {
    const sync = new ClockSync();
    expect(sync.offsetMs).toBeNull();
    expect(sync.serverNow(1234)).toBe(1234);
  });

  it('rejects an answer that arrives before its question', () => {
    const sync = new ClockSync();
    expect(sync.addSample(1000, 5000, 999)).toBeNull();
    expect(sync.sampleCount).toBe(0);
  });

  it('converges to the true offset despite jittery, asymmetric delays', () => {
    const random = prng(42);
    const trueOffset = -123_456.7;
    const sync = new ClockSync({ window: 10, best: 3 });
    let t = 50_000;
    const errors: number[] = [];
    for (let i = 0; i < 40; i++) {
      // Usually 10–14 ms each way; one in four trips hits a 50–250 ms spike on one leg.
      const spike = random() < 0.25 ? 50 + random() * 200 : 0;
      const up = 10 + random() * 4 + (random() < 0.5 ? spike : 0);
      const down = 10 + random() * 4 + (spike && up < 20 ? spike : 0);
      const trip = roundTrip(t, trueOffset, up, down);
      sync.addSample(trip.sent, trip.serverTime, trip.received);
      errors.push(Math.abs(sync.offsetMs! - trueOffset));
      t += 5000;
    }
    // Error of a symmetric-ish sample is at most |up − down| / 2 ≈ 2 ms.
    expect(Math.max(...errors.slice(5))).toBeLessThan(2.5);
    expect(errors.at(-1)).toBeLessThan(2);
  });

  it('keeps only the last `window` samples', () => {
    const sync = new ClockSync({ window: 3, best: 1 });
    sync.addSample(0, 105, 10); // offset 100, rtt 10 (best, then evicted)
    for (let i = 1; i <= 3; i++) sync.addSample(i * 100, i * 100 + 250, i * 100 + 100); // offset 200, rtt 100
    expect(sync.sampleCount).toBe(3);
    expect(sync.offsetMs).toBe(200);
    expect(sync.bestRttMs).toBe(100);
  });

  it('reset forgets everything', () => {
    const sync = new ClockSync();
    sync.addSample(0, 100, 10);
    sync.reset();
    expect(sync.offsetMs).toBeNull();
    expect(sync.sampleCount).toBe(0);
  });
});

describe('estimateOffset', () => {
  const s = (rttMs: number, offsetMs: number) => ({ rttMs, offsetMs, receivedAt: 0 });

  it('averages the lowest-RTT samples only', () => {
    const samples = [s(80, 900), s(10, 100), s(12, 104), s(300, -5000), s(11, 102), s(15, 130)];
    expect(estimateOffset(samples, 3)).toBeCloseTo(102, 9);
    expect(estimateOffset(samples, 1)).toBe(100);
  });

  it('leaves out a chosen sample much slower than the best', () => {
    // With two samples, best-3 would average in the slow connect stamp.
    expect(estimateOffset([s(120, 60), s(8, 0)], 3)).toBe(0);
    expect(estimateOffset([s(20, 10), s(8, 0)], 3)).toBe(5); // within 2×best + 5 ms
  });

  it('is null without samples', () => {
    expect(estimateOffset([], 3)).toBeNull();
  });
});

describe('heartbeatDelayMs', () => {
  it('sends 5 heartbeats within the first 2 s, then every 5 s', () => {
    const delays = Array.from({ length: 8 }, (_, sent) => heartbeatDelayMs(sent));
    expect(delays).toEqual([0, 400, 400, 400, 400, 5000, 5000, 5000]);
    expect(delays.slice(0, 5).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2000);
  });

  it('follows custom pacing', () => {
    expect(heartbeatDelayMs(2, { fastCount: 2, steadyIntervalMs: 8000 })).toBe(8000);
  });
});

describe('HeartbeatTracker', () => {
  const noEstimate = { offsetMs: null, slackMs: 100 };

  it('pairs acks with heartbeats first-in first-out', () => {
    const tracker = new HeartbeatTracker();
    expect(tracker.sent(100)).toEqual({ type: 'heartbeat', client_time: 100 });
    tracker.sent(200);
    expect(tracker.answered({ server_time: 5150 }, noEstimate)).toBe(100);
    expect(tracker.answered({ server_time: 5250 }, noEstimate)).toBe(200);
    expect(tracker.answered({ server_time: 5300 }, noEstimate)).toBeNull();
  });

  it('matches an echoed client_time exactly and drops the older ones', () => {
    const tracker = new HeartbeatTracker();
    tracker.sent(100);
    tracker.sent(200);
    tracker.sent(300);
    expect(tracker.answered({ server_time: 1, client_time: 200 }, noEstimate)).toBe(200);
    expect(tracker.pendingCount).toBe(1);
  });

  it('drops a heartbeat unanswered past the timeout', () => {
    const tracker = new HeartbeatTracker({ timeoutMs: 3000 });
    tracker.sent(0);
    tracker.sent(5000); // the first is now lost
    expect(tracker.pendingCount).toBe(1);
    expect(tracker.answered({ server_time: 10_020 }, { offsetMs: 5000, slackMs: 50 })).toBe(5000);
  });

  it('ignores a late answer to a dropped heartbeat instead of pairing it with a newer one', () => {
    const tracker = new HeartbeatTracker({ timeoutMs: 3000 });
    tracker.sent(0); // its answer will come after 4 s
    tracker.sent(5000);
    // Stamped at local ~10 (server = local + 5000): before the pending send at 5000.
    expect(tracker.answered({ server_time: 5010 }, { offsetMs: 5000, slackMs: 50 })).toBeNull();
    expect(tracker.pendingCount).toBe(1);
    expect(tracker.answered({ server_time: 10_030 }, { offsetMs: 5000, slackMs: 50 })).toBe(5000);
  });

  it('a lost answer does not shift later pairings', () => {
    const tracker = new HeartbeatTracker({ timeoutMs: 3000 });
    const estimate = { offsetMs: 0, slackMs: 50 };
    tracker.sent(0); // never answered
    tracker.sent(5000);
    expect(tracker.answered({ server_time: 5020 }, estimate)).toBe(5000);
    tracker.sent(10_000);
    expect(tracker.answered({ server_time: 10_020 }, estimate)).toBe(10_000);
  });

  it('reset forgets pending heartbeats', () => {
    const tracker = new HeartbeatTracker();
    tracker.sent(1);
    tracker.reset();
    expect(tracker.answered({ server_time: 2 }, noEstimate)).toBeNull();
  });
});
