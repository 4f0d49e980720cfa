/**
 * The one rule for "is there anything to say here", shared by every entry
 * point (web API, Discord `/say` and `/narrate`) so that text a voice can't
 * speak is refused up front with a clear reason instead of being queued and
 * then FAILED by the TTS engine.
 */

/** Why text with nothing speakable is refused (shown to the DM as is). */
export const NOTHING_SPEAKABLE =
  'there is nothing to speak in that text: it needs at least one letter or digit';

/** True when `text` holds at least one letter or digit (in any script). */
export function hasSpeakableText(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
