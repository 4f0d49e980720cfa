import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { Router } from 'express';
import type { WebContext } from '../context';
import { notFound, unavailable } from '../errors';
import { CAMPAIGN_ID_RE } from '../schemas';

/**
 * `/`: nobody should get a bare JSON 404 for opening the server's address.
 * No token here, so no links: it says where links come from. Plain HTML
 * without inline styles or scripts (the CSP allows neither).
 */
const HOME_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="dark light" />
    <link rel="icon" href="data:," />
    <title>Bardcast</title>
  </head>
  <body>
    <main>
      <h1>Bardcast is running</h1>
      <p>This server plays a campaign's narration. Pages open from a personal link:</p>
      <ul>
        <li><strong>Players:</strong> ask your DM for a listener link (in Discord, <code>/listen</code>).
          It looks like <code>/listen/&lt;campaign&gt;?token=…</code>.</li>
        <li><strong>The DM:</strong> the DM console link, <code>/dm/&lt;campaign&gt;?token=…</code>, is printed
          in the server's terminal when it starts without Discord.</li>
        <li><strong>Players without a browser</strong> (VLC, phones, OBS): the live MP3 link printed beside them.</li>
      </ul>
      <p>Status: <a href="/healthz">/healthz</a>.</p>
    </main>
  </body>
</html>
`;

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

  const page =
    (file: 'listen.html' | 'dm.html' | 'overlay.html') =>
    async (req: express.Request, res: express.Response) => {
      if (!CAMPAIGN_ID_RE.test(String(req.params['campaign']))) throw notFound('No such campaign.');
      let html: Buffer;
      try {
        html = await readFile(path.join(dir, file));
      } catch {
        throw unavailable(BUILD_HINT);
      }
      res.status(200).set('Cache-Control', 'no-cache').type('html').send(html);
    };

  router.get('/', (_req, res) => {
    res.status(200).set('Cache-Control', 'no-cache').type('html').send(HOME_PAGE);
  });
  router.get('/listen/:campaign', page('listen.html'));
  router.get('/dm/:campaign', page('dm.html'));
  router.get('/overlay/:campaign', page('overlay.html'));
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
