/**
 * During a database outage the web side tells the truth: the queue still
 * shows recent history (from memory, including what aired during the
 * outage) and `/healthz` says the database is down while the station plays
 * on. The outage is injected at the repository's driver seam (every call
 * fails like a refused connection); the PostgreSQL outage over a real cut
 * socket is in outage.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RequestStatus } from '../../src/playback';
import { audioOf } from '../support/audio';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { startWebHarness, type WebHarness } from '../web/support/server';

let tdb: TestDatabase;
let h: WebHarness;
beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  h = await startWebHarness(tdb);
});
afterAll(async () => {
  await h?.dispose();
  await tdb?.close();
});

const refused = () =>
  Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));

/** Makes every call of the database-backed repository fail until the returned function is called. */
function cutDatabase(): () => void {
  const inner = tdb.repository as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  for (const name of ['apply', 'ping', 'listHistory', 'getRequest', 'getChunk', 'loadActiveRequests']) {
    saved.set(name, inner[name]);
    inner[name] = refused;
  }
  return () => {
    for (const [name, fn] of saved) inner[name] = fn;
  };
}

async function queue() {
  const res = await h.fetch(`/api/campaigns/c1/audio/queue`, {
    headers: { Authorization: `Bearer ${h.token('dm')}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    history: { request_id: string; status: string; total_chunks: number | null }[];
  };
}

async function health() {
  const res = await h.fetch('/healthz');
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

it('keeps showing recent history from memory and reports the outage as degraded, not down', async () => {
  const before = await h.say('Before', [audioOf(500)]);
  h.clock.advance(500 + 400);
  expect(before.status).toBe(RequestStatus.Played);
  await h.t.engine.repository.flush();
  expect((await queue()).history.map((r) => r.request_id)).toEqual([before.id]);

  const restore = cutDatabase();
  try {
    // Posted during the outage: journalled, plays from memory.
    const during = await h.say('During', [audioOf(300), audioOf(300)]);
    h.clock.advance(600 + 400);
    expect(during.status).toBe(RequestStatus.Played);
    expect(h.t.engine.repository.inOutage).toBe(true);

    const history = (await queue()).history;
    expect(history.map((r) => [r.request_id, r.status, r.total_chunks])).toEqual([
      [during.id, 'PLAYED', 2],
      [before.id, 'PLAYED', 1],
    ]);
    const during_health = await health();
    expect(during_health.status).toBe(200);
    expect(during_health.body).toMatchObject({
      status: 'degraded',
      checks: { database: 'down', store: 'ok' },
      playback: 'memory',
    });
    expect(during_health.body.journalled_writes).toBeGreaterThan(0);
  } finally {
    restore();
  }

  // The database is back: the journal replays and storage agrees with what memory showed.
  expect(await h.t.engine.repository.retryNow()).toBe(true);
  expect((await health()).body).toMatchObject({ status: 'ok', playback: 'database', journalled_writes: 0 });
  const stored = (await queue()).history;
  expect(stored.map((r) => [r.status, r.total_chunks])).toEqual([
    ['PLAYED', 2],
    ['PLAYED', 1],
  ]);
});
