/**
 * One station published as an Icecast source: an HTTP `PUT` to the mount
 * (Icecast ≥ 2.4.0's source protocol, the body sent raw as libshout and
 * ffmpeg do), then the station's live MP3 written to the socket for as long as
 * Icecast keeps it open. When the connection fails or drops (Icecast
 * restarted, network gone) the source waits and reconnects, doubling the wait
 * up to a cap; a connection that stayed up for a while starts again from the
 * shortest wait.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Clock, TimerHandle } from '../clock';
import type { Logger } from '../log';
import type { Station } from '../playback';
import type { StationFeed } from '../web/station-feed';
import type { ChunkAudioCache } from '../web/streams/chunk-audio';
import { LiveStream, type LiveStreamLimits } from '../web/streams/live-stream';

/** Where a source publishes. */
export interface IcecastTarget {
  /** `http(s)://host:port`, no credentials. */
  url: string;
  user: string;
  /** Never logged. */
  password: string;
  /** The mount path, e.g. `/demo.mp3`. */
  mount: string;
}

/** Reconnect waits. */
export interface Backoff {
  /** Wait after the first failure. */
  initialMs: number;
  /** Longest wait. */
  maxMs: number;
  /** A connection live at least this long resets the wait to `initialMs`. */
  stableMs: number;
}

/** Default reconnect waits: 1 s doubling to 30 s. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000, stableMs: 10_000 };

/** What a source is doing. */
export enum IcecastSourceStatus {
  /** Not started yet. */
  Idle = 'idle',
  /** Connecting, or waiting for Icecast to accept the mount. */
  Connecting = 'connecting',
  /** Icecast accepted the source; the station's audio is flowing. */
  Live = 'live',
  /** The last attempt failed or the connection dropped; retrying after a wait. */
  Waiting = 'waiting',
  /** Stopped for good (shutdown). */
  Stopped = 'stopped',
}

/** The source's state; fields exist only in the state they belong to. */
export type IcecastSourceState =
  | { status: IcecastSourceStatus.Idle }
  | { status: IcecastSourceStatus.Connecting; attempt: number; socket: net.Socket; timer: TimerHandle }
  | {
      status: IcecastSourceStatus.Live;
      attempt: number;
      socket: net.Socket;
      stream: LiveStream;
      since: number;
    }
  | {
      status: IcecastSourceStatus.Waiting;
      attempt: number;
      retryInMs: number;
      timer: TimerHandle;
      reason: string;
    }
  | { status: IcecastSourceStatus.Stopped };

/** Options for {@link IcecastSource}. */
export interface IcecastSourceOptions {
  target: IcecastTarget;
  /** Shown by Icecast as the stream's name (`Ice-Name`). */
  name: string;
  station: Station;
  clock: Clock;
  audio: ChunkAudioCache;
  feed: StationFeed;
  log: Logger;
  limits: LiveStreamLimits;
  backoff?: Backoff;
  /** How long Icecast may take to answer the `PUT`. */
  responseTimeoutMs?: number;
}

/** Events of an {@link IcecastSource}. */
export interface IcecastSourceEvents {
  stateChange: [oldState: IcecastSourceState, newState: IcecastSourceState];
}

/** Header values are one line of printable characters. */
const headerValue = (v: string) =>
  [...v]
    .map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c))
    .join('')
    .trim();

/** A station's live MP3 pushed to one Icecast mount, reconnecting with backoff. */
export class IcecastSource extends EventEmitter<IcecastSourceEvents> {
  readonly #o: IcecastSourceOptions;
  readonly #backoff: Backoff;
  readonly #log: Logger;
  #state: IcecastSourceState = { status: IcecastSourceStatus.Idle };

  constructor(options: IcecastSourceOptions) {
    super();
    this.#o = options;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#log = options.log.child({
      module: 'icecast',
      server: options.target.url,
      mount: options.target.mount,
    });
  }

  get state(): IcecastSourceState {
    return this.#state;
  }

  /** Starts publishing (no-op unless idle). */
  start(): void {
    if (this.#state.status !== IcecastSourceStatus.Idle) return;
    this.#connect(0);
  }

  /** Stops publishing and closes the connection; the source can't be restarted. */
  stop(): void {
    this.#release(this.#state);
    this.#setState({ status: IcecastSourceStatus.Stopped });
  }

  /** The only place the status changes. */
  #setState(next: IcecastSourceState): void {
    const old = this.#state;
    this.#state = next;
    this.emit('stateChange', old, next);
  }

  /** Frees what `state` holds (timers, socket, stream). */
  #release(state: IcecastSourceState): void {
    switch (state.status) {
      case IcecastSourceStatus.Connecting:
        this.#o.clock.clearTimeout(state.timer);
        state.socket.destroy();
        break;
      case IcecastSourceStatus.Live:
        state.stream.close();
        state.socket.destroy();
        break;
      case IcecastSourceStatus.Waiting:
        this.#o.clock.clearTimeout(state.timer);
        break;
      default:
        break;
    }
  }

  #connect(attempt: number): void {
    const { target, clock } = this.#o;
    const url = new URL(target.url);
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = clock.setTimeout(
      () => this.#fail(socket, 'Icecast did not answer in time'),
      this.#o.responseTimeoutMs ?? 10_000,
    );
    this.#setState({ status: IcecastSourceStatus.Connecting, attempt, socket, timer });

    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(this.#request(url.host)));
    let head = '';
    const onData = (data: Buffer) => {
      head += data.toString('latin1');
      for (;;) {
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16 * 1024) this.#fail(socket, 'Icecast sent an oversized answer');
          return;
        }
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
        head = head.slice(end + 4);
        if (status === '100') continue;
        socket.off('data', onData);
        // Icecast sends nothing more on a source connection; keep reading so nothing backs up.
        socket.on('data', () => {});
        if (status === '200') this.#live(socket);
        else this.#fail(socket, refusal(status));
        return;
      }
    };
    socket.on('data', onData);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.#fail(socket, `connection failed (${err.code ?? err.message})`),
    );
    socket.on('close', () => this.#fail(socket, 'connection closed'));
  }

  #request(host: string): string {
    const { target, name, station } = this.#o;
    const auth = Buffer.from(`${target.user}:${target.password}`).toString('base64');
    return (
      `PUT ${target.mount} HTTP/1.1\r\n` +
      `Host: ${host}\r\n` +
      `Authorization: Basic ${auth}\r\n` +
      `User-Agent: Bardcast\r\n` +
      `Content-Type: audio/mpeg\r\n` +
      `Ice-Public: 0\r\n` +
      `Ice-Name: ${headerValue(name)}\r\n` +
      `Ice-Description: ${headerValue(`Bardcast station of campaign ${station.campaignId}`)}\r\n` +
      `\r\n`
    );
  }

  #live(socket: net.Socket): void {
    const s = this.#state;
    if (s.status !== IcecastSourceStatus.Connecting || s.socket !== socket) return;
    this.#o.clock.clearTimeout(s.timer);
    const { station, clock, audio, feed, log, limits } = this.#o;
    const stream = new LiveStream({
      station,
      clock,
      audio,
      feed,
      res: socket,
      log,
      limits,
      onDrop: () => this.#fail(socket, 'Icecast stopped reading'),
    });
    this.#setState({
      status: IcecastSourceStatus.Live,
      attempt: s.attempt,
      socket,
      stream,
      since: clock.now(),
    });
    this.#log.info('publishing the station to Icecast');
    stream.start();
  }

  /** The connection `socket` failed or ended: wait, then reconnect. */
  #fail(socket: net.Socket, reason: string): void {
    const s = this.#state;
    if (
      (s.status !== IcecastSourceStatus.Connecting && s.status !== IcecastSourceStatus.Live) ||
      s.socket !== socket
    ) {
      return;
    }
    const { clock } = this.#o;
    const wasStable =
      s.status === IcecastSourceStatus.Live && clock.now() - s.since >= this.#backoff.stableMs;
    const attempt = wasStable ? 0 : s.attempt;
    this.#release(s);
    const { initialMs, maxMs } = this.#backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
    const retryInMs = Math.round(base * (0.8 + 0.4 * Math.random()));
    const timer = clock.setTimeout(() => this.#retry(timer), retryInMs);
    this.#setState({ status: IcecastSourceStatus.Waiting, attempt: attempt + 1, retryInMs, timer, reason });
    this.#log.warn({ reason, retryInMs, attempt: attempt + 1 }, 'Icecast source: reconnecting after a wait');
  }

  #retry(timer: TimerHandle): void {
    const s = this.#state;
    if (s.status !== IcecastSourceStatus.Waiting || s.timer !== timer) return;
    this.#connect(s.attempt);
  }
}

/** Why Icecast refused a source, from its HTTP status. */
function refusal(status: string | undefined): string {
  switch (status) {
    case '401':
      return 'Icecast refused the source credentials (401): check ICECAST_SOURCE_PASSWORD';
    case '403':
      return 'Icecast refused the mount (403): in use by another source, or too many sources';
    case undefined:
      return 'Icecast sent no HTTP status line';
    default:
      return `Icecast answered ${status}`;
  }
}
