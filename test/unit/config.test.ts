import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  it('runs with embedded defaults and no variables at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      publicUrl: 'http://127.0.0.1:3000',
      databaseUrl: undefined,
      pgliteDir: path.resolve('data/pg'),
      audioDir: path.resolve('data/audio'),
      gapBetweenRequestsMs: 400,
      stallTimeoutMs: 180_000,
      retentionDays: 7,
      ttsProvider: 'auto',
      ttsConcurrency: 3,
      discordToken: undefined,
      defaultCampaign: 'demo',
    });
  });

  it('treats empty strings as unset and trims', () => {
    expect(loadConfig({ OPENAI_API_KEY: '  ', DISCORD_TOKEN: '' })).toMatchObject({
      openaiApiKey: undefined,
      discordToken: undefined,
    });
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        DATABASE_URL: 'mysql://x',
        TTS_PROVIDER: 'robot',
        TOKEN_SECRET: 'short',
        STALL_TIMEOUT_MS: '-1',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    for (const name of ['PORT', 'DATABASE_URL', 'TTS_PROVIDER', 'TOKEN_SECRET', 'STALL_TIMEOUT_MS']) {
      expect(msg).toContain(name);
    }
  });

  it('accepts a PostgreSQL URL and a public URL (trailing slash removed)', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      PUBLIC_URL: 'https://radio.example.com/',
    });
    expect(c.databaseUrl).toBe('postgresql://u:p@db:5432/x');
    expect(c.publicUrl).toBe('https://radio.example.com');
  });
});

describe('sharding', () => {
  it('reads the shard ids and count ShardingManager gives each process', () => {
    expect(loadConfig({ SHARDS: '2,3', SHARD_COUNT: '4' }).shards).toEqual({ ids: [2, 3], count: 4 });
    expect(loadConfig({}).shards).toBeUndefined();
    expect(() => loadConfig({ SHARDS: 'two', SHARD_COUNT: '4' })).toThrow(/SHARDS/);
  });
});
