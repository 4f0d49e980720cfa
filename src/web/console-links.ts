import type { AppServices } from '../services';

/** Links to the DM console and the listener page, with fresh tokens. */
export interface ConsoleLinks {
  campaignId: string;
  /** `/dm/{campaign}?token=<dm token>` */
  dmUrl: string;
  /** `/listen/{campaign}?token=<player token>` */
  listenUrl: string;
  /** `/api/campaigns/{campaign}/audio/live?token=<player token>` for VLC, phones, OBS. */
  liveUrl: string;
  expiresAt: Date;
}

/** Options for {@link createConsoleLinks}. */
export interface ConsoleLinkOptions {
  /** Default: `config.defaultCampaign`. */
  campaignId?: string;
  /** Origin the links point at; default `config.publicUrl` (pass the server's `url` when it bound port 0). */
  baseUrl?: string;
  /** Token lifetime; default `config.tokenTtlHours`. */
  ttlSec?: number;
}

/** Fresh DM console and listener links for the default campaign (main.ts prints them when Discord is off). */
export function createConsoleLinks(
  services: Pick<AppServices, 'config' | 'tokens' | 'clock'>,
  options: ConsoleLinkOptions = {},
): ConsoleLinks {
  const { config, tokens, clock } = services;
  const campaignId = options.campaignId ?? config.defaultCampaign;
  const base = (options.baseUrl ?? config.publicUrl).replace(/\/+$/, '');
  const ttlSec = options.ttlSec ?? Math.round(config.tokenTtlHours * 3600);
  const now = clock.now();
  const dm = tokens.sign(campaignId, 'dm', ttlSec, now);
  const player = tokens.sign(campaignId, 'player', ttlSec, now);
  const c = encodeURIComponent(campaignId);
  return {
    campaignId,
    dmUrl: `${base}/dm/${c}?token=${dm}`,
    listenUrl: `${base}/listen/${c}?token=${player}`,
    liveUrl: `${base}/api/campaigns/${c}/audio/live?token=${player}`,
    expiresAt: new Date((Math.floor(now / 1000) + ttlSec) * 1000),
  };
}
