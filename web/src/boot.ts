/** What both pages do first: read campaign and token, then connect a station. */
import { createApiClient, type ApiClient } from './api';
import { sessionStorageOrNull, tabClientId } from './client-id';
import { installDebugHook } from './debug-hook';
import { readPageContext, webSocketUrl, type PageContext } from './page';
import { Station } from './station';
import { byId, setText } from './ui';

/** A page's context, API client and station (already connecting, debug hook installed). */
export interface BootedPage {
  context: PageContext;
  api: ApiClient;
  station: Station;
}

/**
 * Reads the page's campaign and token from the URL; when they are missing or
 * invalid, shows `describe(error)` in the page's fatal banner and returns null.
 */
export function bootPage(
  page: 'listen' | 'dm' | 'overlay',
  describe: (error: unknown) => string,
): BootedPage | null {
  let context: PageContext;
  try {
    context = readPageContext(location.pathname, location.search, page);
  } catch (error) {
    setText(byId('fatal'), describe(error));
    byId('fatal').hidden = false;
    return null;
  }
  const api = createApiClient({ context, origin: location.origin });
  const station = new Station({
    campaignId: context.campaignId,
    wsUrl: webSocketUrl(location.origin, context, tabClientId(sessionStorageOrNull())),
    api,
  });
  installDebugHook(station);
  return { context, api, station };
}
