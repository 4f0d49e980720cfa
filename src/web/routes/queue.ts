import { Router } from 'express';
import type { WebContext } from '../context';
import { queueSnapshot } from '../views';
import { campaignAccess } from './params';
import { recentHistoryOf } from '../recent-history';

/** `GET /api/campaigns/{id}/audio/queue`: now playing, pending, recent history (texts by role: views.ts). */
export function queueRoutes(ctx: WebContext): Router {
  const router = Router();
  // Remember requests that end from now on, so an outage later still has a history to show.
  recentHistoryOf(ctx.engine.stations, ctx.limits.historyLimit);
  router.get('/api/campaigns/:campaignId/audio/queue', async (req, res) => {
    const { claims, campaignId } = campaignAccess(ctx, req);
    const body = await queueSnapshot(
      ctx.engine,
      campaignId,
      ctx.clock.now(),
      ctx.limits.historyLimit,
      ctx.log,
      claims.role,
    );
    res.set('Cache-Control', 'no-store').json(body);
  });
  return router;
}
