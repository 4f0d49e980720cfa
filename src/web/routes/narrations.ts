import { Router } from 'express';
import { RateLimitedError, UnknownVoiceError } from '../../narration/service';
import type { WebContext } from '../context';
import { HttpError } from '../errors';
import { narrationBodySchema, parseInput } from '../schemas';
import { campaignAccess } from './params';

/** `POST /api/campaigns/{id}/narrations` (DM): hands the text to the narration pipeline. */
export function narrationRoutes(ctx: WebContext): Router {
  const router = Router();
  router.post('/api/campaigns/:campaignId/narrations', async (req, res) => {
    const { claims, campaignId } = campaignAccess(ctx, req, 'dm');
    const body = parseInput(narrationBodySchema, req.body, 'body');
    await ctx.engine.campaigns.ensure(campaignId);
    let handle;
    try {
      handle = await ctx.narration.start({
        campaignId,
        text: body.text,
        mode: body.mode,
        ...(body.voice === undefined ? {} : { voice: body.voice }),
        requestedBy: `web:${claims.tokenId}`,
        receivedAt: ctx.clock.now(),
      });
    } catch (err) {
      if (err instanceof RateLimitedError) {
        const retryAfter = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
        throw new HttpError(429, 'rate_limited', err.message, { 'Retry-After': retryAfter });
      }
      if (err instanceof UnknownVoiceError) throw new HttpError(400, 'bad_request', err.message);
      throw err;
    }
    // Progress is followed over the WebSocket; a failure here is the pipeline's to log.
    handle.done.catch(() => {});
    res.status(202).set('Cache-Control', 'no-store').json({
      request_id: handle.request.id,
      spoken_verbatim: handle.spokenVerbatim,
    });
  });
  return router;
}
