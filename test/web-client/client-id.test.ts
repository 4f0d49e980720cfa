import { describe, expect, it } from 'vitest';
import { CLIENT_ID_RE as SERVER_CLIENT_ID_RE } from '../../src/web/ws/connection';
import {
  CLIENT_ID_KEY,
  CLIENT_ID_RE,
  newClientId,
  tabClientId,
  type ClientIdStorage,
} from '../../web/src/client-id';
import { webSocketUrl } from '../../web/src/page';

class MemoryStorage implements ClientIdStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('newClientId', () => {
  it('is 22 base64url characters the server accepts, and differs each time', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newClientId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(SERVER_CLIENT_ID_RE.test(id)).toBe(true);
    }
  });

  it('maps every byte value to the URL-safe alphabet', () => {
    expect(newClientId((b) => b.fill(0xff))).toBe('_____________________w');
    expect(newClientId((b) => b.fill(0xfb))).toBe('-_v7-_v7-_v7-_v7-_v7-w');
  });

  it('follows the same rule as the server', () => {
    expect(CLIENT_ID_RE.source).toBe(SERVER_CLIENT_ID_RE.source);
  });
});

describe('tabClientId', () => {
  it('creates an id once per tab and keeps it in sessionStorage (reloads reuse it)', () => {
    const storage = new MemoryStorage();
    let n = 0;
    const create = () => `created-id-${++n}`;
    const first = tabClientId(storage, create);
    expect(first).toBe('created-id-1');
    expect(storage.items.get(CLIENT_ID_KEY)).toBe(first);
    expect(tabClientId(storage, create)).toBe(first);
    // Another tab has its own storage, so its own id.
    expect(tabClientId(new MemoryStorage(), create)).toBe('created-id-2');
  });

  it('replaces a stored value the server would refuse', () => {
    const storage = new MemoryStorage();
    storage.setItem(CLIENT_ID_KEY, 'bad id!');
    expect(tabClientId(storage, () => 'fresh-id-123')).toBe('fresh-id-123');
    expect(storage.items.get(CLIENT_ID_KEY)).toBe('fresh-id-123');
  });

  it('still gives an id when storage is missing or throws', () => {
    const broken: ClientIdStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(tabClientId(broken, () => 'memory-only-1')).toBe('memory-only-1');
    expect(tabClientId(null)).toMatch(CLIENT_ID_RE);
  });
});

describe('webSocketUrl with a tab id', () => {
  it('adds client after campaign and token', () => {
    expect(webSocketUrl('https://radio.example', { campaignId: 'c', token: 't' }, 'tab_0123-abc')).toBe(
      'wss://radio.example/ws?campaign=c&token=t&client=tab_0123-abc',
    );
    expect(webSocketUrl('http://h:1', { campaignId: 'c', token: 't' })).toBe(
      'ws://h:1/ws?campaign=c&token=t',
    );
  });
});
