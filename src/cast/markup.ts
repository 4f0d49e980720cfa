/**
 * Speaker markup: who speaks each part of a narration.
 *
 * Two syntaxes, both parsed incrementally (the result never depends on how
 * the text is cut into deltas):
 * - inline tags, asked of the LLM and allowed in `say`: `<v Grimble>"Who goes
 *   there?"</v>` (WebVTT's voice span). A tag lasts until `</v>`, another
 *   `<v …>`, or the end of the line;
 * - line prefixes, for the DM's `say` only: a line starting `Grimble: ` is
 *   Grimble's up to its end.
 *
 * Anything else is the narrator's. Broken or unknown markup falls back to the
 * narrator and is dropped, never spoken: no `<` or `>` ever leaves the parser.
 */

/** A run of text and who speaks it (`null`: the narrator). */
export interface SpeakerSegment {
  speaker: string | null;
  text: string;
}

/** Options for {@link createSpeakerParser}. */
export interface SpeakerMarkupOptions {
  /** Recognise `Name: ` at the start of a line (the DM's `say` syntax). Default false. */
  lineSpeakers?: boolean;
}

/** Turns a stream of raw text into {@link SpeakerSegment}s. */
export interface SpeakerParser {
  /** Feeds a delta; returns the segments that are certain (consecutive ones of one speaker merged). */
  push(delta: string): SpeakerSegment[];
  /** Ends the stream; returns the rest. */
  end(): SpeakerSegment[];
}

/** Names that mean "the narrator" rather than a character. */
const NARRATOR_NAMES = new Set(['narrator', 'the narrator']);
/** The longest speaker name accepted (characters). */
export const MAX_SPEAKER_NAME = 32;
/** A tag is given up on (and dropped) if no `>` comes within this many characters. */
const MAX_TAG = 64;
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} '’.-]*$/u;
const LINE_NAME_RE = /^\p{Lu}[\p{L}\p{N}'’.-]*(?: [\p{L}\p{N}'’.-]+){0,2}$/u;
const NAME_CHAR_RE = /[\p{L}\p{N} '’.*_-]/u;

/**
 * A speaker name as written (trimmed, inner spaces collapsed, markdown
 * emphasis removed), `null` for the narrator, or `undefined` when `raw` is not
 * a valid name.
 */
export function normalizeSpeakerName(raw: string, strictLine = false): string | null | undefined {
  const name = raw.replace(/[*_]/g, '').replace(/\s+/g, ' ').trim();
  if (name === '' || name.length > MAX_SPEAKER_NAME) return undefined;
  if (!(strictLine ? LINE_NAME_RE : NAME_RE).test(name)) return undefined;
  if (NARRATOR_NAMES.has(name.toLowerCase())) return null;
  return name;
}

/** The key two spellings of one name share (case and spacing ignored). */
export function speakerKey(name: string): string {
  return name.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Creates a {@link SpeakerParser}. */
export function createSpeakerParser(options: SpeakerMarkupOptions = {}): SpeakerParser {
  return new StreamingSpeakerParser(options.lineSpeakers ?? false);
}

/** Parses a whole text at once. */
export function parseSpeakers(text: string, options: SpeakerMarkupOptions = {}): SpeakerSegment[] {
  const parser = createSpeakerParser(options);
  return mergeSegments([...parser.push(text), ...parser.end()]);
}

/** Removes every piece of speaker markup, keeping the words (captions, transcripts, LLM history). */
export function stripSpeakerMarkup(text: string, options: SpeakerMarkupOptions = {}): string {
  return parseSpeakers(text, options)
    .map((s) => s.text)
    .join('');
}

/** Joins neighbouring segments of the same speaker. */
export function mergeSegments(segments: SpeakerSegment[]): SpeakerSegment[] {
  const out: SpeakerSegment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last && last.speaker === s.speaker) last.text += s.text;
    else if (s.text) out.push({ ...s });
  }
  return out;
}

type Step = { kind: 'wait' } | { kind: 'advance'; by: number };

class StreamingSpeakerParser implements SpeakerParser {
  readonly #lineSpeakers: boolean;
  #raw = '';
  #atLineStart = true;
  #inline: string | null = null;
  #line: string | null = null;
  #out: SpeakerSegment[] = [];

  constructor(lineSpeakers: boolean) {
    this.#lineSpeakers = lineSpeakers;
  }

  push(delta: string): SpeakerSegment[] {
    this.#raw += delta.replace(/\r/g, '');
    return this.#run(false);
  }

  end(): SpeakerSegment[] {
    const out = this.#run(true);
    this.#raw = '';
    this.#atLineStart = true;
    this.#inline = null;
    this.#line = null;
    return out;
  }

  get #speaker(): string | null {
    return this.#inline ?? this.#line;
  }

  #emit(text: string): void {
    const speaker = this.#speaker;
    const last = this.#out[this.#out.length - 1];
    if (last && last.speaker === speaker) last.text += text;
    else this.#out.push({ speaker, text });
  }

  #run(final: boolean): SpeakerSegment[] {
    const raw = this.#raw;
    let i = 0;
    while (i < raw.length) {
      const ch = raw[i] as string;
      if (this.#atLineStart && this.#lineSpeakers && ch !== ' ' && ch !== '\t' && ch !== '\n') {
        const step = this.#lineStart(raw.slice(i), final);
        if (step.kind === 'wait') break;
        i += step.by;
        this.#atLineStart = false;
        continue;
      }
      if (ch === '\n') {
        this.#emit('\n');
        this.#inline = null;
        this.#line = null;
        this.#atLineStart = true;
        i++;
        continue;
      }
      if (ch === '<') {
        const step = this.#tag(raw.slice(i), final);
        if (step.kind === 'wait') break;
        i += step.by;
        continue;
      }
      if (ch === '>') {
        i++; // a stray closer is markup residue, never words
        continue;
      }
      if (ch !== ' ' && ch !== '\t') this.#atLineStart = false;
      this.#emit(ch);
      i++;
    }
    this.#raw = raw.slice(i);
    const out = this.#out.filter((s) => s.text !== '');
    this.#out = [];
    return out;
  }

  /** At the first non-blank character of a line: a `Name: ` prefix sets the line's speaker. */
  #lineStart(rest: string, final: boolean): Step {
    for (let k = 0; k < rest.length && k <= MAX_SPEAKER_NAME + 4; k++) {
      const c = rest[k] as string;
      if (c === ':') {
        if (k + 1 >= rest.length && !final) return { kind: 'wait' };
        const after = rest[k + 1];
        // `**Grimble:**` puts the emphasis after the colon.
        let skip = k + 1;
        while (rest[skip] === '*' || rest[skip] === '_') skip++;
        if (skip >= rest.length && !final) return { kind: 'wait' };
        const spaced = after === undefined || /[ \t]/.test(rest[skip] ?? ' ');
        const name = normalizeSpeakerName(rest.slice(0, k), true);
        if (name === undefined || !spaced) return { kind: 'advance', by: 0 };
        this.#line = name;
        return { kind: 'advance', by: skip };
      }
      if (!NAME_CHAR_RE.test(c)) return { kind: 'advance', by: 0 };
    }
    return rest.length > MAX_SPEAKER_NAME + 4 || final ? { kind: 'advance', by: 0 } : { kind: 'wait' };
  }

  /** At a `<`: a whole tag is applied and dropped; anything else drops the `<` (and a broken `<v`). */
  #tag(rest: string, final: boolean): Step {
    const broken = (): Step => {
      const prefix = /^<\/?v\b/i.exec(rest);
      return { kind: 'advance', by: prefix ? prefix[0].length : 1 };
    };
    if (rest.length === 1 || (rest.length === 2 && rest[1] === '/'))
      return final ? broken() : { kind: 'wait' };
    const body = rest[1] === '/' ? rest.slice(2) : rest.slice(1);
    if (!/^\p{L}/u.test(body)) return broken();
    for (let k = 1; k < rest.length && k <= MAX_TAG; k++) {
      const c = rest[k] as string;
      if (c === '\n' || c === '<') return broken();
      if (c === '>') {
        this.#applyTag(rest.slice(0, k + 1));
        return { kind: 'advance', by: k + 1 };
      }
    }
    return rest.length > MAX_TAG || final ? broken() : { kind: 'wait' };
  }

  #applyTag(tag: string): void {
    if (/^<\/\s*v\s*>$/i.test(tag)) {
      this.#inline = null;
      return;
    }
    const open = /^<v(?:\s+|\s*[:.=]\s*)([^<>]*)>$/i.exec(tag);
    if (open) {
      const name = normalizeSpeakerName((open[1] ?? '').replace(/^["']|["']$/g, ''));
      this.#inline = name ?? null;
    }
    // Any other tag (`<b>`, `<speak>`…) is markup the model made up: dropped, speaker unchanged.
  }
}
