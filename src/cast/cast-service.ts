/**
 * A campaign's cast (DESIGN.md "Words"): character names mapped to voices,
 * stored in `cast_members`. The DM sets, lists and removes members; a
 * speaker the narration meets for the first time is added with a stable
 * voice of its own (see {@link pickVoice}) so the DM can change it later.
 */
import type { PrismaClient } from '../generated/prisma/client';
import { silentLogger, type Logger } from '../log';
import type { TtsVoice } from '../narration/tts/types';
import { MAX_SPEAKER_NAME, normalizeSpeakerName, speakerKey } from './markup';
import { pickVoice, type SpeakerVoiceResolver } from './voices';

/** One character of a campaign's cast. */
export interface CastMember {
  name: string;
  voice: string;
  /** Added by Bardcast when the character first spoke, not by the DM. */
  auto: boolean;
}

/** Why a cast change was refused (bad input: nothing changed). */
export class CastInputError extends Error {
  override readonly name = 'CastInputError';
  constructor(
    readonly code: 'bad_name' | 'narrator_name' | 'unknown_voice',
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link CastService}. */
export interface CastServiceOptions {
  prisma: PrismaClient;
  /** The TTS engine's voices (the pool unknown speakers are given one from). */
  voices: () => Promise<readonly TtsVoice[]>;
  logger?: Logger;
}

/** Stores casts and answers which voice a speaker has. */
export class CastService implements SpeakerVoiceResolver {
  readonly #prisma: PrismaClient;
  readonly #voices: () => Promise<readonly TtsVoice[]>;
  readonly #log: Logger;
  /** Speakers being added right now, so concurrent sentences add one row, not two. */
  readonly #adding = new Map<string, Promise<string>>();

  constructor(options: CastServiceOptions) {
    this.#prisma = options.prisma;
    this.#voices = options.voices;
    this.#log = (options.logger ?? silentLogger).child({ module: 'cast' });
  }

  /** The campaign's cast, by name. */
  async list(campaignId: string): Promise<CastMember[]> {
    const rows = await this.#prisma.castMember.findMany({
      where: { campaignId },
      orderBy: { nameKey: 'asc' },
    });
    return rows.map((r) => ({ name: r.name, voice: r.voice, auto: r.auto }));
  }

  /** The cast's names (see {@link SpeakerVoiceResolver.names}). */
  async names(campaignId: string): Promise<string[]> {
    return (await this.list(campaignId)).map((m) => m.name);
  }

  /** Gives `name` the voice `voice` (adding the character if new). Throws {@link CastInputError}. */
  async set(campaignId: string, name: string, voice: string): Promise<CastMember> {
    const clean = validName(name);
    const voices = await this.#voices();
    const known = voices.find((v) => v.id === voice.trim());
    if (!known) throw new CastInputError('unknown_voice', `unknown voice "${voice.trim().slice(0, 40)}"`);
    const nameKey = speakerKey(clean);
    await this.#prisma.castMember.upsert({
      where: { campaignId_nameKey: { campaignId, nameKey } },
      create: { campaignId, nameKey, name: clean, voice: known.id, auto: false },
      update: { name: clean, voice: known.id, auto: false },
    });
    return { name: clean, voice: known.id, auto: false };
  }

  /** Removes `name` from the cast; false when it wasn't there. */
  async remove(campaignId: string, name: string): Promise<boolean> {
    const nameKey = speakerKey(name);
    const res = await this.#prisma.castMember.deleteMany({ where: { campaignId, nameKey } });
    return res.count > 0;
  }

  async voiceFor(campaignId: string, speaker: string, narratorVoice: string): Promise<string> {
    let pool: string[];
    try {
      pool = (await this.#voices()).map((v) => v.id);
    } catch {
      return narratorVoice;
    }
    const fallback = pickVoice(speaker, pool, narratorVoice);
    const nameKey = speakerKey(speaker);
    const key = `${campaignId}\u0000${nameKey}`;
    const pending = this.#adding.get(key);
    if (pending) return pending;
    const lookup = (async () => {
      const row = await this.#prisma.castMember.findUnique({
        where: { campaignId_nameKey: { campaignId, nameKey } },
      });
      if (row) {
        // A voice of another engine (the campaign moved from OpenAI to offline): this engine's pick, row kept.
        return pool.includes(row.voice) ? row.voice : fallback;
      }
      const name = normalizeSpeakerName(speaker) ?? speaker.slice(0, MAX_SPEAKER_NAME);
      await this.#prisma.castMember.createMany({
        data: [{ campaignId, nameKey, name, voice: fallback, auto: true }],
        skipDuplicates: true,
      });
      this.#log.info({ campaign: campaignId, speaker: name, voice: fallback }, 'new speaker joins the cast');
      return fallback;
    })()
      .catch((error: unknown) => {
        this.#log.warn(
          { campaign: campaignId, err: error instanceof Error ? error.message : String(error) },
          'cast unavailable; using the stable voice pick',
        );
        return fallback;
      })
      .finally(() => this.#adding.delete(key));
    this.#adding.set(key, lookup);
    return lookup;
  }
}

function validName(raw: string): string {
  const name = normalizeSpeakerName(raw);
  if (name === null)
    throw new CastInputError('narrator_name', 'the narrator is not a cast member: use /voice');
  if (name === undefined) {
    throw new CastInputError(
      'bad_name',
      `a name is 1–${MAX_SPEAKER_NAME} letters, digits, spaces, apostrophes, dots or hyphens`,
    );
  }
  return name;
}
