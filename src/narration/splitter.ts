/**
 * Incremental sentence splitter for streamed LLM text.
 *
 * Two stages, both fed incrementally and both independent of how the text is
 * cut into deltas (they wait whenever the next character could change a
 * decision):
 * 1. {@link MarkdownStripper} removes the markup an LLM may emit (emphasis,
 *    code ticks, headings, quotes, bullets, rules) and turns line structure
 *    into text: a newline that ends a block becomes a hard break (`\n`), a
 *    newline inside a wrapped paragraph becomes a space.
 * 2. The sentence stage cuts the clean text at sentence ends that are certain
 *    (terminator, whitespace, then a character that can start a sentence), at
 *    hard breaks, and inside over-long sentences at clause boundaries.
 *
 * Fast start: the narration's first chunk is only a phrase long (at most
 * `firstMaxChars`), so its speech is ready while the LLM is still writing,
 * and the second is at most a clause (`secondMaxChars`), so it is ready
 * before the short first one has finished playing. Cuts fall, in order of
 * preference, at a clause boundary (`,;:` or a dash), before a word that opens
 * a phrase ("as", "where", "into"…), at any space; never inside a word.
 */

/** Options for {@link createSentenceSplitter}. */
export interface SentenceSplitterOptions {
  /** A sentence longer than this is cut at a clause boundary (default 220). */
  maxChars?: number;
  /** The first chunk is cut when the first sentence is longer than this, for a fast start (default 36). */
  firstMaxChars?: number;
  /** Where a long first sentence is cut: the first clause or phrase boundary at or after this many chars (default 16). */
  firstMinChars?: number;
  /** The second chunk is cut at a clause boundary when longer than this (default 64), so it is ready in time. */
  secondMaxChars?: number;
}

/** Default {@link SentenceSplitterOptions.firstMaxChars}. */
export const FIRST_MAX_CHARS = 36;
/** Default {@link SentenceSplitterOptions.firstMinChars}. */
export const FIRST_MIN_CHARS = 16;
/** Default {@link SentenceSplitterOptions.secondMaxChars}. */
export const SECOND_MAX_CHARS = 64;

/** Turns a stream of text deltas into sentences ready for TTS. */
export interface SentenceSplitter {
  /** Feeds a delta; returns the sentences that became certainly complete (often none). */
  push(delta: string): string[];
  /** Ends the stream; returns whatever is left. The splitter is then ready for a new stream. */
  flush(): string[];
  /**
   * While the first chunk is still open: the cut it gets if its sentence runs
   * on past `firstMaxChars` with no better boundary before then (the first
   * clause boundary, else the first phrase boundary, at `firstMinChars` or
   * later), or it ends right there. A guess, to start speaking the first chunk
   * before the splitter is sure of it (the pipeline checks it against the
   * chunk that comes out); null when there is no boundary yet or the first
   * chunk is out.
   */
  tentativeFirst(): string | null;
}

const TERMINATORS = '.!?…';
const CLOSERS = `"'”’)]}»`;
/** Characters that cannot open a sentence even though they are not lowercase. */
const NON_OPENERS = `,;:.!?…)]}»”’-–—`;
const OPENERS = `"'“‘([{«`;
/** Words before a period that never end a sentence. */
const NON_TERMINAL_ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'mme',
  'mlle',
  'dr',
  'st',
  'mt',
  'ft',
  'prof',
  'capt',
  'cpt',
  'gen',
  'lt',
  'col',
  'sgt',
  'cmdr',
  'rev',
  'fr',
  'hon',
  'gov',
  'pres',
  'messrs',
  'e.g',
  'i.e',
  'cf',
  'vs',
  'viz',
  'approx',
  'ca',
  'no',
  'nos',
  'vol',
  'fig',
  'pp',
]);

/**
 * Words that open a phrase: a cut just before one falls where a reader may
 * pause ("The torchlight gutters | as you step…"). Conjunctions, relative
 * words and the longer prepositions; not the short ones that bind tightly
 * ("a cup of tea", "to the door").
 */
const PHRASE_OPENERS = new Set([
  'and',
  'but',
  'or',
  'yet',
  'as',
  'while',
  'when',
  'whenever',
  'where',
  'wherever',
  'until',
  'because',
  'though',
  'although',
  'unless',
  'whether',
  'before',
  'after',
  'then',
  'which',
  'who',
  'whose',
  'whom',
  'into',
  'onto',
  'toward',
  'towards',
  'through',
  'across',
  'along',
  'beneath',
  'below',
  'beside',
  'behind',
  'beyond',
  'between',
  'under',
  'over',
  'above',
  'around',
  'among',
  'against',
  'within',
  'without',
  'past',
  'upon',
  'from',
  'with',
  'like',
]);

/** Words a chunk should not end on: they bind to what follows ("the", "of", "your", "against"). */
const BINDERS = new Set([
  'a',
  'an',
  'the',
  'of',
  'to',
  'in',
  'on',
  'at',
  'by',
  'for',
  'with',
  'from',
  'into',
  'onto',
  'upon',
  'over',
  'under',
  'across',
  'against',
  'along',
  'among',
  'around',
  'behind',
  'beneath',
  'beside',
  'between',
  'beyond',
  'through',
  'toward',
  'towards',
  'within',
  'without',
  'past',
  'near',
  'and',
  'or',
  'but',
  'my',
  'your',
  'his',
  'her',
  'its',
  'our',
  'their',
  'this',
  'that',
  'these',
  'those',
  'is',
  'are',
  'was',
  'were',
  'be',
  'not',
  'no',
  'very',
]);

/** Words a chunk should not start with: they finish the word before ("swings open", "looks up"). */
const PARTICLES = new Set(['open', 'up', 'down', 'out', 'off', 'away', 'back']);

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
const isWordChar = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}]/u.test(c);
const hasAlnum = (s: string): boolean => /[\p{L}\p{N}]/u.test(s);
const isLower = (c: string): boolean => c !== c.toUpperCase() && c === c.toLowerCase();

/** Splits `text` into sentences in one go (the whole text is the stream). */
export function splitSentences(text: string, options: SentenceSplitterOptions = {}): string[] {
  const splitter = createSentenceSplitter(options);
  return [...splitter.push(text), ...splitter.flush()];
}

/** Creates a {@link SentenceSplitter}. */
export function createSentenceSplitter(options: SentenceSplitterOptions = {}): SentenceSplitter {
  return new StreamingSentenceSplitter(options);
}

/**
 * Removes LLM markdown from `text`, keeping the words. Block ends (blank
 * lines, headings, list items) stay as newlines; wrapped lines are joined.
 */
export function stripMarkdown(text: string): string {
  const stripper = new MarkdownStripper();
  return (stripper.push(text) + stripper.end()).trim();
}

class StreamingSentenceSplitter implements SentenceSplitter {
  readonly #maxChars: number;
  readonly #firstMaxChars: number;
  readonly #firstMinChars: number;
  readonly #secondMaxChars: number;
  #stripper = new MarkdownStripper();
  /** Clean text not yet emitted. */
  #pending = '';
  /** Chunks emitted since the stream started. */
  #emitted = 0;

  constructor(options: SentenceSplitterOptions) {
    this.#maxChars = Math.max(20, options.maxChars ?? 220);
    this.#firstMaxChars = Math.max(20, options.firstMaxChars ?? FIRST_MAX_CHARS);
    this.#firstMinChars = Math.min(options.firstMinChars ?? FIRST_MIN_CHARS, this.#firstMaxChars);
    this.#secondMaxChars = Math.max(20, options.secondMaxChars ?? SECOND_MAX_CHARS);
  }

  push(delta: string): string[] {
    this.#pending += this.#stripper.push(delta);
    return this.#drain(false);
  }

  tentativeFirst(): string | null {
    if (this.#emitted > 0) return null;
    const text = this.#pending;
    const limit = this.#firstMaxChars;
    const cut =
      clauseBoundaries(text, limit).find((c) => c >= this.#firstMinChars) ??
      phraseBoundaries(text, limit).find((c) => c >= this.#firstMinChars);
    if (cut === undefined) return null;
    const chunk = text.slice(0, cut).replace(/\s+/g, ' ').trim();
    return chunk || null;
  }

  flush(): string[] {
    this.#pending += this.#stripper.end();
    const out = this.#drain(true);
    this.#stripper = new MarkdownStripper();
    this.#pending = '';
    this.#emitted = 0;
    return out;
  }

  #drain(final: boolean): string[] {
    const out: string[] = [];
    const emit = (s: string): void => {
      const sentence = s.replace(/\s+/g, ' ').trim();
      if (sentence) {
        out.push(sentence);
        this.#emitted++;
      }
    };
    for (;;) {
      const first = this.#emitted === 0;
      const limit = first
        ? this.#firstMaxChars
        : this.#emitted === 1
          ? Math.min(this.#secondMaxChars, this.#maxChars)
          : this.#maxChars;
      const boundary = findBoundary(this.#pending);
      // Without a certain boundary, the sentence is at least this long so far.
      const known = boundary ? this.#pending.slice(0, boundary.end) : this.#pending.trimEnd();
      if (known.length > limit) {
        // Fast-start chunks are cut early; others as late as the limit allows.
        const fastStart = first || limit < this.#maxChars;
        const cut = chooseCut(known.slice(0, limit + 1), limit, fastStart ? this.#firstMinChars : null);
        emit(this.#pending.slice(0, cut));
        this.#pending = this.#pending.slice(cut).replace(/^\s+/, '');
        continue;
      }
      if (boundary) {
        emit(known);
        this.#pending = this.#pending.slice(boundary.next);
        continue;
      }
      if (final) {
        emit(this.#pending);
        this.#pending = '';
      }
      return out;
    }
  }
}

/**
 * The first certain sentence end in `text`: `end` is where the sentence stops
 * (after terminators and closing quotes), `next` where the rest starts.
 * `null` when there is none yet (or it depends on characters not yet arrived).
 */
function findBoundary(text: string): { end: number; next: number } | null {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\n') {
      if (hasAlnum(text.slice(0, i))) return { end: i, next: i + 1 };
      continue;
    }
    if (!TERMINATORS.includes(ch)) continue;
    let j = i;
    while (j < text.length && TERMINATORS.includes(text[j] as string)) j++;
    const run = text.slice(i, j);
    while (j < text.length && CLOSERS.includes(text[j] as string)) j++;
    if (j === text.length) return null; // more terminators or closers may follow
    if (!isSpace(text[j])) {
      i = j - 1; // "3.14", "e.g.x", '"Hi!"she' are no sentence ends
      continue;
    }
    let m = j;
    while (m < text.length && isSpace(text[m]) && text[m] !== '\n') m++;
    if (m === text.length) return null; // wait for the character that decides
    const next = text[m] as string;
    const certain =
      next === '\n' ||
      (startsSentence(next) &&
        !(run === '.' && isNonTerminalAbbreviation(text, i)) &&
        hasAlnum(text.slice(0, j)));
    if (certain) return { end: j, next: m };
    i = j - 1;
  }
  return null;
}

function startsSentence(c: string): boolean {
  if (OPENERS.includes(c)) return true;
  return !isLower(c) && !NON_OPENERS.includes(c);
}

/** Is the period at `dot` the end of an abbreviation or initial that never ends a sentence? */
function isNonTerminalAbbreviation(text: string, dot: number): boolean {
  let start = dot;
  while (start > 0 && !isSpace(text[start - 1])) start--;
  let word = text.slice(start, dot);
  while (word && OPENERS.includes(word[0] as string)) word = word.slice(1);
  // Initials: "J.", "J.R.R." (a lone capital before a period is almost never a sentence end).
  if (/^(?:\p{Lu}\.)*\p{Lu}$/u.test(word)) return true;
  return NON_TERMINAL_ABBREVIATIONS.has(word.toLowerCase());
}

/**
 * Where to cut a sentence longer than `limit`: `text` holds its first
 * `limit + 1` characters (so the cut depends on nothing that arrives later).
 * For the first two chunks (`firstMin` set), the first clause boundary at or after
 * `firstMin`, else the first phrase boundary there, else the last clause
 * boundary past `firstMin / 2`; otherwise the last clause boundary in the
 * back 60%, else the last phrase boundary there; failing those the last
 * space not right after a binding word like "the" or "of", then any space;
 * failing that `limit`.
 */
function chooseCut(text: string, limit: number, firstMin: number | null): number {
  const clauses = clauseBoundaries(text, limit);
  const phrases = phraseBoundaries(text, limit);
  if (firstMin !== null) {
    const early =
      clauses.find((c) => c >= firstMin) ??
      phrases.find((c) => c >= firstMin) ??
      clauses.filter((c) => c >= firstMin / 2).pop();
    if (early !== undefined) return early;
  } else {
    const late =
      clauses.filter((c) => c >= limit * 0.4).pop() ?? phrases.filter((c) => c >= limit * 0.4).pop();
    if (late !== undefined) return late;
  }
  // The last space, preferably not right after a word that binds to the next ("the", "of").
  let anySpace = -1;
  for (let k = Math.min(limit, text.length - 1); k > 0; k--) {
    if (!isSpace(text[k]) || !hasAlnum(text.slice(0, k))) continue;
    if (anySpace < 0) anySpace = k;
    const previous = /([\p{L}']+)\s*$/u.exec(text.slice(0, k))?.[1]?.toLowerCase();
    // The next word must be whole inside `text` to be judged (the cut may not depend on later text).
    const next = /^\s*([\p{L}']+)[^\p{L}']/u.exec(text.slice(k))?.[1]?.toLowerCase();
    if (next !== undefined && !BINDERS.has(previous ?? '') && !PARTICLES.has(next)) return k;
  }
  return anySpace > 0 ? anySpace : limit;
}

/** Cut positions just after a clause mark (`,;:`, `!?…`, a dash, a non-final period), in order. */
function clauseBoundaries(text: string, limit: number): number[] {
  const candidates: number[] = [];
  for (let k = 0; k < text.length; k++) {
    const ch = text[k] as string;
    let c = -1;
    if (ch === '—' || ch === '–') {
      c = k + 1;
    } else if (',;:'.includes(ch) || (TERMINATORS.includes(ch) && ch !== '.')) {
      c = k + 1;
    } else if (
      ch === '.' &&
      !isNonTerminalAbbreviation(text, k) &&
      !TERMINATORS.includes(text[k + 1] ?? '')
    ) {
      c = k + 1;
    }
    if (c < 0) continue;
    while (c < text.length && CLOSERS.includes(text[c] as string)) c++;
    const spaced = ch === '—' || ch === '–' || isSpace(text[c]);
    if (spaced && c <= limit && hasAlnum(text.slice(0, c))) candidates.push(c);
  }
  return candidates;
}

/**
 * Cut positions at the space before a {@link PHRASE_OPENERS} word, in order.
 * The whole word and the character after it must lie in `text` (the first
 * `limit + 1` characters), so a longer word that merely starts the same way
 * ("as" / "ask") is never mistaken for one.
 */
function phraseBoundaries(text: string, limit: number): number[] {
  const out: number[] = [];
  const word = /(?<=\s)([\p{L}']+)(?=[^\p{L}'])/gu;
  const words = [...text.matchAll(word)];
  for (const [n, m] of words.entries()) {
    const at = m.index - 1; // the space before the word
    const w = (m[1] as string).toLowerCase();
    if (at > limit || !PHRASE_OPENERS.has(w)) continue;
    // "as quickly as": a comparison, not a clause.
    if (w === 'as' && words[n + 2]?.[1]?.toLowerCase() === 'as') continue;
    const before = text.slice(0, at).trimEnd();
    // Not right after a clause mark (that boundary is already a clause one) and not after nothing.
    if (!hasAlnum(before) || /[,;:—–]$/.test(before)) continue;
    out.push(at);
  }
  return out;
}

type LineKind = 'plain' | 'heading' | 'item' | 'quote' | 'rule';
type LineStart = { kind: LineKind; markerLength: number } | 'more';

/**
 * Incremental markdown remover. Holds back only what the next characters
 * could still change (a line's first few characters, a newline, an `_`).
 */
class MarkdownStripper {
  #raw = '';
  #atLineStart = true;
  #lineKind: LineKind = 'plain';
  /** Clean text of the current line (for the "short title line" rule). */
  #line = '';
  #prevRaw = '';

  /** Feeds raw text; returns the clean text that is certain. */
  push(delta: string): string {
    this.#raw += delta.replace(/\r/g, '');
    return this.#run(false);
  }

  /** Ends the input; returns the rest. */
  end(): string {
    return this.#run(true);
  }

  #run(final: boolean): string {
    const raw = this.#raw;
    let out = '';
    let i = 0;
    while (i < raw.length) {
      if (this.#atLineStart) {
        let j = i;
        while (j < raw.length && isSpace(raw[j])) j++;
        if (j === raw.length) {
          if (final) i = j;
          break;
        }
        const start = classifyLineStart(raw.slice(j), final);
        if (start === 'more') {
          i = j;
          break;
        }
        this.#atLineStart = false;
        this.#lineKind = start.kind;
        this.#line = '';
        this.#prevRaw = ' ';
        i = j + start.markerLength;
        continue;
      }
      const ch = raw[i] as string;
      if (ch === '\n') {
        const decision = this.#lineBreak(raw, i, final);
        if (decision === null) break;
        out += decision.text;
        i = decision.next;
        this.#atLineStart = true;
        continue;
      }
      if (ch === '*' || ch === '`') {
        this.#prevRaw = ch;
        i++;
        continue;
      }
      if (ch === '_') {
        if (i + 1 === raw.length && !final) break;
        // Keep snake_case; drop _emphasis_ markers.
        const keep = isWordChar(this.#prevRaw) && isWordChar(raw[i + 1]);
        if (keep) {
          out += ch;
          this.#line += ch;
        }
        this.#prevRaw = ch;
        i++;
        continue;
      }
      const clean = isSpace(ch) ? ' ' : ch;
      out += clean;
      this.#line += clean;
      this.#prevRaw = ch;
      i++;
    }
    this.#raw = raw.slice(i);
    return out;
  }

  /** Decides what the newline at `at` becomes; `null` while the next line is not known well enough. */
  #lineBreak(raw: string, at: number, final: boolean): { text: string; next: number } | null {
    const kind = this.#lineKind;
    if (kind === 'heading' || kind === 'item' || kind === 'rule') return { text: '\n', next: at + 1 };
    let j = at;
    let newlines = 0;
    while (j < raw.length && isSpace(raw[j])) {
      if (raw[j] === '\n') newlines++;
      j++;
    }
    if (j === raw.length) return final ? { text: '\n', next: j } : null;
    if (newlines >= 2) return { text: '\n', next: j };
    const next = classifyLineStart(raw.slice(j), final);
    if (next === 'more') return null;
    const first = raw[j + next.markerLength];
    if (first === undefined && !final) return null;
    const line = this.#line.trim();
    const block = next.kind !== 'plain' && next.kind !== 'quote';
    const quoteEdge = (next.kind === 'quote') !== (kind === 'quote');
    // A short line with no punctuation before a capital is a title or a verse line, not wrapped prose.
    const titleLine = line.length < 50 && !/[.!?…,;:—–"'”’)]$/.test(line) && !isLower(first ?? 'a');
    return { text: block || quoteEdge || titleLine ? '\n' : ' ', next: j };
  }
}

/** Classifies the start of a line (`text` starts at its first non-space character). */
function classifyLineStart(text: string, final: boolean): LineStart {
  const newline = text.indexOf('\n');
  const line = newline < 0 ? text : text.slice(0, newline);
  const complete = newline >= 0 || final;
  if (/^[-*_][-*_ \t]*$/.test(line)) {
    if (!complete) return 'more';
    if (/^([-*_])(?:[ \t]*\1){2,}[ \t]*$/.test(line)) return { kind: 'rule', markerLength: line.length };
  }
  if (/^#{1,6}$/.test(line) && !complete) return 'more';
  const heading = /^#{1,6}(?:[ \t]+|$)/.exec(line);
  if (heading) return { kind: 'heading', markerLength: heading[0].length };
  const quote = /^>[ \t>]*/.exec(line);
  if (quote) return { kind: 'quote', markerLength: quote[0].length };
  if (/^(?:[-*+•]|\d{1,3}[.)]?)$/.test(line) && !complete) return 'more';
  const item = /^(?:[-*+•]|\d{1,3}[.)])[ \t]+/.exec(line);
  if (item) return { kind: 'item', markerLength: item[0].length };
  return { kind: 'plain', markerLength: 0 };
}
