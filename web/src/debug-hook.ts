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
  /**
   * Every connection status the page went through since it booted, oldest
   * first (bounded): a test can tell "was live, then refused" from "refused
   * at once" however briefly a state lasted.
   */
  readonly connectionHistory: string[];
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

const MAX_HISTORY = 200;

/** Installs `window.__bardcast` for `station`. */
export function installDebugHook(station: Station): BardcastDebugHook {
  const history: string[] = [station.ws.state.status];
  station.ws.on('stateChange', (_old, state) => {
    history.push(state.status);
    if (history.length > MAX_HISTORY) history.shift();
  });
  const hook: BardcastDebugHook = {
    get state() {
      return station.ws.state.status;
    },
    get connectionHistory() {
      return [...history];
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
