/**
 * Prepared scenes end to end on PGlite: rendered in the background through
 * the real `openai` SDK against the fake OpenAI server and the real encoder,
 * stored outside the playback chunks, aired with no TTS call at all.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CastService } from '../../src/cast';
import { createNarrationService, type ManagedNarrationService } from '../../src/narration/create';
import { GenerationStatus, StationStatus } from '../../src/playback';
import { SceneService, SceneStatus } from '../../src/scenes';
import { useFakeOpenAi, useTestDatabase, useTestEngine } from '../support/hooks';

const TEXT =
  'The vault door grinds open.\nGrimble: Nobody has stood here in a thousand years.\nDust settles.';

const tdb = useTestDatabase('pglite');
const t = useTestEngine(tdb, { retentionMs: 1000 });
const openai = useFakeOpenAi({ msPerChar: 20, apiKey: 'sk-scene' });
const { server } = openai;
let service: ManagedNarrationService;
let scenes: SceneService;

beforeEach(async () => {
  service = await createNarrationService({
    engine: t.engine,
    apiKey: 'sk-scene',
    baseURL: openai.baseURL,
    voice: 'onyx',
    clock: t.clock,
  });
  scenes = newSceneService();
});

/** A scene service on this test's engine and narration service (a process's worth). */
function newSceneService(): SceneService {
  return new SceneService({
    prisma: tdb.db.prisma,
    store: t.engine.store,
    writer: t.engine.writer,
    campaigns: t.engine.campaigns,
    tts: service.tts,
    encoder: service.encoder,
    cast: new CastService({ prisma: tdb.db.prisma, voices: () => service.voices() }),
    clock: t.clock,
  });
}
afterEach(async () => {
  await scenes.close();
  await service.close();
});

const file = (key: string) => path.join(t.audioDir, key);

describe('prepared scenes', () => {
  it('renders in the background, then airs in one station tick with no TTS call', async () => {
    const saved = await scenes.save('c1', 'The Vault', TEXT);
    expect(saved.status).toBe(SceneStatus.Rendering);
    const ready = await scenes.whenRendered('c1', 'the vault');
    expect(ready).toMatchObject({ name: 'The Vault', status: SceneStatus.Ready, chunkCount: 3 });
    expect(server.stats.completed.speech).toBe(3);
    expect(new Set(server.speeches.map((s) => s.voice)).size).toBe(2); // narrator + Grimble

    server.resetStats();
    const clockBefore = t.clock.now();
    const wallBefore = performance.now();
    const request = await scenes.play('c1', 'THE VAULT');
    const wallMs = performance.now() - wallBefore;
    const station = t.engine.stations.get('c1');
    // On air without the station clock moving: nothing was waited for.
    expect(station.state.status).toBe(StationStatus.OnAir);
    expect(station.now()?.request.id).toBe(request.id);
    expect(t.clock.now()).toBe(clockBefore);
    expect(server.stats.calls.speech).toBe(0);
    expect(server.stats.calls.chat).toBe(0);
    const row = await tdb.repository.getRequest(request.id);
    expect(row?.request.generation).toBe(GenerationStatus.Generated);
    expect(row?.chunks.map((c) => [c.speaker ?? null, c.text])).toEqual([
      [null, 'The vault door grinds open.'],
      ['Grimble', 'Nobody has stood here in a thousand years.'],
      [null, 'Dust settles.'],
    ]);
    console.info(`[scene] queue → on air: ${wallMs.toFixed(1)} ms wall, 0 ms station clock, 0 TTS calls`);
  });

  it('keeps scene audio through cleanup, re-renders on edit and frees audio on delete', async () => {
    await scenes.save('c1', 'Vault', TEXT);
    await scenes.whenRendered('c1', 'Vault');
    const first = await tdb.db.prisma.sceneChunk.findMany({ where: {} });
    expect(first.every((c) => existsSync(file(c.opusKey)) && existsSync(file(c.mp3Key)))).toBe(true);

    // Air it, let it play out and expire: the request's chunks go, the scene's audio stays.
    const request = await scenes.play('c1', 'Vault');
    t.clock.advance(60_000);
    await t.engine.repository.flush();
    t.clock.advance(5_000);
    const cleaned = await t.engine.cleanup.runOnce();
    expect(cleaned.chunksDeleted).toBe(3);
    expect(await tdb.repository.getRequest(request.id).then((r) => r?.chunks.length)).toBe(0);
    expect(first.every((c) => existsSync(file(c.opusKey)))).toBe(true);

    // Editing renders again and frees the old version's audio.
    await scenes.save('c1', 'Vault', 'A different scene entirely.');
    const edited = await scenes.whenRendered('c1', 'Vault');
    expect(edited).toMatchObject({ status: SceneStatus.Ready, version: 2, chunkCount: 1 });
    expect(first.some((c) => existsSync(file(c.opusKey)))).toBe(false);
    const second = await tdb.db.prisma.sceneChunk.findMany({ where: {} });

    expect(await scenes.delete('c1', 'vault')).toBe(true);
    expect(second.some((c) => existsSync(file(c.opusKey)) || existsSync(file(c.mp3Key)))).toBe(false);
    expect(await scenes.list('c1')).toEqual([]);
  });

  it('a render cut short by a shutdown is rendered again at the next start, leaving no stray audio', async () => {
    server.setOptions({ ttsBaseLatencyMs: 200 });
    await scenes.save('c1', 'Vault', TEXT);
    await scenes.close(); // the process stops mid-render: the row stays RENDERING
    expect((await scenes.list('c1'))[0]).toMatchObject({ name: 'Vault', status: SceneStatus.Rendering });
    expect(await tdb.db.prisma.sceneChunk.count()).toBe(0);
    server.setOptions({ ttsBaseLatencyMs: 0 });

    scenes = newSceneService();
    expect(await scenes.resumeRendering()).toBe(1);
    const ready = await scenes.whenRendered('c1', 'Vault');
    expect(ready).toMatchObject({ status: SceneStatus.Ready, version: 1, chunkCount: 3 });
    const chunks = await tdb.db.prisma.sceneChunk.findMany({ orderBy: { sequenceNumber: 'asc' } });
    expect(chunks.map((c) => c.sequenceNumber)).toEqual([0, 1, 2]);
    expect(chunks.every((c) => existsSync(file(c.opusKey)) && existsSync(file(c.mp3Key)))).toBe(true);
    const stored = await readdir(path.join(t.audioDir, 'scenes', ready!.id));
    expect(stored.sort()).toEqual(
      chunks.flatMap((c) => [c.mp3Key, c.opusKey].map((k) => path.basename(k))).sort(),
    );
  });

  it('refuses bad input and unready scenes without queueing anything', async () => {
    await expect(scenes.save('c1', '../etc', 'x')).rejects.toMatchObject({ code: 'bad_name' });
    await expect(scenes.save('c1', 'Ok', '   ')).rejects.toMatchObject({ code: 'empty' });
    await expect(scenes.save('c1', 'Ok', 'a'.repeat(5000))).rejects.toMatchObject({ code: 'too_long' });
    await expect(scenes.play('c1', 'Nope')).rejects.toMatchObject({ code: 'not_found' });
    server.setOptions({ ttsBaseLatencyMs: 200 });
    await scenes.save('c1', 'Slow', 'It takes a while.');
    await expect(scenes.play('c1', 'Slow')).rejects.toMatchObject({ code: 'not_ready' });
    server.setOptions({ ttsBaseLatencyMs: 0 });
    server.failNext({ endpoint: 'speech', status: 400, count: 5 });
    await scenes.whenRendered('c1', 'Slow');
    await scenes.save('c1', 'Broken', 'This fails.');
    const broken = await scenes.whenRendered('c1', 'Broken');
    expect(broken?.status).toBe(SceneStatus.Failed);
    await expect(scenes.play('c1', 'Broken')).rejects.toMatchObject({ code: 'not_ready' });
    expect(t.engine.stations.get('c1').queue()).toHaveLength(0);
  });
});
