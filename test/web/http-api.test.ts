import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RequestStatus } from '../../src/playback';
import { createConsoleLinks } from '../../src/web';
import type { QueueSnapshot } from '../../src/web/views';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { toneAudio } from './support/audio';
import { startWebHarness, type WebHarness } from './support/server';

let tdb: TestDatabase;
let h: WebHarness;
let pagesDir: string;

beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  pagesDir = await mkdtemp(path.join(tmpdir(), 'bardcast-pages-'));
  await mkdir(path.join(pagesDir, 'assets'));
  await writeFile(path.join(pagesDir, 'listen.html'), '<!doctype html><title>listen</title>');
  await writeFile(path.join(pagesDir, 'dm.html'), '<!doctype html><title>dm</title>');
  await writeFile(path.join(pagesDir, 'assets', 'app-abc123.js'), 'console.log(1)');
});
afterAll(async () => {
  await tdb.close();
  await rm(pagesDir, { recursive: true, force: true });
});
beforeEach(async () => {
  await tdb.reset();
  h = await startWebHarness(tdb, { pagesDir });
});
afterEach(async () => {
  await h.dispose();
});

type QueueBody = QueueSnapshot;

const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const json = (body: unknown, token?: string): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...(token ? auth(token) : {}) },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function expectError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error.message;
}

describe('auth', () => {
  const queue = '/api/campaigns/c1/audio/queue';

  it('refuses a missing token with 401', async () => {
    await expectError(await h.fetch(queue), 401, 'unauthorized');
    await expectError(await h.fetch(queue, { headers: { Authorization: 'Basic abc' } }), 401, 'unauthorized');
  });

  it('refuses a bad signature, a malformed and an expired token with 401', async () => {
    const good = h.token();
    const forged = good.slice(0, -3) + (good.endsWith('AAA') ? 'BBB' : 'AAA');
    expect(await expectError(await h.fetch(queue, { headers: auth(forged) }), 401, 'unauthorized')).toMatch(
      /not valid/,
    );
    await expectError(await h.fetch(`${queue}?token=nonsense`), 401, 'unauthorized');
    const expired = h.tokens.sign('c1', 'player', 60, h.clock.now() - 3_600_000);
    expect(await expectError(await h.fetch(`${queue}?token=${expired}`), 401, 'unauthorized')).toMatch(
      /expired/,
    );
  });

  it("refuses another campaign's token with 403", async () => {
    await expectError(await h.fetch(queue, { headers: auth(h.token('dm', 'c2')) }), 403, 'forbidden');
  });

  it('refuses a player token on DM endpoints with 403', async () => {
    const player = h.token('player');
    await expectError(
      await h.fetch('/api/campaigns/c1/narrations', json({ text: 'hi', mode: 'say' }, player)),
      403,
      'forbidden',
    );
    await expectError(
      await h.fetch('/api/campaigns/c1/control', json({ action: 'skip' }, player)),
      403,
      'forbidden',
    );
    expect(h.narration.calls).toHaveLength(0);
  });

  it('accepts the token in the query string', async () => {
    const res = await h.fetch(`${queue}?token=${h.token()}`);
    expect(res.status).toBe(200);
  });
});

describe('queue', () => {
  it('reports now playing with positions, pending and history', async () => {
    const a = await toneAudio(1000);
    const b = await toneAudio(1500);
    const first = await h.say('first', [a, b]);
    const second = await h.say('second', [a]);
    h.clock.advance(a.durationMs + 250);
    // The DM's view (a player's hides texts: test/web/player-view.test.ts).
    const res = await h.fetch('/api/campaigns/c1/audio/queue', { headers: auth(h.token('dm')) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as QueueBody;
    expect(body.campaign_id).toBe('c1');
    expect(body.server_time).toBe(h.clock.now());
    expect(body.paused).toBe(false);
    expect(body.now_playing).toEqual({
      request_id: first.id,
      text: 'first',
      chunk_id: expect.any(String),
      sequence_number: 1,
      position_sec: 0.25,
      request_position_sec: Math.round(a.durationMs + 250) / 1000,
    });
    expect(body.pending.map((p) => p.request_id)).toEqual([second.id]);
    expect(body.pending[0]).toMatchObject({
      status: 'PENDING',
      generation: 'GENERATED',
      total_chunks: 1,
      ready_chunks: 1,
      mode: 'say',
      error: null,
    });
    expect(body.history).toEqual([]);
    h.clock.advance(10_000);
    await h.t.engine.repository.flush();
    const after = (await (
      await h.fetch('/api/campaigns/c1/audio/queue', { headers: auth(h.token('dm')) })
    ).json()) as QueueBody;
    expect(after.now_playing).toBeNull();
    expect(after.history.map((r) => [r.text, r.status, r.ready_chunks])).toEqual([
      ['second', 'PLAYED', 1],
      ['first', 'PLAYED', 2],
    ]);
  });
});

describe('narrations (DM)', () => {
  const url = '/api/campaigns/c1/narrations';

  it('starts a narration and answers 202 with the request id', async () => {
    const res = await h.fetch(
      url,
      json({ text: '  The door creaks.  ', mode: 'narrate', voice: 'alloy' }, h.token('dm')),
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as { request_id: string; spoken_verbatim: boolean };
    expect(body.spoken_verbatim).toBe(true);
    expect(h.t.engine.stations.get('c1').findRequest(body.request_id)?.request.text).toBe('The door creaks.');
    expect(h.narration.calls[0]).toMatchObject({
      campaignId: 'c1',
      text: 'The door creaks.',
      mode: 'narrate',
      voice: 'alloy',
    });
    expect(h.narration.calls[0]?.requestedBy).toMatch(/^web:/);
  });

  it('validates the body', async () => {
    const dm = h.token('dm');
    for (const body of [
      {},
      { text: '', mode: 'say' },
      { text: '   ', mode: 'say' },
      { text: 'x'.repeat(4001), mode: 'say' },
      { text: 'hi', mode: 'sing' },
      { text: 'hi', mode: 'say', extra: 1 },
      { text: 42, mode: 'say' },
      { text: 'hi', mode: 'say', voice: '../etc' },
      [],
    ]) {
      await expectError(await h.fetch(url, json(body, dm)), 400, 'bad_request');
    }
    expect(h.narration.calls).toHaveLength(0);
  });

  it('refuses text with nothing speakable and says why; counts the characters past the limit', async () => {
    const dm = h.token('dm');
    for (const text of ['...', ' — !? ', '***']) {
      for (const mode of ['say', 'narrate']) {
        const msg = await expectError(await h.fetch(url, json({ text, mode }, dm)), 400, 'bad_request');
        expect(msg).toMatch(/nothing to speak/);
      }
    }
    const long = await expectError(
      await h.fetch(url, json({ text: 'x'.repeat(4321), mode: 'say' }, dm)),
      400,
      'bad_request',
    );
    expect(long).toMatch(/at most 4000 characters \(this one has 4321\)/);
    expect(h.narration.calls).toHaveLength(0);
    // Other scripts are speakable.
    expect((await h.fetch(url, json({ text: 'Привет, 42!', mode: 'say' }, dm))).status).toBe(202);
  });

  it('refuses bodies that are not JSON objects', async () => {
    const dm = h.token('dm');
    await expectError(await h.fetch(url, json('{"text": "hi",', dm)), 400, 'bad_request');
    await expectError(await h.fetch(url, json('null', dm)), 400, 'bad_request');
    expect(h.narration.calls).toHaveLength(0);
  });

  it('answers 413 past 16 KiB', async () => {
    const msg = await expectError(
      await h.fetch(url, json({ text: 'x'.repeat(17_000), mode: 'say' }, h.token('dm'))),
      413,
      'payload_too_large',
    );
    expect(msg).toMatch(/too large/);
  });

  it('maps RateLimitedError to 429 with Retry-After and UnknownVoiceError to 400', async () => {
    const dm = h.token('dm');
    await expectError(
      await h.fetch(url, json({ text: 'hi', mode: 'say', voice: 'nope' }, dm)),
      400,
      'bad_request',
    );
    h.narration.rateLimited = true;
    const res = await h.fetch(url, json({ text: 'hi', mode: 'say' }, dm));
    expect(res.headers.get('retry-after')).toBe('13');
    await expectError(res, 429, 'rate_limited');
  });
});

describe('control (DM)', () => {
  const url = '/api/campaigns/c1/control';

  it('skips, pauses and resumes; refusals are 409 with a friendly message', async () => {
    const dm = h.token('dm');
    expect(await expectError(await h.fetch(url, json({ action: 'skip' }, dm)), 409, 'conflict')).toBe(
      'Nothing is playing right now.',
    );
    const a = await toneAudio(1000);
    const r = await h.say('one', [a, a]);
    const res = await h.fetch(url, json({ action: 'pause' }, dm));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(h.t.engine.stations.get('c1').paused).toBe(true);
    await expectError(await h.fetch(url, json({ action: 'pause' }, dm)), 409, 'conflict');
    expect((await h.fetch(url, json({ action: 'resume' }, dm))).status).toBe(200);
    await expectError(await h.fetch(url, json({ action: 'resume' }, dm)), 409, 'conflict');
    expect((await h.fetch(url, json({ action: 'skip' }, dm))).status).toBe(200);
    expect(r.status).toBe(RequestStatus.Cancelled);
    await expectError(await h.fetch(url, json({ action: 'explode' }, dm)), 400, 'bad_request');
  });

  it('refuses to pause an empty station (it would hold later narrations unseen)', async () => {
    const dm = h.token('dm');
    const msg = await expectError(await h.fetch(url, json({ action: 'pause' }, dm)), 409, 'conflict');
    expect(msg).toMatch(/nothing to pause/);
    expect(h.t.engine.stations.get('c1').paused).toBe(false);
    // A narration queued afterwards airs at once.
    const a = await toneAudio(1000);
    const r = await h.say('later', [a]);
    expect(r.status).toBe(RequestStatus.Playing);
  });
});

describe('chunks', () => {
  it('serves MP3 and Opus with length, ETag, immutable caching and ranges', async () => {
    const a = await toneAudio(1000);
    const r = await h.say('one', [a]);
    const chunk = h.t.engine.stations.get('c1').findRequest(r.id)?.chunks[0];
    const token = h.token();
    const res = await h.fetch(`/api/audio/chunks/${chunk?.id}`, { headers: auth(token) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('content-length')).toBe(String(a.mp3.length));
    expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    const etag = res.headers.get('etag') as string;
    expect(Buffer.from(await res.arrayBuffer()).equals(a.mp3)).toBe(true);
    const opus = await h.fetch(`/api/audio/chunks/${chunk?.id}?format=opus&token=${token}`);
    expect(opus.headers.get('content-type')).toBe('audio/ogg; codecs=opus');
    expect(Buffer.from(await opus.arrayBuffer()).equals(a.opus)).toBe(true);
    const cached = await h.fetch(`/api/audio/chunks/${chunk?.id}`, {
      headers: { ...auth(token), 'If-None-Match': etag },
    });
    expect(cached.status).toBe(304);
    const part = await h.fetch(`/api/audio/chunks/${chunk?.id}`, {
      headers: { ...auth(token), Range: 'bytes=10-19' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${a.mp3.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(a.mp3.subarray(10, 20))).toBe(true);
    const tail = await h.fetch(`/api/audio/chunks/${chunk?.id}`, {
      headers: { ...auth(token), Range: 'bytes=-5' },
    });
    expect(Buffer.from(await tail.arrayBuffer()).equals(a.mp3.subarray(a.mp3.length - 5))).toBe(true);
    const bad = await h.fetch(`/api/audio/chunks/${chunk?.id}`, {
      headers: { ...auth(token), Range: `bytes=${a.mp3.length}-` },
    });
    expect(bad.headers.get('content-range')).toBe(`bytes */${a.mp3.length}`);
    await expectError(bad, 416, 'bad_request');
    // Other campaign, unknown chunk, bad id, bad format.
    await expectError(
      await h.fetch(`/api/audio/chunks/${chunk?.id}`, { headers: auth(h.token('player', 'c2')) }),
      403,
      'forbidden',
    );
    await expectError(
      await h.fetch(`/api/audio/chunks/${crypto.randomUUID()}`, { headers: auth(token) }),
      404,
      'not_found',
    );
    await expectError(
      await h.fetch('/api/audio/chunks/not-a-uuid', { headers: auth(token) }),
      400,
      'bad_request',
    );
    await expectError(
      await h.fetch(`/api/audio/chunks/${chunk?.id}?format=wav`, { headers: auth(token) }),
      400,
      'bad_request',
    );
  });
});

describe('health, metrics, pages, unknown routes', () => {
  it('GET /healthz checks database and store', async () => {
    const res = await h.fetch('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      checks: { database: 'ok', store: 'ok' },
      playback: 'database',
      journalled_writes: 0,
    });
  });

  it('GET /healthz reports a database outage as degraded without claiming the station is down', async () => {
    const repo = h.t.engine.repository;
    const original = repo.ping.bind(repo);
    repo.ping = () => Promise.reject(new Error('down'));
    try {
      const res = await h.fetch('/healthz');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'degraded',
        checks: { database: 'down', store: 'ok' },
      });
    } finally {
      repo.ping = original;
    }
  });

  it('GET /healthz is 503 down when the audio store cannot be read', async () => {
    const store = h.t.engine.store;
    const original = store.check.bind(store);
    store.check = () => Promise.reject(new Error('gone'));
    try {
      const res = await h.fetch('/healthz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'down', checks: { database: 'ok', store: 'down' } });
    } finally {
      store.check = original;
    }
  });

  it('GET /metrics shows engine, web and process metrics', async () => {
    const res = await h.fetch('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of [
      'bardcast_requests',
      'bardcast_ws_connections',
      'bardcast_audio_streams',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('serves the pages with security headers and caches hashed assets', async () => {
    const res = await h.fetch('/listen/c1?token=abc');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>listen</title>');
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('content-security-policy')).toContain(`ws://${new URL(h.url).host}`);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(await (await h.fetch('/dm/c1')).text()).toContain('<title>dm</title>');
    const asset = await h.fetch('/static/assets/app-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    await expectError(await h.fetch('/static/assets/missing.js'), 404, 'not_found');
    await expectError(await h.fetch('/static/../listen.html'), 404, 'not_found');
    await expectError(await h.fetch('/listen/bad%20campaign'), 404, 'not_found');
  });

  it('answers 503 with a build hint when the pages are not built', async () => {
    await h.dispose();
    h = await startWebHarness(tdb, { pagesDir: path.join(pagesDir, 'nope') });
    const msg = await expectError(await h.fetch('/listen/c1'), 503, 'unavailable');
    expect(msg).toMatch(/vite build/);
  });

  it('answers / with a page that says where the links come from', async () => {
    const res = await h.fetch('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/listen/&lt;campaign&gt;?token=');
    expect(html).toContain('/dm/&lt;campaign&gt;?token=');
    expect(html).not.toMatch(/<script|style=/);
  });

  it('answers unknown routes and methods with a JSON 404', async () => {
    await expectError(await h.fetch('/nope'), 404, 'not_found');
    await expectError(await h.fetch('/api/campaigns/c1/audio/queue', { method: 'DELETE' }), 404, 'not_found');
    await expectError(
      await h.fetch('/api/campaigns/%E0%A4%A/audio/queue', { headers: auth(h.token()) }),
      400,
      'bad_request',
    );
  });
});

describe('createConsoleLinks', () => {
  it('gives a DM console link and a listener link with fresh tokens that work', async () => {
    const links = createConsoleLinks(h.services, { baseUrl: h.url + '/' });
    expect(links.campaignId).toBe('c1');
    expect(links.dmUrl).toMatch(new RegExp(`^${h.url}/dm/c1\\?token=`));
    expect(links.listenUrl).toMatch(new RegExp(`^${h.url}/listen/c1\\?token=`));
    const dmToken = new URL(links.dmUrl).searchParams.get('token')!;
    const playerToken = new URL(links.listenUrl).searchParams.get('token')!;
    expect(h.tokens.verify(dmToken, h.clock.now())).toMatchObject({ campaignId: 'c1', role: 'dm' });
    expect(h.tokens.verify(playerToken, h.clock.now())).toMatchObject({ campaignId: 'c1', role: 'player' });
    expect(links.expiresAt.getTime()).toBeGreaterThan(h.clock.now() + 29 * 24 * 3600 * 1000);
    expect((await fetch(links.dmUrl)).status).toBe(200);
    const live = await fetch(links.liveUrl);
    expect(live.headers.get('content-type')).toBe('audio/mpeg');
    await live.body?.cancel();
    const narration = json({ text: 'Hello.', mode: 'say' }, dmToken);
    expect((await h.fetch('/api/campaigns/c1/narrations', narration)).status).toBe(202);
    const refused = await h.fetch('/api/campaigns/c1/control', json({ action: 'skip' }, playerToken));
    expect(refused.status).toBe(403);
  });
});
