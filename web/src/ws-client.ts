/**
 * The page's WebSocket: connects, parses frames loosely, and reconnects by
 * itself with exponential backoff and jitter. It knows nothing about audio;
 * the station client resyncs from the `station_schedule` the server sends on
 * every connect.
 */
import type { Clock, TimerHandle } from '../../src/clock';
import { Emitter } from './emitter';
import { parseServerMessage, type ClientMessage, type ServerMessage } from './protocol';

/** The part of the browser `WebSocket` this client uses (a seam for tests). */
export interface SocketLike {
  /** 1 when open (a browser socket logs an error on every send while closing). */
  readonly readyState?: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Where the connection stands. */
export enum ConnectionStatus {
  Connecting = 'connecting',
  Live = 'live',
  Reconnecting = 'reconnecting',
  Stopped = 'stopped',
  /** The server closed this connection because the same token and tab id connected again (a duplicated tab). */
  Superseded = 'superseded',
  /**
   * The server refuses this link (expired, tampered, another campaign's): it
   * says why, and trying again cannot help, so the client stops.
   */
  Refused = 'refused',
}

/**
 * Close code of a connection replaced by a newer one with the same token and
 * the same `client` tab id (src/web/ws/connection.ts): tabs sharing one link
 * have their own ids, so this means a duplicated tab (sessionStorage is
 * copied with it). Reconnecting by itself would kick the other tab off in
 * turn, forever; the page asks the user instead.
 */
export const SUPERSEDED_CLOSE_CODE = 4001;

/** Close code of a connection whose token expired while it was open (src/web/ws/connection.ts). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4401;

/** State of a {@link WsClient}; fields exist only in the state they belong to. */
export type ConnectionState =
  | { status: ConnectionStatus.Stopped }
  | { status: ConnectionStatus.Superseded }
  | { status: ConnectionStatus.Refused; reason: string }
  | { status: ConnectionStatus.Connecting; socket: SocketLike; failures: number; createdAt: number }
  | {
      status: ConnectionStatus.Live;
      socket: SocketLike;
      createdAt: number;
      openedAt: number;
      /** Failures before this connection; kept until it proves stable. */
      failures: number;
    }
  | { status: ConnectionStatus.Reconnecting; failures: number; retryAt: number; timer: TimerHandle };

/** Backoff shape. */
export interface BackoffOptions {
  /** Upper bound of the first delay. Default 500 ms. */
  baseMs?: number;
  /** Upper bound of any delay. Default 10 000 ms. */
  capMs?: number;
}

/**
 * Delay before reconnecting after `failures` consecutive failed or short
 * connections (1 for the first): the exponential step `min(cap, base·2^(n−1))`
 * with "equal jitter" — a random point in its upper half — so a server
 * restart is not met by every listener at the same instant, yet the delay
 * never collapses to zero.
 */
export function backoffDelayMs(failures: number, random: () => number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 10_000;
  const step = Math.min(cap, base * 2 ** Math.max(0, failures - 1));
  return step / 2 + random() * (step / 2);
}

/** Options of {@link WsClient}. */
export interface WsClientOptions {
  /** URL to connect to (a function so a token refresh can change it). */
  url: string | (() => string);
  createSocket?: (url: string) => SocketLike;
  clock: Clock;
  random?: () => number;
  backoff?: BackoffOptions;
  /** A live socket silent this long is taken as dead. Default 20 000 ms (heartbeats answer every 5 s). */
  idleTimeoutMs?: number;
  /**
   * Called when the silence check itself ran late (a background tab's
   * throttled timers: the page's heartbeats were late too, so silence proves
   * nothing). The client should send something that gets an answer; the
   * socket is declared dead only if nothing arrives within `probeGraceMs`.
   */
  probe?: () => void;
  /** Default 5000 ms. */
  probeGraceMs?: number;
  /** A connection open this long counts as healthy and resets the backoff. Default 10 000 ms. */
  stableAfterMs?: number;
  /**
   * Asked after a connection failed before it opened: a browser does not
   * tell why a handshake failed, so this asks the server over HTTP with the
   * same token. A reason (401/403: expired, tampered, another campaign)
   * stops the client in {@link ConnectionStatus.Refused}; null (unreachable,
   * busy, fine now) keeps retrying.
   */
  checkRefusal?: () => Promise<string | null>;
}

/** Events of {@link WsClient}. */
export type WsClientEvents = {
  stateChange: [oldState: ConnectionState, newState: ConnectionState];
  /** A parsed server message and the local time it arrived. */
  message: [message: ServerMessage, receivedAt: number];
  /** A frame that did not parse as a known message (ignored). */
  ignored: [data: unknown];
};

/** Self-healing WebSocket client. */
export class WsClient extends Emitter<WsClientEvents> {
  readonly #options: WsClientOptions;
  readonly #createSocket: (url: string) => SocketLike;
  readonly #random: () => number;
  #state: ConnectionState = { status: ConnectionStatus.Stopped };
  #idleTimer: TimerHandle | null = null;

  constructor(options: WsClientOptions) {
    super();
    this.#options = options;
    this.#createSocket = options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.#random = options.random ?? Math.random;
  }

  /** Current state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Starts connecting (no-op unless stopped, superseded or refused). */
  start(): void {
    const { status } = this.#state;
    if (
      status === ConnectionStatus.Stopped ||
      status === ConnectionStatus.Superseded ||
      status === ConnectionStatus.Refused
    ) {
      this.#connect(0);
    }
  }

  /** Closes the socket and stops reconnecting. */
  stop(): void {
    this.#teardown();
    this.#setState({ status: ConnectionStatus.Stopped });
  }

  /** Sends a message when live; returns whether it was sent. */
  send(message: ClientMessage): boolean {
    if (this.#state.status !== ConnectionStatus.Live) return false;
    if (this.#state.socket.readyState !== undefined && this.#state.socket.readyState !== 1) return false;
    try {
      this.#state.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  #setState(next: ConnectionState): void {
    const old = this.#state;
    this.#state = next;
    this.emit('stateChange', old, next);
  }

  #connect(failures: number): void {
    const url = typeof this.#options.url === 'function' ? this.#options.url() : this.#options.url;
    let socket: SocketLike;
    try {
      socket = this.#createSocket(url);
    } catch {
      this.#retry(failures + 1);
      return;
    }
    const createdAt = this.#options.clock.now();
    socket.onopen = () => {
      if (this.#state.status !== ConnectionStatus.Connecting || this.#state.socket !== socket) return;
      const openedAt = this.#options.clock.now();
      this.#setState({ status: ConnectionStatus.Live, socket, createdAt, openedAt, failures });
      this.#armIdle();
    };
    socket.onmessage = (event) => {
      if (this.#state.status !== ConnectionStatus.Live || this.#state.socket !== socket) return;
      this.#armIdle();
      const message = parseServerMessage(event.data);
      if (message) this.emit('message', message, this.#options.clock.now());
      else this.emit('ignored', event.data);
    };
    socket.onclose = (event) => {
      if (event.code === SUPERSEDED_CLOSE_CODE && this.#isCurrent(socket)) {
        this.#teardown();
        this.#setState({ status: ConnectionStatus.Superseded });
        return;
      }
      if (event.code === TOKEN_EXPIRED_CLOSE_CODE && this.#isCurrent(socket)) {
        this.#refuse(event.reason || 'The link has expired; ask the DM for a fresh one.');
        return;
      }
      const neverOpened = this.#state.status === ConnectionStatus.Connecting && this.#state.socket === socket;
      this.#lost(socket);
      if (neverOpened) this.#askWhy();
    };
    socket.onerror = () => undefined; // a close event always follows
    this.#setState({ status: ConnectionStatus.Connecting, socket, failures, createdAt });
  }

  #isCurrent(socket: SocketLike): boolean {
    const state = this.#state;
    return (
      (state.status === ConnectionStatus.Connecting || state.status === ConnectionStatus.Live) &&
      state.socket === socket
    );
  }

  /** Stops for good with the server's reason (until {@link start} is called again). */
  #refuse(reason: string): void {
    this.#teardown();
    this.#setState({ status: ConnectionStatus.Refused, reason });
  }

  /** After a failed handshake: is the link refused? Only a retry still pending is replaced. */
  #askWhy(): void {
    const check = this.#options.checkRefusal;
    if (!check) return;
    check().then(
      (reason) => {
        if (reason === null) return;
        const now = this.#state;
        // Still between attempts, or trying again: the answer holds (a live connection proves it wrong).
        if (now.status === ConnectionStatus.Reconnecting || now.status === ConnectionStatus.Connecting) {
          this.#refuse(reason);
        }
      },
      () => undefined,
    );
  }

  /** The socket closed or went silent: schedule a reconnect. */
  #lost(socket: SocketLike): void {
    const state = this.#state;
    if (
      (state.status !== ConnectionStatus.Connecting && state.status !== ConnectionStatus.Live) ||
      state.socket !== socket
    ) {
      return;
    }
    // A server that accepts and then drops us at once must not be hammered.
    const stable =
      state.status === ConnectionStatus.Live &&
      this.#options.clock.now() - state.openedAt >= (this.#options.stableAfterMs ?? 10_000);
    const failures = stable ? 1 : state.failures + 1;
    this.#teardown();
    this.#retry(failures);
  }

  #retry(failures: number): void {
    const delay = backoffDelayMs(failures, this.#random, this.#options.backoff);
    const timer = this.#options.clock.setTimeout(() => {
      if (this.#state.status === ConnectionStatus.Reconnecting && this.#state.timer === timer) {
        this.#connect(failures);
      }
    }, delay);
    this.#setState({
      status: ConnectionStatus.Reconnecting,
      failures,
      retryAt: this.#options.clock.now() + delay,
      timer,
    });
  }

  #armIdle(probing = false): void {
    if (this.#idleTimer) this.#options.clock.clearTimeout(this.#idleTimer);
    const state = this.#state;
    if (state.status !== ConnectionStatus.Live) return;
    const socket = state.socket;
    const { clock, probe } = this.#options;
    const timeout = probing ? (this.#options.probeGraceMs ?? 5000) : (this.#options.idleTimeoutMs ?? 20_000);
    const armedAt = clock.now();
    this.#idleTimer = clock.setTimeout(() => {
      this.#idleTimer = null;
      const late = clock.now() - armedAt - timeout;
      if (!probing && probe && late > timeout / 2) {
        probe();
        this.#armIdle(true);
        return;
      }
      // A half-open TCP connection can take minutes to report its close.
      this.#lost(socket);
    }, timeout);
  }

  /** Detaches and closes the current socket, clears timers. */
  #teardown(): void {
    if (this.#idleTimer) this.#options.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const state = this.#state;
    if (state.status === ConnectionStatus.Reconnecting) this.#options.clock.clearTimeout(state.timer);
    if (state.status === ConnectionStatus.Connecting || state.status === ConnectionStatus.Live) {
      const socket = state.socket;
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(1000, 'bye');
      } catch {
        // already closed
      }
    }
  }
}
