/**
 * Transcript and recap on PGlite with the fake OpenAI server: narrations go
 * on air, play out or are skipped, and are recorded with their speakers;
 * sessions split at long pauses or where the DM starts one; the session
 * comes out as Markdown; the LLM drafts a recap from it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CastService } from '../../src/cast';
import { createNarrationService, type ManagedNarrationService } from '../../src/narration/create';
import type { FakeChatMessage } from '../../src/narration/fake-openai-server';
import type { NarrationService } from '../../src/narration/service';
import { RecapService, sessionMarkdown, TranscriptRecorder, TranscriptService } from '../../src/transcript';
import { useFakeOpenAi, useTestDatabase, useTestEngine } from '../support/hooks';

const RECAP = 'Previously… the party braved the vault, and Grimble warned them away.';

const chats: FakeChatMessage[][] = [];
const tdb = useTestDatabase('pglite');
const t = useTestEngine(tdb);
const openai = useFakeOpenAi({
  msPerChar: 10,
  apiKey: 'sk-tr',
  reply: (messages) => {
    chats.push(messages);
    return RECAP;
  },
});
let service: ManagedNarrationService;
let narration: NarrationService;
let recorder: TranscriptRecorder;
let transcript: TranscriptService;

beforeEach(async () => {
  chats.length = 0;
  service = await createNarrationService({
    engine: t.engine,
    apiKey: 'sk-tr',
    baseURL: openai.baseURL,
    voice: 'onyx',
    clock: t.clock,
    cast: new CastService({ prisma: tdb.db.prisma, voices: () => service.voices() }),
  });
  recorder = new TranscriptRecorder({
    prisma: tdb.db.prisma,
    stations: t.engine.stations,
    repository: t.engine.repository,
    clock: t.clock,
  });
  narration = recorder.track(service);
  transcript = new TranscriptService({ prisma: tdb.db.prisma, clock: t.clock, sessionGapMs: 3 * 3600_000 });
});
afterEach(async () => {
  await recorder.close();
  await service.close();
});

/** Says `text` and lets the station play it to the end. */
async function airFully(text: string, by = '1234') {
  const handle = await narration.start({ campaignId: 'c1', text, mode: 'say', requestedBy: by });
  await handle.done;
  t.clock.advance(60_000);
  await recorder.flush();
  return handle.request.id;
}

describe('transcript', () => {
  it('records aired narrations with speakers, marks skipped ones, and splits sessions at long pauses', async () => {
    await airFully('The vault door grinds open.\nGrimble: Turn back!');
    // Skipped while the first of two sentences airs.
    const skipped = await narration.start({
      campaignId: 'c1',
      text: 'Dust falls. A shape moves.',
      mode: 'say',
      requestedBy: 'web:tok1',
    });
    await skipped.done;
    t.engine.stations.get('c1').skip();
    await recorder.flush();
    t.clock.advance(4 * 3600_000); // a long pause: the next narration opens a new session
    await airFully('Morning comes.');
    await transcript.startSession('c1', 'Session 2b');
    t.clock.advance(60_000);
    await airFully('A new chapter.');

    const sessions = await transcript.sessions('c1');
    expect(sessions.map((s) => [s.title, s.entries.length])).toEqual([
      [null, 2],
      [null, 1],
      ['Session 2b', 1],
    ]);
    const [first] = sessions;
    expect(first?.entries[0]).toMatchObject({
      status: 'PLAYED',
      requestedBy: '1234',
      lines: [
        { speaker: null, text: 'The vault door grinds open.', aired: true },
        { speaker: 'Grimble', text: 'Turn back!', aired: true },
      ],
    });
    expect(first?.entries[1]).toMatchObject({
      status: 'CANCELLED',
      requestedBy: 'web:tok1',
      lines: [
        { text: 'Dust falls.', aired: true },
        { text: 'A shape moves.', aired: false },
      ],
    });
    const md = sessionMarkdown(first!, { campaignName: 'Test campaign' });
    expect(md).toContain('# Test campaign — session of');
    expect(md).toContain('**Grimble:** Turn back!');
    expect(md).toContain('~~A shape moves.~~');
    expect(md).toContain('_(skipped after 1 of 2 sentences)_');
    expect(md).toContain('by <@1234>');
    expect((await transcript.session('c1', 'latest'))?.title).toBe('Session 2b');
  });

  it('drafts a recap from the last session with the LLM; the DM airs it, edits it or drops it', async () => {
    await airFully('Grimble: Nobody leaves the vault alive.');
    const recap = new RecapService({ llm: service.llm, transcript, narration });
    const draft = await recap.draft('c1');
    expect(draft).toMatchObject({ kind: 'draft', text: RECAP });
    expect(chats.at(-1)?.at(-1)?.content).toContain('Grimble: Nobody leaves the vault alive.');
    expect(recap.pending('c1')).toBe(RECAP);
    const aired = await recap.air('c1', '1234', 'Previously… an edited recap.');
    expect(aired.request.text).toBe('Previously… an edited recap.');
    expect(recap.pending('c1')).toBeNull();
    await recap.draft('c1');
    expect(recap.drop('c1')).toBe(true);
    await expect(recap.air('c1', '1234')).rejects.toThrow(/no recap/);
  });

  it('without an LLM says so instead of drafting', async () => {
    await airFully('Something happened.');
    const recap = new RecapService({ llm: null, transcript, narration });
    expect(await recap.draft('c1')).toMatchObject({ kind: 'no_llm' });
    expect(recap.available).toBe(false);
  });
});
