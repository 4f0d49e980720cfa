import { expect, it } from 'vitest';
import { shardOwnership, type Campaign } from '../../src/playback';

const campaign = (guildId: string | null): Campaign => ({
  id: 'x',
  name: 'x',
  guildId,
  voiceChannelId: null,
  textChannelId: null,
  dmRoleId: null,
  ttsVoice: null,
  idleTimeoutSec: null,
});

it('assigns a guild to shard (id >> 22) % count, web-only campaigns to shard 0', () => {
  // 175928847299117063 >> 22 = 41944705796; % 4 = 0 ... computed with BigInt below.
  const guild = '175928847299117063';
  const shard = Number((BigInt(guild) >> 22n) % 4n);
  for (let s = 0; s < 4; s++) {
    expect(shardOwnership([s], 4)(campaign(guild))).toBe(s === shard);
  }
  expect(shardOwnership([0], 4)(campaign(null))).toBe(true);
  expect(shardOwnership([1, 2], 4)(campaign(null))).toBe(false);
  expect(shardOwnership([0], 2)(campaign('not-a-snowflake'))).toBe(true);
});
