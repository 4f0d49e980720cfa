import WebSocket from 'ws';

/** A parsed server message. */
export type Msg = { type: string } & Record<string, unknown>;

/** A WebSocket test client that keeps every message and waits for the ones a test expects. */
export class TestSocket {
  readonly messages: Msg[] = [];
  readonly ws: WebSocket;
  closeCode: number | null = null;
  closeReason = '';
  #cursor = 0;
  #waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, res })),
      );
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.#wake();
        resolve(code);
      });
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as Msg);
      this.#wake();
    });
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** The next message (after the ones already taken) matching `type`, skipping others. */
  async next(type?: string, timeoutMs = 3_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.messages.length) {
        const m = this.messages[this.#cursor++] as Msg;
        if (type === undefined || m.type === type) return m;
      }
      if (this.closeCode !== null)
        throw new Error(`socket closed (${this.closeCode}) while waiting for ${type ?? 'a message'}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${type ?? 'a message'}; got ${this.messages.map((m) => m.type).join(', ')}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Messages received so far (types), from the start. */
  types(): string[] {
    return this.messages.map((m) => m.type);
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
