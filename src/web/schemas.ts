/**
 * Schemas of everything an HTTP client sends: path ids, query strings and
 * bodies. Parsed at the edge by {@link parseInput}; routes see typed values.
 */
import { z } from 'zod';
import { hasSpeakableText, NOTHING_SPEAKABLE } from '../narration/speakable';
import { badRequest } from './errors';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Request and chunk ids (the engine makes them with `randomUUID`). */
export const uuidSchema = z.string().regex(UUID_RE, 'must be a UUID');

/** Campaign ids, as config.ts allows them for DEFAULT_CAMPAIGN. */
export const CAMPAIGN_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const campaignIdSchema = z.string().regex(CAMPAIGN_ID_RE, 'letters, digits, _ and - only (max 64)');

/** A single query value (not repeated: `?from=1&from=2` is an array and fails here). */
const queryString = z.string().max(64);

/** `from=<sec>`: a finite decimal ≥ 0. `Number()` alone would accept `''`, `0x10` and `1e400`. */
const secondsSchema = queryString
  .regex(/^\d{1,9}(\.\d{1,9})?$/, 'must be a number of seconds ≥ 0')
  .transform((v) => Number(v))
  .refine((v) => Number.isFinite(v), 'must be finite');

/** Query of `GET /api/audio/stream/{request_id}`. */
export const streamQuerySchema = z.object({ from: secondsSchema.optional() });

/** Query of `GET /api/audio/chunks/{chunk_id}`. */
export const chunkQuerySchema = z.object({ format: z.enum(['mp3', 'opus']).optional() });

/** Longest narration text (characters, after trimming). */
export const MAX_NARRATION_CHARS = 4000;

/** Body of `POST /api/campaigns/{id}/narrations`. */
export const narrationBodySchema = z
  .object({
    text: z
      .string()
      .transform((s) => s.trim())
      .pipe(
        z
          .string()
          .min(1, 'must not be empty')
          .max(MAX_NARRATION_CHARS, {
            error: (issue) =>
              `at most ${MAX_NARRATION_CHARS} characters (this one has ${String((issue.input as string).length)})`,
          })
          .refine(hasSpeakableText, NOTHING_SPEAKABLE),
      ),
    mode: z.enum(['narrate', 'say']),
    voice: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _ . : - only (max 64)')
      .optional(),
  })
  .strict();

/** Body of `POST /api/campaigns/{id}/control`. */
export const controlBodySchema = z.object({ action: z.enum(['skip', 'stop', 'pause', 'resume']) }).strict();

/** Body of `POST /api/audio/played/{chunk_id}`: `{}` (or no body at all). */
export const playedBodySchema = z.union([z.undefined(), z.object({}).strict()]);

/** One readable line for the first problem of a failed parse. */
export function describeIssue(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  if (!issue) return `Invalid ${what}.`;
  const where = issue.path.length > 0 ? `${what} ${issue.path.join('.')}` : what;
  return `Invalid ${where}: ${issue.message}`.slice(0, 300);
}

/** Parses `value` or throws a 400 naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(describeIssue(result.error, what));
  return result.data;
}
