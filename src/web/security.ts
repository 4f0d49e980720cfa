import type { RequestHandler } from 'express';

const HOST_RE = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

/**
 * Security headers for every response. The pages load only their own
 * scripts, styles and audio; `connect-src` names the WebSocket origin
 * explicitly because older browsers don't let `'self'` cover `ws:`/`wss:`.
 * Tokens travel in page URLs, so nothing is ever sent as a referrer.
 */
export function securityHeaders(): RequestHandler {
  return (req, res, next) => {
    const host = req.headers.host;
    const ws = host && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
    res.set({
      'Content-Security-Policy': [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        `connect-src 'self'${ws}`,
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join('; '),
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
    });
    next();
  };
}
