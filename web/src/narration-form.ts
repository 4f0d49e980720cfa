/** The DM console's form rules, pure so they are tested without a DOM. */
import type { NarrationInput } from './api';

/** Longest narration text the server accepts. */
export const MAX_NARRATION_CHARS = 4000;

/** Raw form values. */
export interface NarrationFormValues {
  text: string;
  mode: string;
  voice: string;
}

/**
 * Turns form values into a request body, or a message saying what to fix.
 * The text is sent as typed (trimmed); an empty voice is left out.
 */
export function buildNarration(values: NarrationFormValues): NarrationInput | { error: string } {
  const text = values.text.trim();
  if (!text) return { error: 'Write something for the bard first.' };
  if (text.length > MAX_NARRATION_CHARS) {
    return {
      error: `That is ${text.length} characters; the limit is ${MAX_NARRATION_CHARS} (${text.length - MAX_NARRATION_CHARS} too many).`,
    };
  }
  if (!hasSpeakableText(text)) {
    return { error: 'There is nothing to speak in that text: write at least one word.' };
  }
  if (values.mode !== 'narrate' && values.mode !== 'say') return { error: 'Pick narrate or say.' };
  const voice = values.voice.trim();
  return voice ? { text, mode: values.mode, voice } : { text, mode: values.mode };
}

/** What the character counter under the text box says, and whether the text is over the limit. */
export function narrationCount(text: string): { label: string; over: number } {
  const length = text.trim().length;
  const over = Math.max(0, length - MAX_NARRATION_CHARS);
  const label =
    over > 0
      ? `${length} / ${MAX_NARRATION_CHARS}: ${over} over the limit, shorten it before sending`
      : `${length} / ${MAX_NARRATION_CHARS}`;
  return { label, over };
}

/** True when the text holds a letter or digit (the server's rule: src/narration/speakable.ts). */
export function hasSpeakableText(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}

/** The note shown after a `narrate` that no LLM wrote (the API's `spoken_verbatim`). */
export const VERBATIM_NOTE =
  'No LLM is configured on the server, so your prompt will be spoken exactly as written (as with Say).';

/** Ctrl+Enter or Cmd+Enter (not while composing text with an IME). */
export function isSubmitShortcut(event: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  isComposing?: boolean;
}): boolean {
  return event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing;
}
