/** src/launcher-watch.ts: which ancestors are watched, and when the server is told to shut down. */
import { describe, expect, it } from 'vitest';
import {
  goneFrom,
  isLauncher,
  launcherChain,
  parseProcStat,
  readProc,
  watchLauncher,
  type ProcEntry,
} from '../../src/launcher-watch';

const proc = (pid: number, ppid: number, command: string, startTime = `${pid}00`): ProcEntry => ({
  pid,
  ppid,
  startTime,
  command,
});

function table(entries: ProcEntry[]) {
  const byPid = new Map(entries.map((e) => [e.pid, e]));
  return { byPid, read: (pid: number) => byPid.get(pid) ?? null };
}

describe('launcher watch', () => {
  it('parses /proc/<pid>/stat, comm with spaces and parentheses included', () => {
    const stat =
      '4242 (npm run (x) a) S 4200 4242 4200 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 11 0 987654 1000 50';
    expect(parseProcStat(stat)).toEqual({ comm: 'npm run (x) a', ppid: 4200, startTime: '987654' });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('reads this process from /proc (Linux)', () => {
    const me = readProc(process.pid);
    expect(me?.pid).toBe(process.pid);
    expect(me?.ppid).toBe(process.ppid);
    expect(readProc(2 ** 22 + 12345)).toBeNull();
  });

  it('recognises npm, npx, pnpm and yarn, not node or sh', () => {
    expect(isLauncher(proc(1, 0, 'npm start npm start'))).toBe(true);
    expect(isLauncher(proc(1, 0, 'npm run dev npm run dev'))).toBe(true);
    expect(isLauncher(proc(1, 0, 'node /usr/lib/node_modules/npm/bin/npm-cli.js start'))).toBe(true);
    expect(isLauncher(proc(1, 0, 'node /usr/bin/yarn start'))).toBe(true);
    expect(isLauncher(proc(1, 0, 'sh sh -c node dist/src/main.js'))).toBe(false);
    expect(isLauncher(proc(1, 0, 'node node --import tsx src/main.ts'))).toBe(false);
    expect(isLauncher(proc(1, 0, 'bash -bash'))).toBe(false);
  });

  it('watches from the parent up to npm; nothing without a launcher', () => {
    const { read } = table([
      proc(10, 1, 'bash -bash'),
      proc(20, 10, 'npm start npm start'),
      proc(30, 20, 'sh sh -c node dist/src/main.js'),
    ]);
    expect(launcherChain(30, read).map((p) => p.pid)).toEqual([30, 20]);
    // nohup node … under a login shell: the shell may go, the server must stay.
    expect(launcherChain(10, read)).toEqual([]);
    expect(launcherChain(99, read)).toEqual([]);
  });

  it('notices a watched process gone, or its pid reused by another', () => {
    const { byPid, read } = table([proc(20, 1, 'npm start'), proc(30, 20, 'sh -c x')]);
    const chain = launcherChain(30, read);
    expect(goneFrom(chain, read)).toBeNull();
    byPid.set(30, proc(30, 1, 'sh -c x', 'later'));
    expect(goneFrom(chain, read)?.pid).toBe(30);
    byPid.delete(30);
    expect(goneFrom(chain, read)?.pid).toBe(30);
  });

  it('calls onGone once when the launcher exits', async () => {
    const { byPid, read } = table([proc(20, 1, 'npm start'), proc(30, 20, 'sh -c x')]);
    const gone: number[] = [];
    let resolve!: () => void;
    const called = new Promise<void>((r) => (resolve = r));
    const watch = watchLauncher({
      ppid: 30,
      read,
      intervalMs: 5,
      onGone: (p) => {
        gone.push(p.pid);
        resolve();
      },
    });
    expect(watch.chain.map((p) => p.pid)).toEqual([30, 20]);
    byPid.delete(30);
    byPid.delete(20);
    await called;
    await new Promise((r) => setTimeout(r, 30));
    expect(gone).toEqual([30]);
    watch.stop();
    expect(watchLauncher({ ppid: 99, read, onGone: () => {} }).chain).toEqual([]);
  });
});
