import { Router } from 'express';
import type { WebContext } from '../context';

/** Rejects when `promise` takes longer than `ms` (a hung database must not hang the health check). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Body of `GET /healthz`. */
export interface HealthReport {
  /** `ok`; `degraded` while the database is unreachable (the station still plays); `down` when audio can't be read. */
  status: 'ok' | 'degraded' | 'down';
  checks: { database: 'ok' | 'down'; store: 'ok' | 'down' };
  /** Where playback state lives right now: the database, or memory plus the journal during an outage. */
  playback: 'database' | 'memory';
  /** Writes waiting in the journal to be replayed when the database is back. */
  journalled_writes: number;
}

/**
 * `GET /healthz` (database and audio store) and `GET /metrics` (Prometheus).
 *
 * A database outage is reported as `degraded` with status 200, not as the
 * station being down: the station keeps playing from memory and journals its
 * writes (DESIGN.md rule 6), so a load balancer must not take it out of
 * service. Only an unreadable audio store (nothing can be played) is 503.
 */
export function healthRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get('/healthz', async (_req, res) => {
    const repository = ctx.engine.repository;
    const check = async (name: string, run: () => Promise<void>): Promise<'ok' | 'down'> => {
      try {
        await within(run(), 2_000);
        return 'ok';
      } catch (err) {
        // During a known outage the repository has said so once already; don't log every probe.
        if (!(name === 'database' && repository.inOutage))
          ctx.log.warn({ err, check: name }, 'health check failed');
        return 'down';
      }
    };
    const [database, store] = await Promise.all([
      check('database', () => repository.ping()),
      check('store', () => ctx.engine.store.check()),
    ]);
    const outage = repository.inOutage || database === 'down';
    const report: HealthReport = {
      status: store === 'down' ? 'down' : outage ? 'degraded' : 'ok',
      checks: { database, store },
      playback: repository.inOutage ? 'memory' : 'database',
      journalled_writes: repository.journalLength,
    };
    res
      .status(store === 'ok' ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(report);
  });

  router.get('/metrics', async (_req, res) => {
    const registry = ctx.engine.metrics.registry;
    res
      .set('Cache-Control', 'no-store')
      .type(registry.contentType)
      .send(await registry.metrics());
  });

  return router;
}
