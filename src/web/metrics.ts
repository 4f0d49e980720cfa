import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

/** The web companion's metrics, on the engine's registry (so `/metrics` shows both). */
export interface WebMetrics {
  wsConnections: Gauge;
  streams: Gauge<'kind'>;
  dropped: Counter<'reason'>;
  httpResponses: Counter<'status'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * Creates (or, when a web server was started on this registry before, reuses)
 * the web metrics, and registers Node's default process metrics once.
 */
export function createWebMetrics(registry: Registry): WebMetrics {
  if (!registry.getSingleMetric('process_cpu_user_seconds_total'))
    collectDefaultMetrics({ register: registry });
  return {
    wsConnections: getOrCreate(
      registry,
      'bardcast_ws_connections',
      () =>
        new Gauge({
          name: 'bardcast_ws_connections',
          help: 'Open WebSocket connections',
          registers: [registry],
        }),
    ),
    streams: getOrCreate(
      registry,
      'bardcast_audio_streams',
      () =>
        new Gauge({
          name: 'bardcast_audio_streams',
          help: 'Open HTTP audio streams by kind (request, live)',
          labelNames: ['kind'],
          registers: [registry],
        }),
    ),
    dropped: getOrCreate(
      registry,
      'bardcast_web_clients_dropped_total',
      () =>
        new Counter({
          name: 'bardcast_web_clients_dropped_total',
          help: 'WebSocket connections and streams dropped, by reason (slow, abuse, dead)',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
    httpResponses: getOrCreate(
      registry,
      'bardcast_http_responses_total',
      () =>
        new Counter({
          name: 'bardcast_http_responses_total',
          help: 'HTTP responses by status code',
          labelNames: ['status'],
          registers: [registry],
        }),
    ),
  };
}
