/**
 * Expected refusals: the typed results a precondition or a command returns
 * instead of doing its work. `replies.ts` turns each into one friendly,
 * ephemeral sentence; nothing else words them.
 */
export type Refusal =
  | { ok: false; reason: 'guild_only' }
  | { ok: false; reason: 'closing' }
  | { ok: false; reason: 'not_dm'; dmRoleId: string | null }
  | { ok: false; reason: 'not_manager' }
  | { ok: false; reason: 'caller_not_in_voice' }
  | { ok: false; reason: 'no_voice_channel' }
  | { ok: false; reason: 'bot_not_in_voice' }
  | { ok: false; reason: 'nothing_on_air' }
  | { ok: false; reason: 'already_paused' }
  | { ok: false; reason: 'not_paused' }
  | { ok: false; reason: 'empty_option'; option: string }
  | { ok: false; reason: 'nothing_speakable'; option: string }
  | { ok: false; reason: 'too_long'; option: string; max: number; length: number }
  | { ok: false; reason: 'out_of_range'; option: string; min: number; max: number; value: number }
  | { ok: false; reason: 'not_a_voice_channel' }
  | { ok: false; reason: 'rate_limited'; retryAfterMs: number }
  | { ok: false; reason: 'unknown_voice'; voice: string }
  | { ok: false; reason: 'join_failed'; why: JoinFailure; missing?: readonly string[] };

/** Why joining a voice channel did not work. */
export type JoinFailure =
  'missing_permissions' | 'channel_not_found' | 'channel_full' | 'timeout' | 'closing';

/** Every refusal reason. */
export type RefusalReason = Refusal['reason'];

/** What a command or a precondition returns: done, or a refusal to word. */
export type CommandResult = { ok: true } | Refusal;

/** The success result. */
export const OK: CommandResult = { ok: true };

/** Builds a refusal (keeps call sites short and typed). */
export function refuse<R extends Refusal['reason']>(
  reason: R,
  ...details: Omit<Extract<Refusal, { reason: R }>, 'ok' | 'reason'> extends Record<string, never>
    ? []
    : [Omit<Extract<Refusal, { reason: R }>, 'ok' | 'reason'>]
): Extract<Refusal, { reason: R }> {
  return { ok: false, reason, ...(details[0] ?? {}) } as Extract<Refusal, { reason: R }>;
}
