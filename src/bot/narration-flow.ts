import { RateLimitedError, UnknownVoiceError, type NarrationHandle } from '../narration/service';
import type { NarrationMode } from '../playback';
import type { CommandContext } from './command';
import { NarrationProgressReply } from './progress';
import { OK, refuse, type CommandResult } from './refusals';
import { deferOnce, refusalMessage } from './replies';
import type { LeaveReason, VoiceManagerEvents } from './voice';

/** Shown when `/narrate` ran without an LLM. */
export const VERBATIM_NOTICE =
  'ℹ️ No LLM is configured, so I spoke your prompt exactly as written. (`/say` does that on purpose.)';

/**
 * `/narrate` and `/say`: defer (ephemeral — a DM's prompt is a spoiler),
 * start joining voice, create the request in the order the commands arrived
 * (a join never decides the order: each waits its turn in the guild's line),
 * then keep the reply updated until the request has aired.
 *
 * A request waits for a join this command started before it is created: the
 * station airs a request as soon as its first sentence is spoken, and a bot
 * still joining would start it mid-sentence (seen on the loopback: 2.3 s of
 * the first narration never reached Discord). Requests behind it in line
 * wait for it, so the order holds either way.
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
    const afterJoin = async (): Promise<NarrationHandle> => {
      const note = await joinNote;
      if (note) notes.push(note);
      return start();
    };
    handle = await (ctx.arrival ? ctx.arrival.run(afterJoin) : afterJoin());
  } catch (err) {
    if (err instanceof RateLimitedError) return refuse('rate_limited', { retryAfterMs: err.retryAfterMs });
    if (err instanceof UnknownVoiceError) return refuse('unknown_voice', { voice: err.voice });
    throw err;
  }
  if (handle.spokenVerbatim) notes.unshift(VERBATIM_NOTICE);

  // If Discord's voice gives out while this narration is followed, the DM reads why here.
  const onLeft = (e: VoiceManagerEvents['left'][0]): void => {
    const note = e.guildId === guildId ? voiceLostNote(e.reason, e.closeCode) : null;
    if (note) tracker.addNote(note);
  };
  const tracker: NarrationProgressReply = new NarrationProgressReply({
    interaction,
    handle,
    station: deps.stations.get(campaign.id),
    clock: deps.clock,
    log: ctx.log,
    editIntervalMs: deps.progressEditIntervalMs,
    notes,
    onFinished: () => {
      deps.tasks.delete(tracker);
      deps.voice.off('left', onLeft);
    },
  });
  deps.tasks.add(tracker);
  deps.voice.on('left', onLeft);
  tracker.start();
  ctx.log.info({ request: handle.request.id, mode, verbatim: handle.spokenVerbatim }, 'narration accepted');
  return OK;
}

/** What the DM is told when the bot loses the voice channel on its own (null: the DM or idle made it leave). */
export function voiceLostNote(reason: LeaveReason, closeCode?: number): string | null {
  const web = 'Web listeners (`/listen`) still hear it; `/join` brings me back.';
  const code = closeCode === undefined ? '' : ` (close code ${closeCode})`;
  switch (reason) {
    case 'reconnect_failed':
      return `⚠️ Lost the voice channel: Discord kept closing the connection${code}, so I stopped retrying. ${web}`;
    case 'rate_limited':
      return `⚠️ Discord rate-limited my voice connection${code}, so I left the channel. ${web}`;
    case 'kicked':
      return `⚠️ I was disconnected from the voice channel${code}. ${web}`;
    case 'channel_gone':
      return `⚠️ The voice call ended (channel deleted?)${code}. ${web}`;
    default:
      return null;
  }
}
