/**
 * Shutdown when the launcher goes. `npm start` runs the server as
 * `npm → sh -c "<start script>" → node`; on `kill -TERM <npm>`, npm forwards
 * the signal to `sh`, but dash (Debian's `sh`) does not exec its command
 * and dies without passing the signal on, so npm and sh exit and the server
 * is re-parented and keeps running (issue 10, item 6). Whatever the start
 * command is, the server therefore watches the processes between itself and
 * the npm (npx, pnpm, yarn) that launched it, and shuts down like on SIGTERM
 * when one of them is gone. Without a launcher among its ancestors (systemd,
 * docker, `node dist/src/main.js` in a shell, `nohup`) nothing is watched:
 * signals reach the server directly there. Linux only (`/proc`); elsewhere
 * nothing is watched.
 */
import { readFileSync } from 'node:fs';

/** One process as `/proc` shows it. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** Start time since boot (clock ticks): a reused pid has another. */
  startTime: string;
  /** `comm` and the command line, for recognising a launcher. */
  command: string;
}

/** Reads one process; null when it is gone or `/proc` is not there. */
export type ProcReader = (pid: number) => ProcEntry | null;

/** Parses `/proc/<pid>/stat` (the `comm` field may hold spaces and parentheses). */
export function parseProcStat(stat: string): { comm: string; ppid: number; startTime: string } | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // After "pid (comm) ": state, ppid, … field 22 of the whole line is starttime.
  const fields = stat.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  const startTime = fields[19];
  if (!Number.isInteger(ppid) || startTime === undefined) return null;
  return { comm: stat.slice(open + 1, close), ppid, startTime };
}

/** {@link ProcReader} over Linux `/proc`. */
export const readProc: ProcReader = (pid) => {
  try {
    const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (!stat) return null;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      // gone between the two reads, or not readable: comm is enough
    }
    return { pid, ppid: stat.ppid, startTime: stat.startTime, command: `${stat.comm} ${cmdline}` };
  } catch {
    return null;
  }
};

const LAUNCHER_RE = /(?:^|[\s/])(?:npm|npx|pnpm|yarn)(?:\s|$)|npm-cli\.js|npx-cli\.js|pnpm\.c?js|yarn\.c?js/;

/** True for npm (its process title is `npm start`, `npm run dev`…), npx, pnpm and yarn. */
export function isLauncher(entry: ProcEntry): boolean {
  return LAUNCHER_RE.test(entry.command);
}

/**
 * The processes from `ppid` up to and including the nearest launcher,
 * parent first; empty when no launcher is found below pid 1.
 */
export function launcherChain(ppid: number, read: ProcReader, maxDepth = 12): ProcEntry[] {
  const chain: ProcEntry[] = [];
  let pid = ppid;
  for (let depth = 0; depth < maxDepth && pid > 1; depth++) {
    const entry = read(pid);
    if (!entry) return [];
    chain.push(entry);
    if (isLauncher(entry)) return chain;
    pid = entry.ppid;
  }
  return [];
}

/** The first process of `chain` that is gone (or whose pid now names another process), or null. */
export function goneFrom(chain: readonly ProcEntry[], read: ProcReader): ProcEntry | null {
  for (const entry of chain) {
    const now = read(entry.pid);
    if (!now || now.startTime !== entry.startTime) return entry;
  }
  return null;
}

/** Options of {@link watchLauncher}. */
export interface LauncherWatchOptions {
  /** Called once, with the process that went. */
  onGone(gone: ProcEntry): void;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Default {@link readProc}. */
  read?: ProcReader;
  /** Default `process.ppid`. */
  ppid?: number;
}

/** A running watch. */
export interface LauncherWatch {
  /** What is watched, parent first (empty: nothing). */
  readonly chain: readonly ProcEntry[];
  stop(): void;
}

/** Polls the launcher chain (real time: this is about OS processes, not the station clock). */
export function watchLauncher(options: LauncherWatchOptions): LauncherWatch {
  const read = options.read ?? readProc;
  const chain = launcherChain(options.ppid ?? process.ppid, read);
  if (chain.length === 0) return { chain, stop: () => {} };
  const timer = setInterval(() => {
    const gone = goneFrom(chain, read);
    if (!gone) return;
    clearInterval(timer);
    options.onGone(gone);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return { chain, stop: () => clearInterval(timer) };
}
