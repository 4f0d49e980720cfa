import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway TLS certificate for 127.0.0.1, written to a temp folder. */
export interface LoopbackCertificate {
  /** PEM file of the certificate: the value of the app child's `NODE_EXTRA_CA_CERTS`. */
  certFile: string;
  cert: Buffer;
  key: Buffer;
  /** Removes the temp folder. */
  dispose(): Promise<void>;
}

/**
 * Generates a self-signed certificate for `127.0.0.1` with the `openssl` CLI.
 * `@discordjs/voice` always dials `wss://{endpoint}`, so the loopback's voice
 * gateway must speak TLS, and the app must trust it: Node reads
 * `NODE_EXTRA_CA_CERTS` only at start-up, so the app runs as a child process.
 */
export async function createLoopbackCertificate(): Promise<LoopbackCertificate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bardcast-loopback-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  return {
    certFile,
    cert: await readFile(certFile),
    key: await readFile(keyFile),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
