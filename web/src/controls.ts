/** Which DM station controls apply right now: pure, so it is tested without a DOM. */

/** The part of the station view the controls depend on. */
export interface ControlsInput {
  paused: boolean;
  /** The request on air (or paused on air), per `playback_queue_updated`. */
  progress: unknown;
  /** Requests waiting. */
  pending: readonly unknown[];
}

/** Per button: whether it can do anything (the server answers 409 otherwise). */
export interface ControlsEnabled {
  skip: boolean;
  stop: boolean;
  pause: boolean;
  resume: boolean;
}

/**
 * Skip and Stop need something on air or queued; Pause too (the server
 * refuses to pause an empty station, which would hold later narrations
 * unseen), and not twice; Resume only while paused.
 */
export function controlsEnabled(view: ControlsInput): ControlsEnabled {
  const work = view.progress !== null || view.pending.length > 0;
  return { skip: work, stop: work, pause: work && !view.paused, resume: view.paused };
}
