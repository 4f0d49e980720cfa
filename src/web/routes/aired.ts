import { RequestStatus } from '../../playback';
import type { WebContext } from '../context';

/** Why a player may not fetch the audio of a queued request. */
export const NOT_AIRED = 'This narration has not aired yet.';

/**
 * True while a request waits in the queue (PENDING in station memory): its
 * audio is a spoiler for players until it goes on air (DESIGN.md rule 7).
 * Requests on air, finished, or only in storage are not "queued".
 */
export function notAiredYet(ctx: WebContext, campaignId: string, requestId: string): boolean {
  const entry = ctx.engine.stations.peek(campaignId)?.findRequest(requestId);
  return entry?.request.status === RequestStatus.Pending;
}
