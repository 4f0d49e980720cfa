import { Router } from 'express';
import type { WebContext } from '../context';
import { unavailable } from '../errors';
import { startAudioResponse } from '../streams/http-write';
import { LiveStream } from '../streams/live-stream';
import { campaignAccess } from './params';

/** `GET /api/campaigns/{id}/audio/live`: the station as one continuous MP3. */
export function liveRoutes(ctx: WebContext): Router {
  const router = Router();
  router.get('/api/campaigns/:campaignId/audio/live', (req, res) => {
    const { campaignId } = campaignAccess(ctx, req);
    if (ctx.streams.full) throw unavailable('Too many open streams; try again later.');
    startAudioResponse(res);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const live = new LiveStream({
      station: ctx.engine.stations.get(campaignId),
      clock: ctx.clock,
      audio: ctx.audio,
      feed: ctx.feed,
      res,
      log: ctx.log,
      limits: ctx.limits,
      onDrop: () => ctx.metrics.dropped.inc({ reason: 'slow' }),
    });
    ctx.streams.add(live, 'live', live.done);
    live.start();
  });
  return router;
}
