import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenError, TokenSigner } from '../../src/auth';

const NOW = Date.UTC(2026, 10, 25);

describe('TokenSigner', () => {
  const signer = new TokenSigner('a-test-secret-of-enough-length');

  it('round-trips campaign, role and expiry', () => {
    const token = signer.sign('c1', 'dm', 3600, NOW);
    expect(signer.verify(token, NOW)).toMatchObject({
      campaignId: 'c1',
      role: 'dm',
      expiresAt: NOW / 1000 + 3600,
    });
  });

  it('refuses expired, tampered, foreign and malformed tokens', () => {
    const token = signer.sign('c1', 'player', 60, NOW);
    expect(() => signer.verify(token, NOW + 60_000)).toThrow(new TokenError('expired'));
    const [body, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), r: 'dm' }),
    ).toString('base64url');
    expect(() => signer.verify(`${forged}.${mac}`, NOW)).toThrow(new TokenError('bad_signature'));
    expect(() => new TokenSigner('another-secret-entirely!').verify(token, NOW)).toThrow(
      new TokenError('bad_signature'),
    );
    for (const bad of ['', 'abc', 'a.b.c', 'x'.repeat(600)])
      expect(() => signer.verify(bad, NOW)).toThrow(TokenError);
  });

  it('never accepts random strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(() => signer.verify(s, NOW)).toThrow(TokenError);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a short secret', () => {
    expect(() => new TokenSigner('short')).toThrow(/16 bytes/);
  });
});
