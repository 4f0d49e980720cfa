/**
 * DESIGN.md rule 7 on the wire: a player token never reads the DM's prompt,
 * nor the text of what has not aired (queue endpoint, `audio_stream_started`,
 * `playback_queue_updated`, `station_schedule`), nor fetches the audio of a
 * queued request; captions arrive as each chunk airs. A DM token reads
 * everything.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EncodedAudio, PlaybackRequest } from '../../src/playback';
import { serverMessageSchemas } from '../../src/web/protocol';
import type { QueueSnapshot } from '../../src/web/views';
import { openTestDatabase, type TestDatabase } from '../support/db';
import { toneAudio } from './support/audio';
import { startWebHarness, type WebHarness } from './support/server';
import type { TestSocket } from './support/ws-client';

let tdb: TestDatabase;
let h: WebHarness;
let tone: EncodedAudio;

beforeAll(async () => {
  tdb = await openTestDatabase('pglite');
  tone = await toneAudio(1000);
});
afterAll(async () => {
  await tdb.close();
});
beforeEach(async () => {
  await tdb.reset();
  h = await startWebHarness(tdb);
});
afterEach(async () => {
  await h.dispose();
});

const PROMPT_ON_AIR = 'the party reaches the inn';
const PROMPT_QUEUED = 'reveal that the innkeeper is the villain';
const SENTENCES = ['The door creaks.', 'A figure steps in.', 'Nobody moves.'];
const QUEUED_SENTENCE = 'The innkeeper smiles a crooked smile.';

/** A `narrate` request on air (three sentences) and another one queued behind it. */
async function onAirAndQueued(): Promise<{ onAir: PlaybackRequest; queued: PlaybackRequest }> {
  const w = h.t.engine.writer;
  const onAir = await w.create('c1', PROMPT_ON_AIR, { mode: 'narrate' });
  for (const [i, text] of SENTENCES.entries()) await w.addChunk(onAir.id, i, { text, audio: tone });
  await w.complete(onAir.id, SENTENCES.length);
  const queued = await w.create('c1', PROMPT_QUEUED, { mode: 'narrate' });
  await w.addChunk(queued.id, 0, { text: QUEUED_SENTENCE, audio: tone });
  await w.complete(queued.id, 1);
  return { onAir, queued };
}

const auth = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

async function queueAs(token: string): Promise<QueueSnapshot> {
  const res = await h.fetch('/api/campaigns/c1/audio/queue', auth(token));
  expect(res.status).toBe(200);
  return (await res.json()) as QueueSnapshot;
}

/** Waits for the schedule whose first (on-air) entry is `sequence`. */
async function scheduleAt(s: TestSocket, sequence: number): Promise<{ entries: { text: string | null }[] }> {
  for (;;) {
    const m = await s.next('station_schedule');
    const entries = m.entries as { sequence_number: number; text: string | null }[];
    if (entries[0]?.sequence_number === sequence) return { entries };
  }
}

const everything = (s: TestSocket) => JSON.stringify(s.messages);

describe('what a player may read', () => {
  it('WebSocket: no prompt, no queued text, each sentence as its chunk airs; the DM reads all', async () => {
    const { onAir, queued } = await onAirAndQueued();
    const player = await h.connect(h.token('player'));
    const dm = await h.connect(h.token('dm'));

    expect(await player.next('connection_registered')).toMatchObject({ role: 'player' });
    expect(await player.next('audio_stream_started')).toMatchObject({
      request_id: onAir.id,
      text: SENTENCES[0],
    });
    expect((await scheduleAt(player, 0)).entries.map((e) => e.text)).toEqual([SENTENCES[0], null, null]);
    const queue = await player.next('playback_queue_updated');
    expect(queue.pending_requests).toEqual([
      expect.objectContaining({ request_id: queued.id, text: null, mode: 'narrate', total_chunks: 1 }),
    ]);

    expect(await dm.next('connection_registered')).toMatchObject({ role: 'dm' });
    expect(await dm.next('audio_stream_started')).toMatchObject({ text: PROMPT_ON_AIR });
    expect((await scheduleAt(dm, 0)).entries.map((e) => e.text)).toEqual(SENTENCES);
    expect((await dm.next('playback_queue_updated')).pending_requests).toEqual([
      expect.objectContaining({ request_id: queued.id, text: PROMPT_QUEUED }),
    ]);

    // The second sentence is revealed when (not before) its chunk goes on air.
    expect(everything(player)).not.toContain(SENTENCES[1]);
    h.clock.advance(tone.durationMs);
    expect((await scheduleAt(player, 1)).entries.map((e) => e.text)).toEqual([SENTENCES[1], null]);
    h.clock.advance(tone.durationMs);
    expect((await scheduleAt(player, 2)).entries.map((e) => e.text)).toEqual([SENTENCES[2]]);

    // The queued narration goes on air: its sentence only now.
    expect(everything(player)).not.toContain(QUEUED_SENTENCE);
    h.clock.advance(tone.durationMs + 1_000);
    expect(await player.next('audio_stream_started')).toMatchObject({
      request_id: queued.id,
      text: QUEUED_SENTENCE,
    });
    expect((await scheduleAt(player, 0)).entries.map((e) => e.text)).toEqual([QUEUED_SENTENCE]);
    for (const secret of [PROMPT_ON_AIR, PROMPT_QUEUED]) expect(everything(player)).not.toContain(secret);
    for (const m of [...player.messages, ...dm.messages]) {
      serverMessageSchemas[m.type as keyof typeof serverMessageSchemas].strict().parse(m);
    }
  });

  it('queue endpoint: now playing up to the sentence on air, pending and history without text', async () => {
    const { onAir, queued } = await onAirAndQueued();
    h.clock.advance(tone.durationMs + 100);
    const player = await queueAs(h.token('player'));
    expect(player.now_playing).toMatchObject({
      request_id: onAir.id,
      text: `${SENTENCES[0]} ${SENTENCES[1]}`,
      sequence_number: 1,
    });
    expect(player.pending).toEqual([expect.objectContaining({ request_id: queued.id, text: null })]);
    const dm = await queueAs(h.token('dm'));
    expect(dm.now_playing?.text).toBe(PROMPT_ON_AIR);
    expect(dm.pending[0]?.text).toBe(PROMPT_QUEUED);

    h.clock.advance(10_000);
    await h.t.engine.repository.flush();
    const later = await queueAs(h.token('player'));
    expect(later.history.map((r) => [r.request_id, r.text, r.status])).toEqual([
      [queued.id, null, 'PLAYED'],
      [onAir.id, null, 'PLAYED'],
    ]);
    expect(JSON.stringify(later)).not.toMatch(/innkeeper|party/);
  });

  it('audio of a queued request is refused to players until it airs (chunks and stream)', async () => {
    const { queued } = await onAirAndQueued();
    const chunkId = h.t.engine.stations.get('c1').findRequest(queued.id)!.chunks[0]!.id;
    const player = h.token('player');
    for (const path of [`/api/audio/chunks/${chunkId}`, `/api/audio/stream/${queued.id}`]) {
      const res = await h.fetch(path, auth(player));
      expect(res.status, path).toBe(403);
      expect(await res.json()).toEqual({
        error: { code: 'forbidden', message: 'This narration has not aired yet.' },
      });
    }
    const dm = await h.fetch(`/api/audio/chunks/${chunkId}`, auth(h.token('dm')));
    expect(dm.status).toBe(200);
    await dm.arrayBuffer();
    h.clock.advance(3 * tone.durationMs + 1_000);
    expect(h.t.engine.stations.get('c1').findRequest(queued.id)?.request.status).toBe('PLAYING');
    const aired = await h.fetch(`/api/audio/chunks/${chunkId}`, auth(player));
    expect(aired.status).toBe(200);
    await aired.arrayBuffer();
  });
});
