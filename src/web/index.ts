/**
 * The web companion's server side: HTTP API, audio streams, WebSocket hub and
 * the built pages on one port. See docs/PROTOCOL.md.
 */
import { ConnectionLog } from './connection-log';
import { DeliveryLog } from './delivery-log';
import http, { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AppServices } from '../services';
import { createApp } from './app';
import { DEFAULT_LIMITS, OpenStreams, type WebContext, type WebLimits } from './context';
import { errorBody } from './errors';
import { createWebMetrics } from './metrics';
import { StationFeed } from './station-feed';
import { ChunkAudioCache } from './streams/chunk-audio';
import { WebSocketHub } from './ws/hub';

export { createConsoleLinks, type ConsoleLinks, type ConsoleLinkOptions } from './console-links';
export { DEFAULT_LIMITS, type WebLimits } from './context';
export { HttpError, type ErrorBody, type ErrorCode } from './errors';
export * as protocol from './protocol';

/** `web/dist` of this checkout (the Vite build output), wherever the process was started from. */
export const DEFAULT_PAGES_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Options for {@link startWebServer}. */
export interface WebServerOptions {
  /** Default `config.port`; 0 picks a free port. */
  port?: number;
  /** Default `config.host`. */
  host?: string;
  /** The built pages; default {@link DEFAULT_PAGES_DIR}. */
  pagesDir?: string;
  /** Overrides of {@link DEFAULT_LIMITS} and of the configured connection limits. */
  limits?: Partial<WebLimits>;
}

/** A running web server. */
export interface WebServer {
  /** `http://host:port` it listens on. */
  url: string;
  server: http.Server;
  /** The WebSocket hub (tests inspect connections). */
  hub: WebSocketHub;
  /** Open WebSockets, audio streams and station subscriptions (tests, diagnostics). */
  stats(): { wsConnections: number; streams: number; stationListeners: number };
  /** Closes WebSockets (1001), ends audio streams and stops listening. */
  close(): Promise<void>;
}

/** Requests Node's parser rejects (bad framing, huge headers) still get the JSON error shape. */
function refuseMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify(
    errorBody(status === 431 ? 'payload_too_large' : 'bad_request', 'Malformed HTTP request.'),
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Starts the express app and the WebSocket hub on one port. */
export async function startWebServer(
  services: AppServices,
  options: WebServerOptions = {},
): Promise<WebServer> {
  const log = services.log.child({ module: 'web' });
  const { maxWsConnections, maxAudioStreams } = services.config;
  const limits: WebLimits = {
    ...DEFAULT_LIMITS,
    maxWsConnections,
    maxStreams: maxAudioStreams,
    ...options.limits,
  };
  const engine = services.engine;
  const metrics = createWebMetrics(engine.metrics.registry);
  const feed = new StationFeed(engine.stations, log);
  const ctx: WebContext = {
    engine,
    narration: services.narration,
    tokens: services.tokens,
    tools: {
      cast: services.cast,
      scenes: services.scenes,
      transcript: services.transcript,
      recap: services.recap,
    },
    clock: services.clock,
    log,
    limits,
    feed,
    audio: new ChunkAudioCache(engine.store),
    metrics,
    streams: new OpenStreams(metrics, limits.maxStreams),
    connections: new ConnectionLog({
      records: engine.listeners,
      ensureCampaign: (id) => engine.campaigns.ensure(id),
      log,
    }),
    deliveries: new DeliveryLog({ records: engine.listeners, log }),
    // The hub is built from this context; the closure runs only after both exist.
    recordPlayed: (campaignId, tokenId, chunkId) => {
      hub.recordPlayed(campaignId, tokenId, chunkId);
    },
    pagesDir: options.pagesDir ?? DEFAULT_PAGES_DIR,
  };
  const hub = new WebSocketHub(ctx);
  const wsHub = hub;
  const server = http.createServer(createApp(ctx));
  server.on('upgrade', (req, socket, head) => wsHub.handleUpgrade(req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => refuseMalformed(err, socket));

  const host = options.host ?? services.config.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? services.config.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = ['0.0.0.0', '::'].includes(address.address)
    ? 'localhost'
    : address.family === 'IPv6'
      ? `[${address.address}]`
      : address.address;
  const url = `http://${shown}:${address.port}`;
  log.info({ url }, 'web companion listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    server,
    hub: wsHub,
    stats: () => ({
      wsConnections: wsHub.connectionCount(),
      streams: ctx.streams.size,
      stationListeners: feed.listenerCount(),
    }),
    close: () =>
      (closing ??= (async () => {
        wsHub.close();
        ctx.streams.closeAll();
        feed.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await wsHub.closed();
        // Connection rows before the deliveries that refer to them.
        await ctx.connections.flush();
        await ctx.deliveries.flush();
      })()),
  };
}
