import type { ServerResponse } from 'node:http';

/**
 * Writes `bytes` and waits for the socket to take them when its buffer is
 * full, so a stream holds at most one chunk in memory per slow client.
 * Resolves false when the client went away.
 */
export function writeBytes(res: ServerResponse, bytes: Uint8Array): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (bytes.length === 0) return Promise.resolve(true);
  if (res.write(bytes)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** Headers of every audio stream: never cached, never buffered by a reverse proxy. */
export function startAudioResponse(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'audio/mpeg');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
}
