import { AUDIO_DEBUG, type Logger } from '../log';
import type { PlaybackRepository, RequestWithChunks } from './repository';
import type { StationRegistry } from './stations';
import { transitionChunk, type StatusWriteOp } from './transitions';
import { ChunkStatus, GenerationStatus, RequestStatus, type Campaign } from './types';
import type { PlaybackRequestWriter } from './writer';

/** Which campaigns this process airs (sharding); every campaign by default. */
export type CampaignOwnership = (campaign: Campaign) => boolean;

/** What {@link recoverStations} did (counts only: it is logged). */
export interface RecoveryReport {
  /** Requests that were on air: they resume at their first chunk not PLAYED. */
  resumed: number;
  /** Requests that were queued: queued again in order. */
  requeued: number;
  /** Of those, requests whose generation a restart cut short: it continues (see {@link Recovery}). */
  interrupted: number;
}

/** The outcome of {@link recoverStations}. */
export interface Recovery {
  report: RecoveryReport;
  /**
   * Requests whose generation was still running when the old process died, in
   * queue order, with the chunks already stored (`0..n-1`). They are queued
   * and open in the writer again; the narration pipeline continues each at
   * chunk `n` from its stored text.
   */
  interrupted: RequestWithChunks[];
}

/** Options for {@link recoverStations}. */
export interface RecoverStationsOptions {
  repository: PlaybackRepository;
  stations: StationRegistry;
  writer: Pick<PlaybackRequestWriter, 'reopen'>;
  log: Logger;
  now: Date;
  ownsCampaign?: CampaignOwnership;
}

/**
 * Puts every campaign back where it was (DESIGN.md rule 6). Requests left
 * PLAYING resume at their first chunk not PLAYED (a chunk cut mid-air is
 * aired again from its start); PENDING ones are queued again in order.
 * Requests whose generation was still running stay in the queue and open in
 * the writer: generation continues where it stopped instead of failing.
 *
 * Every correction is durable before any station goes on air, so memory and
 * database agree from the first event on.
 */
export async function recoverStations(options: RecoverStationsOptions): Promise<Recovery> {
  const { repository, stations, writer, log, now } = options;
  const ownsCampaign = options.ownsCampaign ?? (() => true);
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
  const report: RecoveryReport = { resumed: 0, requeued: 0, interrupted: 0 };
  const interrupted: RequestWithChunks[] = [];
  const writes: StatusWriteOp[] = [];
  for (const { request, chunks } of active) {
    for (const c of chunks) {
      if (c.status === ChunkStatus.Playing) writes.push(transitionChunk(c, ChunkStatus.Ready, now));
    }
    if (request.status === RequestStatus.Playing) report.resumed++;
    else report.requeued++;
    const generating =
      request.generation === GenerationStatus.Pending || request.generation === GenerationStatus.Generating;
    if (generating) {
      report.interrupted++;
      interrupted.push({ request, chunks });
    }
  }
  for (const op of writes) await repository.apply(op);
  for (const { request, chunks } of active) {
    if (interrupted.some((i) => i.request === request)) writer.reopen(request, storedPrefix(chunks));
    stations.get(request.campaignId).enqueue(request, chunks, now.getTime());
  }
  if (active.length > 0) log.info(report, `${AUDIO_DEBUG} recovered stations`);
  for (const { request, chunks } of interrupted) {
    log.info(
      { request: request.id, campaign: request.campaignId, storedChunks: chunks.length },
      `${AUDIO_DEBUG} generation interrupted by a restart; it continues`,
    );
  }
  return { report, interrupted };
}

/** How many chunks are stored without a gap from sequence 0 (the writer commits in order, so all of them). */
function storedPrefix(chunks: RequestWithChunks['chunks']): number {
  let n = 0;
  while (chunks[n]?.sequenceNumber === n) n++;
  return n;
}
