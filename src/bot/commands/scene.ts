import { InteractionContextType, SlashCommandBuilder, type SlashCommandStringOption } from 'discord.js';
import { MAX_SPEAKER_NAME } from '../../cast';
import { SCENE_MAX_CHARS, SceneError, SceneStatus, type Scene } from '../../scenes';
import type { Command, CommandContext } from '../command';
import type { Choice } from '../interaction';
import { OK, refuse, type CommandResult } from '../refusals';
import { deferOnce, refusalMessage, respond } from '../replies';
import { validateText } from '../validate';

/** `/scene list` line of one scene. */
function describeScene(s: Scene): string {
  const state =
    s.status === SceneStatus.Ready
      ? `✅ ready · ${(s.durationMs / 1000).toFixed(1)} s`
      : s.status === SceneStatus.Rendering
        ? '⏳ rendering…'
        : `⚠️ failed: ${s.error}`;
  return `• **${s.name}** — ${state}`;
}

/** The `name` option of a subcommand: a saved scene's name, autocompleted. */
function nameOption(o: SlashCommandStringOption, description: string): SlashCommandStringOption {
  return o
    .setName('name')
    .setDescription(description)
    .setRequired(true)
    .setAutocomplete(true)
    .setMaxLength(MAX_SPEAKER_NAME);
}

/**
 * `/scene save|play|list|delete`: read-aloud text prepared before the
 * session. Saving renders its audio in the background; playing queues it
 * with every chunk ready, so it airs as soon as the station reaches it.
 */
export const sceneCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('scene')
    .setDescription('Prepared read-aloud scenes that air instantly (DM only).')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((s) =>
      s
        .setName('save')
        .setDescription('Save (or replace) a scene; its audio is rendered now.')
        .addStringOption((o) => nameOption(o, 'A short name to play it by'))
        .addStringOption((o) =>
          o
            .setName('text')
            .setDescription('The words; a line "Grimble: …" is spoken by Grimble')
            .setRequired(true)
            .setMaxLength(SCENE_MAX_CHARS),
        ),
    )
    .addSubcommand((s) =>
      s
        .setName('play')
        .setDescription('Air a prepared scene.')
        .addStringOption((o) => nameOption(o, 'The scene')),
    )
    .addSubcommand((s) =>
      s.setName('list').setDescription('Show the prepared scenes and whether their audio is ready.'),
    )
    .addSubcommand((s) =>
      s
        .setName('delete')
        .setDescription('Delete a scene and its audio.')
        .addStringOption((o) => nameOption(o, 'The scene')),
    ),
  requires: ['dm'],
  subcommandRequires: { play: ['voiceReachable'] },
  inArrivalOrder: true,
  async execute(ctx) {
    const { interaction, deps, campaign } = ctx;
    const scenes = deps.scenes;
    if (!scenes) {
      await respond(interaction, '🎬 Prepared scenes are not available on this server.');
      return OK;
    }
    const sub = interaction.options.getSubcommand(true);
    if (sub === 'list') {
      const all = await scenes.list(campaign.id);
      await respond(
        interaction,
        all.length > 0
          ? `🎬 **Scenes**\n${all.map(describeScene).join('\n')}`
          : '🎬 No scenes yet. `/scene save` prepares one before the session.',
      );
      return OK;
    }
    const name = validateText(interaction.options.getString('name', true), 'name', MAX_SPEAKER_NAME);
    if (!name.ok) return name;
    try {
      if (sub === 'save') {
        const text = validateText(interaction.options.getString('text', true), 'text', SCENE_MAX_CHARS);
        if (!text.ok) return text;
        const scene = await scenes.save(campaign.id, name.value, text.value);
        await respond(
          interaction,
          `🎬 Saved **${scene.name}**; its audio is being rendered. \`/scene list\` shows when it is ready.`,
        );
        return OK;
      }
      if (sub === 'delete') {
        const deleted = await scenes.delete(campaign.id, name.value);
        await respond(
          interaction,
          deleted ? `🎬 Deleted **${name.value}** and its audio.` : `🎬 There is no scene **${name.value}**.`,
        );
        return OK;
      }
      return await playScene(ctx, name.value);
    } catch (error) {
      if (error instanceof SceneError) {
        await respond(interaction, `🚫 ${error.message}.`);
        return OK;
      }
      throw error;
    }
  },
  async autocomplete({ interaction, deps, query }) {
    const q = query.trim().toLowerCase();
    const campaign = interaction.guildId ? await deps.campaigns.findByGuild(interaction.guildId) : null;
    if (!campaign || !deps.scenes) return [];
    return (await deps.scenes.list(campaign.id))
      .filter((s) => s.name.toLowerCase().includes(q))
      .map((s): Choice => ({
        name: `${s.name}${s.status === SceneStatus.Ready ? '' : ` (${s.status.toLowerCase()})`}`,
        value: s.name,
      }))
      .slice(0, 25);
  },
};

/** Joins voice if needed (a failed join still airs on the web), then queues the scene in arrival order. */
async function playScene(ctx: CommandContext, name: string): Promise<CommandResult> {
  const { interaction, deps, campaign, caller, guildId } = ctx;
  const receivedAt = deps.clock.now();
  await deferOnce(interaction);
  const target = deps.voice.channelOf(guildId) ? null : (caller.voiceChannelId ?? campaign.voiceChannelId);
  const joining = target
    ? deps.voice.join(campaign, target).then(
        (joined) => (joined.ok ? null : `⚠️ ${refusalMessage(refuse('join_failed', { why: joined.why }))}`),
        () => `⚠️ ${refusalMessage(refuse('join_failed', { why: 'timeout' }))}`,
      )
    : Promise.resolve(null);
  const play = () => deps.scenes!.play(campaign.id, name, { receivedAt, requestedBy: caller.userId });
  const request = await (ctx.arrival ? ctx.arrival.run(play) : play());
  const note = await joining;
  const onAir = deps.stations.get(campaign.id).now()?.request.id === request.id;
  const lines = [`🎬 **${name}** ${onAir ? 'is on air' : 'is queued'}.`, note];
  await respond(interaction, lines.filter(Boolean).join('\n'));
  ctx.log.info({ request: request.id }, 'scene queued');
  return OK;
}
