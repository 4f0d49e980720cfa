/**
 * Which voice a character speaks with when the DM has not chosen one: picked
 * from the TTS engine's pool by a hash of the name, so the same name always
 * gets the same voice on the same engine, and never the narrator's.
 */
import { speakerKey } from './markup';

/** Gives a speaker of a campaign a voice (the pipeline's seam to the cast). */
export interface SpeakerVoiceResolver {
  /**
   * The voice `speaker` speaks with in `campaignId`: the cast's if this
   * engine has it, else a stable pick from the pool (and the speaker joins
   * the cast). Never throws: on any trouble it answers the stable pick.
   */
  voiceFor(campaignId: string, speaker: string, narratorVoice: string): Promise<string>;
  /** The names in `campaignId`'s cast, so the LLM spells its characters the same way each time. */
  names?(campaignId: string): Promise<string[]>;
}

/** FNV-1a, 32 bit: small, stable across runs and platforms. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The voice for `name` from `pool` (voice ids in the engine's order), never
 * `narratorVoice` unless the pool has nothing else.
 */
export function pickVoice(name: string, pool: readonly string[], narratorVoice: string): string {
  const others = pool.filter((v) => v !== narratorVoice);
  if (others.length === 0) return narratorVoice;
  return others[hash(speakerKey(name)) % others.length] as string;
}
