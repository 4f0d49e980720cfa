import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { Router } from 'express';
import type { WebContext } from '../context';
import { notFound, unavailable } from '../errors';
import { CAMPAIGN_ID_RE } from '../schemas';

const BUILD_HINT = 'The web pages are not built yet: run `npx vite build --config web/vite.config.ts`.';

/**
 * The built pages (web/vite.config.ts: base `/static/`, outDir `web/dist`):
 * `/listen/{campaign}` and `/dm/{campaign}` answer with the page's HTML (the
 * page reads campaign and token from its own address); `/static/assets/*`
 * are content-hashed, so cached for good.
 */
export function pageRoutes(ctx: WebContext): Router {
  const router = Router();
  const dir = path.resolve(ctx.pagesDir);

  const page = (file: 'listen.html' | 'dm.html') => async (req: express.Request, res: express.Response) => {
    if (!CAMPAIGN_ID_RE.test(String(req.params['campaign']))) throw notFound('No such campaign.');
    let html: Buffer;
    try {
      html = await readFile(path.join(dir, file));
    } catch {
      throw unavailable(BUILD_HINT);
    }
    res.status(200).set('Cache-Control', 'no-cache').type('html').send(html);
  };

  router.get('/listen/:campaign', page('listen.html'));
  router.get('/dm/:campaign', page('dm.html'));
  router.use(
    '/static',
    express.static(dir, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      fallthrough: true,
      setHeaders: (res, file) => {
        const immutable = file.startsWith(path.join(dir, 'assets') + path.sep);
        res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  return router;
}
