/**
 * The real {@link AudioOutput}: one AudioContext, a master GainNode for the
 * volume and an AnalyserNode (the browser tests read it to check that sound
 * comes out). Browser only; everything it decides lives in the scheduler.
 */
import type { AudioOutput, PlayingSource } from './scheduler';
import { OutputClockFilter, type OutputTimestamp } from './timeline';

/** Fade applied when a source is stopped early (skip, stop, pause). */
const FADE_SEC = 0.015;
/** A decoded chunk this few frames short is padded by holding its last value. */
const HOLD_MAX_FRAMES = 4;
/**
 * The station's own rate (DESIGN.md counts samples at 48 kHz). Decoding MP3s
 * of 48, 24, 16 or 12 kHz into a 48 kHz context gives exact lengths, and the
 * browser resamples the output continuously instead of chunk by chunk.
 */
const CONTEXT_RATE = 48_000;

function createContext(): AudioContext {
  try {
    return new AudioContext({ sampleRate: CONTEXT_RATE, latencyHint: 'interactive' });
  } catch {
    return new AudioContext(); // a browser that refuses the rate: decode resamples instead
  }
}

/**
 * Web Audio output graph: sources → analyser → gain (volume) → speakers. The
 * analyser sits before the volume so "is it playing" does not depend on it.
 */
export class WebAudioOutput implements AudioOutput<AudioBuffer> {
  readonly context: AudioContext;
  readonly master: GainNode;
  readonly analyser: AnalyserNode;
  readonly #filter = new OutputClockFilter();

  constructor(context: AudioContext = createContext()) {
    this.context = context;
    this.master = context.createGain();
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.analyser.connect(this.master).connect(context.destination);
    // A suspended context's clock stops while performance time runs on.
    context.addEventListener('statechange', () => {
      if (context.state !== 'running') this.#filter.reset();
    });
  }

  get sampleRate(): number {
    return this.context.sampleRate;
  }

  get currentTime(): number {
    return this.context.currentTime;
  }

  /**
   * The filtered `getOutputTimestamp()` relation, or an estimate from
   * `currentTime` and the reported latencies while there is none (a browser
   * without the method).
   */
  outputTimestamp(): OutputTimestamp {
    const now = performance.now();
    this.#sample();
    const filtered = this.#filter.timestampAt(now);
    if (filtered) return filtered;
    const latency = (this.context.outputLatency || 0) + (this.context.baseLatency || 0);
    return { contextTime: this.context.currentTime - latency, performanceTime: now };
  }

  heardTime(): number {
    const ts = this.outputTimestamp();
    return ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
  }

  /**
   * Resolves once the output clock relation can be trusted (or after
   * `timeoutMs`, on a browser that never reports one).
   */
  async settled(timeoutMs = 1000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#filter.settled && performance.now() < deadline) {
      this.#sample();
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  }

  #sample(): void {
    if (this.context.state !== 'running') return;
    const ts = this.context.getOutputTimestamp?.();
    if (ts?.contextTime !== undefined && ts.performanceTime !== undefined) {
      this.#filter.add({ contextTime: ts.contextTime, performanceTime: ts.performanceTime });
    }
  }

  decode(bytes: ArrayBuffer): Promise<AudioBuffer> {
    return this.context.decodeAudioData(bytes);
  }

  slice(buffer: AudioBuffer, startFrame: number, frameCount: number): AudioBuffer {
    if (startFrame === 0 && frameCount === buffer.length) return buffer;
    const out = new AudioBuffer({
      length: Math.max(1, frameCount),
      numberOfChannels: buffer.numberOfChannels,
      sampleRate: buffer.sampleRate,
    });
    for (let c = 0; c < buffer.numberOfChannels; c++) {
      const data = buffer.getChannelData(c);
      const part = data.subarray(startFrame, Math.min(data.length, startFrame + frameCount));
      out.copyToChannel(part, c);
      // Resampling rounds a decoded length one or two frames short: hold the
      // last value there rather than dropping to zero (a tiny click).
      const missing = frameCount - part.length;
      if (missing > 0 && missing <= HOLD_MAX_FRAMES && part.length > 0) {
        out.getChannelData(c).fill(part[part.length - 1]!, part.length);
      }
    }
    return out;
  }

  play(buffer: AudioBuffer, when: number, offset: number, onEnded: () => void): PlayingSource {
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    // A gain per source only for the fade on an early stop.
    const fade = this.context.createGain();
    source.connect(fade).connect(this.analyser);
    let done = false;
    source.onended = () => {
      if (done) return;
      done = true;
      source.disconnect();
      fade.disconnect();
      onEnded();
    };
    source.start(when, offset);
    return {
      stop: () => {
        const now = this.context.currentTime;
        if (when >= now + FADE_SEC) {
          source.stop(); // not started yet: cancel
          return;
        }
        fade.gain.setValueAtTime(1, now);
        fade.gain.linearRampToValueAtTime(0, now + FADE_SEC);
        source.stop(now + FADE_SEC);
      },
    };
  }

  /** Volume 0..1 (perceptual: squared). */
  setVolume(volume: number): void {
    const v = Math.min(1, Math.max(0, volume));
    this.master.gain.setTargetAtTime(v * v, this.context.currentTime, 0.02);
  }

  /** Root-mean-square level of what is playing now (0..1), for a level meter. */
  level(): number {
    const data = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const x of data) sum += x * x;
    return Math.sqrt(sum / data.length);
  }
}
