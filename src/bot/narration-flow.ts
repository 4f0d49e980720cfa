import { MessageFlags } from 'discord.js';
import { RateLimitedError, UnknownVoiceError, type NarrationHandle } from '../narration/service';
import type { NarrationMode } from '../playback';
import type { CommandContext } from './command';
import { NarrationProgressReply } from './progress';
import { OK, refuse, type CommandResult } from './refusals';
import { refusalMessage, respond } from './replies';

/** Shown when `/narrate` ran without an LLM. */
export const VERBATIM_NOTICE =
  'ℹ️ No LLM is configured, so I spoke your prompt exactly as written. (`/say` does that on purpose.)';

/**
 * `/narrate` and `/say`: defer (ephemeral — a DM's prompt is a spoiler), make
 * sure the bot is in voice, start the narration, then keep the reply updated
 * until the request has aired.
 */
export async function runNarration(
  ctx: CommandContext,
  mode: NarrationMode,
  text: string,
): Promise<CommandResult> {
  const { interaction, deps, campaign, caller, guildId } = ctx;
  const receivedAt = deps.clock.now();
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });

  const notes: string[] = [];
  if (!deps.voice.channelOf(guildId)) {
    const target = caller.voiceChannelId ?? campaign.voiceChannelId;
    if (target) {
      await respond(interaction, '🎙️ joining voice…');
      const joined = await deps.voice.join(campaign, target);
      // Web listeners still hear it, so a failed join doesn't stop the narration.
      if (!joined.ok) {
        notes.push(
          `⚠️ ${refusalMessage(refuse('join_failed', { why: joined.why, ...(joined.missing ? { missing: joined.missing } : {}) }))}`,
        );
      }
    }
  }

  let handle: NarrationHandle;
  try {
    handle = await deps.narration.start({
      campaignId: campaign.id,
      text,
      mode,
      ...(campaign.ttsVoice ? { voice: campaign.ttsVoice } : {}),
      requestedBy: caller.userId,
      receivedAt,
    });
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
  ctx.log.info({ request: handle.request.id, mode, verbatim: handle.spokenVerbatim }, 'narration accepted');
  return OK;
}
