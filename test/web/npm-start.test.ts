/**
 * `npm start` as a user runs it, as a real child process tree
 * (npm → sh → node): `kill -TERM <npm>` drains and stops the server too
 * (issue 10 item 6: dash does not pass the signal on, src/launcher-watch.ts),
 * and no secret reaches a log line on the way (issue 10 item 3 "Auth"): not
 * the token secret, not the API key, not a whole listener or DM token, not
 * the start-up links (printed to the terminal, logged redacted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, REPO_ROOT } from '../browser/support/app-process';

const TOKEN_SECRET = 'npm-start-test-secret-5b1f9c0e7a';
const API_KEY = 'sk-npm-start-test-key-0c3a9d71e2';

/** Children of `pid` per /proc (Linux). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  for (const child of childrenOf(pid)) all.push(child, ...descendantsOf(child));
  return all;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(
  what: string,
  check: () => T | false | Promise<T | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

let child: ChildProcess | null = null;
let leftovers: number[] = [];
let dataDir = '';
afterAll(async () => {
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('npm start', () => {
  it('kill -TERM of the npm process drains and stops the server; no secret in any log line', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bardcast-npm-start-'));
    const port = await freePort();
    const deadPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of ['DISCORD_TOKEN', 'DATABASE_URL', 'PUBLIC_URL', 'AUDIO_DIR', 'TTS_VOICE'])
      delete env[key];
    Object.assign(env, {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      TTS_PROVIDER: 'flite',
      TOKEN_SECRET,
      // A key that must never be logged; the "OpenAI" behind it is a closed port (narrate fails, logged).
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: `http://127.0.0.1:${deadPort}/v1`,
      DEFAULT_CAMPAIGN: 'demo',
      NARRATIONS_PER_MINUTE: '1000',
    });
    const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = npm;
    let stdout = '';
    let stderr = '';
    npm.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    npm.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const npmExited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));

    const links = await until(
      'the start-up links',
      () => {
        const grab = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(stdout)?.[1];
        const dm = grab('DM console');
        const listen = grab('Listener page');
        const live = grab('Live MP3');
        if (npm.exitCode !== null) throw new Error(`npm start exited early:\n${stdout}\n${stderr}`);
        return dm && listen && live ? { dm, listen, live } : false;
      },
      120_000,
    );
    const dmToken = new URL(links.dm).searchParams.get('token')!;
    const playerToken = new URL(links.listen).searchParams.get('token')!;
    const tree = descendantsOf(npm.pid!);
    leftovers = tree;
    expect(tree.length).toBeGreaterThanOrEqual(2); // sh, node (and whatever they start)

    // Traffic that carries tokens: a listener's WebSocket, query-string and bearer calls, a tampered token.
    const base = `http://127.0.0.1:${port}`;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?campaign=demo&token=${playerToken}`);
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect((await fetch(`${base}/api/campaigns/demo/audio/queue?token=${playerToken}`)).status).toBe(200);
    const tampered = playerToken.slice(0, -4) + (playerToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await fetch(`${base}/api/campaigns/demo/audio/queue?token=${tampered}`)).status).toBe(401);
    const post = (text: string, mode: string) =>
      fetch(`${base}/api/campaigns/demo/narrations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${dmToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ text, mode }),
      });
    expect((await post('The hall is quiet.', 'say')).status).toBe(202);
    expect((await post('the party enters the hall', 'narrate')).status).toBe(202);
    await until(
      'the narration on air',
      async () => {
        const q = (await (await fetch(`${base}/api/campaigns/demo/audio/queue?token=${dmToken}`)).json()) as {
          now_playing: unknown;
        };
        return q.now_playing !== null;
      },
      60_000,
    );

    // The signal a user sends: to npm, not to the server under it.
    process.kill(npm.pid!, 'SIGTERM');
    expect(await wsClosed).toBe(1001); // drained: the server closed its sockets itself
    await npmExited;
    await until('every process of the tree to exit', () => tree.every((pid) => !alive(pid)), 60_000);
    expect(await portOpen(port)).toBe(false);

    const lines = `${stdout}\n${stderr}`.split('\n');
    const logs = lines.filter((l) => l.startsWith('{"level"'));
    const messages = logs.map((l) => JSON.parse(l) as { msg: string; why?: string; dm?: string });
    console.log(
      `[npm start] ${tree.length} processes under npm; ${logs.length} log lines; shutdown: ${messages.find((m) => m.msg === 'shutting down')?.why}`,
    );
    expect(messages.find((m) => m.msg === 'shutting down')?.why).toMatch(/^launcher exited/);
    const linkLine = messages.find((m) => m.msg === 'console links printed to the terminal');
    expect(linkLine?.dm).toBe(`${new URL(links.dm).origin}/dm/demo?token=[redacted]`);
    // The links themselves are on the terminal (not in a log line).
    expect(lines.some((l) => l.includes(links.dm) && !l.startsWith('{'))).toBe(true);
    for (const secret of [TOKEN_SECRET, API_KEY, dmToken, playerToken, tampered]) {
      const leaks = logs.filter((l) => l.includes(secret));
      expect(leaks, `a log line holds ${secret.slice(0, 12)}…`).toEqual([]);
    }
    // No other line but the printed links carries a token either (npm's own output included).
    const withTokens = lines.filter((l) => /eyJjIjoi/.test(l));
    expect(withTokens.every((l) => /^\s+(DM console|Listener page|Live MP3):/.test(l))).toBe(true);
  }, 240_000);
});
