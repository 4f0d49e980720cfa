import type { AudioChunk, FinalRequestStatus, PlaybackRequest } from './types';

/** What the station is doing. */
export enum StationStatus {
  /** Nothing on air; the head request (if any) has no audio yet. */
  Idle = 'idle',
  /** A chunk is on air. */
  OnAir = 'on_air',
  /** The on-air request's next chunk is not generated yet: silence until it arrives. */
  Underrun = 'underrun',
  /** The pause between two requests. */
  Gap = 'gap',
  /** The DM paused the station; `resume` says what continues. */
  Paused = 'paused',
}

/** A request the station holds in memory, with the chunks stored so far (index = sequence number). */
export interface QueueEntry {
  request: PlaybackRequest;
  chunks: AudioChunk[];
  /** Clock time of the last sign of life (creation, chunk arrival, chunk start). */
  lastProgressAt: number;
  /** Clock time the DM's prompt arrived (time-to-first-audio). */
  receivedAt: number;
}

/** The state of a paused station: what resumes. */
export type PausedFrom =
  | { status: StationStatus.Idle }
  | { status: StationStatus.OnAir; entry: QueueEntry; chunkIndex: number; offsetMs: number }
  | { status: StationStatus.Underrun; entry: QueueEntry; nextIndex: number }
  | { status: StationStatus.Gap; remainingMs: number };

/** The station's state; fields exist only in the state they belong to. */
export type StationState =
  | { status: StationStatus.Idle }
  | { status: StationStatus.OnAir; entry: QueueEntry; chunkIndex: number; chunkStartedAt: number }
  | { status: StationStatus.Underrun; entry: QueueEntry; nextIndex: number; since: number }
  | { status: StationStatus.Gap; until: number }
  | { status: StationStatus.Paused; pausedAt: number; resume: PausedFrom };

/** Why a request left the air (or the queue). */
export type EndReason = 'played' | 'skipped' | 'stopped' | 'failed' | 'stalled';

/** The station's answer to "what is on air right now" (late-join). */
export interface NowPlaying {
  request: PlaybackRequest;
  /** The chunk on air, or the one being waited for (underrun/paused) if it exists. */
  chunk: AudioChunk | null;
  chunkIndex: number;
  /** Milliseconds into `chunk`. */
  offsetMs: number;
  /** Seconds into the request (sum of earlier chunks + offset). */
  positionSec: number;
  paused: boolean;
  underrun: boolean;
}

/** A chunk whose station start time is decided. */
export interface ScheduleEntry {
  request: PlaybackRequest;
  chunk: AudioChunk;
  /** Clock time (ms) at which the chunk's first sample airs. */
  startsAt: number;
}

/** Station events; sinks subscribe to these. */
export interface StationEvents {
  stateChange: [oldState: StationState, newState: StationState];
  requestStarted: [
    event: { campaignId: string; request: PlaybackRequest; startedAt: number; resumed: boolean },
  ];
  chunkStarted: [
    event: { campaignId: string; request: PlaybackRequest; chunk: AudioChunk; startsAt: number },
  ];
  chunkEnded: [event: { campaignId: string; request: PlaybackRequest; chunk: AudioChunk }];
  requestEnded: [
    event: {
      campaignId: string;
      request: PlaybackRequest;
      status: FinalRequestStatus;
      reason: EndReason;
      wasOnAir: boolean;
    },
  ];
  chunkReady: [event: { campaignId: string; request: PlaybackRequest; chunk: AudioChunk }];
  queueChanged: [event: { campaignId: string }];
  scheduleChanged: [event: { campaignId: string }];
}

/** Every station event name, for code that forwards them all. */
export const STATION_EVENT_NAMES = [
  'stateChange',
  'requestStarted',
  'chunkStarted',
  'chunkEnded',
  'requestEnded',
  'chunkReady',
  'queueChanged',
  'scheduleChanged',
] as const satisfies readonly (keyof StationEvents)[];

/** Result of a DM control action; `ok: false` carries a reason for a friendly reply. */
export type ControlResult =
  | { ok: true; request?: PlaybackRequest; cancelled?: number }
  | { ok: false; reason: 'nothing_on_air' | 'already_paused' | 'not_paused' };
