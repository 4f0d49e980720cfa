/** `/scene`, `/transcript` and `/recap` through the real registry and dispatcher, on PGlite, fakes at the seams. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SceneService, SceneStatus } from '../../src/scenes';
import { RecapService, TranscriptService } from '../../src/transcript';
import { AS_DM, AS_PLAYER, CAMPAIGN_ID, startHarness, type BotHarness } from '../bot/support/harness';
import { ControlledTts, FakeEncoder, ScriptedLlm } from '../narration/support/fakes';
import { useTestDatabase } from '../support/hooks';

const tdb = useTestDatabase('pglite');
let h: BotHarness;
let scenes: SceneService;
let tts: ControlledTts;
let queued: Array<[string, string]>;

beforeEach(async () => {
  h = await startHarness(tdb);
  tts = new ControlledTts();
  tts.auto = true;
  scenes = new SceneService({
    prisma: tdb.db.prisma,
    store: h.t.engine.store,
    writer: h.t.engine.writer,
    campaigns: h.t.engine.campaigns,
    tts,
    encoder: new FakeEncoder(),
    clock: h.t.clock,
    onQueued: (id, by) => queued.push([id, by]),
  });
  queued = [];
  const transcript = new TranscriptService({ prisma: tdb.db.prisma, clock: h.t.clock });
  h.deps.scenes = scenes;
  h.deps.transcript = transcript;
  h.deps.recap = new RecapService({
    llm: new ScriptedLlm(['Previously… ', 'the vault.']),
    transcript,
    narration: h.narration,
  });
});
afterEach(async () => {
  await scenes.close();
  await h.dispose();
});

describe('/scene', () => {
  it('saves, lists, plays and deletes a scene; players are refused', async () => {
    const save = await h.run({
      command: 'scene',
      subcommand: 'save',
      options: { name: 'Vault', text: 'The door opens.\nGrimble: Welcome.' },
      ...AS_DM,
    });
    expect(save.i.content).toContain('Saved **Vault**');
    expect((await scenes.whenRendered(CAMPAIGN_ID, 'Vault'))?.status).toBe(SceneStatus.Ready);
    const list = await h.run({ command: 'scene', subcommand: 'list', ...AS_DM });
    expect(list.i.content).toMatch(/\*\*Vault\*\* — ✅ ready/);
    expect((await h.autocomplete('scene', 'va')).choices).toEqual([{ name: 'Vault', value: 'Vault' }]);
    const calls = tts.calls.length;
    const play = await h.run({ command: 'scene', subcommand: 'play', options: { name: 'vault' }, ...AS_DM });
    expect(play.outcome).toBe('ok');
    expect(play.i.content).toContain('**vault** is on air');
    expect(tts.calls.length).toBe(calls);
    expect(queued).toEqual([[h.t.engine.stations.get(CAMPAIGN_ID).now()?.request.id, 'user-1']]);
    expect(h.t.engine.stations.get(CAMPAIGN_ID).now()?.request.text).toBe(
      'The door opens.\nGrimble: Welcome.',
    );
    const missing = await h.run({
      command: 'scene',
      subcommand: 'play',
      options: { name: 'Nope' },
      ...AS_DM,
    });
    expect(missing.i.content).toContain('there is no scene "Nope"');
    const player = await h.run({ command: 'scene', subcommand: 'list', ...AS_PLAYER });
    expect(player.outcome).toBe('not_dm');
    const del = await h.run({ command: 'scene', subcommand: 'delete', options: { name: 'Vault' }, ...AS_DM });
    expect(del.i.content).toContain('Deleted **Vault**');
  });
});

describe('/transcript and /recap', () => {
  it('sends the latest session privately, starts sessions, drafts and airs a recap', async () => {
    const empty = await h.run({ command: 'transcript', subcommand: 'get', ...AS_DM });
    expect(empty.i.content).toContain('Nothing has aired yet');
    const at = new Date(h.t.clock.now());
    await tdb.db.prisma.transcriptEntry.create({
      data: {
        requestId: '11111111-1111-4111-8111-111111111111',
        campaignId: CAMPAIGN_ID,
        mode: 'say',
        requestedBy: 'user-1',
        status: 'PLAYED',
        lines: [{ speaker: 'Grimble', text: 'Welcome to the vault.', aired: true }],
        queuedAt: at,
        airedAt: at,
        endedAt: at,
      },
    });
    const got = await h.run({ command: 'transcript', subcommand: 'get', ...AS_DM });
    expect(got.i.content).toContain('Transcript of the latest session (1 narrations)');
    expect(got.i.calls.every((c) => c.ephemeral)).toBe(true);
    const fresh = await h.run({
      command: 'transcript',
      subcommand: 'new-session',
      options: { title: 'Session 2' },
      ...AS_DM,
    });
    expect(fresh.i.content).toContain('New session started: **Session 2**');

    const draft = await h.run({ command: 'recap', subcommand: 'write', ...AS_DM });
    expect(draft.i.content).toContain('Previously… the vault.');
    expect(draft.i.calls.every((c) => c.ephemeral)).toBe(true);
    const aired = await h.run({ command: 'recap', subcommand: 'air', ...AS_DM });
    expect(aired.i.content).toContain('Recap queued');
    expect(h.narration.last.request.text).toBe('Previously… the vault.');
    const again = await h.run({ command: 'recap', subcommand: 'air', ...AS_DM });
    expect(again.i.content).toContain('no recap to air');
  });

  it('without an LLM says so and offers the transcript', async () => {
    h.deps.recap = new RecapService({
      llm: null,
      transcript: new TranscriptService({ prisma: tdb.db.prisma, clock: h.t.clock }),
      narration: h.narration,
    });
    const r = await h.run({ command: 'recap', subcommand: 'write', ...AS_DM });
    expect(r.i.content).toContain('No LLM is configured');
    expect(r.i.content).toContain('/transcript get');
  });
});
