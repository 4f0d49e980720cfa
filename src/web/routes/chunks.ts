import { Router, type Request } from 'express';
import { authenticate, requireAccess } from '../auth';
import type { WebContext } from '../context';
import { HttpError, notFound } from '../errors';
import { findChunk, type FoundChunk } from '../lookup';
import { NOT_AIRED, notAiredYet } from './aired';
import { chunkQuerySchema, parseInput, playedBodySchema } from '../schemas';
import { uuidParam } from './params';

/** One byte range of `size` bytes, `null` for "send it all", or 'unsatisfiable'. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  // Several ranges or another unit: ignoring Range and sending 200 is allowed.
  if (!m) return null;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return null;
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

async function chunkFor(ctx: WebContext, req: Request): Promise<{ found: FoundChunk; tokenId: string }> {
  const claims = authenticate(req, ctx.tokens, ctx.clock);
  const chunkId = uuidParam(req, 'chunkId', 'chunk id');
  const found = await findChunk(ctx.engine, chunkId);
  if (!found) throw notFound('No such chunk.');
  requireAccess(claims, found.campaignId);
  if (claims.role === 'player' && notAiredYet(ctx, found.campaignId, found.chunk.requestId)) {
    throw new HttpError(403, 'forbidden', NOT_AIRED);
  }
  return { found, tokenId: claims.tokenId };
}

/** `GET /api/audio/chunks/{id}` (immutable, cacheable, ranges) and the fallback ACK `POST /api/audio/played/{id}`. */
export function chunkRoutes(ctx: WebContext): Router {
  const router = Router();

  router.get('/api/audio/chunks/:chunkId', async (req, res) => {
    const { found } = await chunkFor(ctx, req);
    const { format = 'mp3' } = parseInput(chunkQuerySchema, req.query, 'query');
    const { chunk } = found;
    const etag = `"${chunk.id}.${format}"`;
    const cacheable = {
      'Cache-Control': 'private, max-age=31536000, immutable',
      ETag: etag,
      'Accept-Ranges': 'bytes',
    };
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      res.status(304).set(cacheable).end();
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await ctx.engine.store.get(format === 'opus' ? chunk.opusKey : chunk.mp3Key);
    } catch (err) {
      ctx.log.warn({ err, chunk: chunk.id }, 'chunk audio missing');
      throw notFound('This chunk’s audio is no longer available.');
    }
    const range = parseRange(req.headers.range, bytes.length);
    if (range === 'unsatisfiable') {
      throw new HttpError(416, 'bad_request', 'The requested range is outside the audio.', {
        'Content-Range': `bytes */${bytes.length}`,
      });
    }
    res.set(cacheable).type(format === 'opus' ? 'audio/ogg; codecs=opus' : chunk.mimeType);
    if (range) {
      res.status(206).set({
        'Content-Range': `bytes ${range.start}-${range.end}/${bytes.length}`,
        'Content-Length': String(range.end - range.start + 1),
      });
      res.end(bytes.subarray(range.start, range.end + 1));
      return;
    }
    res.status(200).set('Content-Length', String(bytes.length)).end(bytes);
  });

  router.post('/api/audio/played/:chunkId', async (req, res) => {
    const { found, tokenId } = await chunkFor(ctx, req);
    parseInput(playedBodySchema, req.body, 'body');
    ctx.recordPlayed(found.campaignId, tokenId, found.chunk.id);
    res.status(204).end();
  });

  return router;
}
