import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CALLBACK_DEADLINE_MS,
  CallbackType,
  DiscordError,
  TOKEN_LIFETIME_MS,
  type LoopbackInteraction,
} from './interactions';
import { snowflake, userJson, type LoopbackUser } from './model';

/** A REST call the loopback received. */
export interface RestCall {
  at: number;
  method: string;
  /** Path after `/api/v10`, as sent (`messages/%40original` stays encoded). */
  path: string;
  status: number;
  body: unknown;
}

/** What the REST side needs from the loopback. */
export interface RestContext {
  now(): number;
  applicationId: string;
  bot: LoopbackUser;
  botToken: string;
  gatewayUrl(): string;
  shardCount: number;
  interactionByToken(token: string): LoopbackInteraction | undefined;
  interactionById(id: string): LoopbackInteraction | undefined;
  /** Called after every change to an interaction or the call log. */
  changed(): void;
  /** Commands registered through the application-command routes, per scope (`global` or a guild id). */
  commands: Map<string, unknown[]>;
}

type Reply = { status: number; body?: unknown };

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return null;
  const type = req.headers['content-type'] ?? '';
  if (type.includes('multipart/form-data')) {
    // discord.js sends files as multipart; the JSON part is `payload_json`.
    const m = /name="payload_json"[^\r\n]*\r\n(?:[^\r\n]*\r\n)*?\r\n([\s\S]*?)\r\n--/.exec(raw);
    return m?.[1] ? JSON.parse(m[1]) : null;
  }
  return JSON.parse(raw);
}

function error(status: number, code: number, message: string): Reply {
  return { status, body: { code, message } };
}

/**
 * The REST half of the loopback: the routes discord.js and
 * `npm run deploy-commands` use, with Discord's real errors where timing
 * rules say so. Everything is recorded in `calls`.
 */
export function createRestHandler(ctx: RestContext, calls: RestCall[]) {
  const message = (i: LoopbackInteraction, content: string | null, flags: number) => ({
    id: snowflake(ctx.now()),
    channel_id: '0',
    type: 20,
    content: content ?? '',
    author: userJson(ctx.bot),
    attachments: [],
    embeds: [],
    components: [],
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    pinned: false,
    tts: false,
    flags,
    timestamp: new Date(ctx.now()).toISOString(),
    edited_timestamp: null,
    webhook_id: ctx.applicationId,
    application_id: ctx.applicationId,
    interaction_metadata: {
      id: i.id,
      type: 2,
      user: { id: i.userId, username: 'member', discriminator: '0', global_name: null, avatar: null },
      authorizing_integration_owners: { '0': i.guildId },
      name: i.command,
      command_type: 1,
    },
  });

  const route = async (method: string, path: string, url: URL, req: IncomingMessage): Promise<Reply> => {
    const body = method === 'GET' || method === 'DELETE' ? null : await readJson(req);
    const auth = req.headers.authorization;
    let m: RegExpExecArray | null;
    if (method === 'GET' && (path === '/gateway/bot' || path === '/gateway')) {
      if (path === '/gateway/bot' && auth !== `Bot ${ctx.botToken}`)
        return error(401, 0, '401: Unauthorized');
      return {
        status: 200,
        body: {
          url: ctx.gatewayUrl(),
          shards: ctx.shardCount,
          session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
        },
      };
    }
    if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) && method === 'POST') {
      const i = ctx.interactionById(m[1]!);
      if (!i || i.token !== decodeURIComponent(m[2]!))
        return error(404, DiscordError.UnknownInteraction, 'Unknown interaction');
      const b = (body ?? {}) as { type?: number; data?: { content?: string; flags?: number } };
      // From when Discord sent it (its creation time, unless a test dated the snowflake back).
      if (ctx.now() - Math.max(i.createdAt, i.sentAt) > CALLBACK_DEADLINE_MS) {
        i.events.push({
          kind: 'rejected',
          at: ctx.now(),
          route: 'callback',
          code: DiscordError.UnknownInteraction,
        });
        return error(404, DiscordError.UnknownInteraction, 'Unknown interaction');
      }
      if (i.events.some((e) => e.kind === 'callback')) {
        i.events.push({
          kind: 'rejected',
          at: ctx.now(),
          route: 'callback',
          code: DiscordError.AlreadyAcknowledged,
        });
        return error(400, DiscordError.AlreadyAcknowledged, 'Interaction has already been acknowledged.');
      }
      const flags = b.data?.flags ?? 0;
      i.events.push({
        kind: 'callback',
        at: ctx.now(),
        type: b.type ?? 0,
        flags,
        content: b.data?.content ?? null,
      });
      if (url.searchParams.get('with_response') !== 'true') return { status: 204 };
      const withMessage =
        b.type === CallbackType.ChannelMessageWithSource ||
        b.type === CallbackType.DeferredChannelMessageWithSource;
      return {
        status: 200,
        body: {
          interaction: {
            id: i.id,
            type: 2,
            activity_instance_id: null,
            response_message_id: null,
            response_message_loading: b.type === 5,
            response_message_ephemeral: (flags & 64) !== 0,
          },
          resource: {
            type: b.type,
            ...(withMessage ? { message: message(i, b.data?.content ?? null, flags) } : {}),
          },
        },
      };
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(path))) {
      const i = ctx.interactionByToken(decodeURIComponent(m[2]!));
      if (!i || m[1] !== ctx.applicationId) return error(404, 10015, 'Unknown Webhook');
      if (ctx.now() - i.createdAt > TOKEN_LIFETIME_MS) {
        i.events.push({
          kind: 'rejected',
          at: ctx.now(),
          route: `${method} webhook`,
          code: DiscordError.InvalidWebhookToken,
        });
        return error(401, DiscordError.InvalidWebhookToken, 'Invalid Webhook Token');
      }
      const target = m[3];
      const b = (body ?? {}) as { content?: string; flags?: number };
      const acked = i.events.some((e) => e.kind === 'callback');
      if (target !== undefined) {
        if (target !== '%40original' && target !== '@original') return error(404, 10008, 'Unknown Message');
        if (!acked) return error(404, 10008, 'Unknown Message');
        if (method === 'PATCH') {
          i.events.push({ kind: 'edit', at: ctx.now(), content: b.content ?? null });
          return { status: 200, body: message(i, b.content ?? null, 64) };
        }
        if (method === 'GET') return { status: 200, body: message(i, null, 64) };
        if (method === 'DELETE') return { status: 204 };
      } else if (method === 'POST') {
        if (!acked) return error(404, DiscordError.UnknownInteraction, 'Unknown interaction');
        i.events.push({ kind: 'followup', at: ctx.now(), content: b.content ?? null, flags: b.flags ?? 0 });
        return { status: 200, body: message(i, b.content ?? null, b.flags ?? 0) };
      }
    }
    if ((m = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path))) {
      if (auth !== `Bot ${ctx.botToken}`) return error(401, 0, '401: Unauthorized');
      if (m[1] !== ctx.applicationId) return error(403, 50001, 'Missing Access');
      const scope = m[2] ?? 'global';
      if (method === 'PUT') {
        const list = (Array.isArray(body) ? body : []).map((c: Record<string, unknown>) => ({
          id: snowflake(ctx.now()),
          application_id: ctx.applicationId,
          version: snowflake(ctx.now()),
          ...(m![2] ? { guild_id: m![2] } : {}),
          ...c,
        }));
        ctx.commands.set(scope, list);
        return { status: 200, body: list };
      }
      if (method === 'GET') return { status: 200, body: ctx.commands.get(scope) ?? [] };
    }
    if (method === 'GET' && path === '/users/@me') return { status: 200, body: userJson(ctx.bot) };
    if (method === 'GET' && path === '/applications/@me')
      return {
        status: 200,
        body: { id: ctx.applicationId, name: ctx.bot.username, flags: 0, bot: userJson(ctx.bot) },
      };
    return error(404, 0, '404: Not Found');
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    const prefix = /^\/api\/v\d+/.exec(url.pathname)?.[0] ?? '';
    const path = url.pathname.slice(prefix.length);
    const method = req.method ?? 'GET';
    route(method, path, url, req)
      .catch((err: unknown) => error(400, 50035, `Invalid Form Body: ${String(err)}`))
      .then((reply) => {
        calls.push({ at: ctx.now(), method, path, status: reply.status, body: reply.body ?? null });
        ctx.changed();
        res.statusCode = reply.status;
        if (reply.body === undefined) res.end();
        else {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(reply.body));
        }
      });
  };
}
