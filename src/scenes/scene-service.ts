/**
 * Prepared scenes (DESIGN.md "Words"): read-aloud text the DM writes ahead,
 * rendered to audio in the background when saved, stored under the scene's
 * own keys (outside the playback chunks, so the retention cleanup never
 * touches it while the scene exists), and aired by queueing a request whose
 * chunks all exist already: no LLM, no TTS wait.
 */
import { randomUUID } from 'node:crypto';
import { splitAttributed } from '../cast/attributed-splitter';
import { MAX_SPEAKER_NAME, normalizeSpeakerName, speakerKey } from '../cast/markup';
import type { SpeakerVoiceResolver } from '../cast/voices';
import { systemClock, type Clock } from '../clock';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import { silentLogger, type Logger } from '../log';
import type { AudioEncoder } from '../narration/encoder';
import { describeError } from '../narration/retry';
import type { SentenceSplitterOptions } from '../narration/splitter';
import type { TtsProvider } from '../narration/tts/types';
import type { AudioStore, CampaignDirectory, PlaybackRequest, PlaybackRequestWriter } from '../playback';

/** Where a scene's audio is. */
export enum SceneStatus {
  Rendering = 'RENDERING',
  Ready = 'READY',
  Failed = 'FAILED',
}

/** A scene as the DM sees it. */
export type Scene = {
  id: string;
  campaignId: string;
  name: string;
  text: string;
  version: number;
  updatedAt: Date;
  chunkCount: number;
} & (
  | { status: SceneStatus.Rendering }
  | { status: SceneStatus.Ready; durationMs: number }
  | { status: SceneStatus.Failed; error: string }
);

/** Why a scene action was refused (bad input or state: nothing changed). */
export class SceneError extends Error {
  override readonly name = 'SceneError';
  constructor(
    readonly code: 'bad_name' | 'empty' | 'too_long' | 'not_found' | 'not_ready',
    message: string,
  ) {
    super(message);
  }
}

/** Options for {@link SceneService}. */
export interface SceneServiceOptions {
  prisma: PrismaClient;
  store: AudioStore;
  writer: Pick<PlaybackRequestWriter, 'create' | 'addChunk' | 'complete' | 'fail'>;
  campaigns: Pick<CampaignDirectory, 'get'>;
  tts: TtsProvider;
  encoder: AudioEncoder;
  cast?: SpeakerVoiceResolver | undefined;
  splitter?: SentenceSplitterOptions | undefined;
  /** Told who queued each scene request (the transcript's "by whom"). */
  onQueued?: ((requestId: string, requestedBy: string) => void) | undefined;
  /** Longest scene text (default 4000 characters). */
  maxChars?: number;
  clock?: Clock;
  logger?: Logger;
}

/** The scene text limit when none is configured. */
export const SCENE_MAX_CHARS = 4000;

/** Saves, renders, lists, deletes and airs prepared scenes. */
export class SceneService {
  readonly #o: SceneServiceOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Renders in progress by scene id; a newer save aborts the older render. */
  readonly #renders = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #closed = false;

  constructor(options: SceneServiceOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? silentLogger).child({ module: 'scenes' });
  }

  /** Creates or replaces the scene `name` and starts rendering it. Throws {@link SceneError}. */
  async save(campaignId: string, name: string, text: string): Promise<Scene> {
    const clean = sceneName(name);
    const body = text.replace(/\r/g, '').trim();
    if (!body || !/[\p{L}\p{N}]/u.test(body)) throw new SceneError('empty', 'the scene has nothing to read');
    const max = this.#o.maxChars ?? SCENE_MAX_CHARS;
    if (body.length > max) {
      throw new SceneError('too_long', `the scene is ${body.length} characters; the limit is ${max}`);
    }
    const nameKey = speakerKey(clean);
    const row = await this.#o.prisma.scene.upsert({
      where: { campaignId_nameKey: { campaignId, nameKey } },
      create: {
        id: randomUUID(),
        campaignId,
        nameKey,
        name: clean,
        text: body,
        status: SceneStatus.Rendering,
      },
      update: {
        name: clean,
        text: body,
        status: SceneStatus.Rendering,
        error: null,
        version: { increment: 1 },
      },
      include: { _count: { select: { chunks: true } } },
    });
    this.#startRender(row.id, row.version);
    return toScene(row, row._count.chunks);
  }

  /** The campaign's scenes, by name. */
  async list(campaignId: string): Promise<Scene[]> {
    const rows = await this.#o.prisma.scene.findMany({
      where: { campaignId },
      orderBy: { nameKey: 'asc' },
      include: { _count: { select: { chunks: true } } },
    });
    return rows.map((r) => toScene(r, r._count.chunks));
  }

  /** One scene, or null. */
  async get(campaignId: string, name: string): Promise<Scene | null> {
    const row = await this.#o.prisma.scene.findUnique({
      where: { campaignId_nameKey: { campaignId, nameKey: speakerKey(name) } },
      include: { _count: { select: { chunks: true } } },
    });
    return row ? toScene(row, row._count.chunks) : null;
  }

  /** Deletes the scene and frees its audio; false when there was none. */
  async delete(campaignId: string, name: string): Promise<boolean> {
    const row = await this.#o.prisma.scene.findUnique({
      where: { campaignId_nameKey: { campaignId, nameKey: speakerKey(name) } },
      include: { chunks: true },
    });
    if (!row) return false;
    this.#renders.get(row.id)?.controller.abort(new Error('scene deleted'));
    await this.#o.prisma.scene.deleteMany({ where: { id: row.id } });
    await this.#deleteFiles(row.chunks);
    this.#log.info({ campaign: campaignId, scene: row.id }, 'scene deleted; audio freed');
    return true;
  }

  /**
   * Queues the scene on the campaign's station from its stored audio: the
   * request is created with every chunk, so it airs as soon as the station
   * reaches it. Throws {@link SceneError} when missing or not rendered yet.
   */
  async play(
    campaignId: string,
    name: string,
    options: { receivedAt?: number; requestedBy?: string } = {},
  ): Promise<PlaybackRequest> {
    const row = await this.#o.prisma.scene.findUnique({
      where: { campaignId_nameKey: { campaignId, nameKey: speakerKey(name) } },
      include: { chunks: { orderBy: { sequenceNumber: 'asc' } } },
    });
    if (!row) throw new SceneError('not_found', `there is no scene "${name.trim().slice(0, 60)}"`);
    if (row.status !== SceneStatus.Ready || row.chunks.length === 0) {
      throw new SceneError(
        'not_ready',
        row.status === SceneStatus.Failed
          ? `"${row.name}" failed to render (${row.error ?? 'unknown error'}); save it again`
          : `"${row.name}" is still being rendered`,
      );
    }
    // Read everything first: a missing file refuses the play instead of airing half a scene.
    const audio = await Promise.all(
      row.chunks.map(async (c) => ({
        chunk: c,
        opus: await this.#o.store.get(c.opusKey),
        mp3: await this.#o.store.get(c.mp3Key),
      })),
    );
    const narrator = row.chunks.find((c) => c.speaker === null)?.voice ?? row.chunks[0]?.voice ?? null;
    const request = await this.#o.writer.create(campaignId, row.text, {
      mode: 'say',
      voice: narrator,
      receivedAt: options.receivedAt ?? this.#clock.now(),
    });
    this.#o.onQueued?.(request.id, options.requestedBy ?? `scene:${row.name}`);
    try {
      await Promise.all(
        audio.map(({ chunk, opus, mp3 }) =>
          this.#o.writer.addChunk(request.id, chunk.sequenceNumber, {
            text: chunk.text,
            speaker: chunk.speaker,
            voice: chunk.voice,
            audio: {
              opus,
              mp3,
              durationMs: chunk.durationMs,
              sampleCount: chunk.sampleCount,
              mp3FrameCount: chunk.frameCount,
            },
          }),
        ),
      );
      await this.#o.writer.complete(request.id, audio.length);
    } catch (error) {
      await this.#o.writer.fail(request.id, `scene could not be queued: ${describeError(error)}`);
      throw error;
    }
    this.#log.info({ campaign: campaignId, scene: row.id, request: request.id }, 'scene queued');
    return request;
  }

  /** Resolves when the scene's current render has finished (tests, the console). */
  async whenRendered(campaignId: string, name: string): Promise<Scene | null> {
    for (;;) {
      const scene = await this.get(campaignId, name);
      const render = scene ? this.#renders.get(scene.id) : undefined;
      if (!render) return scene;
      await render.done;
    }
  }

  /** Renders scenes left RENDERING by a restart (start-up). */
  async resumeRendering(): Promise<number> {
    const rows = await this.#o.prisma.scene.findMany({ where: { status: SceneStatus.Rendering } });
    for (const row of rows) this.#startRender(row.id, row.version);
    return rows.length;
  }

  /** Aborts renders in progress and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#renders.values()) r.controller.abort(new Error('shutting down'));
    await Promise.allSettled([...this.#renders.values()].map((r) => r.done));
  }

  #startRender(sceneId: string, version: number): void {
    if (this.#closed) return;
    const previous = this.#renders.get(sceneId);
    previous?.controller.abort(new Error('scene edited'));
    const controller = new AbortController();
    const done = (async () => {
      await previous?.done;
      await this.#render(sceneId, version, controller.signal);
    })()
      .catch((error: unknown) =>
        this.#log.error({ scene: sceneId, err: describeError(error) }, 'scene render crashed'),
      )
      .finally(() => {
        if (this.#renders.get(sceneId)?.controller === controller) this.#renders.delete(sceneId);
      });
    this.#renders.set(sceneId, { controller, done });
  }

  async #render(sceneId: string, version: number, signal: AbortSignal): Promise<void> {
    const { prisma, store, tts, encoder } = this.#o;
    const scene = await prisma.scene.findUnique({ where: { id: sceneId } });
    if (!scene || scene.version !== version || signal.aborted) return;
    const campaign = await this.#o.campaigns.get(scene.campaignId).catch(() => null);
    const known = new Set((await tts.voices()).map((v) => v.id));
    const narrator =
      campaign?.ttsVoice && known.has(campaign.ttsVoice) ? campaign.ttsVoice : tts.defaultVoice;
    const sentences = splitAttributed(scene.text, { lineSpeakers: true, splitter: this.#o.splitter });
    const written: { opusKey: string; mp3Key: string }[] = [];
    const started = this.#clock.now();
    try {
      const chunks: Prisma.SceneChunkCreateManyInput[] = [];
      for (const [seq, sentence] of sentences.entries()) {
        const voice =
          sentence.speaker === null || !this.#o.cast
            ? narrator
            : await this.#o.cast.voiceFor(scene.campaignId, sentence.speaker, narrator);
        const speech = await tts.synthesize({ text: sentence.text, voice, signal });
        const encoded = await encoder.encode(speech, signal);
        const base = `scenes/${sceneId}/v${version}-${String(seq).padStart(4, '0')}`;
        const keys = { opusKey: `${base}.opus`, mp3Key: `${base}.mp3` };
        await Promise.all([store.put(keys.opusKey, encoded.opus), store.put(keys.mp3Key, encoded.mp3)]);
        written.push(keys);
        chunks.push({
          sceneId,
          sequenceNumber: seq,
          text: sentence.text,
          speaker: sentence.speaker,
          voice,
          ...keys,
          durationMs: encoded.durationMs,
          sampleCount: encoded.sampleCount,
          frameCount: encoded.mp3FrameCount,
        });
      }
      const old = await prisma.sceneChunk.findMany({ where: { sceneId } });
      const committed = await prisma.$transaction(async (tx) => {
        const current = await tx.scene.findUnique({ where: { id: sceneId } });
        if (!current || current.version !== version || signal.aborted) return false;
        await tx.sceneChunk.deleteMany({ where: { sceneId } });
        await tx.sceneChunk.createMany({ data: chunks });
        await tx.scene.update({
          where: { id: sceneId },
          data: {
            status: SceneStatus.Ready,
            error: null,
            durationMs: chunks.reduce((sum, c) => sum + c.durationMs, 0),
          },
        });
        return true;
      });
      if (!committed) {
        await this.#deleteFiles(written);
        return;
      }
      await this.#deleteFiles(old.filter((o) => !written.some((w) => w.opusKey === o.opusKey)));
      this.#log.info(
        { scene: sceneId, chunks: chunks.length, renderMs: this.#clock.now() - started },
        'scene rendered',
      );
    } catch (error) {
      await this.#deleteFiles(written);
      if (signal.aborted) return;
      const reason = describeError(error);
      this.#log.warn({ scene: sceneId, err: reason }, 'scene render failed');
      await prisma.scene.updateMany({
        where: { id: sceneId, version },
        data: { status: SceneStatus.Failed, error: reason.slice(0, 500) },
      });
    }
  }

  async #deleteFiles(keys: readonly { opusKey: string; mp3Key: string }[]): Promise<void> {
    for (const k of keys) {
      await this.#o.store.delete(k.opusKey).catch(() => {});
      await this.#o.store.delete(k.mp3Key).catch(() => {});
    }
  }
}

function sceneName(raw: string): string {
  const name = normalizeSpeakerName(raw);
  if (!name) {
    throw new SceneError(
      'bad_name',
      `a scene name is 1–${MAX_SPEAKER_NAME} letters, digits, spaces, apostrophes, dots or hyphens`,
    );
  }
  return name;
}

function toScene(
  row: {
    id: string;
    campaignId: string;
    name: string;
    text: string;
    status: string;
    error: string | null;
    version: number;
    durationMs: number | null;
    updatedAt: Date;
  },
  chunkCount: number,
): Scene {
  const base = {
    id: row.id,
    campaignId: row.campaignId,
    name: row.name,
    text: row.text,
    version: row.version,
    updatedAt: row.updatedAt,
    chunkCount,
  };
  if (row.status === SceneStatus.Ready)
    return { ...base, status: SceneStatus.Ready, durationMs: row.durationMs ?? 0 };
  if (row.status === SceneStatus.Failed)
    return { ...base, status: SceneStatus.Failed, error: row.error ?? 'failed' };
  return { ...base, status: SceneStatus.Rendering };
}
