import {
  GenerationStatus,
  RequestStatus,
  type NowPlaying,
  type PlaybackRequest,
  type QueueEntry,
} from '../playback';
import { clamp } from './replies';

/** `m:ss` (or `h:mm:ss`). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A text progress bar: `▬▬▬🔘▬▬▬▬▬▬▬▬`. */
export function progressBar(fraction: number, width = 12): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const at = Math.min(width - 1, Math.floor(f * width));
  return `${'▬'.repeat(at)}🔘${'▬'.repeat(width - at - 1)}`;
}

/** One line of user text, safe inside Discord markdown, at most `max` characters. */
export function snippet(text: string, max = 80): string {
  const flat = text
    .replace(/\s+/g, ' ')
    .replace(/[`*_~|>\\]/g, '')
    .trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** What `/queue` shows. */
export interface QueueView {
  now: NowPlaying | null;
  /** Requests after the on-air one, in airing order. */
  upNext: readonly QueueEntry[];
  /** Recently FAILED requests, newest first. */
  failures: readonly PlaybackRequest[];
  /** The voice channel the bot is in. */
  voiceChannelId: string | null;
}

const UP_NEXT_SHOWN = 5;
const FAILURES_SHOWN = 3;

function sentencesOf(entry: { request: PlaybackRequest; chunks: readonly unknown[] }): string {
  const ready = entry.chunks.filter(Boolean).length;
  const { generation, totalChunks } = entry.request;
  if (generation === GenerationStatus.Generated)
    return `${totalChunks ?? ready} sentence${ready === 1 ? '' : 's'}`;
  if (generation === GenerationStatus.Pending)
    return entry.request.mode === 'narrate' ? 'writing…' : 'speaking…';
  return `${ready} sentence${ready === 1 ? '' : 's'} ready, more coming`;
}

function kind(request: PlaybackRequest): string {
  return request.mode === 'narrate' ? 'Narration' : 'Read-aloud';
}

/**
 * The `/queue` message: now playing with a progress bar, up next, recent
 * failures with their reasons. Up-next items show their kind and size, not
 * their text: a DM's prompt is a spoiler until it airs.
 */
export function formatQueue(view: QueueView, entryOf: (requestId: string) => QueueEntry | undefined): string {
  const lines: string[] = [];
  const { now } = view;
  if (now) {
    const entry = entryOf(now.request.id);
    const chunks = entry?.chunks ?? [];
    const known = chunks.reduce((sum, c) => sum + (c?.durationMs ?? 0), 0);
    const complete = now.request.generation === GenerationStatus.Generated;
    const total = now.request.totalChunks ?? chunks.filter(Boolean).length;
    const position = now.positionSec * 1000;
    const state = now.paused ? '⏸️ paused' : now.underrun ? '⏳ waiting for the next sentence…' : '▶️';
    lines.push(
      `📻 **On air** — ${kind(now.request)}, sentence ${now.chunkIndex + 1}/${total}${complete ? '' : '+'}`,
    );
    if (now.chunk) lines.push(`> ${snippet(now.chunk.text, 160)}`);
    lines.push(
      `${state} \`${progressBar(known > 0 ? position / known : 0)}\` ${formatDuration(position)} / ${formatDuration(known)}${complete ? '' : '+'}`,
    );
  } else {
    lines.push('📻 Nothing on air.');
  }

  if (view.upNext.length > 0) {
    lines.push('', `**Up next** (${view.upNext.length})`);
    for (const [i, e] of view.upNext.slice(0, UP_NEXT_SHOWN).entries()) {
      lines.push(`${i + 1}. ${kind(e.request)} — ${sentencesOf(e)}`);
    }
    if (view.upNext.length > UP_NEXT_SHOWN) lines.push(`…and ${view.upNext.length - UP_NEXT_SHOWN} more`);
  } else if (now) {
    lines.push('', 'Nothing else queued.');
  }

  const failures = view.failures.filter((r) => r.status === RequestStatus.Failed).slice(0, FAILURES_SHOWN);
  if (failures.length > 0) {
    lines.push('', '**Recently failed**');
    for (const r of failures) {
      const when = r.finishedAt ? ` <t:${Math.floor(r.finishedAt.getTime() / 1000)}:R>` : '';
      lines.push(`• ${kind(r)}${when} — ${snippet(r.error ?? 'unknown reason', 120)}`);
    }
  }

  lines.push(
    '',
    view.voiceChannelId
      ? `🎙️ Playing in <#${view.voiceChannelId}>`
      : '🎙️ Not in a voice channel — a DM can `/join`.',
  );
  return clamp(lines.join('\n'));
}
