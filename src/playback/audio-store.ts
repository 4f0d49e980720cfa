import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Where chunk audio bytes live. Keys are relative paths made by the engine
 * (`<campaign>/<request>/<seq>.mp3`), validated before they touch the disk.
 */
export interface AudioStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  get(key: string): Promise<Buffer>;
  stream(key: string, range?: { start: number; end: number }): Readable;
  delete(key: string): Promise<void>;
  /** Throws when the store can't be written (health check). */
  check(): Promise<void>;
}

/** A key that could escape the store or isn't one the engine makes. */
export class InvalidAudioKeyError extends Error {
  constructor(readonly key: string) {
    super(`invalid audio key: ${JSON.stringify(key)}`);
    this.name = 'InvalidAudioKeyError';
  }
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}(\.[a-z0-9]{1,8})?$/;

/** Throws unless `key` is 1–4 safe path segments (no `..`, no absolute paths, no odd characters). */
export function assertAudioKey(key: string): void {
  const parts = key.split('/');
  if (parts.length < 1 || parts.length > 4 || !parts.every((p) => SEGMENT.test(p))) {
    throw new InvalidAudioKeyError(key);
  }
}

/** Filesystem store under one root directory; writes are atomic (temp file + rename). */
export class FileAudioStore implements AudioStore {
  constructor(readonly root: string) {}

  #path(key: string): string {
    assertAudioKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const file = this.#path(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.#path(key));
  }

  stream(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.#path(key), range ? { start: range.start, end: range.end } : {});
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const probe = path.join(this.root, '.health');
    await writeFile(probe, String(Date.now()));
    await stat(probe);
  }
}
