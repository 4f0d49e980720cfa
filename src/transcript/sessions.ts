/**
 * Reading the transcript back as sessions: a session is a run of
 * narrations without a pause longer than the configured gap, or starts
 * where the DM started one explicitly.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { PrismaClient } from '../generated/prisma/client';
import type { TranscriptEntry, TranscriptLine, TranscriptSession, TranscriptStatus } from './types';

/** Options for {@link TranscriptService}. */
export interface TranscriptServiceOptions {
  prisma: PrismaClient;
  clock: Clock;
  /** A pause longer than this starts a new session (default 3 h). */
  sessionGapMs?: number;
  /** Most recent entries read per campaign (default 5000). */
  maxEntries?: number;
}

/** Reads transcripts and their sessions; starts sessions explicitly. */
export class TranscriptService {
  readonly #o: TranscriptServiceOptions;

  constructor(options: TranscriptServiceOptions) {
    this.#o = options;
  }

  /** Starts a new session now (the next narration opens it). */
  async startSession(campaignId: string, title?: string): Promise<Date> {
    const startedAt = new Date(this.#o.clock.now());
    const clean = title?.replace(/\s+/g, ' ').trim().slice(0, 100);
    await this.#o.prisma.transcriptSession.create({
      data: { id: randomUUID(), campaignId, startedAt, title: clean ? clean : null },
    });
    return startedAt;
  }

  /** The campaign's sessions, oldest first. */
  async sessions(campaignId: string): Promise<TranscriptSession[]> {
    const [rows, markers] = await Promise.all([
      this.#o.prisma.transcriptEntry.findMany({
        where: { campaignId },
        orderBy: { endedAt: 'desc' },
        take: this.#o.maxEntries ?? 5000,
      }),
      this.#o.prisma.transcriptSession.findMany({ where: { campaignId }, orderBy: { startedAt: 'asc' } }),
    ]);
    const entries = rows.map(toEntry).sort((a, b) => startOf(a) - startOf(b));
    const gap = this.#o.sessionGapMs ?? 3 * 3600_000;
    const sessions: TranscriptSession[] = [];
    let current: TranscriptSession | null = null;
    let marker = 0;
    for (const entry of entries) {
      const start = startOf(entry);
      let explicit: (typeof markers)[number] | null = null;
      while (
        marker < markers.length &&
        (markers[marker] as (typeof markers)[number]).startedAt.getTime() <= start
      ) {
        explicit = markers[marker] as (typeof markers)[number];
        marker++;
      }
      const pause = current ? start - current.endedAt.getTime() : Infinity;
      if (!current || explicit || pause > gap) {
        current = {
          id: String(start),
          startedAt: new Date(start),
          endedAt: entry.endedAt,
          title: explicit?.title ?? null,
          entries: [],
        };
        sessions.push(current);
      }
      current.entries.push(entry);
      if (entry.endedAt > current.endedAt) current.endedAt = entry.endedAt;
    }
    return sessions;
  }

  /** One session by id, or the latest for `latest`; null when there is none. */
  async session(campaignId: string, id: string): Promise<TranscriptSession | null> {
    const all = await this.sessions(campaignId);
    if (id === 'latest') return all[all.length - 1] ?? null;
    return all.find((s) => s.id === id) ?? null;
  }
}

/** When an entry started: when it aired, else when it was queued. */
function startOf(entry: TranscriptEntry): number {
  return (entry.airedAt ?? entry.queuedAt).getTime();
}

function toEntry(row: {
  requestId: string;
  campaignId: string;
  mode: string;
  requestedBy: string | null;
  status: string;
  error: string | null;
  lines: unknown;
  queuedAt: Date;
  airedAt: Date | null;
  endedAt: Date;
}): TranscriptEntry {
  const lines = Array.isArray(row.lines) ? (row.lines as TranscriptLine[]) : [];
  return {
    requestId: row.requestId,
    campaignId: row.campaignId,
    mode: row.mode,
    requestedBy: row.requestedBy,
    status: row.status as TranscriptStatus,
    error: row.error,
    lines: lines.map((l) => ({ speaker: l.speaker ?? null, text: String(l.text), aired: Boolean(l.aired) })),
    queuedAt: row.queuedAt,
    airedAt: row.airedAt,
    endedAt: row.endedAt,
  };
}
