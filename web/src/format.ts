/** Small pure formatting helpers shared by the pages. */
import { ConnectionStatus } from './ws-client';

/** `m:ss` for a position in seconds (`–:––` when unknown). */
export function formatSeconds(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return '–:––';
  const whole = Math.max(0, Math.floor(sec));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** What the connection indicator says. */
export function connectionLabel(status: ConnectionStatus): string {
  switch (status) {
    case ConnectionStatus.Connecting:
      return 'Connecting…';
    case ConnectionStatus.Live:
      return 'Live';
    case ConnectionStatus.Reconnecting:
      return 'Reconnecting…';
    case ConnectionStatus.Stopped:
      return 'Offline';
    case ConnectionStatus.Superseded:
      return 'Open elsewhere';
    case ConnectionStatus.Refused:
      return 'Link refused';
  }
}

/** Cuts `text` to `max` characters on a word boundary when possible, with an ellipsis. */
export function truncate(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.6 ? cut.slice(0, space) : cut) + '…';
}

/** Keeps the end of `text` (the latest sentences), cut on a word boundary, with a leading ellipsis. */
export function truncateStart(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(clean.length - (max - 1));
  const space = cut.indexOf(' ');
  return '…' + (space >= 0 && space < max * 0.4 ? cut.slice(space + 1) : cut);
}

/** Human wording of a request status (`PLAYING` → `on air`). */
export function statusLabel(status: string): string {
  const labels: Record<string, string> = {
    PENDING: 'queued',
    PLAYING: 'on air',
    PLAYED: 'played',
    FAILED: 'failed',
    CANCELLED: 'cancelled',
  };
  return labels[status] ?? status.toLowerCase();
}

/** The part of a request summary {@link spoilerFreeLabel} reads. */
export interface RequestShape {
  mode: string;
  generation: string;
  total_chunks: number | null;
  ready_chunks: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What a player reads of a request whose text they may not see (as Discord's
 * `/queue`): its kind and length, e.g. `Narration · 4 sentences`.
 */
export function spoilerFreeLabel(r: RequestShape): string {
  const kind = r.mode === 'narrate' ? 'Narration' : 'Read-aloud';
  let size: string;
  if (r.generation === 'GENERATED') size = plural(r.total_chunks ?? r.ready_chunks, 'sentence');
  else if (r.generation === 'PENDING') size = r.mode === 'narrate' ? 'being written…' : 'being voiced…';
  else if (r.generation === 'FAILED') size = plural(r.ready_chunks, 'sentence');
  else size = `${plural(r.ready_chunks, 'sentence')} ready, more coming`;
  return `${kind} · ${size}`;
}
