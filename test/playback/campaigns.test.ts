import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, openTestDatabase, type TestDatabase } from '../support/db';
import { startTestEngine, type TestEngine } from '../support/engine';

describe.each(backends)('campaign directory (%s)', (backend) => {
  let tdb: TestDatabase;
  let t: TestEngine;
  beforeAll(async () => {
    tdb = await openTestDatabase(backend);
    t = await startTestEngine(tdb.repository);
  });
  afterAll(async () => {
    await t.dispose();
    await tdb.close();
  });

  it('links a campaign first opened from the web to its guild on the bot’s first use', async () => {
    // A listener link for g42 opened before the bot resolved that server.
    const fromWeb = await t.engine.campaigns.ensure('g42');
    expect(fromWeb).toMatchObject({ guildId: null, name: 'g42' });
    const fromBot = await t.engine.campaigns.ensure('g42', { guildId: '42', name: 'The Table' });
    expect(fromBot).toMatchObject({ id: 'g42', guildId: '42', name: 'The Table' });
    await t.engine.repository.flush();
    expect(await tdb.repository.getCampaign('g42')).toMatchObject({ guildId: '42', name: 'The Table' });
    expect((await t.engine.campaigns.findByGuild('42'))?.id).toBe('g42');
  });

  it('keeps an existing guild link and a name the DM gave', async () => {
    await t.engine.campaigns.ensure('g7', { guildId: '7', name: 'First' });
    await t.engine.campaigns.update('g7', { name: 'Renamed' });
    const again = await t.engine.campaigns.ensure('g7', { guildId: '8', name: 'Other' });
    expect(again).toMatchObject({ guildId: '7', name: 'Renamed' });
  });
});
