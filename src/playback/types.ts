/**
 * Domain types of the playback engine. Other modules (narration, bot, web) use
 * these and the interfaces in `index.ts`; they never touch Prisma rows directly.
 */

/** On-air dimension of a playback request (DESIGN.md "States"). */
export enum RequestStatus {
  Pending = 'PENDING',
  Playing = 'PLAYING',
  Played = 'PLAYED',
  Failed = 'FAILED',
  Cancelled = 'CANCELLED',
}

/** TTS dimension of a playback request. */
export enum GenerationStatus {
  Pending = 'PENDING',
  Generating = 'GENERATING',
  Generated = 'GENERATED',
  Failed = 'FAILED',
}

/** Lifecycle of one chunk of audio. */
export enum ChunkStatus {
  Ready = 'READY',
  Playing = 'PLAYING',
  Played = 'PLAYED',
  Skipped = 'SKIPPED',
}

/** How a request's text was produced. */
export type NarrationMode = 'narrate' | 'say';

/** One DM message's audio: an ordered list of chunks. */
export interface PlaybackRequest {
  id: string;
  campaignId: string;
  /** Creation order inside the campaign; the queue airs in this order. */
  queueSeq: number;
  mode: NarrationMode;
  /** The DM's prompt (narrate) or the text to speak (say); chunks carry the spoken sentences. */
  text: string;
  status: RequestStatus;
  generation: GenerationStatus;
  error: string | null;
  totalChunks: number | null;
  voice: string | null;
  /**
   * `narrate`: the LLM's output so far (raw, as streamed), stored before any
   * sentence of it is spoken, so a restart continues it; null for `say`.
   */
  script: string | null;
  /** The LLM finished writing {@link script}. */
  scriptComplete: boolean;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One sentence of audio, encoded once (Ogg Opus for Discord, MP3 for the web). */
export interface AudioChunk {
  id: string;
  requestId: string;
  sequenceNumber: number;
  status: ChunkStatus;
  /** The sentence this chunk speaks (captions). */
  text: string;
  opusKey: string;
  opusSizeBytes: number;
  mp3Key: string;
  mp3SizeBytes: number;
  /** MIME type of the web format (`audio/mpeg`). */
  mimeType: string;
  /** Exact playable duration, from the encoded frames (encoder delay/padding excluded). */
  durationMs: number;
  /** Playable PCM samples at 48 kHz. */
  sampleCount: number;
  /** MP3 audio frames (the Xing/LAME info frame not counted). */
  frameCount: number;
  createdAt: Date;
  playedAt: Date | null;
  /** Who speaks it: a cast name, or null (or absent) for the narrator. */
  speaker?: string | null;
  /** The TTS voice it was spoken with (absent on chunks stored before the cast existed). */
  voice?: string | null;
}

/**
 * The output of the AudioEncoder for one TTS result: both formats plus exact
 * timing. `durationMs === sampleCount / 48`.
 */
export interface EncodedAudio {
  opus: Buffer;
  mp3: Buffer;
  durationMs: number;
  sampleCount: number;
  /** MP3 audio frames, not counting the Xing/LAME info frame. */
  mp3FrameCount: number;
}

/** A campaign (one table) and its settings. */
export interface Campaign {
  id: string;
  name: string;
  guildId: string | null;
  voiceChannelId: string | null;
  textChannelId: string | null;
  dmRoleId: string | null;
  ttsVoice: string | null;
  idleTimeoutSec: number | null;
}

/** Statuses a request can end in. */
export type FinalRequestStatus = RequestStatus.Played | RequestStatus.Failed | RequestStatus.Cancelled;
