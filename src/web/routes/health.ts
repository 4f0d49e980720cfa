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

/** `GET /healthz` (database and audio store) and `GET /metrics` (Prometheus). */
export function healthRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get('/healthz', async (_req, res) => {
    const check = async (name: string, run: () => Promise<void>): Promise<'ok' | 'down'> => {
      try {
        await within(run(), 2_000);
        return 'ok';
      } catch (err) {
        ctx.log.warn({ err, check: name }, 'health check failed');
        return 'down';
      }
    };
    const [database, store] = await Promise.all([
      check('database', () => ctx.engine.repository.ping()),
      check('store', () => ctx.engine.store.check()),
    ]);
    const ok = database === 'ok' && store === 'ok';
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ok ? 'ok' : 'degraded', checks: { database, store } });
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
