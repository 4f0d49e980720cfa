/**
 * A small local stand-in for the OpenAI API, spoken to through the real
 * `openai` SDK: streamed and plain chat completions, text to speech, model
 * list. Latency, token rate and failures are injectable and can change while
 * it runs. Tests use it; so does the offline demo mode (no key, no network).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock, type TimerHandle } from '../clock';
import { pcmToWav } from './tts/types';

/** The endpoints the fake serves. */
export type FakeEndpoint = 'chat' | 'speech' | 'models';

/** A chat message as the fake receives it. */
export interface FakeChatMessage {
  role: string;
  content: string;
}

/** Tunables of {@link FakeOpenAiServer}; every one can change at run time. */
export interface FakeOpenAiOptions {
  host: string;
  port: number;
  /** Delay before the first streamed token (and before a non-stream reply). */
  firstTokenLatencyMs: number;
  /** Streaming rate after the first token; 0 sends everything at once. */
  tokensPerSec: number;
  ttsBaseLatencyMs: number;
  /** Extra TTS latency per second of audio produced (0.2 → 200 ms per second). */
  ttsRealtimeFactor: number;
  /** Audio length per input character. */
  msPerChar: number;
  /** The assistant's reply: fixed text, or computed from the request's messages. */
  reply: string | ((messages: FakeChatMessage[]) => string);
  /** When set, requests without `Authorization: Bearer <key>` get 401. */
  apiKey: string | undefined;
  /** Share of speech calls answered 500 at random (fault tests; 0 by default). */
  speechErrorRate: number;
  /** Share of speech calls that never answer, at random (fault tests; 0 by default). */
  speechHangRate: number;
  /** Random source in [0, 1) for the rates above (see {@link seededRandom}). */
  random: () => number;
  /** A status to answer for this speech input every time (a sentence that fails for good), or undefined. */
  speechFailureFor: ((input: string) => number | undefined) | undefined;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One scripted failure, consumed by the next `count` calls to `endpoint`. */
export interface FakeFailure {
  endpoint: 'chat' | 'speech';
  /** HTTP status to answer with (default 500). Ignored for `hang` and `afterTokens`. */
  status?: number;
  /** How many calls fail this way (default 1). */
  count?: number;
  /** Never answer: the client must time out or abort. */
  hang?: boolean;
  /** Chat streams only: send this many tokens, then drop the connection. */
  afterTokens?: number;
  /** Adds a `Retry-After` header (seconds). */
  retryAfterSec?: number;
}

/** Counters, per endpoint. */
export interface FakeOpenAiStats {
  /** Every request received, failed ones included. */
  calls: Record<FakeEndpoint, number>;
  /** Requests answered in full. */
  completed: Record<FakeEndpoint, number>;
  /** Requests the client gave up on (socket closed before the answer finished). */
  aborted: Record<FakeEndpoint, number>;
  /** Requests answered with a scripted failure. */
  failed: Record<FakeEndpoint, number>;
}

/** Sample rate of the fake's speech (OpenAI's `pcm` format: 24 kHz mono s16le). */
export const FAKE_TTS_SAMPLE_RATE = 24_000;

const DEFAULT_REPLY =
  'The torchlight gutters as you step past the threshold, and the smell of old stone rises to meet you. ' +
  'Somewhere below, water drips in a slow and patient rhythm. ' +
  'Your lantern finds a stair spiralling down into the dark, its steps worn smooth by centuries of feet. ' +
  'A cold draught brushes your cheek, carrying a whisper you almost understand. ' +
  'Then the whisper stops. ' +
  'Whatever waits below has heard you coming.';

const DEFAULTS: FakeOpenAiOptions = {
  host: '127.0.0.1',
  port: 0,
  firstTokenLatencyMs: 0,
  tokensPerSec: 0,
  ttsBaseLatencyMs: 0,
  ttsRealtimeFactor: 0,
  msPerChar: 65,
  reply: DEFAULT_REPLY,
  apiKey: undefined,
  speechErrorRate: 0,
  speechHangRate: 0,
  random: Math.random,
  speechFailureFor: undefined,
};

const MODELS = ['gpt-4o-mini', 'gpt-4o-mini-tts', 'tts-1'];

/**
 * Like a model asked to finish a reply that was cut short: when the chat holds
 * an earlier assistant turn, the reply is the one written for the chat before
 * that turn, and only its rest (after the assistant's text) is sent. A reply
 * that doesn't start with that text is sent whole.
 */
function replyText(reply: FakeOpenAiOptions['reply'], messages: FakeChatMessage[]): string {
  const at = messages.findLastIndex((m) => m.role === 'assistant');
  const asked = at >= 0 ? messages.slice(0, at) : messages;
  const full = typeof reply === 'function' ? reply(asked) : reply;
  const prefix = at >= 0 ? String(messages[at]?.content ?? '') : '';
  return prefix && full.startsWith(prefix) ? full.slice(prefix.length) : full;
}

/** Cuts text into LLM-like tokens: 1–4 visible characters with their leading whitespace. */
export function fakeTokenize(text: string): string[] {
  return text.match(/\s*\S{1,4}|\s+/g) ?? [];
}

/** Quiet, speech-like PCM (a gliding tone with syllable-rate swells) lasting `seconds`. */
export function fakeSpeechPcm(seconds: number, sampleRate = FAKE_TTS_SAMPLE_RATE): Buffer {
  const samples = Math.max(1, Math.round(seconds * sampleRate));
  const pcm = Buffer.alloc(samples * 2);
  let phase = 0;
  for (let n = 0; n < samples; n++) {
    const t = n / sampleRate;
    const pitch = 140 + 25 * Math.sin(2 * Math.PI * 0.7 * t);
    phase += (2 * Math.PI * pitch) / sampleRate;
    const envelope = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    pcm.writeInt16LE(Math.round(2500 * envelope * Math.sin(phase)), n * 2);
  }
  return pcm;
}

/** Fake OpenAI API on node:http. `start()` gives the base URL to hand to the SDK. */
export class FakeOpenAiServer {
  #options: FakeOpenAiOptions;
  #server: Server | undefined;
  #failures: Array<FakeFailure & { remaining: number }> = [];
  #lastBodies: Partial<Record<FakeEndpoint, unknown>> = {};
  #stats: FakeOpenAiStats = emptyStats();
  #speeches: Array<{ input: string; voice: string }> = [];
  #open = new Set<ServerResponse>();
  readonly #clock: Clock;

  /** `clock` times latency and token pacing (tests pass a manual clock); the system clock by default. */
  constructor(options: Partial<FakeOpenAiOptions> & { clock?: Clock } = {}) {
    const { clock, ...rest } = options;
    this.#options = { ...DEFAULTS, ...rest };
    this.#clock = clock ?? systemClock;
  }

  /** Current options (a copy). */
  get options(): FakeOpenAiOptions {
    return { ...this.#options };
  }

  /** Changes options at run time; requests already running keep their timing. */
  setOptions(patch: Partial<FakeOpenAiOptions>): void {
    this.#options = { ...this.#options, ...patch };
  }

  /** Makes the next call(s) to an endpoint fail as scripted. */
  failNext(failure: FakeFailure): void {
    this.#failures.push({ ...failure, remaining: failure.count ?? 1 });
  }

  /** Drops scripted failures not yet consumed. */
  clearFailures(): void {
    this.#failures = [];
  }

  /** Counters since start or the last {@link resetStats} (a copy). */
  get stats(): FakeOpenAiStats {
    return structuredClone(this.#stats);
  }

  /** Requests whose answer is still being sent (or is hanging). */
  get inFlight(): number {
    return this.#open.size;
  }

  resetStats(): void {
    this.#stats = emptyStats();
    this.#lastBodies = {};
    this.#speeches = [];
  }

  /** Every speech request answered since start or {@link resetStats}: its text and voice, in arrival order. */
  get speeches(): Array<{ input: string; voice: string }> {
    return this.#speeches.map((s) => ({ ...s }));
  }

  /** The parsed JSON body of the last request to `endpoint`. */
  lastRequestBody(endpoint: FakeEndpoint): unknown {
    return this.#lastBodies[endpoint];
  }

  /** Listens; `url` is the API base (ends in `/v1`), `origin` the bare server. */
  async start(): Promise<{ url: string; origin: string; port: number }> {
    if (!this.#server) {
      const server = createServer((req, res) => void this.#handle(req, res));
      this.#server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#options.port, this.#options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
    const { port } = this.#server.address() as AddressInfo;
    const origin = `http://${this.#options.host}:${port}`;
    return { url: `${origin}/v1`, origin, port };
  }

  /** Closes the server and any connection still open. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const res of this.#open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const endpoint: FakeEndpoint | undefined =
      req.method === 'POST' && path === '/v1/chat/completions'
        ? 'chat'
        : req.method === 'POST' && path === '/v1/audio/speech'
          ? 'speech'
          : req.method === 'GET' && path === '/v1/models'
            ? 'models'
            : undefined;
    if (!endpoint) {
      sendError(res, 404, `no route ${req.method} ${path}`, 'not_found');
      return;
    }
    this.#stats.calls[endpoint]++;
    this.#track(endpoint, res);
    const key = this.#options.apiKey;
    if (key !== undefined && req.headers.authorization !== `Bearer ${key}`) {
      sendError(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
      return;
    }
    let body: Record<string, unknown> = {};
    if (req.method === 'POST') {
      try {
        body = await readJson(req);
      } catch {
        sendError(res, 400, 'request body is not valid JSON', 'invalid_request_error');
        return;
      }
      this.#lastBodies[endpoint] = body;
    }
    if (endpoint === 'models') {
      sendJson(res, 200, {
        object: 'list',
        data: MODELS.map((id) => ({
          id,
          object: 'model',
          created: 1_700_000_000,
          owned_by: 'bardcast-fake',
        })),
      });
      return;
    }
    const failure =
      this.#takeFailure(endpoint) ?? (endpoint === 'speech' ? this.#randomFault(body) : undefined);
    if (failure?.hang) {
      this.#stats.failed[endpoint]++;
      return; // the socket stays open until the client gives up
    }
    if (failure && failure.afterTokens === undefined) {
      this.#stats.failed[endpoint]++;
      const headers =
        failure.retryAfterSec === undefined ? {} : { 'retry-after': String(failure.retryAfterSec) };
      const status = failure.status ?? 500;
      sendError(
        res,
        status,
        `scripted failure ${status}`,
        status === 429 ? 'rate_limit_exceeded' : 'server_error',
        headers,
      );
      return;
    }
    if (endpoint === 'chat') this.#chat(body, res, failure?.afterTokens);
    else this.#speech(body, res);
  }

  /** Counts the answer as completed or aborted when its socket closes. */
  #track(endpoint: FakeEndpoint, res: ServerResponse): void {
    this.#open.add(res);
    res.on('close', () => {
      this.#open.delete(res);
      if (res.writableFinished) this.#stats.completed[endpoint]++;
      else if (!(res as { bardcastDropped?: boolean }).bardcastDropped) this.#stats.aborted[endpoint]++;
    });
  }

  #takeFailure(endpoint: 'chat' | 'speech'): FakeFailure | undefined {
    const index = this.#failures.findIndex((f) => f.endpoint === endpoint);
    if (index < 0) return undefined;
    const failure = this.#failures[index] as FakeFailure & { remaining: number };
    failure.remaining--;
    if (failure.remaining <= 0) this.#failures.splice(index, 1);
    return failure;
  }

  /** A failure drawn from the speech fault knobs, if any applies to this call. */
  #randomFault(body: Record<string, unknown>): FakeFailure | undefined {
    const opts = this.#options;
    const input = typeof body.input === 'string' ? body.input : '';
    const permanent = opts.speechFailureFor?.(input);
    if (permanent !== undefined) return { endpoint: 'speech', status: permanent };
    if (opts.speechErrorRate <= 0 && opts.speechHangRate <= 0) return undefined;
    const draw = opts.random();
    if (draw < opts.speechHangRate) return { endpoint: 'speech', hang: true };
    if (draw < opts.speechHangRate + opts.speechErrorRate) return { endpoint: 'speech', status: 500 };
    return undefined;
  }

  #chat(body: Record<string, unknown>, res: ServerResponse, dropAfterTokens: number | undefined): void {
    const opts = this.#options;
    const messages = Array.isArray(body.messages) ? (body.messages as FakeChatMessage[]) : [];
    const text = replyText(opts.reply, messages);
    const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
    const id = `chatcmpl-fake${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const tokens = fakeTokenize(text);
    const usage = {
      prompt_tokens: messages.reduce((n, m) => n + fakeTokenize(String(m.content)).length, 0),
      completion_tokens: tokens.length,
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const interval = opts.tokensPerSec > 0 ? 1000 / opts.tokensPerSec : 0;
    const clock = this.#clock;
    const timers = new Set<TimerHandle>();
    res.on('close', () => timers.forEach((t) => clock.clearTimeout(t)));
    const at = (ms: number, fn: () => void): void => {
      const timer = clock.setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) fn();
      }, ms);
      timers.add(timer);
    };

    if (body.stream !== true) {
      at(opts.firstTokenLatencyMs + interval * Math.max(0, tokens.length - 1), () =>
        sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: text, refusal: null },
              logprobs: null,
              finish_reason: 'stop',
            },
          ],
          usage,
        }),
      );
      return;
    }

    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: null,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      })}\n\n`;
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    // Tokens are scheduled against one start time so timer lateness does not pile up.
    at(opts.firstTokenLatencyMs, () =>
      res.write(chunk({ role: 'assistant', content: '', refusal: null }, null)),
    );
    tokens.forEach((token, k) => {
      at(opts.firstTokenLatencyMs + k * interval, () => {
        if (dropAfterTokens !== undefined && k >= dropAfterTokens) {
          (res as { bardcastDropped?: boolean }).bardcastDropped = true;
          res.destroy();
          return;
        }
        res.write(chunk({ content: token }, null));
      });
    });
    at(opts.firstTokenLatencyMs + Math.max(0, tokens.length - 1) * interval, () => {
      if (dropAfterTokens !== undefined) {
        (res as { bardcastDropped?: boolean }).bardcastDropped = true;
        res.destroy();
        return;
      }
      res.write(chunk({}, 'stop'));
      if (includeUsage) {
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
        );
      }
      res.end('data: [DONE]\n\n');
    });
  }

  #speech(body: Record<string, unknown>, res: ServerResponse): void {
    const opts = this.#options;
    const input = typeof body.input === 'string' ? body.input : '';
    const format = body.response_format ?? 'mp3';
    if (!input) {
      sendError(res, 400, "'input' is required", 'invalid_request_error');
      return;
    }
    if (format !== 'pcm' && format !== 'wav') {
      // The fake has no compressor; Bardcast asks for uncompressed audio anyway.
      sendError(
        res,
        400,
        `fake server only produces pcm or wav, not ${String(format)}`,
        'invalid_request_error',
      );
      return;
    }
    this.#speeches.push({ input, voice: typeof body.voice === 'string' ? body.voice : '' });
    const speed = typeof body.speed === 'number' && body.speed > 0 ? body.speed : 1;
    const seconds = (input.length * opts.msPerChar) / 1000 / speed;
    const pcm = fakeSpeechPcm(seconds);
    const payload = format === 'wav' ? pcmToWav(pcm, FAKE_TTS_SAMPLE_RATE) : pcm;
    const latency = opts.ttsBaseLatencyMs + opts.ttsRealtimeFactor * seconds * 1000;
    const clock = this.#clock;
    const timer = clock.setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, {
        'content-type': format === 'wav' ? 'audio/wav' : 'audio/pcm',
        'content-length': payload.length,
      });
      res.end(payload);
    }, latency);
    res.on('close', () => clock.clearTimeout(timer));
  }
}

function emptyStats(): FakeOpenAiStats {
  const zero = (): Record<FakeEndpoint, number> => ({ chat: 0, speech: 0, models: 0 });
  return { calls: zero(), completed: zero(), aborted: zero(), failed: zero() };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    size += (part as Buffer).length;
    if (size > 1_000_000) throw new Error('body too large');
    parts.push(part as Buffer);
  }
  const text = Buffer.concat(parts).toString('utf8');
  const parsed: unknown = text ? JSON.parse(text) : {};
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('not an object');
  return parsed as Record<string, unknown>;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string,
  headers: Record<string, string> = {},
): void {
  const type = status >= 500 ? 'server_error' : status === 429 ? 'requests' : 'invalid_request_error';
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}
