/**
 * Who may do what (docs/PROTOCOL.md "Auth"): a signed token from
 * `Authorization: Bearer …` or `?token=…`, for the campaign it names, with the
 * `dm` role for DM-only endpoints.
 */
import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { TokenError, type TokenClaims, type TokenRole, type TokenSigner } from '../auth';
import type { Clock } from '../clock';
import { HttpError } from './errors';

/** The bearer token of a request: the `Authorization` header wins over `?token=`. */
export function readToken(
  req: IncomingMessage,
  query: URLSearchParams | Record<string, unknown>,
): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S{1,1024})\s*$/i.exec(header);
    return match ? (match[1] as string) : '';
  }
  const value = query instanceof URLSearchParams ? query.getAll('token') : query['token'];
  if (Array.isArray(value)) return value.length === 1 && typeof value[0] === 'string' ? value[0] : '';
  return typeof value === 'string' ? value : null;
}

const PROBLEMS: Record<TokenError['problem'], string> = {
  malformed: 'The token is malformed.',
  bad_signature: 'The token is not valid.',
  expired: 'The token has expired; ask for a fresh link.',
};

/** Verifies a token; throws 401 {@link HttpError}s. */
export function verifyToken(tokens: TokenSigner, clock: Clock, token: string | null): TokenClaims {
  if (token === null || token === '') {
    throw new HttpError(401, 'unauthorized', 'A token is required (Authorization: Bearer … or ?token=…).', {
      'WWW-Authenticate': 'Bearer',
    });
  }
  try {
    return tokens.verify(token, clock.now());
  } catch (err) {
    const message = err instanceof TokenError ? PROBLEMS[err.problem] : 'The token is not valid.';
    throw new HttpError(401, 'unauthorized', message, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
}

/** Throws 403 unless the token is for `campaignId` and (for `dm`) carries the DM role. */
export function requireAccess(claims: TokenClaims, campaignId: string, role: TokenRole = 'player'): void {
  if (claims.campaignId !== campaignId) {
    throw new HttpError(403, 'forbidden', 'This token is for another campaign.');
  }
  if (role === 'dm' && claims.role !== 'dm') {
    throw new HttpError(403, 'forbidden', 'Only the DM can do this.');
  }
}

/** The verified claims of an express request (token from header or query). */
export function authenticate(req: Request, tokens: TokenSigner, clock: Clock): TokenClaims {
  return verifyToken(tokens, clock, readToken(req, req.query as Record<string, unknown>));
}
