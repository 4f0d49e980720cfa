/**
 * End to end: a prompt through the real `openai` SDK to the fake OpenAI
 * server (streamed chat + speech), the real ffmpeg encoder, the writer and
 * the store on PGlite, and the station going on air. Also the offline demo
 * mode (scripted LLM in process, flite TTS).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scanMp3 } from '../../src/media/mp3';
import { scanOggOpus } from '../../src/media/ogg';
import { createNarrationService, type ManagedNarrationService } from '../../src/narration/create';
import { DEMO_NARRATIONS } from '../../src/narration/demo';
import { splitSentences } from '../../src/narration/splitter';
import { GenerationStatus, RequestStatus, StationStatus } from '../../src/playback';
import { useFakeOpenAi, useTestDatabase, useTestEngine } from '../support/hooks';

const REPLY =
  'Rain hammers the shutters of the old mill. A lantern swings above the door, throwing long shadows. ' +
  'Inside, something heavy is dragged across the floor. Then, silence.';
const MS_PER_CHAR = 40;

const tdb = useTestDatabase('pglite');
const t = useTestEngine(tdb);
const openai = useFakeOpenAi({ reply: REPLY, msPerChar: MS_PER_CHAR, tokensPerSec: 400, apiKey: 'sk-e2e' });
const { server } = openai;
let service: ManagedNarrationService | undefined;

afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Checks each stored chunk's files against the timing the row claims. */
async function expectChunksMatchFiles(requestId: string, texts: string[]) {
  await t.engine.repository.flush();
  const row = await tdb.repository.getRequest(requestId);
  expect(row?.chunks.map((c) => c.text)).toEqual(texts);
  for (const chunk of row?.chunks ?? []) {
    const opusFile = path.join(t.audioDir, chunk.opusKey);
    const mp3File = path.join(t.audioDir, chunk.mp3Key);
    expect(existsSync(opusFile) && existsSync(mp3File)).toBe(true);
    const opus = scanOggOpus(await readFile(opusFile));
    const mp3 = scanMp3(await readFile(mp3File));
    expect(chunk.sampleCount).toBe(opus?.playableSamples);
    expect(chunk.durationMs).toBeCloseTo(opus?.durationMs ?? -1, 6);
    expect(chunk.frameCount).toBe(mp3.frames.length);
    expect(Math.abs(mp3.playableSamples - chunk.sampleCount)).toBeLessThanOrEqual(960);
    expect(chunk.opusSizeBytes).toBe((await readFile(opusFile)).length);
  }
  return row;
}

describe('narration end to end', () => {
  it('prompt → OpenAI SDK → fake LLM + TTS → ffmpeg → stored chunks → on air with the right total', async () => {
    service = await createNarrationService({
      engine: t.engine,
      apiKey: 'sk-e2e',
      baseURL: openai.baseURL,
      ttsProvider: 'auto',
      voice: 'onyx',
      clock: t.clock,
    });
    expect(service.setup).toMatchObject({
      llm: { kind: 'openai', model: 'gpt-4o-mini' },
      tts: { provider: 'openai', defaultVoice: 'onyx' },
      ffmpeg: { source: '@ffmpeg-installer/ffmpeg' },
    });
    expect(service.llmAvailable).toBe(true);
    const handle = await service.start({
      campaignId: 'c1',
      text: 'The party reaches the mill at night.',
      mode: 'narrate',
      requestedBy: 'dm',
    });
    const sentences = splitSentences(REPLY);
    expect(await handle.done).toMatchObject({ phase: 'done', sentencesTotal: sentences.length });
    expect(server.stats.completed).toMatchObject({ chat: 1, speech: sentences.length });
    expect(
      (server.lastRequestBody('chat') as { messages: Array<{ content: string }> }).messages[1]?.content,
    ).toBe('The party reaches the mill at night.');
    expect(server.lastRequestBody('speech')).toMatchObject({ voice: 'onyx', response_format: 'pcm' });

    const row = await expectChunksMatchFiles(handle.request.id, sentences);
    // Each chunk lasts as long as the speech the fake made for it (to within one 20 ms Opus frame).
    for (const [i, chunk] of (row?.chunks ?? []).entries()) {
      expect(Math.abs(chunk.durationMs - (sentences[i] as string).length * MS_PER_CHAR)).toBeLessThan(20);
    }
    expect(row?.request).toMatchObject({
      status: RequestStatus.Playing,
      generation: GenerationStatus.Generated,
      totalChunks: sentences.length,
      mode: 'narrate',
      voice: 'onyx',
    });
    const station = t.engine.stations.get('c1');
    expect(station.state.status).toBe(StationStatus.OnAir);
    expect(station.now()).toMatchObject({
      request: { id: handle.request.id, totalChunks: sentences.length },
      chunkIndex: 0,
    });
    expect(station.schedule()).toHaveLength(sentences.length);
  });

  it('demo mode: narrate works offline with the scripted LLM and flite', async () => {
    service = await createNarrationService({ engine: t.engine, demo: true, clock: t.clock });
    expect(service.setup.llm.kind).toBe('demo');
    expect(service.setup.tts.provider).toBe('flite');
    expect(service.llmAvailable).toBe(true);
    const handle = await service.start({
      campaignId: 'c1',
      text: 'We walk into the tavern',
      mode: 'narrate',
      requestedBy: 'dm',
    });
    expect(handle.spokenVerbatim).toBe(false);
    const sentences = splitSentences(DEMO_NARRATIONS['tavern'] as string);
    expect(await handle.done).toMatchObject({ phase: 'done', sentencesTotal: sentences.length });
    await expectChunksMatchFiles(handle.request.id, sentences);
    expect(t.engine.stations.get('c1').now()?.request.id).toBe(handle.request.id);
  });
});
