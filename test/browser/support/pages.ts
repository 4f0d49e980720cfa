/**
 * Builds the pages when `web/dist` is missing or older than their sources
 * (a fresh checkout runs `npm run build` on install; a developer editing
 * web/src would otherwise test stale pages). Parallel test files build once:
 * the first takes a lock, the others wait for it.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './app-process';

const run = promisify(execFile);
const WEB = path.join(REPO_ROOT, 'web');
const DIST = path.join(WEB, 'dist');
const LOCK = path.join(WEB, '.build-lock');

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

async function builtAt(): Promise<number | null> {
  try {
    const times = await Promise.all(['listen.html', 'dm.html'].map((f) => stat(path.join(DIST, f))));
    return Math.min(...times.map((t) => t.mtimeMs));
  } catch {
    return null;
  }
}

/** Builds `web/dist` unless it is up to date. */
export async function ensurePagesBuilt(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const built = await builtAt();
    // The pages also bundle src/media (MP3 parsing) from the server side.
    const sources = Math.max(
      await newestSource(WEB),
      await newestSource(path.join(REPO_ROOT, 'src', 'media')),
    );
    if (built !== null && built >= sources) return;
    try {
      await mkdir(LOCK);
    } catch {
      // Someone else is building; a lock older than the timeout is a crashed build.
      const lock = await stat(LOCK).catch(() => null);
      if (lock && Date.now() - lock.mtimeMs > timeoutMs) await rm(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another build of web/dist');
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      await run(
        process.execPath,
        [
          path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'),
          'build',
          '--config',
          'web/vite.config.ts',
          '--logLevel',
          'warn',
        ],
        {
          cwd: REPO_ROOT,
          timeout: timeoutMs,
        },
      );
      return;
    } finally {
      await rm(LOCK, { recursive: true, force: true });
    }
  }
}
