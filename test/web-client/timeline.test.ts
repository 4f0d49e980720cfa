import { describe, expect, it } from 'vitest';
import {
  OutputClockFilter,
  RequestPositions,
  contextToServerTime,
  median,
  serverToContextTime,
  type TimeMapping,
} from '../../web/src/timeline';

describe('server ↔ context time', () => {
  // Local epoch-ms = timeOrigin + performance.now(); server = local + offset.
  const m: TimeMapping = {
    clockOffsetMs: 2500,
    timeOrigin: 1_700_000_000_000,
    output: { contextTime: 12.5, performanceTime: 40_000 },
  };

  it('maps a server time to the context time heard then', () => {
    // Heard at performance 40 000 ms = local 1_700_000_040_000 = server 1_700_000_042_500.
    expect(serverToContextTime(1_700_000_042_500, m)).toBeCloseTo(12.5, 9);
    expect(serverToContextTime(1_700_000_043_750, m)).toBeCloseTo(13.75, 9);
  });

  it('round-trips', () => {
    for (const t of [1_700_000_000_000, 1_700_000_042_500.25, 1_700_001_000_000]) {
      expect(contextToServerTime(serverToContextTime(t, m), m)).toBeCloseTo(t, 3);
    }
  });

  it('follows the clock offset: a server running ahead plays its times earlier locally', () => {
    const later = serverToContextTime(1_700_000_050_000, m);
    const ahead = serverToContextTime(1_700_000_050_000, { ...m, clockOffsetMs: 3500 });
    expect(later - ahead).toBeCloseTo(1, 9);
  });
});

describe('RequestPositions', () => {
  it('sums durations from the start of the request', () => {
    const p = new RequestPositions();
    p.noteDuration('r', 0, 1.5);
    p.noteDuration('r', 1, 2);
    expect(p.startOf('r', 0)).toBe(0);
    expect(p.startOf('r', 1)).toBe(1.5);
    expect(p.startOf('r', 2)).toBe(3.5);
  });

  it('is null when an earlier duration is unknown (late join) until an anchor arrives', () => {
    const p = new RequestPositions();
    p.noteDuration('r', 5, 2);
    expect(p.startOf('r', 6)).toBeNull();
    p.noteStart('r', 5, 11.25); // now_playing: request_position_sec − position_sec
    expect(p.startOf('r', 5)).toBe(11.25);
    expect(p.startOf('r', 6)).toBe(13.25);
  });

  it('keeps only recent requests', () => {
    const p = new RequestPositions(2);
    p.noteStart('a', 3, 9);
    p.noteStart('b', 3, 9);
    p.noteStart('c', 3, 9);
    expect(p.startOf('a', 3)).toBeNull();
    expect(p.startOf('c', 3)).toBe(9);
  });
});

describe('median', () => {
  it('handles odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('OutputClockFilter', () => {
  it('ignores warm-up, invalid and repeated readings', () => {
    const f = new OutputClockFilter({ minReadings: 2 });
    f.add({ contextTime: 0, performanceTime: 0 });
    f.add({ contextTime: 0.0002, performanceTime: 843.1 }); // Chromium's first reading, ~10 ms off
    expect(f.timestampAt(900)).toBeNull();
    f.add({ contextTime: 0.0201, performanceTime: 872.7 }); // still warm-up (< 30 ms)
    f.add({ contextTime: 0.0502, performanceTime: 902.8 });
    f.add({ contextTime: 0.0502, performanceTime: 902.8 });
    expect(f.settled).toBe(false);
    f.add({ contextTime: 0.0702, performanceTime: 923.0 });
    expect(f.settled).toBe(true);
  });

  it('takes the median relation, so one outlier does not move it', () => {
    const f = new OutputClockFilter();
    const readings: [number, number][] = [
      [0.1003, 953.1],
      [0.1203, 972.9],
      [0.1504, 1003.1],
      [0.1805, 1043.1], // 10 ms late callback
      [0.2005, 1053.1],
    ];
    for (const [contextTime, performanceTime] of readings) f.add({ contextTime, performanceTime });
    const ts = f.timestampAt(2000)!;
    expect(ts.performanceTime).toBe(2000);
    expect(ts.contextTime * 1000 - 2000).toBeCloseTo(-852.7, 1);
  });

  it('reset forgets the relation (a suspended context stops its clock)', () => {
    const f = new OutputClockFilter({ minReadings: 1 });
    f.add({ contextTime: 1, performanceTime: 5000 });
    f.reset();
    expect(f.settled).toBe(false);
    expect(f.timestampAt(6000)).toBeNull();
  });
});
