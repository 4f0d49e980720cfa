import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeTokenize, FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import { parseWav } from '../../src/narration/tts/types';

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

  it('paces tokens after the first-token latency', async () => {
    server.setOptions({ firstTokenLatencyMs: 100, tokensPerSec: 50, reply: 'one two three four five six' });
    const client = new OpenAI({ apiKey: 'k', baseURL: url, maxRetries: 0 });
    const started = Date.now();
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true });
    const times: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) times.push(Date.now() - started);
    const n = fakeTokenize('one two three four five six').length;
    expect(times).toHaveLength(n);
    expect(times[0]).toBeGreaterThanOrEqual(95);
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual((n - 1) * 20 - 5);
    server.setOptions({ reply: 'Hello there. General Kenobi.' });
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
    await vi.waitFor(() => expect(server.inFlight).toBe(1));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(1));
  });

  it('answers unknown routes and bad JSON with OpenAI-shaped errors', async () => {
    const missing = await fetch(`${origin}/v1/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { message: expect.any(String) } });
    const bad = await fetch(`${origin}/v1/chat/completions`, { method: 'POST', body: '{oops' });
    expect(bad.status).toBe(400);
  });
});
