import { Client, Events, GatewayIntentBits, IntentsBitField, type Interaction } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOT_INTENTS, createBotClient, startBot, type BotHandle } from '../../src/bot';
import { loadConfig } from '../../src/config';
import type { AppServices } from '../../src/services';
import { useTestDatabase } from '../support/hooks';
import { FakeInteraction, type FakeInteractionInit } from './support/fake-interaction';
import { AS_DM, AS_PLAYER, GUILD, startHarness, type BotHarness } from './support/harness';
import { settle } from './support/time';

/** A fake that also answers discord.js's type guards, as the client's event would carry. */
class GatewayInteraction extends FakeInteraction {
  constructor(
    init: FakeInteractionInit,
    private readonly cached = true,
  ) {
    super(init);
  }
  isChatInputCommand(): boolean {
    return true;
  }
  isAutocomplete(): boolean {
    return false;
  }
  inCachedGuild(): boolean {
    return this.cached;
  }
}

const tdb = useTestDatabase('pglite');
let h: BotHarness;
let bot: BotHandle | null;
let client: Client;

beforeEach(async () => {
  h = await startHarness(tdb);
  client = createBotClient();
  bot = null;
});
afterEach(async () => {
  await bot?.close();
  await h.dispose();
});

function services(discordToken?: string): AppServices {
  const config = { ...loadConfig({}), publicUrl: 'https://bardcast.example', discordToken };
  return {
    config,
    log: h.deps.log,
    clock: h.t.clock,
    engine: h.t.engine,
    narration: h.narration,
    tokens: h.tokens,
  };
}

async function interact(init: FakeInteractionInit, cached = true): Promise<GatewayInteraction> {
  const i = new GatewayInteraction(init, cached);
  client.emit(Events.InteractionCreate, i as unknown as Interaction);
  for (let k = 0; k < 20 && i.calls.length === 0; k++) await settle();
  return i;
}

describe('startBot', () => {
  it('asks for the minimum intents: Guilds and GuildVoiceStates, no message content', () => {
    const bits = new IntentsBitField(client.options.intents);
    expect(bits.toArray().sort()).toEqual(['GuildVoiceStates', 'Guilds']);
    expect(BOT_INTENTS).toEqual([GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates]);
    expect(bits.has(GatewayIntentBits.MessageContent)).toBe(false);
  });

  it('logs the voice dependency report with the DAVE library on an info line', async () => {
    bot = await startBot(services(), { client, login: false, voiceAdapter: h.adapter });
    const line = h.logs.find((l) => l.msg.startsWith('voice: DAVE'));
    expect(line).toMatchObject({ level: 30, aes256gcm: 'yes' });
    expect(String(line?.['dave'])).toMatch(/^\d+\.\d+\.\d+/);
    expect(
      h.logs.some(
        (l) => l.msg === 'voice dependency report' && String(l['report']).includes('@snazzah/davey'),
      ),
    ).toBe(true);
  });

  it('routes slash commands from the client to the registry', async () => {
    bot = await startBot(services(), { client, login: false, voiceAdapter: h.adapter });
    const i = await interact({ command: 'queue', ...AS_PLAYER });
    expect(i.content).toContain('Nothing on air');
    const dm = await interact({ command: 'join', ...AS_DM });
    for (let k = 0; k < 20 && dm.calls.length < 2; k++) await settle();
    expect(dm.content).toContain('Joined');
    expect(bot.voice.channelOf(GUILD.id)).not.toBeNull();
  });

  it('answers a command from an uncached guild or a DM channel with the guild-only refusal', async () => {
    bot = await startBot(services(), { client, login: false, voiceAdapter: h.adapter });
    const i = await interact({ command: 'queue', guild: null }, false);
    expect(i.calls).toEqual([
      { kind: 'reply', content: expect.stringContaining('inside a server'), ephemeral: true },
    ]);
  });

  it('close() stops accepting commands, leaves voice and destroys the client', async () => {
    bot = await startBot(services(), { client, login: false, voiceAdapter: h.adapter });
    await interact({ command: 'join', ...AS_DM });
    for (let k = 0; k < 20 && bot.voice.size === 0; k++) await settle();
    expect(bot.voice.size).toBe(1);
    await bot.close();
    expect(bot.voice.size).toBe(0);
    expect(h.adapter.connection().destroyed).toBe(true);
    expect(client.listenerCount(Events.InteractionCreate)).toBe(0);
    expect(h.logs.some((l) => l.msg === 'bot stopped')).toBe(true);
    bot = null;
  });

  it('refuses to log in without a token', async () => {
    await expect(startBot(services(undefined), { client, voiceAdapter: h.adapter })).rejects.toThrow(
      /DISCORD_TOKEN/,
    );
  });
});
