import { hasSpeakableText } from '../narration/speakable';
import { refuse, type Refusal } from './refusals';

/** Longest `/narrate` prompt. */
export const PROMPT_MAX = 2000;
/** Longest `/say` text. */
export const SAY_MAX = 4000;
/** `/campaign idle-timeout` bounds, in minutes. */
export const IDLE_MINUTES_MIN = 1;
export const IDLE_MINUTES_MAX = 240;

/**
 * Checks a required text option: present, not blank, at most `max`
 * characters, something a voice can speak (the rule the web API uses too).
 * Discord enforces the length on its side; this guards against stale command
 * definitions and direct API calls.
 */
export function validateText(
  value: string | null,
  option: string,
  max: number,
): { ok: true; value: string } | Refusal {
  const text = (value ?? '').trim();
  if (text === '') return refuse('empty_option', { option });
  if (text.length > max) return refuse('too_long', { option, max, length: text.length });
  if (!hasSpeakableText(text)) return refuse('nothing_speakable', { option });
  return { ok: true, value: text };
}

/** Checks an integer option against inclusive bounds. */
export function validateInteger(
  value: number | null,
  option: string,
  min: number,
  max: number,
): { ok: true; value: number } | Refusal {
  if (value === null) return refuse('empty_option', { option });
  if (!Number.isInteger(value) || value < min || value > max) {
    return refuse('out_of_range', { option, min, max, value });
  }
  return { ok: true, value };
}
