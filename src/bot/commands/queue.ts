import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { PlaybackRequest } from '../../playback';
import type { Command } from '../command';
import { formatQueue } from '../format';
import { OK } from '../refusals';
import { deferOnce, respond } from '../replies';

const HISTORY_LOOKBACK = 20;

/** `/queue`: now playing with a progress bar, up next, recent failures with reasons. For everyone. */
export const queueCommand: Command = {
  data: new SlashCommandBuilder()
    .setName('queue')
    .setDescription("What's on air, what's next, and what failed.")
    .setContexts(InteractionContextType.Guild),
  requires: [],
  async execute({ interaction, deps, campaign, guildId, log }) {
    const station = deps.stations.peek(campaign.id);
    const now = station?.now() ?? null;
    const queue = station?.queue() ?? [];
    let failures: PlaybackRequest[] = [];
    await deferOnce(interaction); // history comes from the database
    try {
      failures = await deps.repository.listHistory(campaign.id, HISTORY_LOOKBACK);
    } catch (err) {
      // The queue itself lives in memory; history is a nice-to-have during a database outage.
      log.warn({ err }, 'queue: history unavailable');
    }
    const upNext = now ? queue.filter((e) => e.request.id !== now.request.id) : queue;
    const text = formatQueue({ now, upNext, failures, voiceChannelId: deps.voice.channelOf(guildId) }, (id) =>
      station?.findRequest(id),
    );
    await respond(interaction, text);
    return OK;
  },
};
