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

describe('DISCORD_API_URL', () => {
  it('points the bot at a Discord-compatible server (trailing slash removed); Discord when unset', () => {
    expect(loadConfig({}).discordApiUrl).toBeUndefined();
    expect(loadConfig({ DISCORD_API_URL: 'http://127.0.0.1:8080/api/' }).discordApiUrl).toBe(
      'http://127.0.0.1:8080/api',
    );
  });

  it('refuses what is not an http(s) URL, naming the variable', () => {
    for (const bad of ['discord.com/api', 'ws://127.0.0.1:1/api']) {
      expect(() => loadConfig({ DISCORD_API_URL: bad })).toThrow(/DISCORD_API_URL/);
    }
  });
});

describe('sharding', () => {
  it('reads the shard ids and count ShardingManager gives each process', () => {
    expect(loadConfig({ SHARDS: '2,3', SHARD_COUNT: '4' }).shards).toEqual({ ids: [2, 3], count: 4 });
    expect(loadConfig({}).shards).toBeUndefined();
    expect(() => loadConfig({ SHARDS: 'two', SHARD_COUNT: '4' })).toThrow(/SHARDS/);
  });
});

describe('connection limits and Icecast publishing', () => {
  it('has configurable connection limits with defaults', () => {
    expect(loadConfig({})).toMatchObject({
      maxWsConnections: 10_000,
      maxAudioStreams: 500,
      icecast: undefined,
    });
    expect(loadConfig({ MAX_WS_CONNECTIONS: '25000', MAX_AUDIO_STREAMS: '0' })).toMatchObject({
      maxWsConnections: 25_000,
      maxAudioStreams: 0,
    });
    expect(() => loadConfig({ MAX_WS_CONNECTIONS: '0' })).toThrow(/MAX_WS_CONNECTIONS/);
  });

  it('takes the source password from the URL or its own variable, and keeps it out of the URL', () => {
    expect(loadConfig({ ICECAST_URL: 'http://source:p%40ss@127.0.0.1:8000/' }).icecast).toEqual({
      url: 'http://127.0.0.1:8000',
      user: 'source',
      password: 'p@ss',
      mount: '/{campaign}.mp3',
      campaigns: 'all',
    });
    expect(
      loadConfig({
        ICECAST_URL: 'https://ice.example.com',
        ICECAST_SOURCE_PASSWORD: 'pw',
        ICECAST_CAMPAIGNS: 'one',
        ICECAST_MOUNT: '/live.mp3',
      }).icecast,
    ).toMatchObject({
      url: 'https://ice.example.com',
      password: 'pw',
      campaigns: ['one'],
      mount: '/live.mp3',
    });
  });

  it('refuses an Icecast setup that cannot work, naming the variable', () => {
    expect(() => loadConfig({ ICECAST_URL: 'http://127.0.0.1:8000' })).toThrow(/ICECAST_SOURCE_PASSWORD/);
    expect(() => loadConfig({ ICECAST_URL: 'ftp://x', ICECAST_SOURCE_PASSWORD: 'pw' })).toThrow(
      /ICECAST_URL/,
    );
    expect(() =>
      loadConfig({ ICECAST_URL: 'http://x:8000', ICECAST_SOURCE_PASSWORD: 'pw', ICECAST_MOUNT: '/live.mp3' }),
    ).toThrow(/ICECAST_MOUNT.*\{campaign\}/);
    expect(() =>
      loadConfig({ ICECAST_URL: 'http://x:8000', ICECAST_SOURCE_PASSWORD: 'pw', ICECAST_CAMPAIGNS: 'a;b' }),
    ).toThrow(/ICECAST_CAMPAIGNS/);
  });
});
