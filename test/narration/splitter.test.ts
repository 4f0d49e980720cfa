import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSentenceSplitter, splitSentences, stripMarkdown } from '../../src/narration/splitter';

/** Feeds `deltas` one by one, recording after which delta each sentence came out. */
function feed(deltas: string[], options = {}): { sentences: string[]; emittedAt: number[] } {
  const splitter = createSentenceSplitter(options);
  const sentences: string[] = [];
  const emittedAt: number[] = [];
  deltas.forEach((delta, index) => {
    for (const s of splitter.push(delta)) {
      sentences.push(s);
      emittedAt.push(index);
    }
  });
  for (const s of splitter.flush()) {
    sentences.push(s);
    emittedAt.push(deltas.length);
  }
  return { sentences, emittedAt };
}

const noSpace = (s: string): string => s.replace(/\s+/g, '');
/** No fast start: every chunk is a whole sentence unless longer than `maxChars` (for the sentence rules). */
const WHOLE = { firstMaxChars: 220, secondMaxChars: 220 };

describe('sentence splitter', () => {
  it('emits a sentence as soon as the next one has certainly started', () => {
    const splitter = createSentenceSplitter();
    expect(splitter.push('The door creaks open.')).toEqual([]);
    expect(splitter.push(' ')).toEqual([]);
    expect(splitter.push('A')).toEqual(['The door creaks open.']);
    expect(splitter.push(' cold wind blows')).toEqual([]);
    expect(splitter.flush()).toEqual(['A cold wind blows']);
  });

  it('keeps abbreviations, initials and decimals inside the sentence', () => {
    expect(
      splitSentences(
        "Mr. Smith met Dr. Jones at St. Mary's on Mt. Doom. J. R. R. Tolkien paid 3.14 gold, e.g. a bargain, i.e. cheap. Mrs. Vance left at 5 p.m. The bell rang.",
        WHOLE,
      ),
    ).toEqual([
      "Mr. Smith met Dr. Jones at St. Mary's on Mt. Doom.",
      'J. R. R. Tolkien paid 3.14 gold, e.g. a bargain, i.e. cheap.',
      'Mrs. Vance left at 5 p.m.',
      'The bell rang.',
    ]);
    expect(splitSentences('Bring rope, torches, etc. You will need them. Red vs. Blue.')).toEqual([
      'Bring rope, torches, etc.',
      'You will need them.',
      'Red vs. Blue.',
    ]);
  });

  it('handles ellipses, dialogue and closing quotes', () => {
    expect(
      splitSentences(
        '"Run!" she cried. The ogre roared… Then silence. Wait... what was that? "Who goes there?" The guard steps out (slowly.) Behind him, nothing.',
      ),
    ).toEqual([
      '"Run!" she cried.',
      'The ogre roared…',
      'Then silence.',
      'Wait... what was that?',
      '"Who goes there?"',
      'The guard steps out (slowly.)',
      'Behind him, nothing.',
    ]);
    expect(splitSentences('“It is done,” he said. ‘Go.’ She went.')).toEqual([
      '“It is done,” he said.',
      '‘Go.’',
      'She went.',
    ]);
  });

  it('does not split at em dashes inside a sentence', () => {
    expect(
      splitSentences('You reach for the hilt — too late — and the blade falls. Darkness.', WHOLE),
    ).toEqual(['You reach for the hilt — too late — and the blade falls.', 'Darkness.']);
  });

  it('strips markdown and breaks at headings, list items and blank lines', () => {
    const text = [
      '## The Sunken Chapel',
      '',
      'You descend the **stairs**. The air is *cold*',
      '',
      '- a rusted key',
      '* a torn _map_',
      '1. `first`',
      '2) second',
      '',
      '> A voice whispers your name.',
      '---',
      'The end',
    ].join('\n');
    expect(splitSentences(text)).toEqual([
      'The Sunken Chapel',
      'You descend the stairs.',
      'The air is cold',
      'a rusted key',
      'a torn map',
      'first',
      'second',
      'A voice whispers your name.',
      'The end',
    ]);
  });

  it('joins hard-wrapped prose but keeps short title lines apart', () => {
    expect(
      splitSentences(
        'The rain had not stopped for three days and the river\nwas rising fast. The Ferryman\nHe waits.',
        WHOLE,
      ),
    ).toEqual([
      'The rain had not stopped for three days and the river was rising fast.',
      'The Ferryman',
      'He waits.',
    ]);
  });

  it('keeps snake_case and does not break on asterisks split across tokens', () => {
    expect(
      feed(['The ', '*', '*', 'gate', '*', '*', ' opens', '.', ' It', ' is snake', '_', 'case.']).sentences,
    ).toEqual(['The gate opens.', 'It is snake_case.']);
  });

  it('cuts very long sentences at clause boundaries', () => {
    const long =
      'The corridor stretches ahead of you, lined with statues of forgotten kings whose stone eyes seem to follow your every step; the torches gutter in a wind you cannot feel, and somewhere far below water drips steadily, counting the seconds until something wakes, and you realise with a chill that settles deep in your bones that the footprints ahead are fresh.';
    const out = splitSentences(`Listen. ${long}`, WHOLE);
    expect(out[0]).toBe('Listen.');
    for (const s of out.slice(1)) expect(s.length).toBeLessThanOrEqual(220);
    expect(out.length).toBe(3);
    expect(out[1]).toMatch(/[;,]$/);
    expect(noSpace(out.join(''))).toBe(noSpace(`Listen. ${long}`));
  });

  it('starts fast: a first chunk of a phrase, a second of a clause, then whole sentences', () => {
    expect(
      splitSentences(
        'The torchlight gutters as you step past the threshold, and the smell of old stone rises to meet you. Somewhere below, water drips in a slow and patient rhythm.',
      ),
    ).toEqual([
      'The torchlight gutters',
      'as you step past the threshold,',
      'and the smell of old stone rises to meet you.',
      'Somewhere below, water drips in a slow and patient rhythm.',
    ]);
    // A clause boundary is preferred to a phrase boundary; neither leaves a chunk ending on "the".
    expect(
      splitSentences(
        'Beneath the shattered vault of the old observatory, where the brass telescopes have long since rusted, you find the astronomer waiting. He smiles.',
      ),
    ).toEqual([
      'Beneath the shattered vault',
      'of the old observatory,',
      'where the brass telescopes have long since rusted, you find the astronomer waiting.',
      'He smiles.',
    ]);
    expect(
      splitSentences('At the gate, a guard with a long spear bars your way and demands a toll.'),
    ).toEqual(['At the gate, a guard', 'with a long spear bars your way and demands a toll.']);
    // Short sentences are never cut; "as" is a phrase opener, "ask" is not.
    expect(splitSentences('Roll for initiative. The goblins ask for gold as tribute.')).toEqual([
      'Roll for initiative.',
      'The goblins ask for gold as tribute.',
    ]);
  });

  it('hard-splits at a space when there is no clause boundary', () => {
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const out = splitSentences(words, { maxChars: 60, firstMaxChars: 60 });
    for (const s of out) expect(s.length).toBeLessThanOrEqual(60);
    expect(out.join(' ')).toBe(words);
  });

  it('outputs trimmed, single-spaced, non-empty sentences and resets after flush', () => {
    const splitter = createSentenceSplitter();
    expect(splitter.push('  Hello   there,\tfriend.   \n\n\n  ')).toEqual([]);
    expect(splitter.flush()).toEqual(['Hello there, friend.']);
    expect(splitter.flush()).toEqual([]);
    expect(splitter.push('Again. ')).toEqual([]);
    expect(splitter.flush()).toEqual(['Again.']);
  });

  it('stripMarkdown keeps words and block breaks', () => {
    expect(stripMarkdown('# Title\n\nSome **bold** and _it_ `code`.\n- item')).toBe(
      'Title\nSome bold and it code.\nitem',
    );
  });
});

/** Narration-like text with the constructs the splitter must survive. */
const fragment = fc.constantFrom(
  'The',
  'door',
  'opens',
  'Mr.',
  'Dr. Vex',
  'St.',
  'e.g.',
  'i.e.',
  'etc.',
  'J.',
  'R.',
  '3.14',
  '5 p.m.',
  '.',
  '!',
  '?',
  '...',
  '…',
  '"Run!"',
  'she cried.',
  '“Halt!”',
  '(quietly.)',
  ',',
  ';',
  ':',
  '—',
  ' – ',
  '**',
  '*',
  '_',
  '`',
  'snake_case',
  '\n',
  '\n\n',
  '\n# ',
  '\n- ',
  '\n* ',
  '\n1. ',
  '\n> ',
  '\n---\n',
  ' ',
  '  ',
  'A',
  'b',
  'lowercase',
  'Uppercase',
  '42',
);
const narration = fc
  .array(fc.oneof(fragment, fc.string({ maxLength: 6 })), { maxLength: 60 })
  .map((parts) => {
    // Join with single spaces mostly, sometimes with nothing, so tokens fuse too.
    return parts.map((p, i) => (i % 3 === 2 ? p : `${p} `)).join('');
  });
const longish = fc
  .array(fc.constantFrom('word', 'longer words', ',', ';', 'and then', '—'), {
    minLength: 20,
    maxLength: 120,
  })
  .map((w) => w.join(' '));
const text = fc.oneof(narration, longish, fc.string({ maxLength: 200 }));

/** Cuts `s` at random positions. */
const withCuts = (s: string) =>
  fc.array(fc.nat({ max: s.length }), { maxLength: 30 }).map((cuts) => {
    const points = [...new Set(cuts)].sort((a, b) => a - b);
    const deltas: string[] = [];
    let prev = 0;
    for (const p of points) {
      deltas.push(s.slice(prev, p));
      prev = p;
    }
    deltas.push(s.slice(prev));
    return deltas;
  });

describe('sentence splitter properties', () => {
  it('reproduces the input modulo whitespace and stripped markup', () => {
    fc.assert(
      fc.property(text, (input) => {
        const out = splitSentences(input);
        expect(noSpace(out.join(''))).toBe(noSpace(stripMarkdown(input)));
        for (const s of out) {
          expect(s).toBe(s.trim());
          expect(s).not.toBe('');
          expect(s).not.toMatch(/\s\s|[\n\t*`]/);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same sentences however the text is cut into tokens', () => {
    fc.assert(
      fc.property(
        text.chain((s) => withCuts(s).map((deltas) => ({ s, deltas }))),
        ({ s, deltas }) => {
          expect(feed(deltas).sentences).toEqual(splitSentences(s));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('respects the length limits', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 40, max: 300 }), (input, maxChars) => {
        const firstMaxChars = Math.max(20, Math.floor(maxChars / 2));
        const out = splitSentences(input, { maxChars, firstMaxChars });
        out.forEach((s, i) => expect(s.length).toBeLessThanOrEqual(i === 0 ? firstMaxChars : maxChars));
      }),
      { numRuns: 300 },
    );
  });

  it('emits each sentence no later than one sentence start after it ends', () => {
    // Streaming word by word, a sentence must be out by the time the next sentence's first word arrives.
    const sentences = [
      'The fog lifts.',
      'A ship appears!',
      '"Who commands it?" asks the mate.',
      'Nobody answers.',
    ];
    const words = sentences.join(' ').split(/(?<= )/);
    const { emittedAt } = feed(words);
    let wordIndex = 0;
    sentences.slice(0, -1).forEach((s, i) => {
      wordIndex += s.split(' ').length;
      expect(emittedAt[i]).toBe(wordIndex);
    });
  });
});
