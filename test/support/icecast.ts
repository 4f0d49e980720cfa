/**
 * Debian's Icecast 2.4 (`/usr/bin/icecast2`) on loopback for tests and
 * benches: a config file written at run time in a temp directory, a free port,
 * logs to the child's stderr, stop and restart on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where Debian's package puts the server. */
export const ICECAST_BIN = '/usr/bin/icecast2';

/** True when the Icecast binary is installed. */
export const icecastInstalled = (): boolean => existsSync(ICECAST_BIN);

/** Options for {@link startIcecast}. */
export interface IcecastOptions {
  sourcePassword?: string;
  /** Icecast's `<clients>` limit. */
  clients?: number;
  /** Bytes a new listener gets at once from the mount's recent past (`<burst-size>`, Icecast's default 64 KiB). */
  burstSize?: number;
}

/** A running Icecast. */
export interface IcecastServer {
  /** `http://127.0.0.1:port` */
  url: string;
  port: number;
  sourcePassword: string;
  /** The server process id (for RSS/CPU readings). */
  pid(): number;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
  /** What it wrote to stderr/stdout (diagnostics). */
  log(): string;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on `port`. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`icecast2 exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`icecast2 did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function configXml(port: number, dir: string, o: Required<IcecastOptions>): string {
  // Icecast refuses to run as root unless told which user to become.
  const owner =
    process.getuid?.() === 0 ? '<changeowner><user>nobody</user><group>nogroup</group></changeowner>' : '';
  return `<icecast>
  <location>loopback</location>
  <admin>nobody@localhost</admin>
  <limits>
    <clients>${o.clients}</clients>
    <sources>64</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>${o.burstSize}</burst-size>
  </limits>
  <authentication>
    <source-password>${o.sourcePassword}</source-password>
    <admin-user>admin</admin-user>
    <admin-password>${o.sourcePassword}-admin</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>${port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>${dir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><errorlog>-</errorlog><accesslog>-</accesslog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>${owner}</security>
</icecast>
`;
}

/** Starts Icecast on a free loopback port. */
export async function startIcecast(options: IcecastOptions = {}): Promise<IcecastServer> {
  const o: Required<IcecastOptions> = {
    sourcePassword: options.sourcePassword ?? 'bardcast-source-pw',
    clients: options.clients ?? 100,
    burstSize: options.burstSize ?? 65_535,
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'bardcast-icecast-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const file = path.join(dir, 'icecast.xml');
  await writeFile(file, configXml(port, dir, o), { mode: 0o644 });
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    const c = spawn(ICECAST_BIN, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    await waitForPort(port, c);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const kill = setTimeout(() => c.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(kill);
  };

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    sourcePassword: o.sourcePassword,
    pid: () => child?.pid ?? -1,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
