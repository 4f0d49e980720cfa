/** Accumulates a streaming response body so a test can wait for "at least n bytes" or the end. */
export class StreamReader {
  chunks: Buffer[] = [];
  length = 0;
  ended = false;
  #wake: (() => void) | null = null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(res: Response) {
    this.#reader = (res.body as ReadableStream<Uint8Array>).getReader();
    void this.#pump();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const r = await this.#reader.read();
        if (r.done) break;
        this.chunks.push(Buffer.from(r.value));
        this.length += r.value.length;
        this.#wake?.();
      }
    } catch {
      // cancelled or reset
    }
    this.ended = true;
    this.#wake?.();
  }

  /** Waits until `pred()` holds, the body ended, or `timeoutMs` passed; returns `pred()`. */
  async until(pred: () => boolean, timeoutMs = 3_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!pred() && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
    return pred();
  }

  atLeast(n: number, timeoutMs?: number): Promise<boolean> {
    return this.until(() => this.length >= n, timeoutMs);
  }

  /** Waits for the end of the body. */
  async end(timeoutMs = 3_000): Promise<Buffer> {
    await this.until(() => this.ended, timeoutMs);
    return this.bytes;
  }

  cancel(): Promise<void> {
    return this.#reader.cancel().catch(() => {});
  }
}
