import { expect, it } from 'vitest';
import { Expiries } from '../../src/web/ws/expiries';
import { ManualClock } from '../support/manual-clock';

const DAY = 24 * 3600 * 1000;

it('expires each item at its time on one timer, in time order, and forgets deleted ones', () => {
  const clock = new ManualClock();
  const t0 = clock.now();
  const expired: string[] = [];
  const e = new Expiries<string>(clock, (item) => expired.push(`${item}@${clock.now() - t0}`));
  e.add('a', t0 + 60_000);
  e.add('b', t0 + 60_000); // same token time: same group
  e.add('c', t0 + 30_000);
  e.add('gone', t0 + 45_000);
  e.delete('gone', t0 + 45_000);
  expect(clock.pending).toBe(1);
  expect(e.size).toBe(3);
  clock.advance(29_999);
  expect(expired).toEqual([]);
  clock.advance(1);
  expect(expired).toEqual(['c@30000']);
  clock.advance(29_999);
  expect(expired).toEqual(['c@30000']);
  clock.advance(1);
  expect(expired).toEqual(['c@30000', 'a@60000', 'b@60000']);
  expect(clock.pending).toBe(0);
  expect(e.size).toBe(0);
});

it('an item already due expires at once; a later, earlier item re-arms the one timer', () => {
  const clock = new ManualClock();
  const t0 = clock.now();
  const expired: string[] = [];
  const e = new Expiries<string>(clock, (item) => expired.push(item));
  e.add('late', t0);
  expect(expired).toEqual(['late']);
  e.add('x', t0 + 10_000);
  e.add('y', t0 + 5_000);
  expect(clock.pending).toBe(1);
  clock.advance(5_000);
  expect(expired).toEqual(['late', 'y']);
  e.delete('x', t0 + 10_000);
  expect(clock.pending).toBe(0);
  clock.advance(10_000);
  expect(expired).toEqual(['late', 'y']);
});

it('reaches times past what one Node timer holds (40 days) in steps, not at once', () => {
  const clock = new ManualClock();
  const t0 = clock.now();
  const expired: string[] = [];
  const e = new Expiries<string>(clock, (item) => expired.push(item));
  e.add('long', t0 + 40 * DAY);
  clock.advance(30 * DAY);
  expect(expired).toEqual([]);
  clock.advance(10 * DAY - 1);
  expect(expired).toEqual([]);
  clock.advance(1);
  expect(expired).toEqual(['long']);
  e.add('again', t0 + 41 * DAY);
  e.clear();
  clock.advance(2 * DAY);
  expect(expired).toEqual(['long']);
  expect(clock.pending).toBe(0);
});
