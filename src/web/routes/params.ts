import type { Request } from 'express';
import type { TokenClaims, TokenRole } from '../../auth';
import { authenticate, requireAccess } from '../auth';
import type { WebContext } from '../context';
import { campaignIdSchema, parseInput, uuidSchema } from '../schemas';

/**
 * The token first (401 before anything is revealed), then the campaign path
 * parameter (400), then access to that campaign (403).
 */
export function campaignAccess(
  ctx: WebContext,
  req: Request,
  role: TokenRole = 'player',
): { claims: TokenClaims; campaignId: string } {
  const claims = authenticate(req, ctx.tokens, ctx.clock);
  const campaignId = parseInput(campaignIdSchema, req.params['campaignId'], 'campaign id');
  requireAccess(claims, campaignId, role);
  return { claims, campaignId };
}

/** A UUID path parameter (request or chunk id). */
export function uuidParam(req: Request, name: string, what: string): string {
  return parseInput(uuidSchema, req.params[name], what);
}
