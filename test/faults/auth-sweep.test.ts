/**
 * Auth sweep: every route that serves or changes campaign data, and the
 * WebSocket, refuses another campaign's token, an expired one, a tampered
 * one (payload or signature changed), a token signed with another secret,
 * no token, and a player token where the DM is needed; in the header and in
 * the query. A refusal changes nothing. (Closing an open WebSocket when its
 * token expires, and keeping tokens out of the logs, are players'/auth work.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TokenSigner } from '../../src/auth';
import { audioOf } from '../support/audio';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { startWebHarness, type WebHarness } from '../web/support/server';
import { TestSocket } from '../web/support/ws-client';

let tdb: TestDatabase;
let h: WebHarness;
beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  h = await startWebHarness(tdb);
  await h.t.engine.campaigns.ensure('c2');
});
afterAll(async () => {
  await h?.dispose();
  await tdb?.close();
});

/** Flips one character of a base64url segment (still valid base64url). */
function flip(segment: string, at: number): string {
  const c = segment[at] as string;
  return segment.slice(0, at) + (c === 'A' ? 'B' : 'A') + segment.slice(at + 1);
}

it('refuses bad tokens on every data route and the WebSocket, in the header and the query, and changes nothing', async () => {
  const r = await h.say('secret', [audioOf(500), audioOf(500)], false);
  const chunkId = h.t.engine.stations.get('c1').findRequest(r.id)!.chunks[0]!.id;
  const now = h.clock.now();
  const good = { player: h.token('player'), dm: h.token('dm') };
  const [payload, signature] = good.dm.split('.') as [string, string];
  const bad: Record<string, { token: string | null; status: 401 | 403 }> = {
    none: { token: null, status: 401 },
    garbage: { token: 'not-a-token', status: 401 },
    expired: { token: h.tokens.sign('c1', 'dm', 60, now - 61_000), status: 401 },
    'tampered payload': { token: `${flip(payload, 3)}.${signature}`, status: 401 },
    'tampered signature': { token: `${payload}.${flip(signature, 5)}`, status: 401 },
    'another secret': {
      token: new TokenSigner('another-secret-0123456789').sign('c1', 'dm', 3600, now),
      status: 401,
    },
    'another campaign': { token: h.token('dm', 'c2'), status: 403 },
  };
  const routes: { method: string; path: string; body?: unknown; dmOnly: boolean }[] = [
    { method: 'GET', path: '/api/campaigns/c1/audio/queue', dmOnly: false },
    { method: 'GET', path: '/api/campaigns/c1/audio/live', dmOnly: false },
    { method: 'GET', path: `/api/audio/stream/${r.id}`, dmOnly: false },
    { method: 'GET', path: `/api/audio/chunks/${chunkId}`, dmOnly: false },
    { method: 'GET', path: `/api/audio/chunks/${chunkId}?format=opus`, dmOnly: false },
    { method: 'POST', path: `/api/audio/played/${chunkId}`, body: {}, dmOnly: false },
    {
      method: 'POST',
      path: '/api/campaigns/c1/narrations',
      body: { text: 'Hello there.', mode: 'say' },
      dmOnly: true,
    },
    { method: 'POST', path: '/api/campaigns/c1/control', body: { action: 'pause' }, dmOnly: true },
    { method: 'POST', path: '/api/campaigns/c1/control', body: { action: 'skip' }, dmOnly: true },
  ];
  const requestsBefore = (await tdb.db.prisma.audioPlaybackRequest.count()) as number;
  let cases = 0;
  const call = async (route: (typeof routes)[number], token: string | null, where: 'header' | 'query') => {
    const headers: Record<string, string> = {};
    let path = route.path;
    if (token && where === 'header') headers['authorization'] = `Bearer ${token}`;
    if (token && where === 'query')
      path += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    if (route.body !== undefined) headers['content-type'] = 'application/json';
    const res = await h.fetch(path, {
      method: route.method,
      headers,
      ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
    });
    const text = await res.text();
    cases++;
    return { status: res.status, text };
  };
  for (const route of routes) {
    for (const [name, { token, status }] of Object.entries(bad)) {
      for (const where of ['header', 'query'] as const) {
        const res = await call(route, token, where);
        expect(res.status, `${name} (${where}) → ${route.method} ${route.path}`).toBe(status);
        expect(JSON.parse(res.text)).toMatchObject({
          error: { code: status === 401 ? 'unauthorized' : 'forbidden' },
        });
      }
    }
    if (route.dmOnly) {
      for (const where of ['header', 'query'] as const) {
        const res = await call(route, good.player, where);
        expect(res.status, `player token (${where}) → ${route.method} ${route.path}`).toBe(403);
      }
    }
  }
  // The WebSocket: the upgrade is refused with the same statuses.
  let wsCases = 0;
  for (const [name, { token, status }] of Object.entries(bad)) {
    const q = token === null ? '' : `&token=${encodeURIComponent(token)}`;
    const s = new TestSocket(`${h.url.replace('http', 'ws')}/ws?campaign=c1${q}`);
    const err = (await s.opened.then(
      () => null,
      (e: unknown) => e,
    )) as { status?: number } | null;
    wsCases++;
    expect(err?.status, `${name} → /ws`).toBe(status);
  }
  // Nothing changed: no narration created, the station neither paused nor skipped.
  expect(await tdb.db.prisma.audioPlaybackRequest.count()).toBe(requestsBefore);
  const station = h.t.engine.stations.get('c1');
  expect(station.paused).toBe(false);
  expect(station.now()?.request.id).toBe(r.id);
  // And the good tokens do work (the refusals above were about the token, nothing else).
  expect((await call(routes[0]!, good.player, 'header')).status).toBe(200);
  expect((await call(routes[6]!, good.dm, 'header')).status).toBe(202);
  console.info(
    `[measure] auth sweep: ${cases - 2} HTTP cases on ${routes.length} routes and ${wsCases} WebSocket cases, all refused`,
  );
});
