/**
 * Registers Bardcast's slash commands with Discord (`npm run deploy-commands`).
 * Guild-scoped when DISCORD_GUILD_ID is set (instant; for development),
 * global otherwise (every server the bot is in; Discord may take a while to
 * show changes). Needs DISCORD_TOKEN and DISCORD_CLIENT_ID; DISCORD_API_URL
 * points it at a Discord-compatible server instead of Discord.
 */
import { REST, Routes } from 'discord.js';
import { ALL_COMMANDS, CommandRegistry } from '../src/bot';
import { ConfigError, loadConfig } from '../src/config';

async function main(): Promise<void> {
  const config = loadConfig();
  const { discordToken, discordClientId, discordGuildId, discordApiUrl } = config;
  if (!discordToken || !discordClientId) {
    console.error('Set DISCORD_TOKEN and DISCORD_CLIENT_ID (and DISCORD_GUILD_ID for a test server).');
    process.exitCode = 1;
    return;
  }
  const body = new CommandRegistry(ALL_COMMANDS).toJSON();
  const rest = new REST({ version: '10', ...(discordApiUrl ? { api: discordApiUrl } : {}) }).setToken(
    discordToken,
  );
  const route = discordGuildId
    ? Routes.applicationGuildCommands(discordClientId, discordGuildId)
    : Routes.applicationCommands(discordClientId);
  const result = (await rest.put(route, { body })) as unknown[];
  const where = discordGuildId
    ? `guild ${discordGuildId}`
    : 'every guild (global; may take up to an hour to appear)';
  console.log(
    `Registered ${result.length} commands for ${where}: ${body.map((c) => `/${c.name}`).join(' ')}`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exitCode = 1;
});
