/**
 * Start-up while the database server is unreachable: Bardcast waits for it
 * with backoff and says so once, instead of exiting on ECONNREFUSED. On the
 * manual clock (exact delays), then against a real PostgreSQL behind a cut
 * TCP proxy (the real driver's errors).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db';
import { isUnreachable, waitForDatabase } from '../../src/db/wait';
import { systemClock } from '../../src/clock';
import { backends, openTestDatabase, type TestDatabase } from '../support/db';
import { ManualClock } from '../support/manual-clock';
import { TcpProxy } from '../support/tcp-proxy';
import { captureLog } from './support/log';

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('waitForDatabase', () => {
  it('retries an unreachable server with doubling delays (capped), logs the wait once and the recovery once', async () => {
    const clock = new ManualClock();
    const { log, lines } = captureLog();
    const attempts: number[] = [];
    const t0 = clock.now();
    const opened = waitForDatabase(
      async () => {
        attempts.push(clock.now() - t0);
        if (attempts.length < 7) throw refused();
        return 'db';
      },
      { log, clock, initialDelayMs: 500, maxDelayMs: 4_000 },
    );
    for (let i = 0; i < 400 && attempts.length < 7; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(250);
    }
    expect(await opened).toBe('db');
    // 0, +500, +1000, +2000, +4000 (cap), +4000, +4000.
    expect(attempts).toEqual([0, 500, 1500, 3500, 7500, 11_500, 15_500]);
    const said = lines.filter((l) => /database/.test(l.msg));
    expect(said.map((l) => l.msg)).toEqual([
      'database unreachable at start-up: waiting for it (retrying with backoff)',
      'database reachable: starting',
    ]);
    expect(said[1]).toMatchObject({ waitedMs: 15_500, attempts: 7 });
  });

  it('fails at once on errors waiting cannot fix, and stops waiting when aborted', async () => {
    const clock = new ManualClock();
    const { log } = captureLog();
    const auth = Object.assign(new Error('password authentication failed for user "x"'), { code: '28P01' });
    await expect(waitForDatabase(() => Promise.reject(auth), { log, clock })).rejects.toBe(auth);
    const stop = new AbortController();
    const waiting = waitForDatabase(() => Promise.reject(refused()), { log, clock, signal: stop.signal });
    await new Promise((r) => setImmediate(r));
    stop.abort();
    await expect(waiting).rejects.toThrow(/ECONNREFUSED/);
  });

  it('tells unreachable from wrong', () => {
    expect(isUnreachable(refused())).toBe(true);
    expect(isUnreachable(new Error('outer', { cause: refused() }))).toBe(true);
    expect(isUnreachable(new AggregateError([refused(), refused()]))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('starting up'), { code: '57P03' }))).toBe(true);
    expect(isUnreachable(new Error('syntax error at or near "x"'))).toBe(false);
    expect(isUnreachable(Object.assign(new Error('no such database'), { code: '3D000' }))).toBe(false);
  });
});

describe.runIf(backends.includes('postgres'))('waiting for a real PostgreSQL (behind a cut proxy)', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  beforeAll(async () => {
    tdb = await openTestDatabase('postgres');
    const target = new URL(tdb.url!);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
  });
  afterAll(async () => {
    await proxy?.close();
    await tdb?.close();
  });

  it('waits while connections are refused, then opens and migrates once the server answers', async () => {
    const { log, lines } = captureLog();
    const url = new URL(tdb.url!);
    url.host = `127.0.0.1:${proxy.port}`;
    proxy.cut();
    let attempts = 0;
    const opening = waitForDatabase(
      () => {
        attempts++;
        if (attempts === 3) proxy.restore();
        return openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 2 }, log);
      },
      { log, clock: systemClock, initialDelayMs: 20 },
    );
    const db = await opening;
    try {
      await db.ping();
      expect(attempts).toBe(3);
      expect(lines.filter((l) => /unreachable at start-up/.test(l.msg))).toHaveLength(1);
      expect(lines.filter((l) => l.msg === 'database reachable: starting')).toHaveLength(1);
    } finally {
      await db.close();
    }
  });
});
