/**
 * The HTTP API of a running app, as the DM and the tests use it: post
 * narrations, control the station, read the queue (the station's own view of
 * where it is, used to check what the pages show and play).
 */
import type { QueueSnapshot } from '../../../src/web/views';
import type { AppProcess } from './app-process';

export type { QueueSnapshot };

/** DM-side client of one app. */
export class StationApi {
  constructor(private readonly app: () => AppProcess) {}

  async #call(method: string, path: string, body?: unknown): Promise<Response> {
    const app = this.app();
    return fetch(`${app.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${app.dmToken}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  get #campaign(): string {
    return encodeURIComponent(this.app().campaignId);
  }

  /** Queues a narration; returns its request id. */
  async narrate(text: string, mode: 'say' | 'narrate' = 'say'): Promise<string> {
    const res = await this.#call('POST', `/api/campaigns/${this.#campaign}/narrations`, { text, mode });
    if (res.status !== 202) throw new Error(`narration refused: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { request_id: string }).request_id;
  }

  /** skip | stop | pause | resume; returns the HTTP status (409 when there is nothing to act on). */
  async control(action: 'skip' | 'stop' | 'pause' | 'resume'): Promise<number> {
    const res = await this.#call('POST', `/api/campaigns/${this.#campaign}/control`, { action });
    await res.arrayBuffer();
    return res.status;
  }

  async queue(): Promise<QueueSnapshot> {
    const res = await this.#call('GET', `/api/campaigns/${this.#campaign}/audio/queue`);
    if (!res.ok) throw new Error(`queue: ${res.status} ${await res.text()}`);
    return (await res.json()) as QueueSnapshot;
  }

  /** Polls the queue until `check` returns something truthy (a station state, not a sleep). */
  async waitForQueue<T>(
    check: (q: QueueSnapshot) => T | null | undefined | false,
    timeoutMs = 30_000,
    what = 'a queue condition',
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await this.queue();
      const value = check(last);
      if (value) return value;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; last queue: ${JSON.stringify(last)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until `requestId` is on air; returns the snapshot. */
  onAir(requestId: string, timeoutMs = 30_000): Promise<QueueSnapshot> {
    return this.waitForQueue(
      (q) => q.now_playing?.request_id === requestId && q,
      timeoutMs,
      `request ${requestId} on air`,
    );
  }

  /** Clears the station (stop) and makes sure it is not paused: each test starts from silence. */
  async reset(): Promise<void> {
    if ((await this.queue()).paused) await this.control('resume');
    await this.control('stop');
    await this.waitForQueue((q) => !q.now_playing && q.pending.length === 0, 10_000, 'an idle station');
  }
}
