/**
 * What a page learns from its own address: `/listen/{campaign}?token=…` or
 * `/dm/{campaign}?token=…`. Pure, so it is tested without a DOM.
 */

/** The campaign and token a page works with. */
export interface PageContext {
  campaignId: string;
  token: string;
}

/** Why a page cannot start. */
export class PageAddressError extends Error {
  override readonly name = 'PageAddressError';
}

/**
 * Reads the campaign id (the path segment after `/listen/` or `/dm/`,
 * wherever the app is mounted) and the `token` query parameter.
 * Throws {@link PageAddressError} when either is missing.
 */
export function readPageContext(
  pathname: string,
  search: string,
  page: 'listen' | 'dm' | 'overlay',
): PageContext {
  const segments = pathname.split('/').filter(Boolean);
  const at = segments.lastIndexOf(page);
  const raw = at >= 0 ? segments[at + 1] : undefined;
  let campaignId: string;
  try {
    campaignId = raw ? decodeURIComponent(raw) : '';
  } catch {
    throw new PageAddressError('The campaign in this link is garbled.');
  }
  if (!campaignId)
    throw new PageAddressError(`This link has no campaign: expected /${page}/<campaign>?token=…`);
  const token = new URLSearchParams(search).get('token') ?? '';
  if (!token) throw new PageAddressError('This link has no token: ask for a fresh link.');
  return { campaignId, token };
}

/**
 * WebSocket URL of the station for a page served from `origin`
 * (`http(s)://host[:port]`). `clientId` (the tab's, see `client-id.ts`)
 * keeps tabs that share one link from replacing each other's connection.
 */
export function webSocketUrl(origin: string, context: PageContext, clientId?: string): string {
  const url = new URL('/ws', origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('campaign', context.campaignId);
  url.searchParams.set('token', context.token);
  if (clientId !== undefined) url.searchParams.set('client', clientId);
  return url.toString();
}
