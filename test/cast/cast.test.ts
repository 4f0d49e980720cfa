/**
 * The cast on a real database (PGlite, and PostgreSQL when TEST_DATABASE_URL
 * is set), and cast narrations end to end: the real `openai` SDK against the
 * fake OpenAI server (LLM + TTS) and offline flite, the real encoder, the
 * writer and the station.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CastInputError, CastService, pickVoice } from '../../src/cast';
import { scanMp3 } from '../../src/media/mp3';
import { scanOggOpus } from '../../src/media/ogg';
import { createNarrationService, type ManagedNarrationService } from '../../src/narration/create';
import { CAST_INTRO } from '../../src/narration/llm';
import { FLITE_VOICES, OPENAI_TTS_VOICES } from '../../src/narration/tts';
import { backends } from '../support/db';
import { useFakeOpenAi, useTestDatabase, useTestEngine } from '../support/hooks';

const openaiVoices = async () => OPENAI_TTS_VOICES;
const OPENAI_IDS = OPENAI_TTS_VOICES.map((v) => v.id);

describe.each(backends)('cast storage on %s', (backend) => {
  const tdb = useTestDatabase(backend);
  useTestEngine(tdb);
  let cast: CastService;
  beforeEach(() => {
    cast = new CastService({ prisma: tdb.db.prisma, voices: openaiVoices });
  });

  it('sets, lists, renames by case and removes members', async () => {
    expect(await cast.set('c1', 'Grimble', 'onyx')).toEqual({ name: 'Grimble', voice: 'onyx', auto: false });
    await cast.set('c1', '  old   Mara ', 'sage');
    await cast.set('c1', 'GRIMBLE', 'fable');
    expect(await cast.list('c1')).toEqual([
      { name: 'GRIMBLE', voice: 'fable', auto: false },
      { name: 'old Mara', voice: 'sage', auto: false },
    ]);
    expect(await cast.remove('c1', 'grimble')).toBe(true);
    expect(await cast.remove('c1', 'grimble')).toBe(false);
    expect((await cast.list('c1')).map((m) => m.name)).toEqual(['old Mara']);
  });

  it('refuses bad input and changes nothing', async () => {
    await expect(cast.set('c1', 'Grimble', 'no-such-voice')).rejects.toBeInstanceOf(CastInputError);
    await expect(cast.set('c1', '<script>', 'onyx')).rejects.toMatchObject({ code: 'bad_name' });
    await expect(cast.set('c1', 'x'.repeat(40), 'onyx')).rejects.toMatchObject({ code: 'bad_name' });
    await expect(cast.set('c1', 'Narrator', 'onyx')).rejects.toMatchObject({ code: 'narrator_name' });
    expect(await cast.list('c1')).toEqual([]);
  });

  it('gives an unknown speaker a stable voice, never the narrator’s, and adds it to the cast once', async () => {
    const voices = await Promise.all(Array.from({ length: 5 }, () => cast.voiceFor('c1', 'Grimble', 'onyx')));
    const expected = pickVoice('Grimble', OPENAI_IDS, 'onyx');
    expect(new Set(voices)).toEqual(new Set([expected]));
    expect(expected).not.toBe('onyx');
    expect(await cast.list('c1')).toEqual([{ name: 'Grimble', voice: expected, auto: true }]);
    // The DM's choice wins from then on.
    await cast.set('c1', 'grimble', 'ash');
    expect(await cast.voiceFor('c1', 'GRIMBLE', 'onyx')).toBe('ash');
    // A voice the current engine lacks (the campaign went offline) falls back to this engine's pick.
    const offline = new CastService({ prisma: tdb.db.prisma, voices: async () => FLITE_VOICES });
    const fliteVoice = await offline.voiceFor('c1', 'Grimble', 'slt');
    expect(FLITE_VOICES.map((v) => v.id)).toContain(fliteVoice);
    expect(fliteVoice).not.toBe('slt');
    expect((await cast.list('c1'))[0]?.voice).toBe('ash');
  });

  it('never picks the narrator’s voice, for any name and narrator', () => {
    const pool = OPENAI_IDS;
    for (const narrator of pool) {
      for (const name of ['Grimble', 'Old Mara', 'a', 'Zed', 'Captain Vex', 'ëlf']) {
        expect(pickVoice(name, pool, narrator)).not.toBe(narrator);
        expect(pickVoice(name.toUpperCase(), pool, narrator)).toBe(pickVoice(name, pool, narrator));
      }
    }
    expect(pickVoice('Solo', ['slt'], 'slt')).toBe('slt');
  });
});

describe('cast narrations end to end', () => {
  const REPLY =
    'The gate creaks. <v Grimble>"Who goes there?"</v> A lantern swings. ' +
    '<v Old Mara>"Friends," she says, "only friends."</v> The wind drops.';
  const tdb = useTestDatabase('pglite');
  const t = useTestEngine(tdb);
  const openai = useFakeOpenAi({ reply: REPLY, msPerChar: 20, tokensPerSec: 0, apiKey: 'sk-cast' });
  const server = openai.server;
  let service: ManagedNarrationService | undefined;
  let cast: CastService;

  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  async function start(options: { flite?: boolean } = {}) {
    const voices: { service?: ManagedNarrationService } = {};
    cast = new CastService({
      prisma: tdb.db.prisma,
      voices: () => voices.service?.voices() ?? Promise.resolve([]),
    });
    service = await createNarrationService({
      engine: t.engine,
      cast,
      clock: t.clock,
      ...(options.flite
        ? { ttsProvider: 'flite' }
        : { apiKey: 'sk-cast', baseURL: openai.baseURL, voice: 'onyx' }),
    });
    voices.service = service;
    return service;
  }

  /** Airs `text` in campaign c1 to its end and returns its stored chunks. */
  async function airedChunks(s: ManagedNarrationService, text: string, mode: 'say' | 'narrate') {
    const handle = await s.start({ campaignId: 'c1', text, mode, requestedBy: 'dm' });
    expect(await handle.done).toMatchObject({ phase: 'done' });
    await t.engine.repository.flush();
    const row = await tdb.repository.getRequest(handle.request.id);
    return row?.chunks ?? [];
  }

  it('narrate: the LLM’s markup gives each line its speaker’s voice; never spoken, never captioned', async () => {
    const s = await start();
    await cast.set('c1', 'Grimble', 'fable');
    const chunks = await airedChunks(s, 'At the gate', 'narrate');
    const mara = pickVoice('Old Mara', OPENAI_IDS, 'onyx');
    expect(chunks.map((c) => [c.speaker ?? null, c.voice, c.text])).toEqual([
      [null, 'onyx', 'The gate creaks.'],
      ['Grimble', 'fable', '"Who goes there?"'],
      [null, 'onyx', 'A lantern swings.'],
      ['Old Mara', mara, '"Friends," she says, "only friends."'],
      [null, 'onyx', 'The wind drops.'],
    ]);
    // What the TTS server was asked to speak: no markup, the right voices.
    expect(server.speeches.map((x) => x.input).join(' ')).not.toMatch(/[<>]|\/v/);
    expect(new Set(server.speeches.map((x) => `${x.voice}:${x.input}`))).toEqual(
      new Set(chunks.map((c) => `${c.voice}:${c.text}`)),
    );
    // The new speaker joined the cast so the DM can change it.
    expect(await cast.list('c1')).toEqual([
      { name: 'Grimble', voice: 'fable', auto: false },
      { name: 'Old Mara', voice: mara, auto: true },
    ]);
    // The LLM was told the cast as it stood, and the next narration names both, spelt as stored.
    const system = () =>
      (server.lastRequestBody('chat') as { messages: { content: string }[] }).messages[0]!.content;
    expect(system()).toContain(`${CAST_INTRO} Grimble.`);
    await airedChunks(s, 'Later', 'narrate');
    expect(system()).toContain(`${CAST_INTRO} Grimble, Old Mara.`);
    // Gapless across voices: each chunk airs the moment the one before ends.
    const schedule = t.engine.stations.get('c1').schedule();
    expect(schedule).toHaveLength(chunks.length);
    for (let i = 1; i < schedule.length; i++) {
      const prev = schedule[i - 1]!;
      expect(schedule[i]!.startsAt).toBeCloseTo(prev.startsAt + prev.chunk.durationMs, 6);
    }
  });

  it('say: `Name:` lines are spoken by the cast, plain text by the narrator (offline flite voices)', async () => {
    const s = await start({ flite: true });
    const chunks = await airedChunks(s, 'The door opens.\nGrimble: Who goes there?\nSilence answers.', 'say');
    const grimble = pickVoice(
      'Grimble',
      FLITE_VOICES.map((v) => v.id),
      'slt',
    );
    expect(chunks.map((c) => [c.speaker ?? null, c.voice, c.text])).toEqual([
      [null, 'slt', 'The door opens.'],
      ['Grimble', grimble, 'Who goes there?'],
      [null, 'slt', 'Silence answers.'],
    ]);
    expect(grimble).not.toBe('slt');
    // Gapless across voices: flite voices differ in sample rate, the encoded chunks do not (one stream format).
    const formats = new Set<string>();
    for (const c of chunks) {
      const mp3 = scanMp3(await readFile(path.join(t.audioDir, c.mp3Key)));
      const opus = scanOggOpus(await readFile(path.join(t.audioDir, c.opusKey)));
      formats.add(`${mp3.sampleRate}/${mp3.channels} ${opus ? 'opus' : 'bad'}`);
    }
    expect(formats.size).toBe(1);
  });
});
