import { Router } from 'express';
import { authenticate, requireAccess } from '../auth';
import type { WebContext } from '../context';
import { HttpError, notFound, unavailable } from '../errors';
import { findRequest } from '../lookup';
import { parseInput, streamQuerySchema } from '../schemas';
import { startAudioResponse } from '../streams/http-write';
import { RequestStream } from '../streams/request-stream';
import { NOT_AIRED, notAiredYet } from './aired';
import { uuidParam } from './params';

/** `GET /api/audio/stream/{request_id}[?from=<sec>]`: one request as a progressive MP3. */
export function streamRoutes(ctx: WebContext): Router {
  const router = Router();
  router.get('/api/audio/stream/:requestId', async (req, res) => {
    const claims = authenticate(req, ctx.tokens, ctx.clock);
    const requestId = uuidParam(req, 'requestId', 'request id');
    const { from = 0 } = parseInput(streamQuerySchema, req.query, 'query');
    const found = await findRequest(ctx.engine, requestId);
    if (!found) throw notFound('No such request.');
    const campaignId = found.live ? found.entry.request.campaignId : found.request.campaignId;
    requireAccess(claims, campaignId);
    if (claims.role === 'player' && notAiredYet(ctx, campaignId, requestId)) {
      throw new HttpError(403, 'forbidden', NOT_AIRED);
    }
    if (ctx.streams.full) throw unavailable('Too many open streams; try again later.');
    startAudioResponse(res);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = new RequestStream({
      found,
      fromSec: from,
      res,
      feed: ctx.feed,
      audio: ctx.audio,
      log: ctx.log,
    });
    ctx.streams.add(stream, 'request', stream.done);
    stream.start();
  });
  return router;
}
