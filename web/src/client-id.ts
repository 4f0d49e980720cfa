/**
 * The tab's client id, sent as `client` on the WebSocket URL. The server
 * replaces an older connection only when the same token AND the same client
 * id connect again (a reconnect of this tab), so one listener link shared by
 * the whole table plays in every tab. Kept in sessionStorage: it survives a
 * reload of the tab, and each tab (or device) has its own.
 */

/** Same rule as the server's (`src/web/ws/connection.ts`). */
export const CLIENT_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

/** sessionStorage key of the id. */
export const CLIENT_ID_KEY = 'bardcast.client';

/** The part of `Storage` used here (a seam for tests). */
export type ClientIdStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** A fresh id: 16 random bytes as base64url (22 characters). */
export function newClientId(
  randomBytes: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  const bytes = randomBytes(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The id stored for this tab, or a new one (stored). Storage that is
 * missing or throws (privacy modes, sandboxed frames) only costs the reload
 * case: the page still gets an id of its own.
 */
export function tabClientId(
  storage: ClientIdStorage | null,
  create: () => string = () => newClientId(),
): string {
  try {
    const stored = storage?.getItem(CLIENT_ID_KEY);
    if (stored && CLIENT_ID_RE.test(stored)) return stored;
  } catch {
    // unreadable storage: a fresh id below
  }
  const id = create();
  try {
    storage?.setItem(CLIENT_ID_KEY, id);
  } catch {
    // unwritable storage: the id lasts as long as this page
  }
  return id;
}

/** `window.sessionStorage`, or null where reading it throws (blocked storage). */
export function sessionStorageOrNull(): ClientIdStorage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
