/**
 * `window.__bardcast`: a read-only window into the page for browser tests
 * (and curious listeners in the console). Getters, so every read is live.
 */
import type { Caption, Station } from './station';
import type { ScheduledChunkInfo } from './scheduler';

/** Shape of `window.__bardcast`. */
export interface BardcastDebugHook {
  /** Connection status: `connecting` | `live` | `reconnecting` | `stopped`. */
  readonly state: string;
  /** AudioContext state, or `off` before "tap to start". */
  readonly audioState: string;
  serverNow(): number;
  /** Estimated server − local clock offset (ms), null before the first sample. */
  readonly clockOffsetMs: number | null;
  readonly bestRttMs: number | null;
  readonly scheduled: ScheduledChunkInfo[];
  readonly playedChunkIds: string[];
  readonly captions: Caption[];
  readonly schedule: unknown;
  readonly analyser: AnalyserNode | undefined;
  /** RMS level (0..1) the analyser sees now. */
  level(): number;
  stationPositionSec(): number | null;
  playbackPositionSec(): number | null;
}

declare global {
  interface Window {
    __bardcast?: BardcastDebugHook;
  }
}

/** Installs `window.__bardcast` for `station`. */
export function installDebugHook(station: Station): BardcastDebugHook {
  const hook: BardcastDebugHook = {
    get state() {
      return station.ws.state.status;
    },
    get audioState() {
      return station.audio?.context.state ?? 'off';
    },
    serverNow: () => station.serverNow(),
    get clockOffsetMs() {
      return station.clockSync.offsetMs;
    },
    get bestRttMs() {
      return station.clockSync.bestRttMs;
    },
    get scheduled() {
      return station.scheduled();
    },
    get playedChunkIds() {
      return [...station.playedChunkIds];
    },
    get captions() {
      return [...station.captions];
    },
    get schedule() {
      return station.schedule;
    },
    get analyser() {
      return station.audio?.analyser;
    },
    level: () => station.audio?.level() ?? 0,
    stationPositionSec: () => station.stationPositionSec(),
    playbackPositionSec: () => station.playbackPositionSec(),
  };
  window.__bardcast = hook;
  return hook;
}
