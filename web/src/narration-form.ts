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
    return { error: `That is ${text.length} characters; the limit is ${MAX_NARRATION_CHARS}.` };
  }
  if (values.mode !== 'narrate' && values.mode !== 'say') return { error: 'Pick narrate or say.' };
  const voice = values.voice.trim();
  return voice ? { text, mode: values.mode, voice } : { text, mode: values.mode };
}

/** Ctrl+Enter or Cmd+Enter (not while composing text with an IME). */
export function isSubmitShortcut(event: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  isComposing?: boolean;
}): boolean {
  return event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing;
}
