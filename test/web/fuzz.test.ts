/**
 * Thousands of random requests and WebSocket messages: every one gets a 2xx
 * for valid input or a 4xx / `error` in the protocol's shape, never a 5xx or
 * a crash, the connection stays up, and the heap stays flat.
 */
import http from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, openTestDatabase, type TestDatabase } from '../support/db';
import { startWebHarness, type WebHarness } from './support/server';
import type { TestSocket } from './support/ws-client';

/** Cases per run (issue 10: at least 10,000 HTTP and 5,000 WebSocket). */
const HTTP_CASES = 10_000;
const WS_CASES = 5_000;
const ON_SERVER = backends.includes('postgres');
const WARM_UP = 2_000;

let tdb: TestDatabase;
let h: WebHarness;
let pagesDir: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'rate_limited',
  'unavailable',
];

beforeAll(async () => {
  // On PostgreSQL when there is one, so the process's RSS is the server's own, not the embedded
  // database's WASM heap (which grows with the rows the valid requests store, and never shrinks).
  tdb = await openTestDatabase(ON_SERVER ? 'postgres' : 'pglite');
  pagesDir = await mkdtemp(path.join(tmpdir(), 'bardcast-fuzz-pages-'));
  await mkdir(path.join(pagesDir, 'assets'));
  await writeFile(path.join(pagesDir, 'listen.html'), '<!doctype html>');
  await writeFile(path.join(pagesDir, 'dm.html'), '<!doctype html>');
  await writeFile(path.join(pagesDir, 'assets', 'a.js'), '1');
  h = await startWebHarness(tdb, {
    pagesDir,
    limits: { wsBadMessagesPerMinute: 1e9, wsMessagesPerMinute: 1e9 },
  });
});
afterAll(async () => {
  agent.destroy();
  await h.dispose();
  await tdb.close();
  await rm(pagesDir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One request with a raw path (no URL normalisation); audio streams are cut after the headers. */
function raw(
  method: string,
  p: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse | 'client-refused'> {
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    // Node frames a DELETE/OPTIONS body only when told its length.
    if (body) headers = { ...headers, 'content-length': String(body.length) };
    try {
      const { port } = new URL(h.url);
      req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent }, (res) => {
        const contentType = String(res.headers['content-type'] ?? '');
        if (contentType.startsWith('audio/')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.alloc(0) });
          return;
        }
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType, body: Buffer.concat(parts) }),
        );
        res.on('error', reject);
      });
    } catch {
      resolve('client-refused'); // Node itself refuses some paths/headers (unescaped characters)
      return;
    }
    req.on('error', reject);
    req.end(body);
  });
}

const uuid = fc.uuid();
const junk = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.webSegment(),
  fc.constantFrom('..', '%', '%zz', '%00', '', ' ', 'c1/..', 'x'.repeat(300)),
);
const segment = fc.oneof(fc.constantFrom('c1', 'c2'), uuid, junk.map(encodeURIComponent), junk);
const query = fc.oneof(
  fc.constant(''),
  fc.webQueryParameters().map((q) => `?${q}`),
  fc.constantFrom(
    '?from=1.5',
    '?from=-1',
    '?from=1e309',
    '?from=abc&from=2',
    '?format=opus',
    '?format=wav',
    '?token=x',
    '?from=0',
  ),
);
const route = fc
  .tuple(
    fc.constantFrom(
      '/api/campaigns/$/audio/queue',
      '/api/campaigns/$/narrations',
      '/api/campaigns/$/control',
      '/api/campaigns/$/audio/live',
      '/api/audio/stream/$',
      '/api/audio/chunks/$',
      '/api/audio/played/$',
      '/listen/$',
      '/dm/$',
      '/static/$',
      '/static/assets/$',
      '/$',
      '/healthz',
      '/metrics',
      '/ws',
    ),
    segment,
    query,
  )
  .map(([t, s, q]) => t.replace('$', s) + q);
const paths = fc.oneof(
  { weight: 4, arbitrary: route },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
);
/** The method a path expects (most of the time), so requests get past routing into validation. */
const natural = (p: string) => (/\/(narrations|control|played)\//.test(p + '/') ? 'POST' : 'GET');
const request = fc
  .tuple(
    paths,
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
    ),
  )
  .map(([p, m]) => [m ?? natural(p.split('?')[0] as string), p] as const);

/** A real collector: `--expose-gc` switched on from inside (vitest's workers don't pass it). */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const bodies = fc.oneof(
  fc.constant(undefined),
  fc.json().map((j) => Buffer.from(j)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record(
      {
        text: fc.string({ maxLength: 50 }),
        mode: fc.constantFrom('say', 'narrate', 'x'),
        voice: fc.option(fc.string({ maxLength: 70 }), { nil: undefined }),
      },
      { requiredKeys: [] },
    )
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record({ action: fc.constantFrom('skip', 'stop', 'pause', 'resume', 'dance') })
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    Buffer.alloc(20_000, 0x61),
    Buffer.from('{"text":"' + 'y'.repeat(17_000) + '","mode":"say"}'),
  ),
);

describe('fuzz', () => {
  it('answers thousands of random HTTP requests with 2xx/4xx and the JSON error shape', async () => {
    const tokens = [
      () => undefined,
      () => h.token('player'),
      () => h.token('dm'),
      () => h.token('dm', 'c2'),
      () => 'garbage.token',
      () => h.tokens.sign('c1', 'dm', 1, h.clock.now() - 10_000),
    ];
    const seen = new Map<number, number>();
    const recent: string[] = [];
    const run = async (runs: number, seed: number) =>
      fc.assert(
        fc.asyncProperty(
          request,
          fc.nat(tokens.length - 1),
          fc.constantFrom('header', 'query'),
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/json; charset=latin1',
            'application/x-www-form-urlencoded',
            '',
          ),
          bodies,
          async ([method, p], tokenIndex, where, contentType, body) => {
            const token = tokens[tokenIndex]!();
            const headers: Record<string, string> = {};
            if (contentType) headers['content-type'] = contentType;
            let target = p;
            if (token && where === 'header') headers['authorization'] = `Bearer ${token}`;
            if (token && where === 'query') target += (p.includes('?') ? '&' : '?') + `token=${token}`;
            const sendBody = method === 'GET' || method === 'HEAD' ? undefined : body;
            recent.push(
              `${method} ${target.slice(0, 120)} ${JSON.stringify(headers).slice(0, 80)} body=${sendBody?.length}`,
            );
            if (recent.length > 5) recent.shift();
            const res = await raw(method, target, headers, sendBody).catch((err: unknown) => {
              throw new Error(`${String(err)} after:\n${recent.join('\n')}`);
            });
            if (res === 'client-refused') return;
            seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
            expect(res.status, `${method} ${target}`).toBeGreaterThanOrEqual(200);
            expect(res.status, `${method} ${target}`).toBeLessThan(500);
            if (res.status >= 400 && method !== 'HEAD') {
              expect(res.contentType).toMatch(/^application\/json/);
              const parsed = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
              expect(CODES).toContain(parsed.error.code);
              expect(typeof parsed.error.message).toBe('string');
            }
          },
        ),
        { numRuns: runs, seed },
      );
    // Warm-up as the measured run goes (four clients): caches, JIT, pools, the allocator's arenas.
    await Promise.all([0, 1, 2, 3].map((k) => run(WARM_UP / 4, 10 + k)));
    gc();
    const before = process.memoryUsage();
    const started = Date.now();
    // Four clients at once (seeds 2–5), as a server sees them; RSS sampled halfway too.
    await Promise.all([0, 1, 2, 3].map((k) => run(HTTP_CASES / 8, 2 + k)));
    gc();
    const half = process.memoryUsage();
    await Promise.all([0, 1, 2, 3].map((k) => run(HTTP_CASES / 8, 20 + k)));
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed - before.heapUsed;
    // This process holds the client, the server and the database driver (Prisma's WASM memory and
    // the allocator's arenas grow to a high-water mark and never give it back), so RSS is judged on
    // the second half of the run: a leak keeps growing there; a warm process does not.
    const rssGrowth = (after.rss - half.rss) / half.rss;
    const rssTotal = (after.rss - before.rss) / before.rss;
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    console.info(
      `[measure] HTTP fuzz: ${total} requests answered (${HTTP_CASES} cases after ${WARM_UP} warm-up) in ${((Date.now() - started) / 1000).toFixed(1)} s, statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}; ` +
        `heap ${(grown / 1e6).toFixed(1)} MB, external ${((after.external - before.external) / 1e6).toFixed(1)} MB, RSS ${(before.rss / 1e6).toFixed(0)} → ${(half.rss / 1e6).toFixed(0)} → ${(after.rss / 1e6).toFixed(0)} MB (second half ${(rssGrowth * 100).toFixed(1)} %, whole run ${(rssTotal * 100).toFixed(1)} %) after gc`,
    );
    expect(grown).toBeLessThan(15e6);
    if (ON_SERVER) expect(rssGrowth).toBeLessThan(0.1);
    expect((await h.fetch('/healthz')).status).toBe(200);
  }, 300_000);

  it('answers thousands of random WebSocket messages with error (or heartbeat_ack) and stays up', async () => {
    const message = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 100 }),
      fc
        .record(
          {
            type: fc.oneof(
              fc.constantFrom('audio_played', 'heartbeat', 'HEARTBEAT', 'subscribe', ''),
              fc.string({ maxLength: 10 }),
            ),
            campaign_id: fc.oneof(fc.constantFrom('c1', 'c2'), fc.string({ maxLength: 70 })),
            chunk_ids: fc.oneof(
              fc.array(fc.uuid(), { maxLength: 3 }),
              fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }),
              fc.anything(),
            ),
            client_time: fc.oneof(fc.double(), fc.string({ maxLength: 5 })),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.constant('x'.repeat(20_000)),
    );
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await h.connect();
      await s.next('playback_queue_updated');
      sockets.push(s);
    }
    const batches = fc.sample(message, { numRuns: WS_CASES, seed: 7 });
    gc();
    const beforeMemory = process.memoryUsage();
    const before = beforeMemory.heapUsed;
    const sent = [0, 0, 0];
    const startCount = sockets.map((s) => s.messages.length);
    for (const [i, m] of batches.entries()) {
      const s = sockets[i % 3]!;
      if (Buffer.isBuffer(m)) s.ws.send(m, { binary: true });
      else s.ws.send(m);
      sent[i % 3]!++;
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5)); // let replies flow
    }
    for (const [k, s] of sockets.entries()) {
      await s.next(undefined, 1); // drain nothing; just yield
      const deadline = Date.now() + 120_000;
      while (s.messages.length - startCount[k]! < sent[k]! && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const replies = s.messages.slice(startCount[k]!);
      expect(replies).toHaveLength(sent[k]!);
      for (const r of replies) expect(['error', 'heartbeat_ack']).toContain(r.type);
      expect(s.ws.readyState).toBe(s.ws.OPEN);
    }
    gc();
    const afterMemory = process.memoryUsage();
    const grown = afterMemory.heapUsed - before;
    const rssGrowth = (afterMemory.rss - beforeMemory.rss) / beforeMemory.rss;
    const all = sockets.flatMap((s, k) => s.messages.slice(startCount[k]!));
    const errors = all.filter((m) => m.type === 'error').length;
    console.info(
      `[measure] WS fuzz: ${batches.length} messages → ${errors} error, ${all.length - errors} heartbeat_ack; heap ${(grown / 1e6).toFixed(1)} MB, RSS ${(rssGrowth * 100).toFixed(1)} %`,
    );
    expect(grown).toBeLessThan(15e6);
    if (ON_SERVER) expect(rssGrowth).toBeLessThan(0.1);
    expect(h.web.stats().wsConnections).toBe(3);
  }, 300_000);
});
