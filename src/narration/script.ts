/**
 * Helpers for a narration's stored text (its "script"): what a restart needs
 * to decide how a cut-short `narrate` goes on.
 */

/** A sentence terminator, then closing quotes or brackets (and a speaker's closing tag), at the very end. */
const SENTENCE_END = /[.!?…]["'”’)\]}»]*(?:\s*<\/v>)?$/u;

/**
 * True when `text` stops right after a sentence (a terminator and its closing
 * quotes), so a narration cut there is whole and ends there; false when it
 * stops mid-sentence and the LLM must finish it.
 */
export function endsAtSentenceEnd(text: string): boolean {
  return SENTENCE_END.test(text.trimEnd());
}
