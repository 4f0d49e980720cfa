/**
 * Encode once: each TTS result becomes Ogg Opus 48 kHz mono (Discord plays it
 * by demuxing only) and MP3 48 kHz mono CBR (web), with exact timing read back
 * from the encoded frames.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock';
import { silentLogger, type Logger } from '../log';
import { scanMp3, type SilenceFrameParams } from '../media/mp3';
import { scanOggOpus } from '../media/ogg';
import type { EncodedAudio } from '../playback/types';

/** Prefix of the encoder's temporary files (`bardcast-<uuid>.mp3`, `…-in.mp3`). */
const TEMP_PREFIX = 'bardcast-';

/**
 * Makes the encoder's temporary folder and removes what a killed process left
 * in it (an encode's files are removed when it ends, but not by SIGKILL).
 * Call at start-up, before anything encodes. Returns how many files went.
 */
export async function prepareEncoderTempDir(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const leftovers = (await readdir(dir)).filter((name) => name.startsWith(TEMP_PREFIX));
  await Promise.all(leftovers.map((name) => rm(join(dir, name), { force: true, recursive: true })));
  return leftovers.length;
}

/** Audio handed to the encoder: a TTS result. */
export interface EncodeInput {
  data: Buffer;
  format: 'wav' | 'pcm_s16le' | 'mp3';
  /** Required for `pcm_s16le`. */
  sampleRate?: number;
  /** For `pcm_s16le`; default 1. */
  channels?: number;
}

/** The seam the narration pipeline encodes through (tests swap in a fake). */
export interface AudioEncoder {
  /** Encodes `input` to both formats; rejects with {@link EncoderError} (code `ABORTED` on abort). */
  encode(input: EncodeInput, signal?: AbortSignal): Promise<EncodedAudio>;
}

/** Why an encode failed. */
export type EncoderErrorCode =
  'BAD_INPUT' | 'SPAWN_FAILED' | 'FFMPEG_FAILED' | 'BAD_OUTPUT' | 'TIMEOUT' | 'ABORTED';

/** An encode (or ffmpeg check) that failed; carries the tail of ffmpeg's stderr. */
export class EncoderError extends Error {
  override readonly name = 'EncoderError';
  constructor(
    readonly code: EncoderErrorCode,
    message: string,
    readonly stderrTail = '',
    options?: { cause?: unknown },
  ) {
    super(
      stderrTail ? `${message}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : message,
      options,
    );
  }
}

/** No usable ffmpeg binary; the message says how to provide one. */
export class FfmpegNotFoundError extends Error {
  override readonly name = 'FfmpegNotFoundError';
}

/** Where {@link resolveFfmpeg} found the binary. */
export type FfmpegSource = 'FFMPEG_PATH' | '@ffmpeg-installer/ffmpeg' | 'ffmpeg-static' | 'PATH';

/** Options for {@link resolveFfmpeg}. */
export interface ResolveFfmpegOptions {
  /** Explicit binary (the FFMPEG_PATH setting); wins over everything and must work. */
  ffmpegPath?: string | undefined;
  /** Loads an npm package (seam for tests); default: Node's `require`. */
  loadModule?: (name: string) => unknown;
  /** Command tried on PATH; default `ffmpeg`. */
  pathCommand?: string;
}

const STDERR_TAIL = 4096;
const HOW_TO_FIX =
  'Set FFMPEG_PATH to an ffmpeg binary built with libopus and libmp3lame, or run `npm install` so ' +
  '@ffmpeg-installer/ffmpeg provides one.';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function runsOnPath(command: string): boolean {
  const result = spawnSync(command, ['-hide_banner', '-version'], { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

/** The `path` an npm ffmpeg package exports (`{ path }` or a bare string), if it loads. */
function packagePath(load: (name: string) => unknown, name: string): string | null {
  try {
    const mod = load(name) as { path?: unknown; default?: unknown } | string | null;
    const value = typeof mod === 'string' ? mod : (mod?.path ?? mod?.default);
    return typeof value === 'string' ? value : null;
  } catch {
    return null; // not installed, or no binary for this platform (the installer throws then)
  }
}

/**
 * Finds ffmpeg: the explicit override, then `@ffmpeg-installer/ffmpeg` (a
 * static build inside the npm tarball), then `ffmpeg-static` if installed,
 * then `ffmpeg` on PATH. Throws {@link FfmpegNotFoundError} naming FFMPEG_PATH.
 */
export function resolveFfmpeg(options: ResolveFfmpegOptions = {}): { path: string; source: FfmpegSource } {
  const explicit = options.ffmpegPath;
  if (explicit !== undefined && explicit !== '') {
    if (isExecutableFile(explicit) || (!explicit.includes('/') && runsOnPath(explicit))) {
      return { path: explicit, source: 'FFMPEG_PATH' };
    }
    throw new FfmpegNotFoundError(`FFMPEG_PATH=${explicit} is not an executable ffmpeg. ${HOW_TO_FIX}`);
  }
  const load = options.loadModule ?? createRequire(import.meta.url);
  for (const source of ['@ffmpeg-installer/ffmpeg', 'ffmpeg-static'] as const) {
    const path = packagePath(load, source);
    if (path && isExecutableFile(path)) return { path, source };
  }
  const command = options.pathCommand ?? 'ffmpeg';
  if (runsOnPath(command)) return { path: command, source: 'PATH' };
  throw new FfmpegNotFoundError(`No ffmpeg found. ${HOW_TO_FIX}`);
}

/** Options for {@link runFfmpeg}. */
interface RunOptions {
  stdin: Buffer;
  signal: AbortSignal | undefined;
  timeoutMs: number;
  clock: Clock;
}

/** Runs ffmpeg once; resolves with its stdout after a clean exit. Kills it on abort or timeout. */
function runFfmpeg(path: string, args: string[], opts: RunOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new EncoderError('ABORTED', 'encode aborted', '', { cause: opts.signal.reason }));
      return;
    }
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let failure: EncoderError | null = null;
    const stop = (error: EncoderError) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const onAbort = () =>
      stop(new EncoderError('ABORTED', 'encode aborted', '', { cause: opts.signal?.reason }));
    const timer = opts.clock.setTimeout(
      () => stop(new EncoderError('TIMEOUT', `ffmpeg took longer than ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_TAIL);
    });
    // ffmpeg may exit before reading all input (bad data); its exit status tells why.
    child.stdin.on('error', () => {});
    child.on('error', (err) => {
      failure ??= new EncoderError('SPAWN_FAILED', `cannot run ${path}`, '', { cause: err });
    });
    child.on('close', (code, sig) => {
      opts.clock.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (failure) reject(failure.stderrTail || !stderr ? failure : withStderr(failure, stderr));
      else if (code !== 0) reject(new EncoderError('FFMPEG_FAILED', `ffmpeg exited ${code ?? sig}`, stderr));
      else resolve(Buffer.concat(out));
    });
    child.stdin.end(opts.stdin);
  });
}

function withStderr(error: EncoderError, stderr: string): EncoderError {
  return new EncoderError(error.code, error.message, stderr, { cause: error.cause });
}

/**
 * Verifies that `path` runs and has the libopus and libmp3lame encoders.
 * Returns the version line; throws {@link EncoderError} otherwise.
 */
export async function checkFfmpeg(path: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const run = (args: string[]) =>
    runFfmpeg(path, ['-hide_banner', ...args], {
      stdin: Buffer.alloc(0),
      signal: undefined,
      timeoutMs: options.timeoutMs ?? 15_000,
      clock: systemClock,
    });
  const encoders = (await run(['-encoders'])).toString('utf8');
  const missing = ['libopus', 'libmp3lame'].filter(
    (name) => !new RegExp(`^\\s*A\\S*\\s+${name}\\s`, 'm').test(encoders),
  );
  if (missing.length > 0)
    throw new EncoderError('FFMPEG_FAILED', `${path} lacks encoders: ${missing.join(', ')}`);
  return (await run(['-version'])).toString('utf8').split('\n')[0]?.trim() ?? '';
}

/** Options for {@link FfmpegAudioEncoder}. */
export interface FfmpegAudioEncoderOptions {
  /** From {@link resolveFfmpeg}. */
  ffmpegPath: string;
  /** Default 48. */
  opusBitrateKbps?: number;
  /** libopus tuning; default `voip` (speech). */
  opusApplication?: 'voip' | 'audio';
  /** Constant MP3 bitrate, the same for every chunk so chunks concatenate; default 64. */
  mp3BitrateKbps?: number;
  /**
   * LAME's bit reservoir. Off by default: every frame then decodes on its own,
   * so a stream cut at any frame (late-join) starts without a glitch.
   */
  mp3BitReservoir?: boolean;
  /**
   * `parallel` runs one ffmpeg per format at once (lower latency: ~100 ms vs
   * ~130 ms for 4 s of speech here); `single` runs one process with two outputs
   * (~20% less CPU). Default `parallel`.
   */
  processes?: 'single' | 'parallel';
  /**
   * Where the MP3 is written (ffmpeg needs a seekable file to fill in the
   * Xing/LAME frame). The app uses `DATA_DIR/tmp`, emptied of leftovers at
   * start-up by {@link prepareEncoderTempDir}; default: the system's.
   */
  tmpDir?: string;
  /** Per ffmpeg run; default 30 s. */
  timeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/** Sample rate of everything the encoder produces. */
export const ENCODED_SAMPLE_RATE = 48_000;

/** {@link AudioEncoder} running ffmpeg as a child process. */
export class FfmpegAudioEncoder implements AudioEncoder {
  readonly #opts: Required<Omit<FfmpegAudioEncoderOptions, 'logger' | 'clock'>>;
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(options: FfmpegAudioEncoderOptions) {
    this.#opts = {
      ffmpegPath: options.ffmpegPath,
      opusBitrateKbps: options.opusBitrateKbps ?? 48,
      opusApplication: options.opusApplication ?? 'voip',
      mp3BitrateKbps: options.mp3BitrateKbps ?? 64,
      mp3BitReservoir: options.mp3BitReservoir ?? false,
      processes: options.processes ?? 'parallel',
      tmpDir: options.tmpDir ?? tmpdir(),
      timeoutMs: options.timeoutMs ?? 30_000,
    };
    this.#log = (options.logger ?? silentLogger).child({ module: 'encoder' });
    this.#clock = options.clock ?? systemClock;
  }

  /** Parameters of every MP3 this encoder writes: what live-stream silence frames must match. */
  get mp3Params(): SilenceFrameParams {
    return { sampleRate: ENCODED_SAMPLE_RATE, channels: 1, bitrateKbps: this.#opts.mp3BitrateKbps };
  }

  async encode(input: EncodeInput, signal?: AbortSignal): Promise<EncodedAudio> {
    const base = join(this.#opts.tmpDir, `${TEMP_PREFIX}${randomUUID()}`);
    const mp3Path = `${base}.mp3`;
    // MP3 input is read from a file: from a pipe ffmpeg trims the LAME delay but not the padding.
    const inputPath = input.format === 'mp3' ? `${base}-in.mp3` : null;
    const inputArgs = this.#inputArgs(input, inputPath);
    const stdin = inputPath ? Buffer.alloc(0) : input.data;
    const common = ['-map', '0:a:0', '-ac', '1', '-ar', String(ENCODED_SAMPLE_RATE), '-map_metadata', '-1'];
    const opusArgs = [...common, '-c:a', 'libopus', '-b:a', `${this.#opts.opusBitrateKbps}k`, '-vbr', 'on'];
    opusArgs.push('-frame_duration', '20', '-application', this.#opts.opusApplication, '-f', 'ogg', 'pipe:1');
    const mp3Args = [...common, '-c:a', 'libmp3lame', '-b:a', `${this.#opts.mp3BitrateKbps}k`];
    mp3Args.push('-reservoir', this.#opts.mp3BitReservoir ? '1' : '0', '-id3v2_version', '0');
    mp3Args.push('-write_xing', '1', '-f', 'mp3', '-y', mp3Path);
    const started = this.#clock.now();
    // One controller so that when one process fails, the other is killed too.
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    const run = (args: string[]) =>
      runFfmpeg(this.#opts.ffmpegPath, [...inputArgs, ...args], {
        stdin,
        signal: controller.signal,
        timeoutMs: this.#opts.timeoutMs,
        clock: this.#clock,
      }).catch((err: unknown) => {
        controller.abort(err);
        throw err;
      });
    try {
      if (inputPath) await writeFile(inputPath, input.data);
      let opus: Buffer;
      if (this.#opts.processes === 'single') {
        opus = await run([...opusArgs, ...mp3Args]);
      } else {
        const results = await Promise.allSettled([run(opusArgs), run(mp3Args)]);
        const failed = results.find((r) => r.status === 'rejected');
        // Report the root failure, not the abort it caused in the sibling process.
        const root = results.find(
          (r) => r.status === 'rejected' && (r.reason as EncoderError).code !== 'ABORTED',
        );
        if (failed) throw ((root ?? failed) as PromiseRejectedResult).reason;
        opus = (results[0] as PromiseFulfilledResult<Buffer>).value;
      }
      const mp3 = await readFile(mp3Path);
      return this.#timing(opus, mp3, started);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await rm(mp3Path, { force: true });
      if (inputPath) await rm(inputPath, { force: true });
    }
  }

  #inputArgs(input: EncodeInput, inputPath: string | null): string[] {
    const head = ['-hide_banner', '-loglevel', 'error', '-nostats'];
    if (input.data.length === 0) throw new EncoderError('BAD_INPUT', 'empty audio');
    if (input.format === 'pcm_s16le') {
      const { sampleRate, channels = 1 } = input;
      if (!sampleRate || sampleRate <= 0) throw new EncoderError('BAD_INPUT', 'pcm_s16le needs a sampleRate');
      return [...head, '-f', 's16le', '-ar', String(sampleRate), '-ac', String(channels), '-i', 'pipe:0'];
    }
    return [...head, '-f', input.format, '-i', inputPath ?? 'pipe:0'];
  }

  #timing(opus: Buffer, mp3: Buffer, started: number): EncodedAudio {
    const ogg = scanOggOpus(opus);
    if (!ogg || ogg.packetCount === 0) throw new EncoderError('BAD_OUTPUT', 'ffmpeg wrote no Ogg Opus audio');
    const scan = scanMp3(mp3);
    if (scan.frames.length === 0 || scan.sampleRate !== ENCODED_SAMPLE_RATE || !scan.hasLameTag) {
      throw new EncoderError('BAD_OUTPUT', 'ffmpeg wrote no 48 kHz MP3 with a LAME tag');
    }
    // Both come from the same resampled PCM; Opus is authoritative (Discord and the station clock).
    const sampleCount = ogg.playableSamples;
    const mismatch = scan.playableSamples - sampleCount;
    this.#log.debug(
      { sampleCount, mp3Samples: scan.playableSamples, mismatch, encodeMs: this.#clock.now() - started },
      'encoded chunk',
    );
    if (Math.abs(mismatch) > 960)
      this.#log.warn({ mismatch }, 'Opus and MP3 lengths differ by more than a frame');
    return { opus, mp3, durationMs: sampleCount / 48, sampleCount, mp3FrameCount: scan.frames.length };
  }
}
