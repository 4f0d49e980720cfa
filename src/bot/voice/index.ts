/**
 * The Discord voice sink: one connection and one player per guild, playing
 * the campaign's station as one continuous Ogg Opus stream per request.
 */
export type {
  AudioPlayerPort,
  AudioResourcePort,
  ConnectionEvents,
  ConnectionState,
  JoinCheck,
  PlayerEvents,
  PlayerState,
  VoiceAdapter,
  VoiceConnectionPort,
} from './adapter';
export { DiscordVoiceAdapter, type DiscordVoiceAdapterOptions } from './discord-adapter';
export { entersState, sleep, StateWaitError, type StatefulEmitter } from './enters-state';
export {
  DEFAULT_VOICE_TIMING,
  GuildVoice,
  GuildVoiceStatus,
  NO_RECONNECT_CODES,
  type GuildVoiceEvents,
  type GuildVoiceOptions,
  type GuildVoiceState,
  type GuildVoiceTiming,
  type LeaveReason,
} from './guild-voice';
export {
  InvalidChunkAudioError,
  OggOpusJoiner,
  readOpusChunk,
  type AppendCounts,
  type AppendOptions,
  type AppendResult,
  type OpusChunkPackets,
} from './ogg-opus-stream';
export { defaultPageScheduler, PageScheduler, RequestFeed, type RequestFeedOptions } from './request-feed';
export {
  SinkStatus,
  StationSink,
  type SinkState,
  type StationSinkEvents,
  type StationSinkOptions,
} from './station-sink';
export {
  VoiceManager,
  type JoinResult,
  type VoiceManagerEvents,
  type VoiceManagerOptions,
} from './voice-manager';
