/**
 * The TTS seam: every speech engine (OpenAI, flite, test fakes) is a
 * {@link TtsProvider}. Audio leaves a provider uncompressed (WAV or raw PCM)
 * where the engine allows, so the encoder downstream compresses it only once.
 */

/** A voice a DM can pick (autocomplete shows `label`, stores `id`). */
export interface TtsVoice {
  id: string;
  label: string;
}

/** Audio produced for one piece of text. */
export interface TtsAudio {
  data: Buffer;
  /** `pcm_s16le` is raw little-endian 16-bit samples; `sampleRate` and `channels` are then required. */
  format: 'wav' | 'pcm_s16le' | 'mp3';
  sampleRate?: number;
  channels?: number;
}

/** What {@link TtsProvider.synthesize} takes. */
export interface SynthesizeRequest {
  text: string;
  /** A voice id from {@link TtsProvider.voices}; the provider's default when omitted. */
  voice?: string | undefined;
  /** Aborts the call (skip/stop): no more money or CPU is spent on it. */
  signal?: AbortSignal | undefined;
}

/** A text-to-speech engine. Implementations are safe to call concurrently. */
export interface TtsProvider {
  /** Short name for logs and metrics, e.g. `openai`, `flite`. */
  readonly name: string;
  /** The voice used when a campaign has not chosen one. */
  readonly defaultVoice: string;
  voices(): Promise<TtsVoice[]>;
  synthesize(request: SynthesizeRequest): Promise<TtsAudio>;
  /** Releases workers or sockets, if the provider holds any. */
  close?(): Promise<void>;
}

/** A TTS call that failed; `transient` tells the retry logic whether another try may help. */
export class TtsError extends Error {
  override readonly name = 'TtsError';
  constructor(
    message: string,
    readonly provider: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A voice id the provider does not have. */
export class UnknownVoiceError extends TtsError {
  constructor(
    provider: string,
    readonly voice: string,
  ) {
    super(`unknown ${provider} voice "${voice}"`, provider, false);
  }
}

/** Layout of a PCM WAV file. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** The sample bytes (the `data` chunk). */
  data: Buffer;
  durationSec: number;
}

/** Wraps raw little-endian 16-bit PCM in a WAV header. */
export function pcmToWav(pcm: Buffer, sampleRate: number, channels = 1): Buffer {
  const header = Buffer.alloc(44);
  const byteRate = sampleRate * channels * 2;
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(byteRate, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

/** Reads a PCM WAV file's format and samples; throws on anything else. */
export function parseWav(wav: Buffer): WavInfo {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let fmt: { channels: number; sampleRate: number; bitsPerSample: number } | undefined;
  for (let offset = 12; offset + 8 <= wav.length;) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (wav.readUInt16LE(body) !== 1) throw new Error('WAV is not integer PCM');
      fmt = {
        channels: wav.readUInt16LE(body + 2),
        sampleRate: wav.readUInt32LE(body + 4),
        bitsPerSample: wav.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data before fmt chunk');
      // Streamed WAVs may carry a placeholder size; trust the bytes present.
      const data = wav.subarray(body, Math.min(wav.length, body + size));
      const frameBytes = fmt.channels * (fmt.bitsPerSample / 8);
      return { ...fmt, data, durationSec: data.length / frameBytes / fmt.sampleRate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}
