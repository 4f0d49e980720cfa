/**
 * A real web server on 127.0.0.1:0 over a real engine (PGlite, temp audio
 * dir, ManualClock), with token helpers. One database per test file; a fresh
 * engine and server per test.
 */
import { TokenSigner, type TokenRole } from '../../../src/auth';
import { loadConfig } from '../../../src/config';
import { silentLogger } from '../../../src/log';
import type { EncodedAudio, PlaybackRequest } from '../../../src/playback';
import type { AppServices } from '../../../src/services';
import { startWebServer, type WebLimits, type WebServer } from '../../../src/web';
import type { TestDatabase } from '../../support/db';
import { startTestEngine, type TestEngine } from '../../support/engine';
import { ManualClock } from '../../support/manual-clock';
import { FakeNarration } from './narration';
import { TestSocket } from './ws-client';

export const SECRET = 'web-test-secret-0123456789';

/** Options of {@link startWebHarness}. */
export interface HarnessOptions {
  limits?: Partial<WebLimits>;
  pagesDir?: string;
  clock?: ManualClock;
}

export interface WebHarness {
  t: TestEngine;
  clock: ManualClock;
  web: WebServer;
  url: string;
  services: AppServices;
  narration: FakeNarration;
  tokens: TokenSigner;
  /** A token for `campaign` (default c1) with `role`, valid `ttlSec` from the manual clock's now. */
  token(role?: TokenRole, campaign?: string, ttlSec?: number): string;
  /** fetch() against the server. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Opens `/ws` for a campaign with a token; resolves once open. */
  connect(token?: string, campaign?: string): Promise<TestSocket>;
  /** A `say` request with chunks of real audio; `complete` sets GENERATED. */
  say(text: string, audio: EncodedAudio[], complete?: boolean): Promise<PlaybackRequest>;
  dispose(): Promise<void>;
}

export async function startWebHarness(tdb: TestDatabase, options: HarnessOptions = {}): Promise<WebHarness> {
  const t = await startTestEngine(tdb.repository, options.clock ? { clock: options.clock } : {});
  const tokens = new TokenSigner(SECRET);
  const narration = new FakeNarration(() => t.engine.writer);
  const config = loadConfig({ TOKEN_SECRET: SECRET, DEFAULT_CAMPAIGN: 'c1', HOST: '127.0.0.1', PORT: '0' });
  const services: AppServices = {
    config,
    log: silentLogger,
    clock: t.clock,
    engine: t.engine,
    narration,
    tokens,
  };
  const web = await startWebServer(services, {
    port: 0,
    host: '127.0.0.1',
    ...(options.pagesDir ? { pagesDir: options.pagesDir } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const sockets: TestSocket[] = [];
  const h: WebHarness = {
    t,
    clock: t.clock,
    web,
    url: web.url,
    services,
    narration,
    tokens,
    token: (role = 'player', campaign = 'c1', ttlSec = 3600) =>
      tokens.sign(campaign, role, ttlSec, t.clock.now()),
    fetch: (path, init) => fetch(web.url + path, init),
    connect: async (token = h.token(), campaign = 'c1') => {
      const s = new TestSocket(`${web.url.replace('http', 'ws')}/ws?campaign=${campaign}&token=${token}`);
      sockets.push(s);
      await s.opened;
      return s;
    },
    say: async (text, audio, complete = true) => {
      const w = t.engine.writer;
      const r = await w.create('c1', text, { mode: 'say' });
      for (const [i, a] of audio.entries()) await w.addChunk(r.id, i, { text: `${text} ${i}`, audio: a });
      if (complete) await w.complete(r.id, audio.length);
      return r;
    },
    dispose: async () => {
      for (const s of sockets) s.ws.terminate();
      await web.close();
      await t.dispose();
    },
  };
  return h;
}

/** Reads a streaming response body until it ends or `maxBytes`/`timeoutMs` is reached. */
export async function readBody(
  res: Response,
  opts: { maxBytes?: number; timeoutMs?: number } = {},
): Promise<Buffer> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  const deadline = Date.now() + (opts.timeoutMs ?? 5_000);
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      reader.read(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (r === 'timeout' || r.done) break;
    parts.push(r.value);
    size += r.value.length;
    if (opts.maxBytes !== undefined && size >= opts.maxBytes) break;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(parts);
}
