import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/manual-clock';
import {
  ConnectionStatus,
  WsClient,
  backoffDelayMs,
  type ConnectionState,
  type SocketLike,
  type WsClientOptions,
} from '../../web/src/ws-client';
import { ApiError } from '../../web/src/api';
import type { ServerMessage } from '../../web/src/protocol';
import { refusalOf } from '../../web/src/station';

class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  sent: string[] = [];
  closed: { code: number | undefined; reason: string | undefined } | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
  }
  open(): void {
    this.onopen?.({});
  }
  receive(data: unknown): void {
    this.onmessage?.({ data });
  }
  drop(code = 1006): void {
    this.onclose?.({ code, reason: '' });
  }
}

/** A client on fake sockets and a manual clock (`options` over the defaults), with what it emits. */
function setup<C extends ManualClock = ManualClock>(
  options: Omit<Partial<WsClientOptions>, 'clock' | 'createSocket'> & { clock?: C } = {},
) {
  const clock = options.clock ?? (new ManualClock(1_000_000) as C);
  const sockets: FakeSocket[] = [];
  const client = new WsClient({
    url: 'ws://127.0.0.1/ws?campaign=c&token=t',
    random: () => 1,
    ...options,
    clock,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
  });
  const states: ConnectionState[] = [];
  client.on('stateChange', (_old, state) => states.push(state));
  const messages: [ServerMessage, number][] = [];
  client.on('message', (m, at) => messages.push([m, at]));
  const last = () => sockets.at(-1)!;
  return { clock, client, sockets, states, messages, last };
}

describe('backoffDelayMs', () => {
  it('doubles from 500 ms up to a 10 s cap', () => {
    const upper = Array.from({ length: 9 }, (_, i) => backoffDelayMs(i + 1, () => 1));
    expect(upper).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('jitters within the upper half of each step, never to zero', () => {
    const lower = Array.from({ length: 7 }, (_, i) => backoffDelayMs(i + 1, () => 0));
    expect(lower).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect(backoffDelayMs(3, () => 0.5)).toBe(1500);
  });

  it('honours custom base and cap', () => {
    expect(backoffDelayMs(4, () => 1, { baseMs: 100, capMs: 300 })).toBe(300);
  });
});

describe('WsClient', () => {
  it('connects, goes live, parses messages and ignores unknown ones', () => {
    const { client, last, states, messages, clock } = setup();
    client.start();
    expect(client.state.status).toBe(ConnectionStatus.Connecting);
    expect(last().url).toBe('ws://127.0.0.1/ws?campaign=c&token=t');
    last().open();
    expect(client.state.status).toBe(ConnectionStatus.Live);
    clock.advance(5);
    last().receive(JSON.stringify({ type: 'heartbeat_ack', server_time: 42 }));
    last().receive(JSON.stringify({ type: 'from_the_future', x: 1 }));
    last().receive('not json');
    last().receive(JSON.stringify({ type: 'heartbeat_ack' })); // missing server_time
    expect(messages).toEqual([[{ type: 'heartbeat_ack', server_time: 42 }, 1_000_005]]);
    expect(states.map((s) => s.status)).toEqual(['connecting', 'live']);
  });

  it('sends only while live', () => {
    const { client, last } = setup();
    client.start();
    expect(client.send({ type: 'heartbeat', client_time: 1 })).toBe(false);
    last().open();
    expect(client.send({ type: 'audio_played', campaign_id: 'c', chunk_ids: ['a'] })).toBe(true);
    expect(JSON.parse(last().sent[0]!)).toEqual({ type: 'audio_played', campaign_id: 'c', chunk_ids: ['a'] });
  });

  it('reconnects with the backoff sequence while connections keep failing', () => {
    const { client, sockets, last, clock, states } = setup();
    client.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      last().drop();
      const state = client.state;
      expect(state.status).toBe(ConnectionStatus.Reconnecting);
      if (state.status !== ConnectionStatus.Reconnecting) return;
      delays.push(state.retryAt - clock.now());
      const before = sockets.length;
      clock.advance(delays.at(-1)! - 1);
      expect(sockets.length).toBe(before); // not early
      clock.advance(1);
      expect(sockets.length).toBe(before + 1);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(states.filter((s) => s.status === ConnectionStatus.Reconnecting)).toHaveLength(7);
  });

  it('keeps backing off when a connection opens but drops at once', () => {
    const { client, last, clock } = setup();
    client.start();
    last().drop();
    clock.advance(500);
    last().open();
    clock.advance(100);
    last().drop();
    const state = client.state;
    expect(state.status === ConnectionStatus.Reconnecting && state.failures).toBe(2);
  });

  it('starts over at the first step after a stable connection', () => {
    const { client, last, clock } = setup();
    client.start();
    last().drop();
    clock.advance(500);
    last().drop();
    clock.advance(1000);
    last().open();
    clock.advance(10_000);
    last().receive(JSON.stringify({ type: 'heartbeat_ack', server_time: 1 }));
    last().drop();
    const state = client.state;
    expect(state.status === ConnectionStatus.Reconnecting && state.retryAt - clock.now()).toBe(500);
  });

  it('treats a silent live socket as dead', () => {
    const { client, last, clock, sockets } = setup({ idleTimeoutMs: 20_000 });
    client.start();
    last().open();
    clock.advance(15_000);
    last().receive(JSON.stringify({ type: 'heartbeat_ack', server_time: 1 }));
    clock.advance(19_999);
    expect(client.state.status).toBe(ConnectionStatus.Live);
    clock.advance(1);
    expect(client.state.status).toBe(ConnectionStatus.Reconnecting);
    expect(sockets[0]!.closed).not.toBeNull();
    expect(sockets[0]!.onmessage).toBeNull(); // detached: a late frame is not delivered
  });

  it('ignores events of a socket it already replaced', () => {
    const { client, sockets, clock, messages } = setup();
    client.start();
    sockets[0]!.drop();
    clock.advance(500);
    sockets[1]!.open();
    sockets[0]!.onclose?.({ code: 1006, reason: '' }); // handlers were detached; a stray call must not matter
    expect(client.state.status).toBe(ConnectionStatus.Live);
    expect(messages).toHaveLength(0);
  });

  it('does not fight another tab: superseded (4001) stops reconnecting until asked', () => {
    const { client, last, clock, sockets } = setup();
    client.start();
    last().open();
    last().drop(4001);
    expect(client.state.status).toBe(ConnectionStatus.Superseded);
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    client.start(); // "listen here again"
    expect(sockets).toHaveLength(2);
    expect(client.state.status).toBe(ConnectionStatus.Connecting);
  });

  it('does not send on a socket that is already closing', () => {
    const { client, last } = setup();
    client.start();
    last().open();
    Object.assign(last(), { readyState: 2 });
    expect(client.send({ type: 'heartbeat', client_time: 1 })).toBe(false);
    expect(last().sent).toEqual([]);
  });

  it('stop closes the socket and cancels a pending retry', () => {
    const { client, last, clock, sockets } = setup();
    client.start();
    last().drop();
    client.stop();
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.state.status).toBe(ConnectionStatus.Stopped);
    client.start();
    last().open();
    client.stop();
    expect(last().closed).toEqual({ code: 1000, reason: 'bye' });
  });
});

describe('WsClient in a throttled background tab', () => {
  /** Timers fire `lateMs` after they are due, as in a background tab. */
  class LateClock extends ManualClock {
    lateMs = 0;
    override setTimeout(fn: () => void, ms: number) {
      return super.setTimeout(fn, ms + this.lateMs);
    }
  }

  function throttled() {
    let probes = 0;
    const { clock, client, sockets } = setup({
      url: 'ws://h/ws',
      clock: new LateClock(1_000_000),
      probe: () => probes++,
    });
    client.start();
    sockets[0]!.open();
    return { clock, client, socket: sockets[0]!, probes: () => probes };
  }

  it('probes instead of dropping when the silence check itself ran late', () => {
    const { clock, client, socket, probes } = throttled();
    clock.lateMs = 40_000;
    socket.receive(JSON.stringify({ type: 'heartbeat_ack', server_time: 1 })); // re-arms, throttled
    clock.advance(60_000);
    expect(probes()).toBe(1);
    expect(client.state.status).toBe(ConnectionStatus.Live);
    socket.receive(JSON.stringify({ type: 'heartbeat_ack', server_time: 2 })); // the probe's answer
    clock.lateMs = 0;
    clock.advance(19_000);
    expect(client.state.status).toBe(ConnectionStatus.Live);
  });

  it('drops the socket when the probe gets no answer either', () => {
    const { clock, client, socket, probes } = throttled();
    clock.lateMs = 40_000;
    socket.receive(JSON.stringify({ type: 'heartbeat_ack', server_time: 1 }));
    clock.advance(60_000);
    expect(probes()).toBe(1);
    clock.advance(45_000); // grace 5 s, fired late too
    expect(client.state.status).toBe(ConnectionStatus.Reconnecting);
  });

  it('drops a silent socket at once when timers are on time', () => {
    const { clock, client, probes } = throttled();
    clock.advance(20_000);
    expect(probes()).toBe(0);
    expect(client.state.status).toBe(ConnectionStatus.Reconnecting);
  });
});

describe('WsClient: a refused link', () => {
  function refusing(answer: () => Promise<string | null>) {
    let asked = 0;
    const { clock, client, sockets } = setup({
      checkRefusal: () => {
        asked++;
        return answer();
      },
    });
    return { clock, client, sockets, asked: () => asked };
  }
  const flush = () => new Promise((r) => setTimeout(r, 0));

  it('stops with the server reason when the token expires while connected (4401)', () => {
    const { clock, client, sockets, asked } = refusing(async () => null);
    client.start();
    sockets[0]!.open();
    sockets[0]!.onclose?.({ code: 4401, reason: 'The link has expired; ask the DM for a fresh one.' });
    expect(client.state).toEqual({
      status: ConnectionStatus.Refused,
      reason: 'The link has expired; ask the DM for a fresh one.',
    });
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    expect(asked()).toBe(0);
  });

  it('asks why a handshake failed and stops on a refusal instead of spinning on "Reconnecting…"', async () => {
    const { clock, client, sockets, asked } = refusing(
      async () => 'The token has expired; ask for a fresh link.',
    );
    client.start();
    sockets[0]!.drop();
    expect(client.state.status).toBe(ConnectionStatus.Reconnecting);
    await flush();
    expect(asked()).toBe(1);
    expect(client.state).toEqual({
      status: ConnectionStatus.Refused,
      reason: 'The token has expired; ask for a fresh link.',
    });
    clock.advance(120_000);
    expect(sockets).toHaveLength(1);
    // "Try again" is the page's to offer; start() connects afresh.
    client.start();
    expect(sockets).toHaveLength(2);
  });

  it('keeps retrying while the server is unreachable (no reason), and a live connection is never refused', async () => {
    let answer: string | null = null;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { clock, client, sockets } = refusing(async () => {
      await gate;
      return answer;
    });
    client.start();
    sockets[0]!.drop();
    release();
    await flush();
    expect(client.state.status).toBe(ConnectionStatus.Reconnecting);
    clock.advance(1_000);
    expect(sockets).toHaveLength(2);
    // A late "refused" answer to a failure before this live connection does not end it.
    answer = 'The token is not valid.';
    sockets[1]!.drop();
    clock.advance(2_000);
    sockets[2]!.open();
    await flush();
    expect(client.state.status).toBe(ConnectionStatus.Live);
  });
});

describe('refusalOf (why the server refuses the page token)', () => {
  const api = (fail: unknown) => ({
    getQueue: () => (fail ? Promise.reject(fail) : Promise.resolve({} as never)),
  });
  it('is the server message for 400/401/403, null when fine or unreachable', async () => {
    expect(await refusalOf(api(null))).toBeNull();
    expect(await refusalOf(api(new ApiError(401, 'unauthorized', 'The token has expired.')))).toBe(
      'The token has expired.',
    );
    expect(await refusalOf(api(new ApiError(403, 'forbidden', 'This token is for another campaign.')))).toBe(
      'This token is for another campaign.',
    );
    expect(await refusalOf(api(new ApiError(0, 'network', 'Cannot reach the server.')))).toBeNull();
    expect(await refusalOf(api(new ApiError(503, 'unavailable', 'Busy.')))).toBeNull();
  });
});
