/** The campaign's transcript (what aired, with speakers, in sessions) and recaps. */
export type { TranscriptEntry, TranscriptLine, TranscriptSession, TranscriptStatus } from './types';
export { TranscriptRecorder, type TranscriptRecorderOptions } from './recorder';
export { TranscriptService, type TranscriptServiceOptions } from './sessions';
export { sessionFileName, sessionMarkdown, sessionPlainText, type MarkdownOptions } from './markdown';
export { RECAP_PROMPT, RecapError, RecapService, type RecapDraft, type RecapServiceOptions } from './recap';
