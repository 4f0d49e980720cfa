/** `npm run deploy-commands` against the loopback, through the same `DISCORD_API_URL` setting. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ALL_COMMANDS } from '../../src/bot';
import { REPO_ROOT } from '../support/app-process';
import { LoopbackDiscord } from './loopback';

const run = promisify(execFile);
let loopback: LoopbackDiscord;

beforeAll(async () => {
  loopback = await LoopbackDiscord.start();
});
afterAll(() => loopback?.close());

it('registers every command, guild-scoped with DISCORD_GUILD_ID, through the bulk-overwrite route', async () => {
  const guild = loopback.guild();
  const env = { ...process.env, ...loopback.appEnv(), DISCORD_GUILD_ID: guild.id };
  delete (env as Record<string, string | undefined>).NODE_EXTRA_CA_CERTS;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/deploy-commands.ts'], {
    cwd: REPO_ROOT,
    env,
  });
  expect(stdout).toContain(`Registered ${ALL_COMMANDS.length} commands for guild ${guild.id}`);
  const registered = (loopback.commands.get(guild.id) ?? []) as { name: string }[];
  expect(registered.map((c) => c.name).sort()).toEqual(ALL_COMMANDS.map((c) => c.data.name).sort());
  expect(loopback.restCalls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
    `PUT /applications/${loopback.applicationId}/guilds/${guild.id}/commands 200`,
  ]);
}, 60_000);
