import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import {
  createTtsProvider,
  FLITE_VOICES,
  FliteTtsProvider,
  OPENAI_TTS_VOICES,
  OpenAiTtsProvider,
  parseWav,
  toFliteText,
  TtsError,
  UnknownVoiceError,
  type OpenAiTtsOptions,
} from '../../src/narration/tts';
import { resolveVoice, searchVoices } from '../../src/narration/voices';
import { ManualClock } from '../support/manual-clock';

const rms = (pcm: Buffer): number => {
  let sum = 0;
  const n = Math.floor(pcm.length / 2);
  for (let i = 0; i < n; i++) sum += pcm.readInt16LE(i * 2) ** 2;
  return Math.sqrt(sum / n);
};

describe('OpenAiTtsProvider against the fake server', () => {
  let server: FakeOpenAiServer;
  let baseURL: string;
  beforeAll(async () => {
    server = new FakeOpenAiServer();
    baseURL = (await server.start()).url;
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.setOptions({ ttsBaseLatencyMs: 0, ttsRealtimeFactor: 0 });
    server.clearFailures();
    server.resetStats();
  });
  const provider = (options: Partial<OpenAiTtsOptions> = {}) =>
    new OpenAiTtsProvider({
      apiKey: 'sk-test',
      baseURL,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...options,
    });

  it('asks for raw 24 kHz PCM and gets audio as long as the text', async () => {
    const text = 'The bridge sways beneath your feet.';
    const audio = await provider().synthesize({ text, voice: 'onyx' });
    expect(audio).toMatchObject({ format: 'pcm_s16le', sampleRate: 24_000, channels: 1 });
    expect(audio.data.length).toBe(Math.round(text.length * 0.065 * 24_000) * 2);
    expect(rms(audio.data)).toBeGreaterThan(100);
    expect(server.lastRequestBody('speech')).toMatchObject({
      model: 'gpt-4o-mini-tts',
      voice: 'onyx',
      input: text,
      response_format: 'pcm',
      instructions: expect.stringContaining('storyteller'),
    });
  });

  it('can ask for WAV, and sends no instructions to tts-1', async () => {
    const audio = await provider({ responseFormat: 'wav', model: 'tts-1' }).synthesize({
      text: 'Hello there.',
    });
    expect(audio.format).toBe('wav');
    const wav = parseWav(audio.data);
    expect(wav).toMatchObject({ sampleRate: 24_000, channels: 1, bitsPerSample: 16 });
    expect(wav.durationSec).toBeCloseTo(12 * 0.065, 3);
    const body = server.lastRequestBody('speech') as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'tts-1', voice: 'fable', response_format: 'wav' });
    expect(body).not.toHaveProperty('instructions');
  });

  it('retries 429 and 500, then succeeds', async () => {
    server.failNext({ endpoint: 'speech', status: 429 });
    server.failNext({ endpoint: 'speech', status: 500 });
    const audio = await provider().synthesize({ text: 'Again.' });
    expect(audio.data.length).toBeGreaterThan(0);
    expect(server.stats.calls.speech).toBe(3);
  });

  it('fails with a transient TtsError after the last retry', async () => {
    server.failNext({ endpoint: 'speech', status: 502, count: 5 });
    const error = await provider({ retry: { retries: 1, baseDelayMs: 1 } })
      .synthesize({ text: 'Again.' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TtsError);
    expect(error).toMatchObject({ provider: 'openai', transient: true });
    expect((error as Error).message).toMatch(/502/);
    expect(server.stats.calls.speech).toBe(2);
  });

  it('does not retry a request the server rejects', async () => {
    const error = await provider({ responseFormat: 'mp3' as 'pcm' })
      .synthesize({ text: 'Again.' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TtsError', transient: false });
    expect(server.stats.calls.speech).toBe(1);
  });

  it('rejects unknown voices without calling the API', async () => {
    await expect(provider().synthesize({ text: 'x', voice: 'gandalf' })).rejects.toBeInstanceOf(
      UnknownVoiceError,
    );
    expect(server.stats.calls.speech).toBe(0);
  });

  it('abort stops the call and the server sees it aborted', async () => {
    server.setOptions({ ttsBaseLatencyMs: 10_000 });
    const controller = new AbortController();
    const pending = provider().synthesize({ text: 'Too late.', signal: controller.signal });
    await vi.waitFor(() => expect(server.inFlight).toBe(1), { timeout: 20_000 });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(server.stats.aborted.speech).toBe(1), { timeout: 20_000 });
  });

  it('times out a hanging server and retries', async () => {
    server.failNext({ endpoint: 'speech', hang: true });
    const audio = await provider({ timeout: 200 }).synthesize({ text: 'Hello.' });
    expect(audio.data.length).toBeGreaterThan(0);
    expect(server.stats.calls.speech).toBe(2);
  });

  it('lists the OpenAI voices', async () => {
    const voices = await provider().voices();
    expect(voices.map((v) => v.id)).toEqual(
      expect.arrayContaining(['alloy', 'fable', 'onyx', 'nova', 'shimmer']),
    );
    expect(voices).toHaveLength(OPENAI_TTS_VOICES.length);
  });
});

describe('FliteTtsProvider', () => {
  const flite = new FliteTtsProvider();
  afterAll(async () => {
    await flite.close();
  });

  it('speaks a sentence as a valid WAV of plausible length', async () => {
    const text = 'The torchlight flickers as you step into the ruined chapel.';
    const audio = await flite.synthesize({ text });
    expect(audio.format).toBe('wav');
    const wav = parseWav(audio.data);
    expect(wav).toMatchObject({ sampleRate: 16_000, channels: 1, bitsPerSample: 16 });
    expect(audio).toMatchObject({ sampleRate: 16_000, channels: 1 });
    // About 2.5–3 words per second of speech.
    expect(wav.durationSec).toBeGreaterThan(2);
    expect(wav.durationSec).toBeLessThan(7);
    expect(rms(wav.data)).toBeGreaterThan(300);
  });

  it('offers voices that flite really has, and each one speaks', async () => {
    const engine = await flite.engineVoices();
    expect(engine).toEqual(expect.arrayContaining(FLITE_VOICES.map((v) => v.id)));
    const results = await Promise.all(
      FLITE_VOICES.map((v) => flite.synthesize({ text: 'Roll for initiative.', voice: v.id })),
    );
    for (const audio of results) expect(parseWav(audio.data).durationSec).toBeGreaterThan(0.5);
    expect(results.find((_, i) => FLITE_VOICES[i]?.id === 'kal')?.sampleRate).toBe(8000);
  });

  it('is safe to call concurrently (more calls than workers)', async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `Goblin number ${i + 1} charges.`);
    const results = await Promise.all(texts.map((text) => flite.synthesize({ text, voice: 'kal16' })));
    const durations = results.map((a) => parseWav(a.data).durationSec);
    expect(durations.every((d) => d > 0.8 && d < 5)).toBe(true);
  });

  it('rejects queued work on abort, and unknown voices', async () => {
    const controller = new AbortController();
    const many = Array.from({ length: 6 }, () =>
      flite.synthesize({ text: 'This will be cancelled.', signal: controller.signal }),
    );
    controller.abort();
    const settled = await Promise.allSettled(many);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    await expect(flite.synthesize({ text: 'x', voice: 'alloy' })).rejects.toBeInstanceOf(UnknownVoiceError);
    await expect(flite.synthesize({ text: '—…' })).rejects.toBeInstanceOf(TtsError);
  });

  it('starts workers on demand and stops them once idle', async () => {
    const clock = new ManualClock();
    const lazy = new FliteTtsProvider({ clock, idleTimeoutMs: 1_000 });
    try {
      expect(lazy.workerCount).toBe(0);
      await lazy.synthesize({ text: 'Roll for initiative.' });
      expect(lazy.workerCount).toBe(1);
      clock.advance(999);
      expect(lazy.workerCount).toBe(1);
      clock.advance(1);
      expect(lazy.workerCount).toBe(0);
      await lazy.warmUp();
      expect(lazy.workerCount).toBe(1);
      const audio = await lazy.synthesize({ text: 'Again.' });
      expect(parseWav(audio.data).durationSec).toBeGreaterThan(0.3);
    } finally {
      await lazy.close();
    }
  });

  it('makes typographic text plain ASCII for flite', () => {
    expect(toFliteText('“Café,” she said — softly… ‘Go.’')).toBe('"Cafe," she said, softly... \'Go.\'');
  });
});

describe('choosing a provider and a voice', () => {
  it('uses OpenAI with a key and flite without', async () => {
    expect(createTtsProvider({ openai: { apiKey: 'sk-x' } }).name).toBe('openai');
    const offline = createTtsProvider({});
    expect(offline.name).toBe('flite');
    await offline.close?.();
    expect(() => createTtsProvider({ provider: 'openai' })).toThrow(/API key/);
  });

  it('falls back to the default voice and searches for autocomplete', async () => {
    const provider = createTtsProvider({ openai: { apiKey: 'sk-x' } });
    expect(await resolveVoice(provider, 'nova')).toBe('nova');
    expect(await resolveVoice(provider, 'slt')).toBe(provider.defaultVoice);
    expect(await resolveVoice(provider, null)).toBe(provider.defaultVoice);
    expect((await searchVoices(provider, 'deep')).map((v) => v.id)).toEqual(['onyx']);
    expect((await searchVoices(provider, 'o')).map((v) => v.id)[0]).toBe('onyx');
  });
});
