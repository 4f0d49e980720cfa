import { EventEmitter } from 'node:events';
import net from 'node:net';

/**
 * A loopback TCP proxy in front of a real server that a test can cut and
 * restore: the database outage is a real one (sockets die, connects refused).
 */
export class TcpProxy extends EventEmitter<{ refused: [count: number] }> {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #up = true;
  /** Connections refused while cut (a test can wait for a client to have tried). */
  refused = 0;

  private constructor(server: net.Server) {
    super();
    this.#server = server;
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = net.createServer((client) => {
      if (!proxy.#up) {
        proxy.refused++;
        client.destroy();
        proxy.emit('refused', proxy.refused);
        return;
      }
      const upstream = net.connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        proxy.#sockets.add(s);
        s.on('close', () => proxy.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const proxy = new TcpProxy(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Resolves once `count` connections in all have been refused. */
  refusedAtLeast(count: number): Promise<void> {
    if (this.refused >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (n: number) => {
        if (n < count) return;
        this.off('refused', check);
        resolve();
      };
      this.on('refused', check);
    });
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Kills every connection and refuses new ones. */
  cut(): void {
    this.#up = false;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
