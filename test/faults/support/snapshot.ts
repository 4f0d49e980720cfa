/**
 * What a stopped (or killed) Bardcast left in its database, read straight
 * from the tables with SQL: the audit side of the fault suite. PGlite is
 * opened on the dead process's data dir; PostgreSQL is queried over its URL.
 */
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** One row of `audio_playback_requests`. */
export interface RequestRow {
  id: string;
  queueSeq: number;
  mode: string;
  text: string;
  status: string;
  generation: string;
  error: string | null;
  totalChunks: number | null;
}

/** One row of `audio_chunks`. */
export interface ChunkRow {
  id: string;
  requestId: string;
  seq: number;
  status: string;
  durationMs: number;
  playedAt: number | null;
}

/** Requests in queue order, each with its chunks in sequence order. */
export interface Snapshot {
  requests: (RequestRow & { chunks: ChunkRow[] })[];
}

const REQUESTS = `SELECT id, queue_seq, mode, text, status::text AS status, generation::text AS generation, error, total_chunks
  FROM audio_playback_requests ORDER BY queue_seq`;
const CHUNKS = `SELECT id, request_id, sequence_number, status::text AS status, duration_ms, played_at
  FROM audio_chunks ORDER BY request_id, sequence_number`;

type Row = Record<string, unknown>;

function build(requests: Row[], chunks: Row[]): Snapshot {
  const byRequest = new Map<string, ChunkRow[]>();
  for (const c of chunks) {
    const row: ChunkRow = {
      id: String(c.id),
      requestId: String(c.request_id),
      seq: Number(c.sequence_number),
      status: String(c.status),
      durationMs: Number(c.duration_ms),
      playedAt: c.played_at ? new Date(c.played_at as string | Date).getTime() : null,
    };
    const list = byRequest.get(row.requestId) ?? [];
    list.push(row);
    byRequest.set(row.requestId, list);
  }
  return {
    requests: requests.map((r) => ({
      id: String(r.id),
      queueSeq: Number(r.queue_seq),
      mode: String(r.mode),
      text: String(r.text),
      status: String(r.status),
      generation: String(r.generation),
      error: (r.error as string | null) ?? null,
      totalChunks: r.total_chunks === null ? null : Number(r.total_chunks),
      chunks: byRequest.get(String(r.id)) ?? [],
    })),
  };
}

/** Reads the tables of the PGlite database in `pgDir` (the process that used it must be gone). */
export async function snapshotPglite(pgDir: string): Promise<Snapshot> {
  const db = new PGlite(pgDir);
  try {
    await db.waitReady;
    const requests = (await db.query<Row>(REQUESTS)).rows;
    const chunks = (await db.query<Row>(CHUNKS)).rows;
    return build(requests, chunks);
  } finally {
    await db.close();
  }
}

/** Reads the tables of a PostgreSQL database. */
export async function snapshotPostgres(url: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const requests = (await client.query<Row>(REQUESTS)).rows;
    const chunks = (await client.query<Row>(CHUNKS)).rows;
    return build(requests, chunks);
  } finally {
    await client.end();
  }
}

/** Final request statuses (DESIGN.md "States"). */
export const FINAL = new Set(['PLAYED', 'FAILED', 'CANCELLED']);

/**
 * Where a restarted station must resume: the first request (queue order) not
 * final, at its first chunk not PLAYED; null when everything is final. A
 * request whose every chunk is PLAYED (its count known) has aired whole even
 * if the kill fell before its own PLAYED write: the restart only ends it, and
 * resumes at the next one (`airedWhole` counts those).
 */
export function firstUnplayed(s: Snapshot): {
  resumeAt: { requestId: string; seq: number } | null;
  airedWhole: number;
} {
  let airedWhole = 0;
  for (const r of s.requests) {
    if (FINAL.has(r.status)) continue;
    let seq = 0;
    while (r.chunks[seq]?.seq === seq && r.chunks[seq]?.status === 'PLAYED') seq++;
    if (r.totalChunks !== null && seq === r.totalChunks && seq > 0) {
      airedWhole++;
      continue;
    }
    return { resumeAt: { requestId: r.id, seq }, airedWhole };
  }
  return { resumeAt: null, airedWhole };
}

/** True when some request was still being generated (not GENERATED / FAILED) in the snapshot. */
export function generating(s: Snapshot): boolean {
  return s.requests.some(
    (r) => !FINAL.has(r.status) && (r.generation === 'PENDING' || r.generation === 'GENERATING'),
  );
}
