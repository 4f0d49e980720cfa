/**
 * HTTP calls of the pages (docs/PROTOCOL.md, "HTTP"). Every error comes back
 * as an {@link ApiError} carrying the server's `{ error: { code, message } }`.
 */
import type { PageContext } from './page';
import { parseQueueSnapshot, type QueueSnapshot } from './protocol';

/** A failed HTTP call: the server's error code and message, or a network failure. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when the request never got an answer. */
    readonly status: number,
    /** The protocol's error code (`bad_request`, `forbidden`, …), or `network` / `bad_response`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Builds the {@link ApiError} for a non-2xx answer from its status and parsed body. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') return new ApiError(status, code, message);
  }
  return new ApiError(status, status === 0 ? 'network' : 'http_' + status, `The server answered ${status}.`);
}

/** What a DM sends to narrate. */
export interface NarrationInput {
  text: string;
  mode: 'narrate' | 'say';
  voice?: string;
}

/** The server's answer to a narration (`202`). */
export interface NarrationAccepted {
  request_id: string;
  /** `narrate` without an LLM: the prompt is spoken exactly as written. */
  spoken_verbatim: boolean;
}

/** A DM's station control. */
export type ControlAction = 'skip' | 'stop' | 'pause' | 'resume';

/** The calls the pages make. */
export interface ApiClient {
  getQueue(): Promise<QueueSnapshot>;
  narrate(input: NarrationInput): Promise<NarrationAccepted>;
  control(action: ControlAction): Promise<void>;
  /** A chunk's MP3 (the `url` of a schedule entry). */
  chunkBytes(url: string, signal?: AbortSignal): Promise<ArrayBuffer>;
}

/** Options of {@link createApiClient}. */
export interface ApiClientOptions {
  context: PageContext;
  /** Base for relative URLs (the page's origin). */
  origin: string;
  fetch?: typeof fetch;
}

/** An {@link ApiClient} that authenticates with the page's token. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const campaign = encodeURIComponent(options.context.campaignId);
  const auth = { Authorization: 'Bearer ' + options.context.token };

  async function call(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await doFetch(new URL(path, options.origin), {
        ...init,
        headers: { ...auth, ...(init.body ? { 'Content-Type': 'application/json' } : {}) },
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    }
    if (!response.ok) {
      const body: unknown = await response.json().catch(() => null);
      throw errorFromResponse(response.status, body);
    }
    return response;
  }

  async function json(path: string, init?: RequestInit): Promise<unknown> {
    const response = await call(path, init);
    return response.status === 204 ? null : response.json().catch(() => null);
  }

  return {
    async getQueue() {
      const snapshot = parseQueueSnapshot(await json(`/api/campaigns/${campaign}/audio/queue`));
      if (!snapshot) throw new ApiError(200, 'bad_response', 'The queue answer did not make sense.');
      return snapshot;
    },
    async narrate(input) {
      const body: Record<string, string> = { text: input.text, mode: input.mode };
      if (input.voice) body.voice = input.voice;
      const result = (await json(`/api/campaigns/${campaign}/narrations`, {
        method: 'POST',
        body: JSON.stringify(body),
      })) as { request_id?: unknown; spoken_verbatim?: unknown } | null;
      if (typeof result?.request_id !== 'string') {
        throw new ApiError(202, 'bad_response', 'The server did not return a request id.');
      }
      return { request_id: result.request_id, spoken_verbatim: result.spoken_verbatim === true };
    },
    async control(action) {
      await json(`/api/campaigns/${campaign}/control`, { method: 'POST', body: JSON.stringify({ action }) });
    },
    async chunkBytes(url, signal) {
      const response = await call(url, signal ? { signal } : {});
      return response.arrayBuffer();
    },
  };
}
