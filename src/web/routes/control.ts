import { Router } from 'express';
import type { ControlResult } from '../../playback';
import type { WebContext } from '../context';
import { HttpError } from '../errors';
import { controlBodySchema, parseInput } from '../schemas';
import { campaignAccess } from './params';

type Refusal = Extract<ControlResult, { ok: false }>['reason'];

const FRIENDLY: Record<Refusal, string> = {
  nothing_on_air: 'Nothing is playing right now.',
  already_paused: 'The station is already paused.',
  not_paused: 'The station is not paused.',
};

const NOTHING_TO_PAUSE = 'Nothing is playing or queued, so there is nothing to pause.';

/**
 * `POST /api/campaigns/{id}/control` (DM): skip, stop, pause, resume. Pause
 * is refused while nothing is on air or queued (409): a pause set on an idle
 * station would hold the next narrations with nobody noticing.
 */
export function controlRoutes(ctx: WebContext): Router {
  const router = Router();
  router.post('/api/campaigns/:campaignId/control', (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const { action } = parseInput(controlBodySchema, req.body, 'body');
    const station = ctx.engine.stations.get(campaignId);
    const result = station[action]();
    if (!result.ok) {
      // The station refuses to pause while nothing is on air or queued.
      const nothingToPause = action === 'pause' && result.reason === 'nothing_on_air';
      throw new HttpError(409, 'conflict', nothingToPause ? NOTHING_TO_PAUSE : FRIENDLY[result.reason]);
    }
    ctx.log.info({ campaign: campaignId, action }, 'DM control from the web console');
    res.set('Cache-Control', 'no-store').json({ ok: true });
  });
  return router;
}
