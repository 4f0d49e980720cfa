/** One sentence of a transcript entry. */
export interface TranscriptLine {
  /** A cast name, or null for the narrator. */
  speaker: string | null;
  text: string;
  /** False for sentences that never aired (skipped, stopped, failed before them). */
  aired: boolean;
}

/** How a narration left the station. */
export type TranscriptStatus = 'PLAYED' | 'FAILED' | 'CANCELLED';

/** One narration in the transcript. */
export interface TranscriptEntry {
  requestId: string;
  campaignId: string;
  mode: string;
  requestedBy: string | null;
  status: TranscriptStatus;
  error: string | null;
  lines: TranscriptLine[];
  queuedAt: Date;
  airedAt: Date | null;
  endedAt: Date;
}

/** A run of narrations without a long pause, or one the DM started explicitly. */
export interface TranscriptSession {
  /** Stable id: the start time in ms since the epoch. */
  id: string;
  startedAt: Date;
  endedAt: Date;
  /** Set when the DM started the session explicitly with a title. */
  title: string | null;
  entries: TranscriptEntry[];
}
