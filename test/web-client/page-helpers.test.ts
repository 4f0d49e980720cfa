import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient, errorFromResponse } from '../../web/src/api';
import { connectionLabel, formatSeconds, statusLabel, truncate, truncateStart } from '../../web/src/format';
import { controlsEnabled } from '../../web/src/controls';
import {
  buildNarration,
  hasSpeakableText,
  isSubmitShortcut,
  narrationCount,
} from '../../web/src/narration-form';
import { hasSpeakableText as serverSpeakable } from '../../src/narration/speakable';
import { PageAddressError, readPageContext, webSocketUrl } from '../../web/src/page';
import { ConnectionStatus } from '../../web/src/ws-client';

describe('readPageContext', () => {
  it('reads the campaign from the path and the token from the query', () => {
    expect(readPageContext('/listen/camp-1', '?token=abc.def', 'listen')).toEqual({
      campaignId: 'camp-1',
      token: 'abc.def',
    });
    expect(readPageContext('/bard/dm/caf%C3%A9/', '?x=1&token=t', 'dm')).toEqual({
      campaignId: 'café',
      token: 't',
    });
  });

  it('explains a link without campaign or token', () => {
    expect(() => readPageContext('/listen/', '?token=t', 'listen')).toThrow(PageAddressError);
    expect(() => readPageContext('/listen/c', '', 'listen')).toThrow(/token/);
    expect(() => readPageContext('/listen/%E0%A4%A', '?token=t', 'listen')).toThrow(/garbled/);
  });
});

describe('webSocketUrl', () => {
  it('uses ws: or wss: on the page origin and escapes the query', () => {
    expect(webSocketUrl('http://127.0.0.1:3000', { campaignId: 'a b', token: 'x+y' })).toBe(
      'ws://127.0.0.1:3000/ws?campaign=a+b&token=x%2By',
    );
    expect(webSocketUrl('https://radio.example', { campaignId: 'c', token: 't' })).toBe(
      'wss://radio.example/ws?campaign=c&token=t',
    );
  });
});

describe('api', () => {
  it('turns the error shape into an ApiError', () => {
    const error = errorFromResponse(403, { error: { code: 'forbidden', message: 'DM token needed' } });
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message]).toEqual([403, 'forbidden', 'DM token needed']);
    expect(errorFromResponse(502, '<html>')).toMatchObject({ code: 'http_502' });
  });

  function fakeFetch(answer: (url: string, init: RequestInit) => Response) {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetch = (async (input: URL | RequestInfo, init?: RequestInit) => {
      calls.push({ url: String(input), init: init ?? {} });
      return answer(String(input), init ?? {});
    }) as typeof globalThis.fetch;
    return { calls, fetch };
  }

  const context = { campaignId: 'camp 1', token: 'tok' };

  it('posts narrations with the bearer token and without an empty voice', async () => {
    const { calls, fetch } = fakeFetch(() =>
      Response.json({ request_id: 'r1', spoken_verbatim: true }, { status: 202 }),
    );
    const api = createApiClient({ context, origin: 'http://127.0.0.1:3000', fetch });
    await expect(api.narrate({ text: 'Hello', mode: 'say' })).resolves.toEqual({
      request_id: 'r1',
      spoken_verbatim: true,
    });
    expect(calls[0]!.url).toBe('http://127.0.0.1:3000/api/campaigns/camp%201/narrations');
    expect(calls[0]!.init.method).toBe('POST');
    expect(calls[0]!.init.headers).toMatchObject({
      Authorization: 'Bearer tok',
      'Content-Type': 'application/json',
    });
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ text: 'Hello', mode: 'say' });
  });

  it('surfaces the server error of a control call', async () => {
    const { fetch } = fakeFetch(() =>
      Response.json({ error: { code: 'rate_limited', message: 'Slow down' } }, { status: 429 }),
    );
    const api = createApiClient({ context, origin: 'http://h', fetch });
    await expect(api.control('skip')).rejects.toMatchObject({ status: 429, code: 'rate_limited' });
  });

  it('reports a network failure as such', async () => {
    const fetch = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof globalThis.fetch;
    const api = createApiClient({ context, origin: 'http://h', fetch });
    await expect(api.getQueue()).rejects.toMatchObject({ status: 0, code: 'network' });
  });

  it('validates the queue answer and fetches chunk bytes', async () => {
    const { calls, fetch } = fakeFetch((url) =>
      url.includes('/chunks/')
        ? new Response(new Uint8Array([1, 2, 3]))
        : Response.json({
            campaign_id: 'c',
            server_time: 1,
            paused: false,
            now_playing: null,
            pending: [],
            history: [],
          }),
    );
    const api = createApiClient({ context, origin: 'http://h', fetch });
    await expect(api.getQueue()).resolves.toMatchObject({ paused: false });
    expect(new Uint8Array(await api.chunkBytes('/api/audio/chunks/c1'))).toEqual(new Uint8Array([1, 2, 3]));
    expect(calls[1]!.url).toBe('http://h/api/audio/chunks/c1');
    expect(calls[1]!.init.headers).toMatchObject({ Authorization: 'Bearer tok' });
  });
});

describe('narration form', () => {
  it('builds the body, trimming text and leaving out an empty voice', () => {
    expect(buildNarration({ text: '  The door opens. ', mode: 'narrate', voice: ' ' })).toEqual({
      text: 'The door opens.',
      mode: 'narrate',
    });
    expect(buildNarration({ text: 'Hi', mode: 'say', voice: 'alloy' })).toEqual({
      text: 'Hi',
      mode: 'say',
      voice: 'alloy',
    });
  });

  it('says what to fix', () => {
    expect(buildNarration({ text: '   ', mode: 'say', voice: '' })).toHaveProperty('error');
    expect(buildNarration({ text: 'x'.repeat(4001), mode: 'say', voice: '' })).toHaveProperty('error');
    expect(buildNarration({ text: 'x', mode: 'sing', voice: '' })).toHaveProperty('error');
    expect(buildNarration({ text: ' ... ', mode: 'say', voice: '' })).toEqual({
      error: 'There is nothing to speak in that text: write at least one word.',
    });
    expect(buildNarration({ text: 'x'.repeat(4010), mode: 'say', voice: '' })).toEqual({
      error: 'That is 4010 characters; the limit is 4000 (10 too many).',
    });
  });

  it('counts characters and says how far a paste went past the limit', () => {
    expect(narrationCount('  hello ')).toEqual({ label: '5 / 4000', over: 0 });
    expect(narrationCount('x'.repeat(4000))).toEqual({ label: '4000 / 4000', over: 0 });
    expect(narrationCount('x'.repeat(4213))).toEqual({
      label: '4213 / 4000: 213 over the limit, shorten it before sending',
      over: 213,
    });
  });

  it('has the same idea of speakable text as the server', () => {
    for (const text of ['...', '—', ' ', '!?', 'a', '7', 'Привет', '日本', '… ok']) {
      expect(hasSpeakableText(text), text).toBe(serverSpeakable(text));
    }
  });

  it('submits on Ctrl+Enter or Cmd+Enter only', () => {
    const key = (k: Partial<Parameters<typeof isSubmitShortcut>[0]>) =>
      isSubmitShortcut({ key: 'Enter', ctrlKey: false, metaKey: false, ...k });
    expect(key({ ctrlKey: true })).toBe(true);
    expect(key({ metaKey: true })).toBe(true);
    expect(key({})).toBe(false);
    expect(key({ ctrlKey: true, isComposing: true })).toBe(false);
    expect(key({ key: 'a', ctrlKey: true })).toBe(false);
  });
});

describe('DM controls', () => {
  it('are off with nothing on air or queued, and Pause/Resume follow the pause', () => {
    expect(controlsEnabled({ paused: false, progress: null, pending: [] })).toEqual({
      skip: false,
      stop: false,
      pause: false,
      resume: false,
    });
    expect(controlsEnabled({ paused: false, progress: { played: 0, total: 2 }, pending: [] })).toEqual({
      skip: true,
      stop: true,
      pause: true,
      resume: false,
    });
    expect(controlsEnabled({ paused: false, progress: null, pending: [{}] })).toMatchObject({
      skip: true,
      pause: true,
    });
    expect(controlsEnabled({ paused: true, progress: null, pending: [] })).toEqual({
      skip: false,
      stop: false,
      pause: false,
      resume: true,
    });
  });
});

describe('format', () => {
  it('formats positions, labels and long text', () => {
    expect(formatSeconds(0)).toBe('0:00');
    expect(formatSeconds(75.9)).toBe('1:15');
    expect(formatSeconds(null)).toBe('–:––');
    expect(connectionLabel(ConnectionStatus.Reconnecting)).toBe('Reconnecting…');
    expect(statusLabel('PLAYING')).toBe('on air');
    expect(truncate('The quick brown fox jumps', 16)).toBe('The quick brown…');
    expect(truncate('short', 16)).toBe('short');
    expect(truncateStart('One two three. Four five six.', 16)).toBe('…Four five six.');
    expect(truncateStart('short', 16)).toBe('short');
  });
});
