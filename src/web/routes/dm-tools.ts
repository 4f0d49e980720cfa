/**
 * The DM console's tools (DM token only): the cast editor, the scene
 * library, transcript downloads and recaps. Bodies are checked at the edge;
 * bad input answers 400 and changes nothing.
 */
import { Router, type Request } from 'express';
import { z } from 'zod';
import { CastInputError, MAX_SPEAKER_NAME, type CastService } from '../../cast';
import { RateLimitedError } from '../../narration/service';
import { SCENE_MAX_CHARS, SceneError, SceneStatus, type Scene, type SceneService } from '../../scenes';
import {
  RecapError,
  sessionFileName,
  sessionMarkdown,
  type RecapService,
  type TranscriptService,
} from '../../transcript';
import type { WebContext } from '../context';
import { HttpError, notFound, unavailable } from '../errors';
import { parseInput } from '../schemas';
import { campaignAccess } from './params';

const nameSchema = z.string().trim().min(1, 'must not be empty').max(MAX_SPEAKER_NAME);
const castBodySchema = z.object({ voice: z.string().trim().min(1).max(64) }).strict();
const sceneBodySchema = z.object({ text: z.string().max(SCENE_MAX_CHARS + 100) }).strict();
const recapAirSchema = z.union([z.undefined(), z.object({ text: z.string().max(4000).optional() }).strict()]);
const sessionBodySchema = z.union([
  z.undefined(),
  z.object({ title: z.string().max(100).optional() }).strict(),
]);
const sessionIdSchema = z.string().regex(/^(latest|\d{1,15})$/, 'a session id or "latest"');

/** The tools this server has; each route answers 503 when its tool is missing. */
export interface DmTools {
  cast?: CastService | undefined;
  scenes?: SceneService | undefined;
  transcript?: TranscriptService | undefined;
  recap?: RecapService | undefined;
}

function need<T>(tool: T | undefined, what: string): T {
  if (!tool) throw unavailable(`${what} are not available on this server.`);
  return tool;
}

function name(req: Request): string {
  return parseInput(nameSchema, req.params['name'], 'name');
}

/** A scene as the console shows it. */
function sceneJson(s: Scene) {
  return {
    name: s.name,
    text: s.text,
    status: s.status,
    chunk_count: s.chunkCount,
    duration_sec: s.status === SceneStatus.Ready ? s.durationMs / 1000 : null,
    error: s.status === SceneStatus.Failed ? s.error : null,
    updated_at: s.updatedAt.toISOString(),
  };
}

function sceneError(error: unknown): never {
  if (error instanceof SceneError) {
    if (error.code === 'not_found') throw notFound(error.message);
    if (error.code === 'not_ready') throw new HttpError(409, 'conflict', error.message);
    throw new HttpError(400, 'bad_request', error.message);
  }
  throw error;
}

/** `/api/campaigns/{id}/cast`, `/scenes`, `/transcript`, `/recap`. */
export function dmToolRoutes(ctx: WebContext): Router {
  const router = Router();
  const tools = (): DmTools => ctx.tools ?? {};
  const base = '/api/campaigns/:campaignId';

  router.get(`${base}/cast`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const cast = need(tools().cast, 'Casts');
    const [members, voices] = await Promise.all([cast.list(campaignId), ctx.narration.voices()]);
    res.set('Cache-Control', 'no-store').json({ cast: members, voices });
  });
  router.put(`${base}/cast/:name`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const body = parseInput(castBodySchema, req.body, 'body');
    const cast = need(tools().cast, 'Casts');
    await ctx.engine.campaigns.ensure(campaignId);
    try {
      res.json(await cast.set(campaignId, name(req), body.voice));
    } catch (error) {
      if (error instanceof CastInputError) throw new HttpError(400, 'bad_request', error.message);
      throw error;
    }
  });
  router.delete(`${base}/cast/:name`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const removed = await need(tools().cast, 'Casts').remove(campaignId, name(req));
    if (!removed) throw notFound('No such character in the cast.');
    res.status(204).end();
  });

  router.get(`${base}/scenes`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const scenes = await need(tools().scenes, 'Scenes').list(campaignId);
    res.set('Cache-Control', 'no-store').json({ scenes: scenes.map(sceneJson) });
  });
  router.put(`${base}/scenes/:name`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const body = parseInput(sceneBodySchema, req.body, 'body');
    const scenes = need(tools().scenes, 'Scenes');
    await ctx.engine.campaigns.ensure(campaignId);
    try {
      res.status(202).json(sceneJson(await scenes.save(campaignId, name(req), body.text)));
    } catch (error) {
      sceneError(error);
    }
  });
  router.delete(`${base}/scenes/:name`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const deleted = await need(tools().scenes, 'Scenes').delete(campaignId, name(req));
    if (!deleted) throw notFound('No such scene.');
    res.status(204).end();
  });
  router.post(`${base}/scenes/:name/play`, async (req, res) => {
    const { claims, campaignId } = campaignAccess(ctx, req, 'dm');
    const scenes = need(tools().scenes, 'Scenes');
    try {
      const request = await scenes.play(campaignId, name(req), {
        receivedAt: ctx.clock.now(),
        requestedBy: `web:${claims.tokenId}`,
      });
      res.status(202).json({ request_id: request.id });
    } catch (error) {
      sceneError(error);
    }
  });

  router.get(`${base}/transcript/sessions`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const sessions = await need(tools().transcript, 'Transcripts').sessions(campaignId);
    res.set('Cache-Control', 'no-store').json({
      sessions: sessions.map((s) => ({
        id: s.id,
        title: s.title,
        started_at: s.startedAt.toISOString(),
        ended_at: s.endedAt.toISOString(),
        narrations: s.entries.length,
      })),
    });
  });
  router.post(`${base}/transcript/sessions`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const body = parseInput(sessionBodySchema, req.body, 'body');
    await ctx.engine.campaigns.ensure(campaignId);
    const at = await need(tools().transcript, 'Transcripts').startSession(campaignId, body?.title);
    res.status(201).json({ started_at: at.toISOString() });
  });
  router.get(`${base}/transcript/sessions/:session`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const id = parseInput(sessionIdSchema, String(req.params['session']).replace(/\.md$/, ''), 'session');
    const session = await need(tools().transcript, 'Transcripts').session(campaignId, id);
    if (!session) throw notFound('No such session: nothing has aired yet?');
    const campaign = await ctx.engine.campaigns.get(campaignId);
    const campaignName = campaign?.name ?? campaignId;
    res
      .status(200)
      .set('Cache-Control', 'no-store')
      .set('Content-Disposition', `attachment; filename="${sessionFileName(campaignName, session)}"`)
      .type('text/markdown; charset=utf-8')
      .send(sessionMarkdown(session, { campaignName }));
  });

  router.post(`${base}/recap`, async (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    const draft = await need(tools().recap, 'Recaps').draft(campaignId);
    res
      .set('Cache-Control', 'no-store')
      .json(draft.kind === 'draft' ? { kind: 'draft', text: draft.text } : draft);
  });
  router.post(`${base}/recap/air`, async (req, res) => {
    const { claims, campaignId } = campaignAccess(ctx, req, 'dm');
    const body = parseInput(recapAirSchema, req.body, 'body');
    try {
      const handle = await need(tools().recap, 'Recaps').air(campaignId, `web:${claims.tokenId}`, body?.text);
      handle.done.catch(() => {});
      res.status(202).json({ request_id: handle.request.id });
    } catch (error) {
      if (error instanceof RecapError) throw new HttpError(409, 'conflict', error.message);
      if (error instanceof RateLimitedError) throw new HttpError(429, 'rate_limited', error.message);
      throw error;
    }
  });
  router.delete(`${base}/recap`, (req, res) => {
    const { campaignId } = campaignAccess(ctx, req, 'dm');
    need(tools().recap, 'Recaps').drop(campaignId);
    res.status(204).end();
  });
  return router;
}
