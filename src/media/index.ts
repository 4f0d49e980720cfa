/**
 * Audio media layer: container parsing and timing for the two formats every
 * chunk is stored in (MP3 for the web, Ogg Opus for Discord).
 */
export {
  MP3_DECODER_DELAY,
  createSilenceFrames,
  framePlayableStart,
  id3v2Size,
  iterateFrames,
  mainDataBegin,
  makeSilenceFrame,
  parseFrameHeader,
  readLameGapless,
  samplesPerFrame,
  scanMp3,
  sliceFromTime,
  stripInfoFrame,
} from './mp3';
export type {
  ChannelMode,
  LameGapless,
  Mp3Frame,
  Mp3FrameHeader,
  Mp3Scan,
  Mp3Slice,
  MpegVersion,
  SilenceFrameParams,
} from './mp3';
export {
  iterateOggPackets,
  iterateOggPages,
  oggCrc,
  opusPacketInfo,
  parseOpusHead,
  scanOggOpus,
} from './ogg';
export type { OggOpusInfo, OggPacket, OggPage, OpusHead } from './ogg';
