/**
 * PostgreSQL outages against the real server process. The outage is real: a
 * TCP proxy between Bardcast and the shared PostgreSQL server kills every
 * connection and refuses new ones (the server itself keeps running for other
 * tests). Checked: playback goes on for 30 s without the database, narrations
 * posted meanwhile play, the journal replays, and the end state is the one a
 * run without the outage leaves; the queue still shows history and /healthz
 * says "degraded", not down; a server started while the database is
 * unreachable waits for it (said once) instead of exiting; a SIGKILL during an
 * outage followed by a restart loses nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { freePort, startAppProcess, type AppProcess } from '../browser/support/app-process';
import { backends } from '../support/db';
import { TcpProxy } from '../support/tcp-proxy';
import { TestSocket } from '../web/support/ws-client';
import { drained, generated, narration, post, replyFor, sleep } from './support/crash-run';
import { snapshotPostgres, type Snapshot } from './support/snapshot';

const OUTAGE_MS = 30_000;

describe.runIf(backends.includes('postgres'))('database outage (PostgreSQL behind a cut proxy)', () => {
  const server = process.env['TEST_DATABASE_URL'] as string;
  let admin: pg.Client;
  let fake: FakeOpenAiServer;
  let openaiUrl: string;
  const proxies: TcpProxy[] = [];
  const apps: AppProcess[] = [];
  const dirs: string[] = [];
  const databases: string[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: server });
    await admin.connect();
    fake = new FakeOpenAiServer({ reply: replyFor, msPerChar: 12, ttsBaseLatencyMs: 50 });
    openaiUrl = (await fake.start()).url;
  });
  afterAll(async () => {
    for (const app of apps) await app.stop(2_000);
    for (const proxy of proxies) await proxy.close();
    await fake?.stop();
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin?.end();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** A database of its own, reached through a proxy of its own; the direct URL for the audit. */
  async function database(): Promise<{ viaProxy: string; direct: string; proxy: TcpProxy }> {
    const name = `bardcast_outage_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    databases.push(name);
    const direct = new URL(server);
    direct.pathname = `/${name}`;
    const proxy = await TcpProxy.start(direct.hostname, Number(direct.port || 5432));
    proxies.push(proxy);
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    return { viaProxy: viaProxy.toString(), direct: direct.toString(), proxy };
  }

  async function start(databaseUrl: string, dataDir: string, port: number): Promise<AppProcess> {
    const app = await startAppProcess({
      dataDir,
      port,
      removeDataDir: false,
      startTimeoutMs: 120_000,
      env: {
        DATABASE_URL: databaseUrl,
        DB_RETRY_INTERVAL_MS: '500',
        OPENAI_API_KEY: 'sk-fault-suite',
        OPENAI_BASE_URL: openaiUrl,
        TTS_PROVIDER: 'openai',
        DEMO_LLM: 'false',
        GAP_BETWEEN_REQUESTS_MS: '5',
        LOG_LEVEL: 'warn',
      },
    });
    apps.push(app);
    return app;
  }

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bardcast-outage-'));
    dirs.push(dir);
    return dir;
  }

  function listen(app: AppProcess): Promise<TestSocket> {
    const s = new TestSocket(`ws://127.0.0.1:${app.port}/ws?campaign=${app.campaignId}&token=${app.dmToken}`);
    return s.opened.then(() => s);
  }

  const get = async (app: AppProcess, p: string) => {
    const res = await fetch(`${app.baseUrl}${p}`, { headers: { Authorization: `Bearer ${app.dmToken}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** Every posted request PLAYED in post order, with all its chunks PLAYED: what a run without faults leaves. */
  function expectCleanEnd(snap: Snapshot, posted: string[]): void {
    expect(snap.requests.map((r) => r.id)).toEqual(posted);
    for (const r of snap.requests) {
      expect(r, r.text).toMatchObject({ status: 'PLAYED', generation: 'GENERATED', error: null });
      expect(r.chunks.map((c) => `${c.seq}:${c.status}`)).toEqual(
        Array.from({ length: r.totalChunks ?? -1 }, (_, i) => `${i}:PLAYED`),
      );
    }
  }

  it(
    'plays on through 30 s without the database; what was posted meanwhile plays; the journal replays to the same end state',
    { timeout: 300_000 },
    async () => {
      const t0 = Date.now();
      const db = await database();
      const proxy = db.proxy;
      const app = await start(db.viaProxy, await tempDir(), await freePort());
      const s = await listen(app);
      const posted: string[] = [];
      for (let i = 0; i < 6; i++) posted.push(await post(app, narration(i)));
      await s.next('audio_stream_started', 60_000);

      proxy.cut();
      const cutAt = Date.now();
      // Narrations posted during the outage are accepted, generated and aired.
      for (let i = 6; i < 12; i++) posted.push(await post(app, narration(i)));
      const startedDuring = new Set<string>();
      let health: { status: number; body: Record<string, unknown> } | null = null;
      let history: unknown[] = [];
      while (Date.now() - cutAt < OUTAGE_MS) {
        const m = await s.next(undefined, OUTAGE_MS).catch(() => null);
        if (m?.type === 'audio_stream_started') startedDuring.add(m.request_id as string);
        if (!health && startedDuring.size >= 2) {
          health = await get(app, '/healthz');
          history = (await get(app, `/api/campaigns/${app.campaignId}/audio/queue`)).body
            .history as unknown[];
        }
        if (!m) break;
      }
      expect(health?.status).toBe(200);
      expect(health?.body).toMatchObject({
        status: 'degraded',
        checks: { database: 'down' },
        playback: 'memory',
      });
      expect(health?.body.journalled_writes).toBeGreaterThan(0);
      expect(history.length).toBeGreaterThan(0);
      // Playback went on: requests posted during the outage went on air while it lasted.
      expect(posted.slice(6).filter((id) => startedDuring.has(id)).length).toBeGreaterThan(0);

      proxy.restore();
      await drained(app, 120_000);
      // The probe finds the database back and replays the journal.
      const deadline = Date.now() + 120_000;
      while ((await get(app, '/healthz')).body.status !== 'ok' && Date.now() < deadline) await sleep(100);
      expect((await get(app, '/healthz')).body).toMatchObject({ status: 'ok', journalled_writes: 0 });
      await app.stop(120_000);
      const snap = await snapshotPostgres(db.direct);
      expectCleanEnd(snap, posted);
      expect(app.output()).toMatch(/database unreachable: playing from memory/);
      console.info(
        `[measure] outage: ${OUTAGE_MS / 1000} s cut, ${posted.length} narrations (6 posted during it), ` +
          `${startedDuring.size} went on air during it, history ${history.length} items from memory, ` +
          `${snap.requests.reduce((n, r) => n + r.chunks.length, 0)} chunks all PLAYED; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    },
  );

  it(
    'a server started while the database is unreachable waits for it, says so once, then starts',
    { timeout: 300_000 },
    async () => {
      const db = await database();
      const proxy = db.proxy;
      proxy.cut();
      // Let it find the database unreachable twice (a first try and a retry), then bring it back.
      const refusedBefore = proxy.refused;
      const restoring = proxy.refusedAtLeast(refusedBefore + 2).then(() => proxy.restore());
      const app = await start(db.viaProxy, await tempDir(), await freePort());
      await restoring;
      const said = app.output().match(/database unreachable at start-up/g) ?? [];
      expect(said).toHaveLength(1);
      expect(app.child.exitCode).toBeNull();
      const id = await post(app, narration(0));
      await drained(app, 60_000);
      await app.stop(120_000);
      expectCleanEnd(await snapshotPostgres(db.direct), [id]);
    },
  );

  it(
    'a SIGKILL during an outage, then a restart with the database back, loses nothing',
    { timeout: 300_000 },
    async () => {
      const db = await database();
      const proxy = db.proxy;
      const dataDir = await tempDir();
      const port = await freePort();
      let app = await start(db.viaProxy, dataDir, port);
      fake.resetStats();
      const posted = [await post(app, narration(0))];
      proxy.cut();
      for (let i = 1; i < 5; i++) posted.push(await post(app, narration(i)));
      // Generation finishes into the journal (it needs no database); then the process dies.
      await generated(app, fake, { chats: 2, sentences: 10 });
      const journal = await readFile(path.join(dataDir, 'journal.ndjson'), 'utf8').catch(() => '');
      expect(journal.split('\n').filter(Boolean).length).toBeGreaterThan(0);
      const exited = new Promise((r) => app.child.once('exit', r));
      app.child.kill('SIGKILL');
      await exited;
      proxy.restore();
      app = await start(db.viaProxy, dataDir, port);
      await drained(app, 120_000);
      await app.stop(120_000);
      expectCleanEnd(await snapshotPostgres(db.direct), posted);
    },
  );
});
