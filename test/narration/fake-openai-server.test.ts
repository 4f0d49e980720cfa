import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeTokenize, FakeOpenAiServer, seededRandom } from '../../src/narration/fake-openai-server';
import { parseWav } from '../../src/narration/tts/types';
import { ManualClock } from '../support/manual-clock';

type SseChunk = {
  choices: Array<{ delta?: { content?: string } }>;
  [key: string]: unknown;
};

let server: FakeOpenAiServer;
let url: string;
let origin: string;

beforeAll(async () => {
  server = new FakeOpenAiServer({ reply: 'Hello there. General Kenobi.' });
  ({ url, origin } = await server.start());
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.setOptions({ firstTokenLatencyMs: 0, tokensPerSec: 0, ttsBaseLatencyMs: 0, ttsRealtimeFactor: 0 });
  server.clearFailures();
  server.resetStats();
});

const post = (path: string, body: unknown) =>
  fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('FakeOpenAiServer', () => {
  it('binds loopback on a free port and serves under /v1', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('streams chat completions as OpenAI SSE, ending with [DONE]', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'm',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const raw = await res.text();
    const events = raw.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as SseChunk);
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'm',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('Hello there. General Kenobi.');
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { completion_tokens: fakeTokenize(text).length },
    });
  });

  it('answers non-streaming chat and lists models through the SDK', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: url, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Hello there. General Kenobi.');
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
    expect(server.stats.calls).toMatchObject({ chat: 1, models: 1 });
  });

  it('paces tokens on its clock: the first after the first-token latency, then one per interval', async () => {
    // A manual clock, so the pacing is checked exactly and a busy machine cannot skew it.
    const clock = new ManualClock();
    const reply = 'one two three four five six';
    const paced = new FakeOpenAiServer({ clock, firstTokenLatencyMs: 100, tokensPerSec: 50, reply });
    const { url: pacedUrl } = await paced.start();
    try {
      const client = new OpenAI({ apiKey: 'k', baseURL: pacedUrl, maxRetries: 0 });
      // The SDK resolves on the response headers, sent before any token is scheduled to go.
      const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
      const received: string[] = [];
      let wake: () => void = () => {};
      const reading = (async () => {
        for await (const chunk of stream) {
          const text = chunk.choices[0]?.delta?.content;
          if (text) received.push(text);
          wake();
        }
      })();
      const count = (n: number) =>
        new Promise<void>((resolve) => {
          wake = () => received.length >= n && resolve();
          wake();
        });
      const tokens = fakeTokenize(reply);
      clock.advance(99);
      await new Promise((r) => setImmediate(r));
      expect(received).toEqual([]);
      clock.advance(1);
      await count(1);
      for (let k = 1; k < tokens.length; k++) {
        clock.advance(19);
        await new Promise((r) => setImmediate(r));
        expect(received).toHaveLength(k); // nothing early
        clock.advance(1);
        await count(k + 1); // 20 ms of clock after the previous one
      }
      await reading;
      expect(received).toEqual(tokens);
    } finally {
      await paced.stop();
    }
  });

  it('returns speech as WAV or raw PCM, ~65 ms per character, after the configured latency', async () => {
    server.setOptions({ ttsBaseLatencyMs: 50, ttsRealtimeFactor: 0.1 });
    const input = 'Twenty characters!!!';
    const started = Date.now();
    const wav = Buffer.from(
      await (
        await post('/v1/audio/speech', { input, voice: 'v', model: 'm', response_format: 'wav' })
      ).arrayBuffer(),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(50 + 0.1 * 1300 - 5);
    expect(parseWav(wav)).toMatchObject({ sampleRate: 24_000, channels: 1, durationSec: 1.3 });
    const pcm = await (
      await post('/v1/audio/speech', { input, voice: 'v', model: 'm', response_format: 'pcm' })
    ).arrayBuffer();
    expect(pcm.byteLength).toBe(1.3 * 24_000 * 2);
    expect((await post('/v1/audio/speech', { input, voice: 'v', model: 'm' })).status).toBe(400);
  });

  it('fails and hangs speech calls at the configured rates (seeded), and one input for good', async () => {
    server.setOptions({ speechErrorRate: 0.2, speechHangRate: 0.05, random: seededRandom(7) });
    const draws = seededRandom(7);
    const expected = Array.from({ length: 200 }, () => draws()).map((d) =>
      d < 0.05 ? 'hang' : d < 0.25 ? 500 : 200,
    );
    const seen: (number | 'hang')[] = [];
    for (let i = 0; i < expected.length; i++) {
      if (expected[i] === 'hang') {
        // Abort a hung call once the fake holds it open.
        const ctl = new AbortController();
        const call = fetch(`${origin}/v1/audio/speech`, {
          method: 'POST',
          body: JSON.stringify({ input: 'a', response_format: 'pcm' }),
          signal: ctl.signal,
        }).catch(() => 'hang' as const);
        await vi.waitFor(
          () => expect(server.stats.failed.speech).toBe(seen.filter((x) => x !== 200).length + 1),
          { timeout: 20_000 },
        );
        ctl.abort();
        seen.push((await call) === 'hang' ? 'hang' : -1);
      } else {
        seen.push((await post('/v1/audio/speech', { input: 'a', response_format: 'pcm' })).status);
      }
    }
    expect(seen).toEqual(expected);
    const errors = seen.filter((x) => x === 500).length;
    const hangs = seen.filter((x) => x === 'hang').length;
    expect(errors / 200).toBeGreaterThan(0.1);
    expect(hangs).toBeGreaterThan(2);
    server.setOptions({
      speechErrorRate: 0,
      speechHangRate: 0,
      speechFailureFor: (input) => (input.includes('CURSED') ? 400 : undefined),
    });
    expect((await post('/v1/audio/speech', { input: 'a CURSED line', response_format: 'pcm' })).status).toBe(
      400,
    );
    expect((await post('/v1/audio/speech', { input: 'a CURSED line', response_format: 'pcm' })).status).toBe(
      400,
    );
    expect((await post('/v1/audio/speech', { input: 'a fine line', response_format: 'pcm' })).status).toBe(
      200,
    );
    server.setOptions({ speechFailureFor: undefined });
  });

  it('plays a failure script and counts it', async () => {
    server.failNext({ endpoint: 'speech', status: 429, count: 2, retryAfterSec: 1 });
    const first = await post('/v1/audio/speech', { input: 'a', response_format: 'pcm' });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(await first.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    expect((await post('/v1/audio/speech', { input: 'a', response_format: 'pcm' })).status).toBe(429);
    expect((await post('/v1/audio/speech', { input: 'a', response_format: 'pcm' })).status).toBe(200);
    expect(server.stats).toMatchObject({
      calls: { speech: 3 },
      failed: { speech: 2 },
      completed: { speech: 3 },
    });
  });

  it('hangs when told to, and counts the client giving up as aborted', async () => {
    server.failNext({ endpoint: 'chat', hang: true });
    const controller = new AbortController();
    const pending = fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [] }),
      signal: controller.signal,
    });
    await vi.waitFor(() => expect(server.inFlight).toBe(1), { timeout: 20_000 });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(1), { timeout: 20_000 });
  });

  it('answers unknown routes and bad JSON with OpenAI-shaped errors', async () => {
    const missing = await fetch(`${origin}/v1/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { message: expect.any(String) } });
    const bad = await fetch(`${origin}/v1/chat/completions`, { method: 'POST', body: '{oops' });
    expect(bad.status).toBe(400);
  });
});
