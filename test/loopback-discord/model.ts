/**
 * The loopback's world: guilds with roles, a text and two voice channels,
 * members (the bot, a DM and a player) and voice states, serialised the way
 * Discord's gateway sends them.
 */

const DISCORD_EPOCH = 1_420_070_400_000n;
let increment = 0n;

/** A snowflake id for `ms` (Unix ms): discord.js reads an interaction's creation time from it. */
export function snowflake(ms: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(Math.floor(ms)) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
}

/** The Unix ms a snowflake was made at. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

/** Which shard a guild belongs to (Discord's formula). */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** Permission bits the loopback uses. */
export const Perm = {
  ManageGuild: 1n << 5n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  MoveMembers: 1n << 24n,
  UseApplicationCommands: 1n << 31n,
} as const;

const EVERYONE =
  Perm.ViewChannel | Perm.SendMessages | Perm.Connect | Perm.Speak | Perm.UseApplicationCommands;

/** A user of the loopback. */
export interface LoopbackUser {
  id: string;
  username: string;
  bot: boolean;
}

/** A role: id and permission bits. */
export interface LoopbackRole {
  id: string;
  name: string;
  permissions: bigint;
}

/** A member's voice state (channel null = not in voice). */
export interface LoopbackVoiceState {
  userId: string;
  channelId: string | null;
  sessionId: string;
  selfDeaf: boolean;
  selfMute: boolean;
}

/** One guild of the loopback. */
export interface LoopbackGuild {
  id: string;
  name: string;
  everyoneRole: LoopbackRole;
  dmRole: LoopbackRole;
  textChannelId: string;
  /** Two voice channels: the table's, and another one to move to. */
  voiceChannelIds: [string, string];
  members: { user: LoopbackUser; roles: string[] }[];
  voiceStates: Map<string, LoopbackVoiceState>;
  /** The DM (has the DM role with Manage Server) and a player (no roles). */
  dm: LoopbackUser;
  player: LoopbackUser;
}

/** Makes a guild with the bot, a DM and a player; DM and player sit in the first voice channel. */
export function createGuild(name: string, bot: LoopbackUser, id: string = snowflake()): LoopbackGuild {
  const dm: LoopbackUser = { id: snowflake(), username: `${name}-dm`, bot: false };
  const player: LoopbackUser = { id: snowflake(), username: `${name}-player`, bot: false };
  const dmRole: LoopbackRole = {
    id: snowflake(),
    name: 'Dungeon Master',
    permissions: EVERYONE | Perm.ManageGuild,
  };
  const voiceChannelIds: [string, string] = [snowflake(), snowflake()];
  const guild: LoopbackGuild = {
    id,
    name,
    everyoneRole: { id, name: '@everyone', permissions: EVERYONE },
    dmRole,
    textChannelId: snowflake(),
    voiceChannelIds,
    members: [
      { user: bot, roles: [] },
      { user: dm, roles: [dmRole.id] },
      { user: player, roles: [] },
    ],
    voiceStates: new Map(),
    dm,
    player,
  };
  for (const u of [dm, player]) {
    guild.voiceStates.set(u.id, {
      userId: u.id,
      channelId: voiceChannelIds[0],
      sessionId: `vs-${u.id}`,
      selfDeaf: false,
      selfMute: false,
    });
  }
  return guild;
}

/** A user as the gateway sends it. */
export function userJson(u: LoopbackUser): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    discriminator: '0',
    global_name: u.username,
    avatar: null,
    bot: u.bot,
  };
}

/** The permission bits a member has in the guild (roles OR-ed; no overwrites in the loopback). */
export function memberPermissions(guild: LoopbackGuild, userId: string): bigint {
  const member = guild.members.find((m) => m.user.id === userId);
  let bits = guild.everyoneRole.permissions;
  for (const r of member?.roles ?? []) if (r === guild.dmRole.id) bits |= guild.dmRole.permissions;
  return bits;
}

/** A guild member as the gateway sends it. */
export function memberJson(guild: LoopbackGuild, userId: string): Record<string, unknown> {
  const member = guild.members.find((m) => m.user.id === userId);
  if (!member) throw new Error(`no member ${userId} in guild ${guild.id}`);
  return {
    user: userJson(member.user),
    roles: member.roles,
    joined_at: new Date(snowflakeTime(guild.id)).toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
    nick: null,
  };
}

/** A voice state as the gateway sends it. */
export function voiceStateJson(guild: LoopbackGuild, s: LoopbackVoiceState): Record<string, unknown> {
  return {
    guild_id: guild.id,
    channel_id: s.channelId,
    user_id: s.userId,
    member: memberJson(guild, s.userId),
    session_id: s.sessionId,
    deaf: false,
    mute: false,
    self_deaf: s.selfDeaf,
    self_mute: s.selfMute,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null,
  };
}

/** GUILD_CREATE's payload. */
export function guildCreateJson(guild: LoopbackGuild): Record<string, unknown> {
  const role = (r: LoopbackRole, position: number) => ({
    id: r.id,
    name: r.name,
    permissions: r.permissions.toString(),
    position,
    color: 0,
    hoist: false,
    managed: false,
    mentionable: false,
    flags: 0,
  });
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    owner_id: guild.dm.id,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    system_channel_id: null,
    premium_tier: 0,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    features: [],
    emojis: [],
    stickers: [],
    roles: [role(guild.everyoneRole, 0), role(guild.dmRole, 1)],
    channels: [
      {
        id: guild.textChannelId,
        type: 0,
        name: 'table',
        position: 0,
        permission_overwrites: [],
        guild_id: guild.id,
      },
      ...guild.voiceChannelIds.map((id, i) => ({
        id,
        type: 2,
        name: i === 0 ? 'Tavern' : 'Dungeon',
        position: i + 1,
        bitrate: 64000,
        user_limit: 0,
        rtc_region: null,
        permission_overwrites: [],
        guild_id: guild.id,
      })),
    ],
    threads: [],
    members: guild.members.map((m) => memberJson(guild, m.user.id)),
    voice_states: [...guild.voiceStates.values()]
      .filter((s) => s.channelId !== null)
      .map((s) => voiceStateJson(guild, s)),
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    member_count: guild.members.length,
    large: false,
    unavailable: false,
    joined_at: new Date().toISOString(),
  };
}
