/** src/log.ts: no secret in any log line, whatever field, message or error it hides in. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/auth';
import { createLogger, redactSecret, redactTokenParam, scrubSecrets } from '../../src/log';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

const DISCORD = 'MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.discord-bot-token-abcdef';
const API_KEY = 'sk-proj-log-test-0123456789abcdef';
const SECRET = 'token-secret-for-the-log-test-42';

describe('log redaction', () => {
  it('removes configured secrets, signed tokens, token= values and bearer credentials from every line', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, level: 'debug', secrets: [DISCORD, API_KEY, SECRET, undefined] });
    const token = new TokenSigner(SECRET).sign('c1', 'dm', 3600);
    log.info({ config: { discordToken: DISCORD } }, 'config');
    log.warn({ detail: `login failed for ${DISCORD}` }, `discord said no to ${DISCORD}`);
    log.error({ err: new Error(`401 from OpenAI (key ${API_KEY})`) }, 'llm failed');
    log.info({ url: `http://h/dm/c1?token=${token}&x=1` }, 'link');
    log.info({ headers: { Authorization: `Bearer ${token}` } }, 'request');
    log.debug(`signed ${token} with ${SECRET}`);
    log.info({ nested: { deeper: [{ value: `?token=abc.def` }] } }, 'odd url');
    expect(lines).toHaveLength(7);
    for (const line of lines) {
      for (const secret of [DISCORD, API_KEY, SECRET, token, 'abc.def']) expect(line).not.toContain(secret);
    }
    expect(lines.join('\n')).toContain('[redacted]');
    // Ordinary words survive.
    expect(JSON.parse(lines[2]!).msg).toBe('llm failed');
  });

  it('learns secrets later (a token secret read from the data dir) and keeps short values', () => {
    const value = 'late-secret-from-the-data-dir';
    expect(scrubSecrets(`x ${value} y`)).toContain(value);
    redactSecret(value);
    redactSecret('short');
    expect(scrubSecrets(`x ${value} y short`)).toBe('x [redacted] y short');
  });

  it('redacts the token of a link for logging', () => {
    expect(redactTokenParam('http://localhost:3000/listen/demo?token=eyJjIjoiZGVtbyJ9.mac')).toBe(
      'http://localhost:3000/listen/demo?token=[redacted]',
    );
  });
});
