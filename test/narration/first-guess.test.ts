/**
 * The first chunk's speech starts on the splitter's guess of its cut, before
 * the cut is certain (src/narration/first-guess.ts): the guess is spoken
 * once when it comes true, cancelled when the text proves it wrong, and the
 * chunks are the splitter's either way.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NarrationPipeline, type PipelineTraceEvent } from '../../src/narration/pipeline';
import { createSentenceSplitter, splitSentences } from '../../src/narration/splitter';
import { useTestDatabase, useTestEngine } from '../support/hooks';
import { ControlledTts, FakeEncoder } from './support/fakes';

const OPENING = 'The torchlight gutters as you ';
const REST = 'step past the threshold, and the smell of old stone rises to meet you. Water drips.';

const tdb = useTestDatabase('pglite');
const t = useTestEngine(tdb);
let tts: ControlledTts;
let trace: PipelineTraceEvent[];
let services: NarrationPipeline[];

beforeEach(() => {
  tts = new ControlledTts();
  trace = [];
  services = [];
});
afterEach(async () => {
  for (const s of services) await s.close();
});

/** An LLM that writes `opening`, then waits for `release()` before writing `rest`. */
function gatedLlm(opening: string, rest: string) {
  let release!: () => void;
  let arrived!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const atGate = new Promise<void>((r) => (arrived = r));
  return {
    release: () => release(),
    atGate,
    llm: {
      async *streamNarration() {
        // Character by character: the guess must not depend on how the text is cut into deltas.
        for (const ch of opening) yield ch;
        arrived();
        await gate;
        for (const ch of rest) yield ch;
      },
    },
  };
}

async function narrate(llm: ReturnType<typeof gatedLlm>['llm'], guessFirstChunk?: boolean) {
  const s = new NarrationPipeline({
    engine: t.engine,
    tts,
    encoder: new FakeEncoder(),
    clock: t.clock,
    llm,
    onTrace: (e) => trace.push(e),
    ...(guessFirstChunk === undefined ? {} : { guessFirstChunk }),
  });
  services.push(s);
  return s.start({ campaignId: 'c1', text: 'enter the crypt', mode: 'narrate', requestedBy: 'dm' });
}

async function storedTexts(requestId: string): Promise<string[]> {
  await t.engine.repository.flush();
  return (await tdb.repository.getRequest(requestId))?.chunks.map((c) => c.text) ?? [];
}

describe('the first chunk spoken on a guess', () => {
  it('starts TTS on the likely cut while the LLM is still short of a certain one, and speaks it once', async () => {
    const { llm, release } = gatedLlm(OPENING, REST);
    const handle = await narrate(llm);
    // The LLM waits at the gate with 30 characters written: too few for the splitter to be sure.
    await tts.nextCall(1);
    expect(trace.some((e) => e.type === 'sentence')).toBe(false);
    expect(tts.calls.map((c) => c.text)).toEqual(['The torchlight gutters']);
    expect(trace.filter((e) => e.type === 'tts-guess')).toHaveLength(1);
    release();
    tts.auto = true;
    tts.pending.forEach((c) => c.resolve());
    expect(await handle.done).toMatchObject({ phase: 'done' });
    const chunks = splitSentences(OPENING + REST);
    expect(await storedTexts(handle.request.id)).toEqual(chunks);
    // Each chunk spoken exactly once: the guess was the first chunk's speech.
    expect(tts.calls.map((c) => c.text)).toEqual(chunks);
    expect(tts.calls.some((c) => c.aborted)).toBe(false);
  });

  it('cancels a guess the text proves wrong; the chunks are the splitter’s as without a guess', async () => {
    const rest = 'step, the flame dies. Darkness.';
    const { llm, release } = gatedLlm(OPENING, rest);
    const handle = await narrate(llm);
    await tts.nextCall(1);
    expect(tts.calls.map((c) => c.text)).toEqual(['The torchlight gutters']);
    release();
    tts.auto = true;
    expect(await handle.done).toMatchObject({ phase: 'done' });
    const chunks = splitSentences(OPENING + rest);
    expect(chunks[0]).toBe('The torchlight gutters as you step,');
    expect(await storedTexts(handle.request.id)).toEqual(chunks);
    // The comma moved the cut: the first guess was aborted, the second (the right cut) spoken.
    expect(tts.calls[0]).toMatchObject({ text: 'The torchlight gutters', aborted: true });
    expect(tts.calls.slice(1).map((c) => c.text)).toEqual(chunks);
  });

  it('makes no guess when told not to: TTS waits for the certain cut', async () => {
    const { llm, release, atGate } = gatedLlm(OPENING, REST);
    const handle = await narrate(llm, false);
    await atGate;
    // The splitter has seen all 30 characters (it runs as each one is yielded): nothing is spoken.
    await new Promise((r) => setImmediate(r));
    expect(tts.calls).toHaveLength(0);
    release();
    tts.auto = true;
    expect(await handle.done).toMatchObject({ phase: 'done' });
    expect(tts.calls.map((c) => c.text)).toEqual(splitSentences(OPENING + REST));
  });
});

describe('SentenceSplitter.tentativeFirst', () => {
  it('names the cut the first chunk gets, from the first character that shows it, until the chunk is out', () => {
    const text = OPENING + REST;
    const splitter = createSentenceSplitter();
    const seen: Array<{ at: number; guess: string | null }> = [];
    let first: string | undefined;
    for (let i = 0; i < text.length && first === undefined; i++) {
      first = splitter.push(text[i] as string)[0];
      seen.push({ at: i + 1, guess: first === undefined ? splitter.tentativeFirst() : null });
    }
    expect(first).toBe('The torchlight gutters');
    const guesses = seen.filter((s) => s.guess !== null);
    // From "The torchlight gutters as " (26 characters: "as" is a whole word) up to the certain cut at 37.
    expect(guesses[0]).toEqual({ at: 26, guess: 'The torchlight gutters' });
    expect(new Set(guesses.map((g) => g.guess))).toEqual(new Set(['The torchlight gutters']));
    expect(seen.at(-1)?.at).toBe(37);
    expect(splitter.tentativeFirst()).toBeNull();
  });

  it('guesses a short first sentence at its end, before the next one shows it is over', () => {
    const splitter = createSentenceSplitter();
    expect(splitter.push('The door swings open. ')).toEqual([]);
    expect(splitter.tentativeFirst()).toBe('The door swings open.');
    expect(splitter.push('A')).toEqual(['The door swings open.']);
    expect(splitter.tentativeFirst()).toBeNull();
  });
});
