/**
 * Speaker attribution as a layer over the sentence splitter: the markup
 * parser turns the raw stream into (speaker, text) runs, and each run goes
 * through the ordinary {@link SentenceSplitter}. Where the speaker changes,
 * the splitter is flushed, so a sentence is cut there and every sentence has
 * exactly one speaker. Deterministic: the same text gives the same sentences
 * and speakers however it was streamed, so a resumed generation can re-split
 * stored text and keep its voices.
 */
import { createSentenceSplitter, type SentenceSplitterOptions } from '../narration/splitter';
import { createSpeakerParser, speakerKey, type SpeakerMarkupOptions } from './markup';

/** A sentence ready for TTS, with who speaks it (`null`: the narrator). */
export interface AttributedSentence {
  speaker: string | null;
  text: string;
}

/** Options for {@link createAttributedSplitter}. */
export interface AttributedSplitterOptions extends SpeakerMarkupOptions {
  splitter?: SentenceSplitterOptions | undefined;
}

/** Turns a raw text stream (with speaker markup) into attributed sentences. */
export interface AttributedSplitter {
  push(delta: string): AttributedSentence[];
  flush(): AttributedSentence[];
  /** The narration's first chunk as the splitter would cut it now ({@link SentenceSplitter.tentativeFirst}), or null. */
  tentativeFirst(): AttributedSentence | null;
}

/** Creates an {@link AttributedSplitter}. */
export function createAttributedSplitter(options: AttributedSplitterOptions = {}): AttributedSplitter {
  const parser = createSpeakerParser(options);
  const splitterOptions = options.splitter ?? {};
  const first = createSentenceSplitter(splitterOptions);
  // Only the narration's very first chunk is cut short for a fast start, not the first after each change of voice.
  const later = createSentenceSplitter({
    ...splitterOptions,
    firstMaxChars: splitterOptions.maxChars ?? 220,
    secondMaxChars: splitterOptions.maxChars ?? 220,
  });
  let splitter = first;
  let speaker: string | null = null;
  let started = false;
  // A change of speaker can leave a bit of punctuation on its own (`</v>.`): nothing to speak, so dropped.
  const tag = (texts: string[], who: string | null): AttributedSentence[] =>
    texts.filter((text) => /[\p{L}\p{N}]/u.test(text)).map((text) => ({ speaker: who, text }));
  const feed = (segments: ReturnType<typeof parser.push>): AttributedSentence[] => {
    const out: AttributedSentence[] = [];
    for (const segment of segments) {
      const blank = segment.text.trim() === '';
      const same =
        (segment.speaker === null ? null : speakerKey(segment.speaker)) ===
        (speaker === null ? null : speakerKey(speaker));
      if (!blank && !same) {
        const flushed = splitter.flush();
        out.push(...tag(flushed, speaker));
        if (started || flushed.length > 0) splitter = later;
        speaker = segment.speaker;
      }
      const sentences = splitter.push(segment.text);
      if (sentences.length > 0) started = true;
      out.push(...tag(sentences, speaker));
    }
    return out;
  };
  return {
    push: (delta) => feed(parser.push(delta)),
    tentativeFirst: () => {
      if (started || splitter !== first) return null;
      const text = first.tentativeFirst();
      return text !== null && /[\p{L}\p{N}]/u.test(text) ? { speaker, text } : null;
    },
    flush: () => {
      const out = feed(parser.end());
      out.push(...tag(splitter.flush(), speaker));
      splitter = first;
      speaker = null;
      started = false;
      return out;
    },
  };
}

/** Splits a whole text into attributed sentences. */
export function splitAttributed(text: string, options: AttributedSplitterOptions = {}): AttributedSentence[] {
  const splitter = createAttributedSplitter(options);
  return [...splitter.push(text), ...splitter.flush()];
}
