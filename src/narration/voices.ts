/**
 * Per-campaign voice choice on top of a {@link TtsProvider}: autocomplete
 * and falling back when a stored voice is not offered by the current engine
 * (e.g. the campaign picked an OpenAI voice and the bot now runs offline).
 */
import type { TtsProvider, TtsVoice } from './tts/types';

/** Discord shows at most 25 autocomplete choices. */
export const MAX_VOICE_CHOICES = 25;

/** Voices whose id or label contains `query` (case-insensitive), ids that start with it first. */
export async function searchVoices(
  provider: TtsProvider,
  query: string,
  limit = MAX_VOICE_CHOICES,
): Promise<TtsVoice[]> {
  const q = query.trim().toLowerCase();
  const voices = await provider.voices();
  const matches = voices.filter((v) => v.id.toLowerCase().includes(q) || v.label.toLowerCase().includes(q));
  const rank = (v: TtsVoice): number => (v.id.toLowerCase().startsWith(q) ? 0 : 1);
  return matches.sort((a, b) => rank(a) - rank(b)).slice(0, limit);
}

/** The voice to speak with: the campaign's choice if this engine has it, else the engine's default. */
export async function resolveVoice(
  provider: TtsProvider,
  requested: string | null | undefined,
): Promise<string> {
  if (!requested) return provider.defaultVoice;
  const voices = await provider.voices();
  return voices.some((v) => v.id === requested) ? requested : provider.defaultVoice;
}

/** Is `voice` one this engine offers (for validating `/voice set`)? */
export async function isKnownVoice(provider: TtsProvider, voice: string): Promise<boolean> {
  return (await provider.voices()).some((v) => v.id === voice);
}
