import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from '../log';

/** Error codes of docs/PROTOCOL.md ("HTTP"); the same words are used on the WebSocket. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** The one JSON error shape: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * An expected failure with its HTTP status. Routes throw these; the error
 * handler turns them into {@link ErrorBody}. Anything else is a bug and
 * becomes a 500 with a short apology (the details go to the log).
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, 'bad_request', message);
export const notFound = (message = 'Not found.') => new HttpError(404, 'not_found', message);
export const unavailable = (message: string) => new HttpError(503, 'unavailable', message);

/** The body for an error code. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Writes an error response (JSON, never cached). */
export function sendError(res: Response, status: number, code: ErrorCode, message: string): void {
  res.removeHeader('ETag');
  res.status(status).set('Cache-Control', 'no-store').type('application/json').json(errorBody(code, message));
}

/** Code for an HTTP status that body-parser or express chose. */
function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  return status >= 500 ? 'internal' : 'bad_request';
}

/** Friendly messages for body-parser's error types (its own messages mention internals). */
const BODY_MESSAGES: Record<string, string> = {
  'entity.too.large': 'The request body is too large.',
  'entity.parse.failed': 'The request body is not valid JSON.',
  'encoding.unsupported': 'Unsupported content encoding.',
  'charset.unsupported': 'Unsupported charset.',
  'request.aborted': 'The request was aborted.',
  'request.size.invalid': 'The request body does not match its length.',
  'stream.encoding.set': 'The request body could not be read.',
};

/** Answers every unmatched route with a JSON 404. */
export const notFoundHandler: RequestHandler = (_req, res) => {
  sendError(res, 404, 'not_found', 'No such endpoint.');
};

/** The last middleware: every error becomes the JSON shape; unexpected ones are logged. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Mid-stream (audio): the status is gone; all we can do is cut the response.
      log.warn({ err, path: req.path }, 'error after the response started');
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      res.set(err.headers);
      sendError(res, err.status, err.code, err.message);
      return;
    }
    const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown };
    const status =
      typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Client errors raised by express itself (body-parser, URI decoding).
      const message =
        (typeof e.type === 'string' ? BODY_MESSAGES[e.type] : undefined) ??
        (status === 400 ? 'Bad request.' : 'The request was refused.');
      sendError(res, status, codeForStatus(status), message);
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'unexpected error in a web route');
    sendError(res, 500, 'internal', 'Sorry, something went wrong on our side.');
  };
}
