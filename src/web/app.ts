import express, { type Express } from 'express';
import type { WebContext } from './context';
import { errorHandler, notFoundHandler } from './errors';
import { chunkRoutes } from './routes/chunks';
import { controlRoutes } from './routes/control';
import { dmToolRoutes } from './routes/dm-tools';
import { healthRoutes } from './routes/health';
import { liveRoutes } from './routes/live';
import { narrationRoutes } from './routes/narrations';
import { pageRoutes } from './routes/pages';
import { queueRoutes } from './routes/queue';
import { streamRoutes } from './routes/stream';
import { securityHeaders } from './security';

/** The express app: every HTTP endpoint of docs/PROTOCOL.md plus the pages. */
export function createApp(ctx: WebContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(securityHeaders());
  app.use((_req, res, next) => {
    res.on('finish', () => ctx.metrics.httpResponses.inc({ status: String(res.statusCode) }));
    next();
  });
  app.use(express.json({ limit: ctx.limits.jsonBodyBytes, strict: true }));
  app.use(healthRoutes(ctx));
  app.use(queueRoutes(ctx));
  app.use(narrationRoutes(ctx));
  app.use(controlRoutes(ctx));
  app.use(dmToolRoutes(ctx));
  app.use(streamRoutes(ctx));
  app.use(liveRoutes(ctx));
  app.use(chunkRoutes(ctx));
  app.use(pageRoutes(ctx));
  app.use(notFoundHandler);
  app.use(errorHandler(ctx.log));
  return app;
}
