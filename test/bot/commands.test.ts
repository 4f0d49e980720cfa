import { PermissionFlagsBits } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ALL_COMMANDS, APOLOGY, PROMPT_MAX, SAY_MAX } from '../../src/bot';
import { VERBATIM_NOTICE } from '../../src/bot/narration-flow';
import { WINDOW_CLOSED_NOTE } from '../../src/bot/progress';
import { RateLimitedError, UnknownVoiceError } from '../../src/narration/service';
import { useTestDatabase } from '../support/hooks';
import {
  AS_ADMIN,
  AS_DM,
  AS_MANAGER,
  AS_PLAYER,
  CAMPAIGN_ID,
  DM_ROLE,
  GUILD,
  VOICE_CHANNEL,
  startHarness,
  type BotHarness,
} from './support/harness';
import { advance, settle } from './support/time';

const tdb = useTestDatabase('pglite');
let h: BotHarness;

beforeEach(async () => {
  h = await startHarness(tdb);
});
afterEach(async () => {
  await h.dispose();
});

const station = () => h.t.engine.stations.get(CAMPAIGN_ID);
const campaign = () => h.t.engine.campaigns.get(CAMPAIGN_ID);

describe('registry', () => {
  it('has every command once, each a valid Discord definition', () => {
    const names = h.registry.all().map((c) => c.data.name);
    expect(names).toEqual([
      'narrate',
      'say',
      'join',
      'leave',
      'skip',
      'stop',
      'pause',
      'resume',
      'queue',
      'voice',
      'listen',
      'campaign',
      'cast',
      'scene',
      'transcript',
      'recap',
    ]);
    const json = h.registry.toJSON(); // the builders validate names, descriptions and option limits here
    expect(json.find((c) => c.name === 'narrate')?.options?.[0]).toMatchObject({
      name: 'prompt',
      max_length: PROMPT_MAX,
      required: true,
    });
    expect(json.find((c) => c.name === 'say')?.options?.[0]).toMatchObject({ max_length: SAY_MAX });
    expect(json.find((c) => c.name === 'voice')?.options?.[0]).toMatchObject({ autocomplete: true });
  });

  it('declares DM-only control beside each command, and nothing for /queue and /listen', () => {
    const requires = Object.fromEntries(ALL_COMMANDS.map((c) => [c.data.name, c.requires]));
    for (const name of ['narrate', 'say', 'join', 'leave', 'skip', 'stop', 'pause', 'resume', 'voice']) {
      expect(requires[name]).toContain('dm');
    }
    expect(requires['queue']).toEqual([]);
    expect(requires['listen']).toEqual([]);
    expect(requires['join']).toContain('inVoice');
  });
});

describe('permissions', () => {
  it('refuses a player narration and queue control, ephemerally, naming the DM role', async () => {
    for (const command of ['skip', 'stop', 'pause', 'resume', 'leave']) {
      const { i, outcome } = await h.run({ command, ...AS_PLAYER });
      expect(outcome).toBe('not_dm');
      expect(i.calls).toEqual([
        { kind: 'reply', content: expect.stringContaining(`<@&${DM_ROLE}>`), ephemeral: true },
      ]);
    }
    const { outcome } = await h.run({ command: 'narrate', options: { prompt: 'hello' }, ...AS_PLAYER });
    expect(outcome).toBe('not_dm');
    expect(h.narration.started).toHaveLength(0);
  });

  it('/pause with nothing on air or queued is refused instead of holding later narrations', async () => {
    const { i, outcome } = await h.run({ command: 'pause', ...AS_DM });
    expect(outcome).toBe('nothing_on_air');
    expect(i.content).toBe('🚫 Nothing is on air right now.');
    expect(h.t.engine.stations.get(CAMPAIGN_ID).paused).toBe(false);
  });

  it('lets the DM role, Manage Server and Administrator control the station', async () => {
    for (const who of [AS_DM, AS_MANAGER, AS_ADMIN]) {
      const { i, outcome } = await h.run({ command: 'skip', ...who });
      expect(outcome).toBe('nothing_on_air'); // past the permission check: a typed refusal from the station
      expect(i.content).toBe('🚫 Nothing is on air right now.');
      expect(i.ephemeral).toBe(true);
    }
  });

  it('without a DM role, only managers are DMs, and the refusal says how to set one', async () => {
    await h.dispose();
    h = await startHarness(tdb, { dmRoleId: null });
    const { i, outcome } = await h.run({ command: 'pause', ...AS_DM });
    expect(outcome).toBe('not_dm');
    expect(i.content).toContain('/campaign dm-role');
    // Past the permission check: the station's own refusal (nothing to pause).
    expect((await h.run({ command: 'pause', ...AS_MANAGER })).outcome).toBe('nothing_on_air');
  });

  it('lets everyone use /queue and /listen', async () => {
    expect((await h.run({ command: 'queue', ...AS_PLAYER })).outcome).toBe('ok');
    expect((await h.run({ command: 'listen', ...AS_PLAYER })).outcome).toBe('ok');
  });

  it('needs Manage Server to change the DM role, but only the DM for the other settings', async () => {
    const asDm = await h.run({
      command: 'campaign',
      subcommand: 'dm-role',
      options: { role: { id: 'r2' } },
      ...AS_DM,
    });
    expect(asDm.outcome).toBe('not_manager');
    const byManager = await h.run({
      command: 'campaign',
      subcommand: 'dm-role',
      options: { role: { id: 'r2' } },
      ...AS_MANAGER,
    });
    expect(byManager.outcome).toBe('ok');
    expect((await campaign())?.dmRoleId).toBe('r2');
    const player = await h.run({
      command: 'campaign',
      subcommand: 'idle-timeout',
      options: { minutes: 5 },
      ...AS_PLAYER,
    });
    expect(player.outcome).toBe('not_dm');
    expect((await h.run({ command: 'campaign', subcommand: 'show', ...AS_PLAYER })).outcome).toBe('ok');
  });

  it('refuses outside a guild and when nobody is in voice', async () => {
    expect((await h.run({ command: 'queue', guild: null })).outcome).toBe('guild_only');
    const { i, outcome } = await h.run({
      command: 'say',
      options: { text: 'hi' },
      ...AS_DM,
      voiceChannelId: null,
    });
    expect(outcome).toBe('no_voice_channel');
    expect(i.content).toContain('Join one');
    expect((await h.run({ command: 'join', ...AS_DM, voiceChannelId: null })).outcome).toBe(
      'caller_not_in_voice',
    );
  });
});

describe('option validation', () => {
  it.each([
    ['narrate', 'prompt', PROMPT_MAX],
    ['say', 'text', SAY_MAX],
  ])('/%s %s: up to %i characters, not blank', async (command, option, max) => {
    const tooLong = await h.run({ command, options: { [option]: 'a'.repeat(max + 1) }, ...AS_DM });
    expect(tooLong.outcome).toBe('too_long');
    expect(tooLong.i.content).toContain(`the limit is ${max}`);
    expect(tooLong.i.calls.map((c) => c.kind)).toEqual(['reply']); // refused before deferring
    expect((await h.run({ command, options: { [option]: '   ' }, ...AS_DM })).outcome).toBe('empty_option');
    const started = h.narration.started.length;
    const unspeakable = await h.run({ command, options: { [option]: '... ?!' }, ...AS_DM });
    expect(unspeakable.outcome).toBe('nothing_speakable');
    expect(unspeakable.i.content).toContain('nothing to speak');
    expect(h.narration.started).toHaveLength(started); // refused, not queued to fail later
    expect((await h.run({ command, options: { [option]: 'a'.repeat(max) }, ...AS_DM })).outcome).toBe('ok');
    expect(h.narration.last.request.text).toHaveLength(max);
  });

  it('/campaign idle-timeout: 1 to 240 minutes', async () => {
    const run = (minutes: number) =>
      h.run({ command: 'campaign', subcommand: 'idle-timeout', options: { minutes }, ...AS_DM });
    expect((await run(0)).outcome).toBe('out_of_range');
    expect((await run(241)).i.content).toContain('between 1 and 240');
    expect((await run(1)).outcome).toBe('ok');
    expect((await run(240)).outcome).toBe('ok');
    expect((await campaign())?.idleTimeoutSec).toBe(240 * 60);
  });

  it('/campaign voice-channel refuses a channel that is not a voice channel', async () => {
    const text = await h.run({
      command: 'campaign',
      subcommand: 'voice-channel',
      options: { channel: { id: 't1', type: 0 } },
      ...AS_DM,
    });
    expect(text.outcome).toBe('not_a_voice_channel');
    const ok = await h.run({
      command: 'campaign',
      subcommand: 'voice-channel',
      options: { channel: { id: 'vc-9' } },
      ...AS_DM,
    });
    expect(ok.outcome).toBe('ok');
    expect((await campaign())?.voiceChannelId).toBe('vc-9');
  });
});

describe('/narrate and /say: deferred reply edited with progress', () => {
  it('defers ephemerally, joins, then edits: writing… speaking 2/3… on air… aired', async () => {
    const { i, outcome } = await h.run({
      command: 'narrate',
      options: { prompt: 'The party enters the crypt.' },
      ...AS_DM,
    });
    expect(outcome).toBe('ok');
    expect(i.calls[0]).toEqual({ kind: 'deferReply', content: null, ephemeral: true });
    expect(h.voice.channelOf(GUILD.id)).toBe(VOICE_CHANNEL);
    const n = h.narration.last;
    expect(n.input).toMatchObject({ campaignId: CAMPAIGN_ID, mode: 'narrate', requestedBy: 'user-1' });
    await settle();
    expect(i.content).toBe('✍️ writing…');

    h.t.clock.advance(1000);
    n.written(3);
    await settle();
    expect(i.content).toBe('🔊 speaking sentence 1/3…');
    await n.addChunk(2000); // on air at once: the queue was empty
    await settle();
    expect(i.content).toBe('🔊 speaking sentence 1/3…'); // throttled: at most one edit per second
    await advance(h.t.clock, 1000, 250);
    expect(i.content).toBe('📻 on air · 🔊 speaking sentence 2/3…');
    await n.addChunk(2000);
    await n.addChunk(2000);
    await n.complete();
    await advance(h.t.clock, 1000, 250);
    expect(i.content).toBe('📻 on air');
    await advance(h.t.clock, 4000, 500);
    expect(i.content).toBe('✅ aired — 3 sentences');
    expect(i.calls.slice(1).every((c) => c.kind === 'editReply')).toBe(true);
    expect(h.deps.tasks.size).toBe(0);
  });

  it('says so when no LLM is configured and the prompt was spoken as written', async () => {
    await h.dispose();
    h = await startHarness(tdb, { llmAvailable: false });
    const { i } = await h.run({ command: 'narrate', options: { prompt: 'Rain.' }, ...AS_DM });
    await settle();
    expect(i.content).toContain(VERBATIM_NOTICE);
    expect(i.content).toContain('🔊 speaking sentence 1/?…');
  });

  it('/say reads verbatim with the campaign voice and shows the queue position', async () => {
    await h.run({ command: 'voice', options: { name: 'awb' }, ...AS_DM });
    await h.run({ command: 'say', options: { text: 'First.' }, ...AS_DM });
    await h.narration.last.addChunk(5000);
    const { i } = await h.run({ command: 'say', options: { text: 'Second.' }, ...AS_DM });
    expect(h.narration.last.input).toMatchObject({ mode: 'say', voice: 'awb', text: 'Second.' });
    await settle();
    expect(i.content).toBe('🔊 speaking sentence 1/?… · ⏳ queued — 1 ahead');
  });

  it('reports a skip and a failure with its reason in the reply', async () => {
    const skipped = await h.run({ command: 'say', options: { text: 'One.' }, ...AS_DM });
    await h.narration.last.addChunk(3000);
    const failed = await h.run({ command: 'say', options: { text: 'Two.' }, ...AS_DM });
    await h.narration.last.fail('TTS provider unreachable');
    await h.run({ command: 'skip', ...AS_DM });
    await advance(h.t.clock, 1000, 500);
    expect(skipped.i.content).toBe('⏭️ skipped');
    expect(failed.i.content).toBe('⚠️ failed: TTS provider unreachable');
  });

  it('turns a rate limit into a friendly refusal on the deferred reply (edited, not replied twice)', async () => {
    h.narration.nextError = new RateLimitedError(12_300);
    const { i, outcome } = await h.run({ command: 'say', options: { text: 'Too fast.' }, ...AS_DM });
    expect(outcome).toBe('rate_limited');
    expect(i.calls.map((c) => c.kind)).toEqual(['deferReply', 'editReply']);
    expect(i.content).toBe('🚫 Easy there — too many narrations at once. Try again in 13 s.');
  });

  it('turns an unknown voice from the narration service into a refusal', async () => {
    h.narration.nextError = new UnknownVoiceError('ghost');
    const { i, outcome } = await h.run({ command: 'say', options: { text: 'Boo.' }, ...AS_DM });
    expect(outcome).toBe('unknown_voice');
    expect(i.content).toContain('`ghost`');
  });

  it('still narrates for web listeners when joining voice fails, and says why', async () => {
    h.adapter.checkResult = { ok: false, why: 'missing_permissions', missing: ['Connect', 'Speak'] };
    const { i, outcome } = await h.run({ command: 'say', options: { text: 'Hello.' }, ...AS_DM });
    expect(outcome).toBe('ok');
    await advance(h.t.clock, 1000, 250); // the note arrives with the next (throttled) edit
    expect(i.content).toContain("I'm missing Connect, Speak there");
    expect(h.narration.started).toHaveLength(1);
  });

  it('keeps going when an edit fails (dismissed message) and logs it quietly', async () => {
    const { i } = await h.run({ command: 'say', options: { text: 'Hi.' }, ...AS_DM });
    i.failEdits = true;
    await h.narration.last.addChunk(500);
    await h.narration.last.complete();
    await advance(h.t.clock, 2000, 250);
    expect(h.logs.some((l) => l.msg === 'progress edit failed')).toBe(true);
    expect(h.deps.tasks.size).toBe(0);
  });
});

describe('unexpected errors', () => {
  it('log with command, guild and user context, then apologise on the deferred reply — no stack trace', async () => {
    h.narration.nextError = new Error('database on fire at /srv/secret/path.ts:42');
    const { i, outcome } = await h.run({ command: 'narrate', options: { prompt: 'x' }, ...AS_DM });
    expect(outcome).toBe('error');
    expect(i.content).toBe(`😓 ${APOLOGY}`);
    expect(i.contents.join('\n')).not.toContain('fire');
    expect(i.calls.filter((c) => c.kind === 'reply' || c.kind === 'deferReply')).toHaveLength(1);
    const line = h.logs.find((l) => l.msg === 'command failed');
    expect(line).toMatchObject({ command: 'narrate', guild: GUILD.id, user: 'user-1', level: 50 });
    expect(JSON.stringify(line)).toContain('database on fire');
  });

  it('apologise with a fresh ephemeral reply when nothing was sent yet', async () => {
    vi.spyOn(h.t.engine.campaigns, 'findByGuild').mockRejectedValueOnce(new Error('boom'));
    const { i, outcome } = await h.run({ command: 'queue', ...AS_PLAYER });
    expect(outcome).toBe('error');
    expect(i.calls).toEqual([{ kind: 'reply', content: `😓 ${APOLOGY}`, ephemeral: true }]);
  });

  it('answers an unknown (stale) command with the apology', async () => {
    const { i, outcome } = await h.run({ command: 'dance' });
    expect(outcome).toBe('unknown_command');
    expect(i.content).toContain(APOLOGY);
  });
});

describe('other commands', () => {
  it('/join joins the caller’s channel and remembers it; /leave leaves', async () => {
    const { i, outcome } = await h.run({ command: 'join', ...AS_DM });
    expect(outcome).toBe('ok');
    expect(i.calls.map((c) => c.kind)).toEqual(['deferReply', 'editReply']);
    expect(i.content).toBe(`🎙️ Joined <#${VOICE_CHANNEL}> — on air here.`);
    await vi.waitFor(
      async () => expect((await tdb.repository.getCampaign(CAMPAIGN_ID))?.voiceChannelId).toBe(VOICE_CHANNEL),
      { timeout: 20_000 },
    );
    expect((await h.run({ command: 'join', ...AS_DM })).i.content).toBe(`🎙️ Already in <#${VOICE_CHANNEL}>.`);
    const left = await h.run({ command: 'leave', ...AS_DM });
    expect(left.i.calls).toEqual([
      { kind: 'reply', content: expect.stringContaining('Left the voice channel'), ephemeral: false },
    ]);
    expect((await h.run({ command: 'leave', ...AS_DM })).outcome).toBe('bot_not_in_voice');
  });

  it('/join explains a channel it cannot use', async () => {
    h.adapter.checkResult = { ok: false, why: 'channel_full' };
    const { i, outcome } = await h.run({ command: 'join', ...AS_DM });
    expect(outcome).toBe('join_failed');
    expect(i.content).toBe('🚫 That voice channel is full.');
    expect(i.ephemeral).toBe(true);
  });

  it('/stop clears the queue, /pause and /resume answer for the table', async () => {
    await h.run({ command: 'say', options: { text: 'A.' }, ...AS_DM });
    await h.narration.last.addChunk(3000);
    await h.run({ command: 'say', options: { text: 'B.' }, ...AS_DM });
    expect((await h.run({ command: 'pause', ...AS_DM })).i.calls[0]).toMatchObject({
      content: '⏸️ Paused. `/resume` continues.',
      ephemeral: false,
    });
    expect((await h.run({ command: 'pause', ...AS_DM })).outcome).toBe('already_paused');
    expect((await h.run({ command: 'resume', ...AS_DM })).outcome).toBe('ok');
    expect((await h.run({ command: 'resume', ...AS_DM })).outcome).toBe('not_paused');
    const { i } = await h.run({ command: 'stop', ...AS_DM });
    expect(i.content).toBe('⏹️ Stopped — cleared 2 requests.');
    expect(station().queue()).toHaveLength(0);
  });

  it('/queue shows now playing with a progress bar, up next without spoilers, and recent failures', async () => {
    await h.run({ command: 'narrate', options: { prompt: 'SECRET PLOT TWIST' }, ...AS_DM });
    const a = h.narration.last;
    await a.addChunk(10_000, 'The torches gutter.');
    await a.addChunk(10_000, 'A cold wind rises.');
    await a.complete();
    await h.run({ command: 'say', options: { text: 'NEXT SPOILER' }, ...AS_DM });
    await h.narration.last.addChunk(1000);
    await h.run({ command: 'say', options: { text: 'doomed' }, ...AS_DM });
    await h.narration.last.fail('TTS quota exceeded');
    await h.t.engine.repository.flush();
    h.t.clock.advance(5000);
    const { i } = await h.run({ command: 'queue', ...AS_PLAYER });
    const text = i.content ?? '';
    expect(i.ephemeral).toBe(true);
    expect(text).toContain('📻 **On air** — Narration, sentence 1/2');
    expect(text).toContain('> The torches gutter.');
    expect(text).toContain('`▬▬▬🔘▬▬▬▬▬▬▬▬` 0:05 / 0:20');
    expect(text).toContain('1. Read-aloud — 1 sentence ready, more coming');
    expect(text).toMatch(/• Read-aloud <t:\d+:R> — TTS quota exceeded/);
    expect(text).toContain(`🎙️ Playing in <#${VOICE_CHANNEL}>`);
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('NEXT SPOILER');
  });

  it('/listen hands out an ephemeral link with a signed player token', async () => {
    const { i } = await h.run({ command: 'listen', ...AS_PLAYER });
    expect(i.ephemeral).toBe(true);
    const url = /https:\/\/\S+/.exec(i.content ?? '')?.[0] ?? '';
    expect(url.startsWith(`https://bardcast.example/listen/${CAMPAIGN_ID}?token=`)).toBe(true);
    const claims = h.tokens.verify(new URL(url).searchParams.get('token') ?? '', h.t.clock.now());
    expect(claims).toMatchObject({ campaignId: CAMPAIGN_ID, role: 'player' });
    expect(claims.expiresAt).toBe(Math.floor(h.t.clock.now() / 1000) + 24 * 3600);
  });

  it('/voice autocompletes from the narration voices and stores the choice', async () => {
    expect((await h.autocomplete('voice', 'fli')).choices).toEqual([
      { name: 'Sally (flite)', value: 'slt' },
      { name: 'Alan (flite)', value: 'awb' },
    ]);
    expect((await h.autocomplete('voice', '')).choices?.[0]).toEqual({
      name: 'Default voice',
      value: 'default',
    });
    expect((await h.run({ command: 'voice', options: { name: 'nope' }, ...AS_DM })).outcome).toBe(
      'unknown_voice',
    );
    const { i } = await h.run({ command: 'voice', options: { name: 'alloy' }, ...AS_DM });
    expect(i.content).toContain('**Alloy (OpenAI)**');
    expect((await campaign())?.ttsVoice).toBe('alloy');
    await h.run({ command: 'voice', options: { name: 'default' }, ...AS_DM });
    expect((await campaign())?.ttsVoice).toBeNull();
  });

  it('autocomplete that throws answers with no suggestions and logs', async () => {
    vi.spyOn(h.narration, 'voices').mockRejectedValueOnce(new Error('provider down'));
    const a = await h.autocomplete('voice', 'x');
    expect(a.choices).toEqual([]);
    expect(h.logs.some((l) => l.msg === 'autocomplete failed' && l['command'] === 'voice')).toBe(true);
  });

  it('/campaign show describes the settings; a guild with no campaign gets one named after it', async () => {
    const { i } = await h.run({ command: 'campaign', subcommand: 'show', ...AS_PLAYER });
    expect(i.content).toContain('📜 **The Table**');
    expect(i.content).toContain(`DM role: <@&${DM_ROLE}>`);
    expect(i.content).toContain('10 min (default)');
    await h.run({ command: 'queue', guild: { id: 'guild-2', name: 'Second Table' } });
    expect(await h.t.engine.campaigns.findByGuild('guild-2')).toMatchObject({
      id: 'gguild-2',
      name: 'Second Table',
    });
  });

  it('ManageGuild without Administrator is not confused with other permissions', async () => {
    const { outcome } = await h.run({ command: 'skip', permissions: [PermissionFlagsBits.ManageChannels] });
    expect(outcome).toBe('not_dm');
    expect(station().queue()).toHaveLength(0);
  });
});

describe('arrival order and first answers', () => {
  it('creates requests in the order the commands arrived, even while the bot is still joining voice', async () => {
    h.adapter.autoReady = false; // the first /say's join stays in progress
    const first = h.start({ command: 'say', options: { text: 'First.' }, ...AS_DM });
    await settle();
    h.t.clock.advance(200);
    const second = h.start({ command: 'say', options: { text: 'Second.' }, ...AS_DM });
    await settle();
    // Neither is on the station before the bot is in voice (it would air before Discord hears it).
    expect(h.narration.started).toHaveLength(0);
    h.adapter.connection().ready();
    expect(await Promise.all([first.done, second.done])).toEqual(['ok', 'ok']);
    expect(h.narration.started.map((n) => n.input.text)).toEqual(['First.', 'Second.']);
    expect(
      station()
        .queue()
        .map((e) => e.request.text),
    ).toEqual(['First.', 'Second.']);
    expect(h.adapter.connections).toHaveLength(1);
    expect(h.deps.arrivals.size).toBe(0);
  });

  it('keeps arrival order when the first request waits longer on the database than the second', async () => {
    h.latency.ms = 300;
    const first = h.start({ command: 'say', options: { text: 'Slow first.' }, ...AS_DM });
    await settle();
    h.latency.ms = 0;
    const second = h.start({ command: 'say', options: { text: 'Fast second.' }, ...AS_DM });
    for (let n = 0; n < 20; n++) await advance(h.t.clock, 100, 50);
    expect(await Promise.all([first.done, second.done])).toEqual(['ok', 'ok']);
    expect(
      station()
        .queue()
        .map((e) => e.request.text),
    ).toEqual(['Slow first.', 'Fast second.']);
  });

  it('answers every command before any database wait (4 s of latency at the repository)', async () => {
    const cases: Parameters<BotHarness['run']>[0][] = [
      { command: 'narrate', options: { prompt: 'The crypt.' }, ...AS_DM },
      { command: 'say', options: { text: 'Hello.' }, ...AS_DM },
      { command: 'join', ...AS_DM },
      { command: 'skip', ...AS_DM },
      { command: 'pause', ...AS_DM },
      { command: 'resume', ...AS_DM },
      { command: 'stop', ...AS_DM },
      { command: 'queue', ...AS_PLAYER },
      { command: 'voice', options: { name: 'alloy' }, ...AS_DM },
      { command: 'listen', ...AS_PLAYER },
      { command: 'campaign', subcommand: 'show', ...AS_PLAYER },
      { command: 'campaign', subcommand: 'idle-timeout', options: { minutes: 5 }, ...AS_DM },
      { command: 'campaign', subcommand: 'dm-role', options: { role: { id: 'r9' } }, ...AS_MANAGER },
      { command: 'leave', ...AS_DM },
    ];
    h.latency.ms = 4000;
    let cold = 0;
    for (const init of cases) {
      // Once for the bot's own guild (campaign cached) and once for a guild it has never seen.
      for (const guild of [GUILD, { id: `cold-${++cold}`, name: 'New Table' }]) {
        const { i, done } = h.start({ ...init, guild });
        await settle();
        const label = `${init.command} ${init.subcommand ?? ''} in ${guild.id}`;
        expect(i.calls[0]?.kind, label).toMatch(/^(deferReply|reply)$/);
        let outcome: string | null = null;
        void done.then((o) => (outcome = o));
        for (let n = 0; n < 40 && outcome === null; n++) await advance(h.t.clock, 1000, 500);
        expect(outcome, label).not.toBeNull();
        expect(outcome, label).not.toBe('error');
      }
    }
  });
});

describe('the 15-minute interaction window', () => {
  it('is counted from the interaction, and the progress reply stops cleanly at its end', async () => {
    const createdAt = h.t.clock.now();
    h.t.clock.advance(10 * 60_000); // the interaction reached us 10 minutes after Discord created it
    const { i } = await h.run({
      command: 'say',
      options: { text: 'Late.' },
      ...AS_DM,
      createdTimestamp: createdAt,
    });
    const n = h.narration.last;
    await n.addChunk(10 * 60_000);
    await advance(h.t.clock, 3 * 60_000, 1000); // 13 min after creation: still editing
    expect(i.content).toContain('📻 on air');
    const edits = i.calls.length;
    await advance(h.t.clock, 70_000, 1000); // past 14 min
    expect(i.content).toContain(WINDOW_CLOSED_NOTE);
    expect(i.calls.length).toBe(edits + 1);
    expect(h.deps.tasks.size).toBe(0);
    await n.addChunk(60_000);
    await n.complete();
    await advance(h.t.clock, 3 * 60_000, 5000);
    expect(i.calls.length).toBe(edits + 1); // nothing after the window
    expect(i.calls.every((c) => c.kind === 'deferReply' || c.kind === 'editReply')).toBe(true);
  });
});

describe('voice moves and losses, as the DM sees them', () => {
  it('/join in another channel moves there without leaving first, and remembers it', async () => {
    expect((await h.run({ command: 'join', ...AS_DM })).outcome).toBe('ok');
    const conn = h.adapter.connection();
    const { i, outcome } = await h.run({ command: 'join', ...AS_DM, voiceChannelId: 'vc-2' });
    expect(outcome).toBe('ok');
    expect(i.content).toBe('🎙️ Joined <#vc-2> — on air here.');
    expect(h.adapter.connections).toHaveLength(1);
    expect(conn.payloads).toEqual([`join ${VOICE_CHANNEL}`, 'join vc-2']);
    expect(h.voice.channelOf(GUILD.id)).toBe('vc-2');
    await vi.waitFor(async () => expect((await campaign())?.voiceChannelId).toBe('vc-2'), {
      timeout: 20_000,
    });
    // Dragged by someone to vc-3: the connection reconnects there; the bot follows and remembers it.
    conn.signalling();
    conn.ready('vc-3');
    expect(h.voice.channelOf(GUILD.id)).toBe('vc-3');
    await vi.waitFor(async () => expect((await campaign())?.voiceChannelId).toBe('vc-3'), {
      timeout: 20_000,
    });
  });

  it('tells the DM in the progress reply when voice gives up after repeated closes', async () => {
    const { i } = await h.run({ command: 'say', options: { text: 'Hello.' }, ...AS_DM });
    await h.narration.last.addChunk(120_000);
    const conn = h.adapter.connection();
    conn.onRejoin = (c) => h.t.clock.setTimeout(() => c.networkClose(4017), 100);
    conn.networkClose(4017);
    await advance(h.t.clock, 40_000, 200);
    expect(h.voice.channelOf(GUILD.id)).toBeNull();
    expect(i.content).toContain(
      '⚠️ Lost the voice channel: Discord kept closing the connection (close code 4017)',
    );
    expect(h.logs.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'voice: could not reconnect; giving up',
    ]);
    expect(station().now()?.request.text).toBe('Hello.'); // web listeners keep playing
  });
});
