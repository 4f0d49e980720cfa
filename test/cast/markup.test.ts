import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAttributedSplitter, splitAttributed } from '../../src/cast/attributed-splitter';
import { parseSpeakers, stripSpeakerMarkup } from '../../src/cast/markup';

/** Feeds `text` in the given cut points and collects the sentences. */
function streamed(text: string, cuts: number[], lineSpeakers: boolean) {
  const splitter = createAttributedSplitter({ lineSpeakers });
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out = [];
  let at = 0;
  for (const p of [...points, text.length]) {
    out.push(...splitter.push(text.slice(at, p)));
    at = p;
  }
  out.push(...splitter.flush());
  return out;
}

describe('speaker markup', () => {
  it('attributes inline tags and splits a sentence where the speaker changes', () => {
    const text =
      'The door creaks open. <v Grimble>"Who goes there?"</v> A lantern rises. <v Old Mara>"Only friends," she says.</v>';
    expect(splitAttributed(text)).toEqual([
      { speaker: null, text: 'The door creaks open.' },
      { speaker: 'Grimble', text: '"Who goes there?"' },
      { speaker: null, text: 'A lantern rises.' },
      { speaker: 'Old Mara', text: '"Only friends," she says.' },
    ]);
  });

  it('cuts mid-sentence at a change of speaker', () => {
    expect(splitAttributed('He leans in and <v Bob>whispers a name</v> before he dies.')).toEqual([
      { speaker: null, text: 'He leans in and' },
      { speaker: 'Bob', text: 'whispers a name' },
      { speaker: null, text: 'before he dies.' },
    ]);
  });

  it('reads the `Name:` line syntax in say mode only', () => {
    const text = 'Rain falls.\nGrimble: Who goes there? Speak!\nNarrator: Silence.\n**Old Mara:** Friends.';
    expect(splitAttributed(text, { lineSpeakers: true })).toEqual([
      { speaker: null, text: 'Rain falls.' },
      { speaker: 'Grimble', text: 'Who goes there?' },
      { speaker: 'Grimble', text: 'Speak!' },
      { speaker: null, text: 'Silence.' },
      { speaker: 'Old Mara', text: 'Friends.' },
    ]);
    expect(splitAttributed('Grimble: hi.').map((s) => s.speaker)).toEqual([null]);
    // Lower-case words, long phrases and times are not speakers.
    for (const line of ['note: the door is locked.', 'At 10:30 the bell rings.', 'See https://x.y now.']) {
      expect(splitAttributed(line, { lineSpeakers: true }).every((s) => s.speaker === null)).toBe(true);
    }
  });

  it('falls back to the narrator on broken or unknown markup, and never speaks it', () => {
    const cases = [
      '<v Grimble "Who goes there?" The wind howls.',
      'The <b>bold</b> knight <speak>arrives</speak>.',
      'Unclosed <v Grimble>"Hi!"\nThe wind howls.',
      'A stray > and < sign. <v !!!>odd</v> end.',
      '<v>empty</v> tag.',
    ];
    for (const text of cases) {
      const out = splitAttributed(text, { lineSpeakers: true });
      for (const s of out) expect(s.text).not.toMatch(/[<>]|\bv Grimble|\/v/);
    }
    expect(splitAttributed('Unclosed <v Grimble>"Hi!"\nThe wind howls.')).toEqual([
      { speaker: null, text: 'Unclosed' },
      { speaker: 'Grimble', text: '"Hi!"' },
      { speaker: null, text: 'The wind howls.' },
    ]);
    expect(stripSpeakerMarkup('<v Grimble>Hi</v> there')).toBe('Hi there');
    expect(parseSpeakers('<v narrator>Hi</v>')).toEqual([{ speaker: null, text: 'Hi' }]);
  });
});

// Text made of words, punctuation, newlines and markup (valid and broken).
const word = fc.constantFrom('the', 'Door', 'opens', 'slowly', 'Mara', 'x', '3.14', 'e.g.', '"Hi!"', 'it’s');
const piece = fc.oneof(
  { weight: 6, arbitrary: word.map((w) => `${w} `) },
  { weight: 2, arbitrary: fc.constantFrom('. ', '! ', '? ', ', ', '\n', '\n\n', '… ', '— ') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '<v Grimble>',
      '<v Old Mara>',
      '</v>',
      '<v',
      '<b>',
      '</',
      '<',
      '>',
      '<v !!>',
      'Grimble: ',
      '\nGrimble: ',
      '\nOld Mara: ',
      '\nnote: ',
      '**Bob:** ',
    ),
  },
);
const text = fc.array(piece, { maxLength: 60 }).map((parts) => parts.join(''));
/** The letters and digits of a text, in order (what must be spoken, whatever the punctuation). */
const letters = (s: string): string => s.replace(/[^\p{L}\p{N}]/gu, '');

describe('speaker attribution under streaming (properties)', () => {
  it('gives the same sentences and speakers however the text is cut', () => {
    fc.assert(
      fc.property(text, fc.array(fc.nat(2000), { maxLength: 30 }), fc.boolean(), (t, cuts, lines) => {
        expect(streamed(t, cuts, lines)).toEqual(splitAttributed(t, { lineSpeakers: lines }));
      }),
      { numRuns: 400 },
    );
  });

  it('never speaks or captions markup, and loses no word', () => {
    fc.assert(
      fc.property(text, fc.array(fc.nat(2000), { maxLength: 30 }), fc.boolean(), (t, cuts, lines) => {
        const out = streamed(t, cuts, lines);
        for (const s of out) {
          expect(s.text).not.toMatch(/[<>]/);
          expect(s.text).not.toMatch(/^\s*\/?v\b/);
        }
        // Every word outside markup is spoken, in order; nothing unspeakable goes to TTS.
        expect(letters(out.map((s) => s.text).join(' '))).toBe(
          letters(stripSpeakerMarkup(t, { lineSpeakers: lines })),
        );
        for (const s of out) expect(letters(s.text)).not.toBe('');
      }),
      { numRuns: 400 },
    );
  });

  it('gives each sentence inside a closed tag its speaker', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), (ws) => {
        const line = `${ws.join(' ').replace(/[.!?…"]/g, '')}`;
        if (!/[\p{L}\p{N}]/u.test(line)) return;
        const out = splitAttributed(`Intro. <v Grimble>${line}</v> Outro.`);
        expect(
          out
            .filter((s) => s.speaker === 'Grimble')
            .map((s) => s.text)
            .join(' '),
        ).toBe(line.replace(/\s+/g, ' ').trim());
      }),
      { numRuns: 200 },
    );
  });
});
