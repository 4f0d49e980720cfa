import { AUDIO_DEBUG, type Logger } from '../log';
import type { PlaybackRepository, WriteOp } from './repository';
import type { StationRegistry } from './stations';
import { transitionChunk, transitionGeneration, transitionRequest } from './transitions';
import { ChunkStatus, GenerationStatus, RequestStatus, type Campaign } from './types';

/** The reason a request gets when a restart cut its generation short. */
export const INTERRUPTED_GENERATION = 'generation interrupted by a restart';

/** Which campaigns this process airs (sharding); every campaign by default. */
export type CampaignOwnership = (campaign: Campaign) => boolean;

/** What {@link recoverStations} did. */
export interface RecoveryReport {
  resumed: number;
  requeued: number;
  failed: number;
}

/**
 * Puts every campaign back where it was (DESIGN.md rule 6). Requests left
 * PLAYING resume at their first chunk not PLAYED (a chunk cut mid-air is
 * aired again from its start); PENDING ones are queued again in order.
 * Requests whose generation was still running died with the old process:
 * they end FAILED with {@link INTERRUPTED_GENERATION}, and the queue goes on.
 */
export async function recoverStations(
  repository: PlaybackRepository,
  stations: StationRegistry,
  log: Logger,
  now: Date,
  ownsCampaign: CampaignOwnership = () => true,
): Promise<RecoveryReport> {
  const all = await repository.loadActiveRequests();
  const owned = new Map<string, boolean>();
  for (const { request } of all) {
    if (!owned.has(request.campaignId)) {
      const campaign = await repository.getCampaign(request.campaignId);
      owned.set(request.campaignId, campaign !== null && ownsCampaign(campaign));
    }
  }
  // Another process (a shard) owns the rest: it recovers them.
  const active = all.filter(({ request }) => owned.get(request.campaignId));
  const report: RecoveryReport = { resumed: 0, requeued: 0, failed: 0 };
  const writes: WriteOp[] = [];
  for (const { request, chunks } of active) {
    const done = request.generation === GenerationStatus.Generated;
    if (!done) {
      if (request.generation !== GenerationStatus.Failed) {
        writes.push({
          op: 'updateRequest',
          id: request.id,
          patch: transitionGeneration(request, GenerationStatus.Failed, { error: INTERRUPTED_GENERATION }),
        });
      }
      for (const c of chunks) {
        if (c.status === ChunkStatus.Ready || c.status === ChunkStatus.Playing) {
          writes.push({ op: 'updateChunk', id: c.id, patch: transitionChunk(c, ChunkStatus.Skipped, now) });
        }
      }
      writes.push({
        op: 'updateRequest',
        id: request.id,
        patch: transitionRequest(request, RequestStatus.Failed, now, request.error ?? INTERRUPTED_GENERATION),
      });
      log.warn(
        { request: request.id, campaign: request.campaignId },
        `${AUDIO_DEBUG} ${INTERRUPTED_GENERATION}`,
      );
      report.failed++;
      continue;
    }
    for (const c of chunks) {
      if (c.status === ChunkStatus.Playing) {
        writes.push({ op: 'updateChunk', id: c.id, patch: transitionChunk(c, ChunkStatus.Ready, now) });
      }
    }
    if (request.status === RequestStatus.Playing) report.resumed++;
    else report.requeued++;
    stations.get(request.campaignId).enqueue(request, chunks, now.getTime());
  }
  for (const op of writes) await repository.apply(op);
  if (active.length > 0) log.info(report, `${AUDIO_DEBUG} recovered stations`);
  return report;
}
