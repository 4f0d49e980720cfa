import { MessageFlags } from 'discord.js';
import type { Repliable } from './interaction';
import { NOTHING_SPEAKABLE } from '../narration/speakable';
import type { Refusal } from './refusals';

/**
 * The one place that words refusals and sends replies. Every reply goes out
 * through {@link respond}, which edits an interaction that was already
 * deferred or answered instead of replying twice (Discord rejects that).
 */

const NO_PINGS = { parse: [] as [] };

/** The friendly sentence for a refusal. */
export function refusalMessage(refusal: Refusal): string {
  switch (refusal.reason) {
    case 'guild_only':
      return 'Bardcast commands work inside a server, not in direct messages.';
    case 'closing':
      return 'Bardcast is restarting right now — try again in a minute.';
    case 'not_dm':
      return refusal.dmRoleId
        ? `Only the DM can do that: you need the <@&${refusal.dmRoleId}> role or the Manage Server permission.`
        : 'Only the DM can do that. No DM role is set yet, so it takes the Manage Server permission ' +
            '(someone with it can pick a role with `/campaign dm-role`).';
    case 'not_manager':
      return 'That setting needs the Manage Server permission.';
    case 'caller_not_in_voice':
      return 'Join a voice channel first, then try again.';
    case 'no_voice_channel':
      return (
        "I'm not in a voice channel and neither are you. Join one (or set the table's channel with " +
        '`/campaign voice-channel`) and try again.'
      );
    case 'bot_not_in_voice':
      return "I'm not in a voice channel here.";
    case 'nothing_on_air':
      return 'Nothing is on air right now.';
    case 'already_paused':
      return 'Already paused — `/resume` continues.';
    case 'not_paused':
      return "Nothing is paused — it's already playing.";
    case 'empty_option':
      return `\`${refusal.option}\` can't be empty.`;
    case 'nothing_speakable':
      return `\`${refusal.option}\`: ${NOTHING_SPEAKABLE}.`;
    case 'too_long':
      return `\`${refusal.option}\` is ${refusal.length} characters; the limit is ${refusal.max}. Split it into parts?`;
    case 'out_of_range':
      return `\`${refusal.option}\` must be between ${refusal.min} and ${refusal.max} (got ${refusal.value}).`;
    case 'not_a_voice_channel':
      return 'That is not a voice channel.';
    case 'rate_limited':
      return `Easy there — too many narrations at once. Try again in ${Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))} s.`;
    case 'unknown_voice':
      return `I don't know the voice \`${refusal.voice}\`. Pick one from the suggestions.`;
    case 'join_failed':
      return joinFailureMessage(refusal.why, refusal.missing);
  }
}

function joinFailureMessage(why: string, missing: readonly string[] | undefined): string {
  switch (why) {
    case 'missing_permissions':
      return `I can't join that channel: I'm missing ${(missing ?? []).join(', ') || 'permissions'} there.`;
    case 'channel_not_found':
      return "I can't see that voice channel (deleted, or hidden from me?).";
    case 'channel_full':
      return 'That voice channel is full.';
    case 'closing':
      return refusalMessage({ ok: false, reason: 'closing' });
    default:
      return "I couldn't connect to the voice channel in time. Try `/join` again in a moment.";
  }
}

/** The short apology for unexpected errors; details go to the log, never to Discord. */
export const APOLOGY = 'Sorry — something went wrong on my side. It has been logged; please try again.';

/**
 * Sends `content`: edits the reply when the interaction was deferred or
 * answered, replies otherwise. Ephemeral unless `visible` (an edit keeps the
 * visibility chosen when the reply was deferred).
 */
export async function respond(interaction: Repliable, content: string, visible = false): Promise<void> {
  const text = clamp(content);
  if (interaction.deferred || interaction.replied) {
    await interaction.editReply({ content: text, allowedMentions: NO_PINGS });
  } else if (visible) {
    await interaction.reply({ content: text, allowedMentions: NO_PINGS });
  } else {
    await interaction.reply({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  }
}

/**
 * Acknowledges the interaction (Discord's 3 s deadline) unless it already
 * was: call it before waiting on the database or the network. Ephemeral
 * unless `visible`; later answers edit it and keep that visibility.
 */
export async function deferOnce(interaction: Repliable, visible = false): Promise<void> {
  if (interaction.deferred || interaction.replied) return;
  await interaction.deferReply(visible ? {} : { flags: MessageFlags.Ephemeral });
}

/** Words and sends a refusal, ephemeral (unless the reply was already deferred for the table). */
export function sendRefusal(interaction: Repliable, refusal: Refusal): Promise<void> {
  return respond(interaction, `🚫 ${refusalMessage(refusal)}`);
}

/** Sends the apology; never throws (the interaction may have expired). */
export async function apologize(interaction: Repliable): Promise<void> {
  await respond(interaction, `😓 ${APOLOGY}`).catch(() => undefined);
}

/** Discord's message limit. */
export const MESSAGE_LIMIT = 2000;

/** Cuts text to Discord's limit, with an ellipsis. */
export function clamp(text: string, limit = MESSAGE_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
