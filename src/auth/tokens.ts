import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a listener token lets its holder do. */
export type TokenRole = 'player' | 'dm';

/** The verified contents of a token. */
export interface TokenClaims {
  campaignId: string;
  role: TokenRole;
  /** Expiry, epoch seconds. */
  expiresAt: number;
  /** Random id: identifies the holder's connections (superseding on reconnect). */
  tokenId: string;
}

/** Why a token was refused. */
export type TokenProblem = 'malformed' | 'bad_signature' | 'expired';

/** Thrown by {@link TokenSigner.verify}. */
export class TokenError extends Error {
  constructor(readonly problem: TokenProblem) {
    super(`token ${problem.replace('_', ' ')}`);
    this.name = 'TokenError';
  }
}

const MAX_TOKEN_LENGTH = 512;

/**
 * Signs and verifies listener/DM tokens (HMAC-SHA256 over a small JSON
 * payload): `base64url(payload).base64url(mac)`. See docs/PROTOCOL.md "Auth".
 */
export class TokenSigner {
  readonly #secret: Buffer;

  constructor(secret: string | Buffer) {
    this.#secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (this.#secret.length < 16) throw new Error('token secret must be at least 16 bytes');
  }

  /** A token for `campaignId` valid for `ttlSec` seconds from `nowMs`. */
  sign(campaignId: string, role: TokenRole, ttlSec: number, nowMs = Date.now()): string {
    const payload = {
      c: campaignId,
      r: role,
      e: Math.floor(nowMs / 1000) + Math.floor(ttlSec),
      n: randomBytes(9).toString('base64url'),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** Checks signature and expiry; throws {@link TokenError}. */
  verify(token: string, nowMs = Date.now()): TokenClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new TokenError('malformed');
    const parts = token.split('.');
    if (parts.length !== 2) throw new TokenError('malformed');
    const [body, mac] = parts as [string, string];
    const expected = Buffer.from(this.#mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new TokenError('bad_signature');
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new TokenError('malformed');
    }
    const p = payload as { c?: unknown; r?: unknown; e?: unknown; n?: unknown };
    if (
      typeof p.c !== 'string' ||
      (p.r !== 'player' && p.r !== 'dm') ||
      typeof p.e !== 'number' ||
      typeof p.n !== 'string'
    ) {
      throw new TokenError('malformed');
    }
    if (p.e * 1000 <= nowMs) throw new TokenError('expired');
    return { campaignId: p.c, role: p.r, expiresAt: p.e, tokenId: p.n };
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}
