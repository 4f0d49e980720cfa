/** `/cast set|list|remove` through the real registry and dispatcher, on PGlite. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CastService } from '../../src/cast';
import { useTestDatabase } from '../support/hooks';
import { AS_DM, AS_PLAYER, CAMPAIGN_ID, startHarness, type BotHarness } from '../bot/support/harness';

const tdb = useTestDatabase('pglite');
let h: BotHarness;
let cast: CastService;

beforeEach(async () => {
  h = await startHarness(tdb);
  cast = new CastService({ prisma: tdb.db.prisma, voices: () => h.narration.voices() });
  h.deps.cast = cast;
});
afterEach(async () => {
  await h.dispose();
});

describe('/cast', () => {
  it('sets, lists and removes characters, with autocomplete for names and voices', async () => {
    const voice = (await h.narration.voices())[1]!.id;
    const set = await h.run({
      command: 'cast',
      subcommand: 'set',
      options: { name: 'Grimble', voice },
      ...AS_DM,
    });
    expect(set.outcome).toBe('ok');
    expect(set.i.content).toContain(`**Grimble** now speaks with \`${voice}\``);
    expect(await cast.list(CAMPAIGN_ID)).toEqual([{ name: 'Grimble', voice, auto: false }]);

    const names = await h.autocomplete('cast', 'gri', 'name');
    expect(names.choices).toEqual([{ name: `Grimble (${voice})`, value: 'Grimble' }]);
    const voices = await h.autocomplete('cast', voice.slice(0, 2), 'voice');
    expect(voices.choices?.map((c) => c.value)).toContain(voice);

    const list = await h.run({ command: 'cast', subcommand: 'list', ...AS_DM });
    expect(list.i.content).toContain('**Grimble**');
    expect(list.i.calls.every((c) => c.ephemeral)).toBe(true);

    const removed = await h.run({
      command: 'cast',
      subcommand: 'remove',
      options: { name: 'grimble' },
      ...AS_DM,
    });
    expect(removed.i.content).toContain('left the cast');
    expect(await cast.list(CAMPAIGN_ID)).toEqual([]);
  });

  it('refuses players, unknown voices and bad names without changing the cast', async () => {
    const player = await h.run({ command: 'cast', subcommand: 'list', ...AS_PLAYER });
    expect(player.outcome).toBe('not_dm');
    const badVoice = await h.run({
      command: 'cast',
      subcommand: 'set',
      options: { name: 'Grimble', voice: 'nope' },
      ...AS_DM,
    });
    expect(badVoice.outcome).toBe('unknown_voice');
    const voice = (await h.narration.voices())[0]!.id;
    const badName = await h.run({
      command: 'cast',
      subcommand: 'set',
      options: { name: '<b>x</b>', voice },
      ...AS_DM,
    });
    expect(badName.outcome).toBe('ok');
    expect(badName.i.content).toMatch(/^🚫 a name is/);
    expect(await cast.list(CAMPAIGN_ID)).toEqual([]);
  });
});
