/**
 * Publishes stations to an Icecast server (`ICECAST_URL`): one
 * {@link IcecastSource} per campaign, each on its own mount. With
 * `ICECAST_CAMPAIGNS=*` every campaign this process serves is published:
 * the ones stored at start-up and any whose station comes to life later.
 */
import type { Clock } from '../clock';
import type { IcecastSettings } from '../config';
import type { Logger } from '../log';
import type { Campaign, PlaybackEngine } from '../playback';
import { StationFeed } from '../web/station-feed';
import { ChunkAudioCache } from '../web/streams/chunk-audio';
import type { LiveStreamLimits } from '../web/streams/live-stream';
import { IcecastSource, type Backoff } from './icecast-source';

/** Live-stream pacing of a published station (as the web's live MP3, with more room to buffer). */
export const ICECAST_STREAM_LIMITS: LiveStreamLimits = {
  leadMs: 500,
  silenceLeadMs: 0,
  tickMs: 100,
  maxBufferedBytes: 512 * 1024,
  loadGraceMs: 250,
};

/** Options for {@link startIcecastPublisher}. */
export interface IcecastPublisherOptions {
  settings: IcecastSettings;
  engine: Pick<PlaybackEngine, 'stations' | 'campaigns' | 'store'>;
  clock: Clock;
  log: Logger;
  /** Under sharding: publish only the campaigns this process owns. */
  ownsCampaign?: (campaign: Campaign) => boolean;
  limits?: LiveStreamLimits;
  backoff?: Backoff;
}

/** A running publisher. */
export interface IcecastPublisher {
  /** The source of each published campaign. */
  readonly sources: ReadonlyMap<string, IcecastSource>;
  /** Stops every source and closes their connections. */
  close(): void;
}

/** The mount of `campaignId` under the configured template. */
export function mountOf(settings: Pick<IcecastSettings, 'mount'>, campaignId: string): string {
  return settings.mount.replaceAll('{campaign}', campaignId);
}

/** Starts publishing the configured campaigns; resolves once their sources are started. */
export async function startIcecastPublisher(options: IcecastPublisherOptions): Promise<IcecastPublisher> {
  const { settings, engine, clock } = options;
  const log = options.log.child({ module: 'icecast' });
  const feed = new StationFeed(engine.stations, log);
  const audio = new ChunkAudioCache(engine.store);
  const sources = new Map<string, IcecastSource>();
  let closed = false;

  const publish = (campaign: Campaign) => {
    if (closed || sources.has(campaign.id)) return;
    if (options.ownsCampaign && !options.ownsCampaign(campaign)) return;
    const source = new IcecastSource({
      target: {
        url: settings.url,
        user: settings.user,
        password: settings.password,
        mount: mountOf(settings, campaign.id),
      },
      name: campaign.name,
      station: engine.stations.get(campaign.id),
      clock,
      audio,
      feed,
      log,
      limits: options.limits ?? ICECAST_STREAM_LIMITS,
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
    sources.set(campaign.id, source);
    source.start();
  };
  const publishId = (campaignId: string) => {
    if (sources.has(campaignId)) return;
    void engine.campaigns.get(campaignId).then(
      (campaign) => campaign && publish(campaign),
      (err: unknown) => log.warn({ err, campaign: campaignId }, 'Icecast: campaign lookup failed'),
    );
  };

  let onStation: ((event: { campaignId: string }) => void) | null = null;
  if (settings.campaigns === 'all') {
    for (const campaign of await engine.campaigns.list()) publish(campaign);
    onStation = ({ campaignId }) => publishId(campaignId);
    engine.stations.on('queueChanged', onStation);
  } else {
    for (const id of settings.campaigns) {
      publish((await engine.campaigns.get(id)) ?? (await engine.campaigns.ensure(id)));
    }
  }
  log.info(
    { server: settings.url, campaigns: sources.size, mount: settings.mount },
    'publishing stations to Icecast',
  );

  return {
    sources,
    close: () => {
      if (closed) return;
      closed = true;
      if (onStation) engine.stations.off('queueChanged', onStation);
      for (const source of sources.values()) source.stop();
      feed.close();
    },
  };
}
