/** The cast: speaker markup, attributed sentences, voices per character. */
export {
  createSpeakerParser,
  MAX_SPEAKER_NAME,
  mergeSegments,
  normalizeSpeakerName,
  parseSpeakers,
  speakerKey,
  stripSpeakerMarkup,
  type SpeakerMarkupOptions,
  type SpeakerParser,
  type SpeakerSegment,
} from './markup';
export {
  createAttributedSplitter,
  splitAttributed,
  type AttributedSentence,
  type AttributedSplitter,
  type AttributedSplitterOptions,
} from './attributed-splitter';
export { pickVoice, type SpeakerVoiceResolver } from './voices';
export { CastInputError, CastService, type CastMember, type CastServiceOptions } from './cast-service';
