// Process readings from /proc for the benches: CPU time and resident memory of
// a process (and optionally its children), and the machine's load.
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process in KiB; NaN when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU seconds and RSS of a process plus its direct children. */
export function treeUsage(pid: number): { cpuSec: number; rssKiB: number; processes: number } {
  const pids = [pid, ...childrenOf(pid)];
  let cpuSec = 0;
  let rss = 0;
  for (const p of pids) {
    const c = cpuSeconds(p);
    const r = rssKiB(p);
    if (Number.isFinite(c)) cpuSec += c;
    if (Number.isFinite(r)) rss += r;
  }
  return { cpuSec, rssKiB: rss, processes: pids.length };
}

/** "load 5.1 / 4.8 / 4.2 (1/5/15 min)" */
export function loadLine(): string {
  const [a, b, c] = loadavg();
  return `load average ${a!.toFixed(1)} / ${b!.toFixed(1)} / ${c!.toFixed(1)} (1/5/15 min)`;
}

/** p-th percentile (nearest rank) of `xs`; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Prints a Markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ].join('\n');
}
