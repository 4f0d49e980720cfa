import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAudioStore, InvalidAudioKeyError, assertAudioKey } from '../../src/playback';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bardcast-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('FileAudioStore', () => {
  it('stores, reads, streams ranges and deletes', async () => {
    const store = new FileAudioStore(root);
    await store.put('c1/r1/0000.mp3', Buffer.from('hello audio'));
    expect((await store.get('c1/r1/0000.mp3')).toString()).toBe('hello audio');
    const parts: Buffer[] = [];
    for await (const p of store.stream('c1/r1/0000.mp3', { start: 6, end: 10 })) parts.push(p as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('audio');
    await store.delete('c1/r1/0000.mp3');
    await expect(store.get('c1/r1/0000.mp3')).rejects.toThrow();
    // No temp files left behind.
    expect(await readdir(path.join(root, 'c1/r1'))).toEqual([]);
    await store.check();
  });

  it('refuses keys that could leave the store', async () => {
    const store = new FileAudioStore(root);
    for (const key of [
      '../x.mp3',
      '/etc/passwd',
      'a/../../b',
      'a//b',
      '',
      'a/b/c/d/e',
      'a\\b',
      '.hidden',
      'a/ b',
      'a/b%2f',
    ]) {
      expect(() => assertAudioKey(key), key).toThrow(InvalidAudioKeyError);
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(InvalidAudioKeyError);
    }
    expect(() => assertAudioKey('demo/3f1e2d4c-aaaa-4bbb-8ccc-123456789abc/0001.opus')).not.toThrow();
  });
});
