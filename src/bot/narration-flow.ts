import { RateLimitedError, UnknownVoiceError, type NarrationHandle } from '../narration/service';
import type { NarrationMode } from '../playback';
import type { CommandContext } from './command';
import { NarrationProgressReply } from './progress';
import { OK, refuse, type CommandResult } from './refusals';
import { deferOnce, refusalMessage } from './replies';

/** Shown when `/narrate` ran without an LLM. */
export const VERBATIM_NOTICE =
  'ℹ️ No LLM is configured, so I spoke your prompt exactly as written. (`/say` does that on purpose.)';

/**
 * `/narrate` and `/say`: defer (ephemeral — a DM's prompt is a spoiler),
 * create the request in the order the commands arrived while the bot joins
 * voice alongside (a join never decides the order), then keep the reply
 * updated until the request has aired.
 */
export async function runNarration(
  ctx: CommandContext,
  mode: NarrationMode,
  text: string,
): Promise<CommandResult> {
  const { interaction, deps, campaign, caller, guildId } = ctx;
  const receivedAt = deps.clock.now();
  await deferOnce(interaction);

  const notes: string[] = [];
  let joinNote: Promise<string | null> = Promise.resolve(null);
  const target = deps.voice.channelOf(guildId) ? null : (caller.voiceChannelId ?? campaign.voiceChannelId);
  if (target) {
    // Web listeners still hear it, so a failed join doesn't stop the narration; the reply says why.
    joinNote = deps.voice.join(campaign, target).then(
      (joined) =>
        joined.ok
          ? null
          : `⚠️ ${refusalMessage(refuse('join_failed', { why: joined.why, ...(joined.missing ? { missing: joined.missing } : {}) }))}`,
      (err: unknown) => {
        ctx.log.error({ err }, 'voice: join failed');
        return `⚠️ ${refusalMessage(refuse('join_failed', { why: 'timeout' }))}`;
      },
    );
  }

  let handle: NarrationHandle;
  try {
    const start = (): Promise<NarrationHandle> =>
      deps.narration.start({
        campaignId: campaign.id,
        text,
        mode,
        ...(campaign.ttsVoice ? { voice: campaign.ttsVoice } : {}),
        requestedBy: caller.userId,
        receivedAt,
      });
    handle = await (ctx.arrival ? ctx.arrival.run(start) : start());
  } catch (err) {
    if (err instanceof RateLimitedError) return refuse('rate_limited', { retryAfterMs: err.retryAfterMs });
    if (err instanceof UnknownVoiceError) return refuse('unknown_voice', { voice: err.voice });
    throw err;
  }
  if (handle.spokenVerbatim) notes.unshift(VERBATIM_NOTICE);

  const tracker: NarrationProgressReply = new NarrationProgressReply({
    interaction,
    handle,
    station: deps.stations.get(campaign.id),
    clock: deps.clock,
    log: ctx.log,
    editIntervalMs: deps.progressEditIntervalMs,
    notes,
    onFinished: () => deps.tasks.delete(tracker),
  });
  deps.tasks.add(tracker);
  tracker.start();
  void joinNote.then((note) => note && tracker.addNote(note));
  ctx.log.info({ request: handle.request.id, mode, verbatim: handle.spokenVerbatim }, 'narration accepted');
  return OK;
}
