/**
 * Interactions the loopback injected and everything the bot answered to them:
 * callbacks (defer or reply), edits of the original response, follow-ups, and
 * the Discord errors it got back. Timing rules are Discord's: a callback
 * after 3 s is 10062, a second callback 40060, a webhook call after the
 * token's 15 minutes 50027, all measured on the loopback's clock.
 */

/** Discord's interaction callback types the bot uses. */
export const CallbackType = {
  Pong: 1,
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  ApplicationCommandAutocompleteResult: 8,
} as const;

/** Discord's JSON error codes the loopback answers with. */
export const DiscordError = {
  UnknownInteraction: 10062,
  AlreadyAcknowledged: 40060,
  InvalidWebhookToken: 50027,
} as const;

/**
 * Callback deadline (from when the interaction was sent; a test may date its
 * snowflake back to study the token lifetime) and token lifetime (from its
 * creation time), Discord's.
 */
export const CALLBACK_DEADLINE_MS = 3_000;
export const TOKEN_LIFETIME_MS = 15 * 60_000;

/** One thing the bot sent about an interaction. */
export type InteractionEvent =
  | { kind: 'callback'; at: number; type: number; flags: number; content: string | null }
  | { kind: 'edit'; at: number; content: string | null }
  | { kind: 'followup'; at: number; content: string | null; flags: number }
  | { kind: 'rejected'; at: number; route: string; code: number };

/** An interaction the loopback sent, and its answers. */
export interface LoopbackInteraction {
  id: string;
  token: string;
  guildId: string;
  userId: string;
  command: string;
  options: Record<string, string | number | boolean>;
  /** The interaction's creation time (its snowflake's), loopback clock. */
  createdAt: number;
  /** When INTERACTION_CREATE left the gateway, loopback clock. */
  sentAt: number;
  events: InteractionEvent[];
}

/** The content the original response shows now (last callback or edit), or null. */
export function currentContent(i: LoopbackInteraction): string | null {
  let content: string | null = null;
  for (const e of i.events) if (e.kind === 'callback' || e.kind === 'edit') content = e.content ?? content;
  return content;
}

/** The first callback, if any. */
export function firstCallback(
  i: LoopbackInteraction,
): Extract<InteractionEvent, { kind: 'callback' }> | undefined {
  return i.events.find((e): e is Extract<InteractionEvent, { kind: 'callback' }> => e.kind === 'callback');
}
