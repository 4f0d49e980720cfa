import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { NarrationHandle, NarrationProgress } from '../narration/service';
import { RequestStatus, type EndReason, type Station, type StationEvents } from '../playback';
import type { BackgroundTask } from './command';
import type { Repliable } from './interaction';
import { respond } from './replies';

/**
 * Discord invalidates an interaction token 15 minutes after the interaction
 * was created; the reply stops editing a minute before (clock skew, a slow edit).
 */
export const REPLY_EDIT_WINDOW_MS = 14 * 60_000;

/** The last line of a reply that outlived its token. */
export const WINDOW_CLOSED_NOTE =
  "⌛ This reply stops updating here (Discord's 15-minute limit) — `/queue` shows what's on air.";

/**
 * Edits one deferred reply, at most once per `intervalMs` (Discord rate-limits
 * webhook edits), always ending with the newest text. Edits are sent one at a
 * time so they can't arrive out of order; a failed edit is logged and dropped
 * (the DM may have dismissed the ephemeral message).
 */
export class ReplyEditor {
  #lastSent: string | null = null;
  #lastAt = Number.NEGATIVE_INFINITY;
  #pending: string | null = null;
  #timer: TimerHandle | null = null;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  /** Clock time after which no edit is sent. */
  readonly #closesAt: number;

  constructor(
    private readonly interaction: Repliable,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    // Counted from the interaction, not from now: joins and lookups may have used some of it.
    this.#closesAt = interaction.createdTimestamp + REPLY_EDIT_WINDOW_MS;
  }

  /** Clock time at which the token's window (minus the margin) ends. */
  get closesAt(): number {
    return this.#closesAt;
  }

  /** Shows `content` now, or as soon as the interval allows. */
  set(content: string): void {
    if (this.#closed || content === this.#lastSent) return;
    this.#pending = content;
    const wait = this.#lastAt + this.intervalMs - this.clock.now();
    if (wait <= 0) this.#flush();
    else this.#timer ??= this.clock.setTimeout(() => this.#flush(), wait);
  }

  /** Shows `content` at once and stops editing; resolves when it is sent. */
  final(content: string): Promise<void> {
    if (this.#closed) return this.#chain;
    this.#pending = content === this.#lastSent ? null : content;
    this.#flush();
    this.#closed = true;
    return this.#chain;
  }

  /** Stops without a last edit. */
  close(): void {
    this.#closed = true;
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Resolves when every edit queued so far has been attempted. */
  idle(): Promise<void> {
    return this.#chain;
  }

  #flush(): void {
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    const content = this.#pending;
    this.#pending = null;
    if (content === null || this.#closed) return;
    if (this.clock.now() > this.#closesAt) {
      this.#closed = true;
      return;
    }
    this.#lastSent = content;
    this.#lastAt = this.clock.now();
    this.#chain = this.#chain.then(() =>
      respond(this.interaction, content).catch((err: unknown) => {
        this.log.debug({ err }, 'progress edit failed');
      }),
    );
  }
}

/** Where a narration stands on the air. */
type AirState =
  | { status: 'queued' }
  | { status: 'on_air' }
  | { status: 'ended'; reason: EndReason; error: string | null; sentences: number };

/** Options for {@link NarrationProgressReply}. */
export interface NarrationProgressOptions {
  interaction: Repliable;
  handle: NarrationHandle;
  station: Station;
  clock: Clock;
  log: Logger;
  editIntervalMs: number;
  /** Lines shown above the progress (LLM notice, voice notice). */
  notes: readonly string[];
  /** Called once the reply has its final text. */
  onFinished?: () => void;
}

/**
 * Keeps a deferred `/narrate` or `/say` reply up to date: "✍️ writing…",
 * "🔊 speaking sentence 2/6…", "📻 on air", and how it ended. Combines the
 * narration's progress with the station's events for its request.
 */
export class NarrationProgressReply implements BackgroundTask {
  readonly #o: NarrationProgressOptions;
  readonly #editor: ReplyEditor;
  readonly #requestId: string;
  #progress: NarrationProgress;
  #air: AirState = { status: 'queued' };
  #unsubscribe: (() => void)[] = [];
  #stopped = false;
  readonly #notes: string[];
  #windowTimer: TimerHandle | null = null;

  constructor(options: NarrationProgressOptions) {
    this.#o = options;
    this.#notes = [...options.notes];
    this.#editor = new ReplyEditor(options.interaction, options.clock, options.log, options.editIntervalMs);
    this.#requestId = options.handle.request.id;
    this.#progress = {
      requestId: this.#requestId,
      phase:
        options.handle.request.mode === 'narrate' && !options.handle.spokenVerbatim ? 'writing' : 'speaking',
      sentencesDone: 0,
      sentencesTotal: null,
    };
  }

  /** Subscribes and shows the first progress line. */
  start(): void {
    const { handle, station, clock } = this.#o;
    // The token dies with the window: say so once, then stop following (no edits into the void).
    this.#windowTimer = clock.setTimeout(
      () => {
        this.#windowTimer = null;
        this.#expire();
      },
      Math.max(0, this.#editor.closesAt - clock.now()),
    );
    this.#unsubscribe.push(handle.onProgress((p) => this.#onProgress(p)));
    const onStarted = (e: StationEvents['requestStarted'][0]): void => {
      if (e.request.id !== this.#requestId || this.#air.status === 'ended') return;
      this.#air = { status: 'on_air' };
      this.#render();
    };
    const onEnded = (e: StationEvents['requestEnded'][0]): void => {
      if (e.request.id !== this.#requestId) return;
      const sentences = station.findRequest(this.#requestId)?.chunks.filter(Boolean).length;
      this.#air = {
        status: 'ended',
        reason: e.reason,
        error: e.request.error,
        sentences: e.request.totalChunks ?? sentences ?? this.#progress.sentencesDone,
      };
      this.#finish();
    };
    const onQueue = (): void => this.#render();
    station.on('requestStarted', onStarted);
    station.on('requestEnded', onEnded);
    station.on('queueChanged', onQueue);
    this.#unsubscribe.push(() => {
      station.off('requestStarted', onStarted);
      station.off('requestEnded', onEnded);
      station.off('queueChanged', onQueue);
    });
    // It may already be on air (an empty queue starts it at once) or already over.
    const entry = station.findRequest(this.#requestId);
    if (!entry) {
      const r = handle.request;
      this.#air = {
        status: 'ended',
        reason: endReasonOf(r.status),
        error: r.error,
        sentences: r.totalChunks ?? 0,
      };
      this.#finish();
      return;
    }
    if (station.queue()[0] === entry && entry.request.status === RequestStatus.Playing)
      this.#air = { status: 'on_air' };
    this.#render();
  }

  /** Stops following the narration without a last edit (shutdown). */
  stop(): void {
    if (this.#stopped) return;
    this.#unsubscribeAll();
    this.#editor.close();
    this.#o.onFinished?.();
  }

  /** Adds a line above the progress (a voice join that failed after the reply started). */
  addNote(note: string): void {
    this.#notes.push(note);
    this.#render();
  }

  /** Resolves when queued edits have been attempted (tests). */
  idle(): Promise<void> {
    return this.#editor.idle();
  }

  #onProgress(p: NarrationProgress): void {
    if (p.requestId !== this.#requestId) return;
    this.#progress = p;
    this.#render();
  }

  #render(): void {
    if (this.#stopped) return;
    this.#editor.set(this.#text());
  }

  #finish(): void {
    if (this.#stopped) return;
    const text = this.#text();
    this.#unsubscribeAll();
    void this.#editor.final(text).then(() => this.#o.onFinished?.());
  }

  #expire(): void {
    if (this.#stopped) return;
    const text = `${this.#text()}\n${WINDOW_CLOSED_NOTE}`;
    this.#unsubscribeAll();
    this.#o.log.debug({ request: this.#requestId }, 'progress reply: interaction window over');
    void this.#editor.final(text).then(() => this.#o.onFinished?.());
  }

  #unsubscribeAll(): void {
    if (this.#windowTimer) this.#o.clock.clearTimeout(this.#windowTimer);
    this.#windowTimer = null;
    this.#stopped = true;
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
  }

  #text(): string {
    const lines = [...this.#notes];
    const air = this.#air;
    if (air.status === 'ended') {
      lines.push(endLine(air));
      return lines.join('\n');
    }
    const parts: string[] = [];
    if (air.status === 'on_air') parts.push('📻 on air');
    const gen = this.#generationText();
    if (gen) parts.push(gen);
    if (air.status === 'queued') {
      const ahead = this.#o.station.queue().findIndex((e) => e.request.id === this.#requestId);
      if (ahead > 0) parts.push(`⏳ queued — ${ahead} ahead`);
    }
    lines.push(parts.join(' · ') || '⏳ queued');
    return lines.join('\n');
  }

  #generationText(): string | null {
    const p = this.#progress;
    switch (p.phase) {
      case 'writing':
        return '✍️ writing…';
      case 'speaking': {
        const total = p.sentencesTotal;
        const current = total === null ? p.sentencesDone + 1 : Math.min(p.sentencesDone + 1, total);
        return `🔊 speaking sentence ${current}/${total ?? '?'}…`;
      }
      case 'failed':
        return `⚠️ generation failed${p.error ? `: ${p.error}` : ''}`;
      default:
        return null;
    }
  }
}

function endReasonOf(status: RequestStatus): EndReason {
  if (status === RequestStatus.Played) return 'played';
  if (status === RequestStatus.Failed) return 'failed';
  return 'skipped';
}

function endLine(air: Extract<AirState, { status: 'ended' }>): string {
  switch (air.reason) {
    case 'played':
      return `✅ aired — ${air.sentences} sentence${air.sentences === 1 ? '' : 's'}`;
    case 'skipped':
      return '⏭️ skipped';
    case 'stopped':
      return '⏹️ stopped';
    case 'failed':
    case 'stalled':
      return `⚠️ failed: ${air.error ?? air.reason}`;
  }
}
