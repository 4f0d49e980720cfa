import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeOpenAiServer } from '../../src/narration/fake-openai-server';
import {
  CONTINUE_INSTRUCTION,
  CAST_INTRO,
  DEFAULT_NARRATOR_PROMPT,
  LlmError,
  OpenAiLlmClient,
  type OpenAiLlmOptions,
} from '../../src/narration/llm';

const REPLY = 'The gate groans open. Beyond it, mist curls over the graves. Something moves.';

let server: FakeOpenAiServer;
let baseURL: string;

beforeAll(async () => {
  server = new FakeOpenAiServer({ apiKey: 'sk-test' });
  baseURL = (await server.start()).url;
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.setOptions({ reply: REPLY, firstTokenLatencyMs: 0, tokensPerSec: 0 });
  server.clearFailures();
  server.resetStats();
});

const client = (options: Partial<OpenAiLlmOptions> = {}) =>
  new OpenAiLlmClient({
    apiKey: 'sk-test',
    baseURL,
    model: 'narrator-test',
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const delta of iterable) out.push(delta);
  return out;
}

describe('OpenAiLlmClient against the fake server', () => {
  it('continues a narration cut short: the text so far as the assistant turn, then the ask to go on', async () => {
    const cut = 'The gate groans open. Beyond it, mist cu';
    const deltas = await collect(client().streamNarration({ prompt: 'Open the gate', continueFrom: cut }));
    // The fake, like a model, sends only the rest.
    expect(cut + deltas.join('')).toBe(REPLY);
    const body = server.lastRequestBody('chat') as Record<string, unknown>;
    const messages = body.messages as Array<{ role: string; content: string }>;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[1]?.content).toBe('Open the gate');
    expect(messages[2]?.content).toBe(cut);
    expect(messages[3]?.content).toBe(CONTINUE_INSTRUCTION);
  });

  it('a reply computed from the prompt is continued from the same prompt, not from the ask to go on', async () => {
    server.setOptions({
      reply: (messages) =>
        `You said ${messages.filter((m) => m.role === 'user').pop()?.content}. Then it rains.`,
    });
    const full = await collect(client().streamNarration({ prompt: 'open' }));
    expect(full.join('')).toBe('You said open. Then it rains.');
    const rest = await collect(
      client().streamNarration({ prompt: 'open', continueFrom: 'You said open. Th' }),
    );
    expect(rest.join('')).toBe('en it rains.');
  });

  it('streams the reply as deltas and sends prompt, history and limits', async () => {
    const deltas = await collect(
      client({ maxTokens: 123 }).streamNarration({
        prompt: 'Open the gate',
        history: ['You reach the cemetery.'],
      }),
    );
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.every((d) => d.length > 0)).toBe(true);
    expect(deltas.join('')).toBe(REPLY);
    const body = server.lastRequestBody('chat') as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'narrator-test', stream: true, max_tokens: 123 });
    const messages = body.messages as Array<{ role: string; content: string }>;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[0]?.content).toContain(DEFAULT_NARRATOR_PROMPT);
    expect(messages[0]?.content).toContain('You reach the cemetery.');
    expect(messages[1]?.content).toBe('Open the gate');
    expect(server.stats.completed.chat).toBe(1);
  });

  it('keeps the newest history within the character budget, oldest first', () => {
    const messages = client({ historyChars: 25 }).buildMessages({
      prompt: 'p',
      history: ['first entry, too old', 'second one', 'third one'],
    });
    expect(messages[0]?.content).toMatch(/second one\n\nthird one$/);
    expect(messages[0]?.content).not.toContain('first entry');
  });

  it("names the campaign's cast in the system message, or says nothing of a cast when it has none", () => {
    const withCast = client().buildMessages({ prompt: 'p', cast: ['Grimble', 'Old Mara'] });
    expect(withCast[0]?.content).toContain(`${CAST_INTRO} Grimble, Old Mara.`);
    expect(client().buildMessages({ prompt: 'p', cast: [] })[0]?.content).toBe(DEFAULT_NARRATOR_PROMPT);
  });

  it('uses max_completion_tokens for OpenAI itself unless told otherwise', async () => {
    await collect(
      client({ maxTokensField: 'max_completion_tokens', maxTokens: 50 }).streamNarration({ prompt: 'x' }),
    );
    expect(server.lastRequestBody('chat')).toMatchObject({ max_completion_tokens: 50 });
  });

  it('retries 429 and 500 before the first token, then streams', async () => {
    server.failNext({ endpoint: 'chat', status: 429 });
    server.failNext({ endpoint: 'chat', status: 500 });
    const deltas = await collect(client().streamNarration({ prompt: 'go' }));
    expect(deltas.join('')).toBe(REPLY);
    expect(server.stats.calls.chat).toBe(3);
    expect(server.stats.failed.chat).toBe(2);
  });

  it('gives up with LlmError after the last retry', async () => {
    server.failNext({ endpoint: 'chat', status: 503, count: 10 });
    const error = await collect(
      client({ retry: { retries: 2, baseDelayMs: 1 } }).streamNarration({ prompt: 'go' }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).afterFirstToken).toBe(false);
    expect((error as LlmError).message).toMatch(/503/);
    expect(server.stats.calls.chat).toBe(3);
  });

  it('does not retry a bad API key', async () => {
    const error = await collect(client({ apiKey: 'sk-wrong' }).streamNarration({ prompt: 'go' })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).message).toMatch(/401/);
    expect(server.stats.calls.chat).toBe(1);
  });

  it('throws LlmError without retrying when the stream breaks after the first token', async () => {
    server.failNext({ endpoint: 'chat', afterTokens: 3 });
    const got: string[] = [];
    const error = await (async () => {
      for await (const d of client().streamNarration({ prompt: 'go' })) got.push(d);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).afterFirstToken).toBe(true);
    expect(got.length).toBe(3);
    expect(server.stats.calls.chat).toBe(1);
  });

  it('abort mid-stream stops the call and the server sees it aborted', async () => {
    server.setOptions({ tokensPerSec: 100 });
    const controller = new AbortController();
    const got: string[] = [];
    const error = await (async () => {
      for await (const d of client().streamNarration({ prompt: 'go', signal: controller.signal })) {
        got.push(d);
        if (got.length === 2) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(got.length).toBe(2);
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(1), { timeout: 20_000 });
    expect(server.stats.completed.chat).toBe(0);
  });

  it('abort before the first token rejects at once', async () => {
    server.setOptions({ firstTokenLatencyMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await collect(client().streamNarration({ prompt: 'go', signal: controller.signal })).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2000);
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(1), { timeout: 20_000 });
    expect(server.stats.calls.chat).toBe(1);
  });

  it('breaking out of the loop early closes the connection', async () => {
    server.setOptions({ tokensPerSec: 100 });
    for await (const _ of client().streamNarration({ prompt: 'go' })) break;
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(1), { timeout: 20_000 });
  });

  it('retries when the server hangs without answering (SDK timeout)', async () => {
    server.failNext({ endpoint: 'chat', hang: true });
    const deltas = await collect(client({ timeout: 200 }).streamNarration({ prompt: 'go' }));
    expect(deltas.join('')).toBe(REPLY);
    expect(server.stats.calls.chat).toBe(2);
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(1), { timeout: 20_000 });
  });

  it('retries when headers arrive but no token does (stall timeout), then fails', async () => {
    server.setOptions({ firstTokenLatencyMs: 10_000 });
    const error = await collect(
      client({ stallTimeoutMs: 100, retry: { retries: 1, baseDelayMs: 1 } }).streamNarration({
        prompt: 'go',
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).message).toMatch(/no token from the model for 100 ms/);
    expect(server.stats.calls.chat).toBe(2);
    await vi.waitFor(() => expect(server.stats.aborted.chat).toBe(2), { timeout: 20_000 });
  });

  it('yields nothing empty and fails clearly on an empty reply', async () => {
    server.setOptions({ reply: '' });
    const error = await collect(client().streamNarration({ prompt: 'go' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).message).toMatch(/no text/);
  });

  it('passes the messages to a reply function', async () => {
    server.setOptions({ reply: (messages) => `Echo: ${messages.at(-1)?.content ?? ''}.` });
    const deltas = await collect(client().streamNarration({ prompt: 'the bridge collapses' }));
    expect(deltas.join('')).toBe('Echo: the bridge collapses.');
  });
});
