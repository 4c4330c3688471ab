import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isMedclassError, type ErrorCode } from '../errors.js';
import type { ErrorReply } from './schemas.js';

/** HTTP status of each code a reply may carry; any other MedclassError is an internal error (500, no details). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  MC_SERVE_BAD_REQUEST: 400,
  MC_SERVE_BAD_IMAGE: 400,
  MC_EXPLAIN_BAD_TARGET: 400,
  MC_DATA_MISSING_META: 400,
  MC_SERVE_UNEXPECTED_META: 400,
  MC_SERVE_BAD_HOST: 403,
  MC_DATA_TOO_MANY_PIXELS: 413,
  MC_DATA_IMAGE_TOO_SMALL: 422,
  MC_DATA_MULTI_FRAME: 422,
  MC_SERVE_NOT_FOUND: 404,
  MC_SERVE_NO_REPORT: 404,
  MC_SERVE_NO_INDEX: 409,
  MC_EVAL_NO_OPERATING_POINT: 409,
  MC_SERVE_TOO_LARGE: 413,
  MC_SERVE_UNSUPPORTED_MEDIA_TYPE: 415,
  MC_SERVE_INTERNAL: 500,
  MC_SERVE_BUSY: 503,
};

/** fastify's own errors that are the client's fault, as our codes; their messages are replaced (no body echoes). */
const FASTIFY_CODES: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['MC_SERVE_TOO_LARGE', 'request body is larger than the server accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['MC_SERVE_UNSUPPORTED_MEDIA_TYPE', 'send image bytes (image/*, application/octet-stream) or JSON {"images": [{"data": "<base64>"}]}'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['MC_SERVE_BAD_REQUEST', 'body is empty but content-type is application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['MC_SERVE_BAD_REQUEST', 'body is not valid JSON'],
};

/** The `{statusCode, code, error, message}` reply for an error, and whether it is the server's fault (to log). */
export function errorReply(e: unknown): { reply: ErrorReply; internal: boolean } {
  const make = (code: ErrorCode, message: string, status = STATUS[code] ?? 500) => ({
    reply: { statusCode: status, code, error: STATUS_CODES[status] ?? 'Error', message }, internal: status >= 500 && code !== 'MC_SERVE_BUSY',
  });
  if (isMedclassError(e) && STATUS[e.code] !== undefined) return make(e.code, e.message);
  const fe = e as Partial<FastifyError>;
  if (fe.validation) return make('MC_SERVE_BAD_REQUEST', fe.message ?? 'request does not match the schema');
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return make(known[0], known[1]);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return make('MC_SERVE_BAD_REQUEST', `request rejected (${fe.code ?? fe.statusCode})`, fe.statusCode === 413 ? 413 : 400);
  }
  return make('MC_SERVE_INTERNAL', 'internal error; the server log has the details when started with --log');
}

/** Installs the error and not-found handlers: every failure answers `{statusCode, code, error, message}`, no stack. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((e: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { reply: body, internal } = errorReply(e);
    if (internal) req.log.error({ err: e }, 'request failed');
    // Every refusal says when to retry; the admission queue sets its own estimate, other busy paths 1 s.
    if (body.code === 'MC_SERVE_BUSY' && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    return reply.code(body.statusCode).header('cache-control', 'no-store').send(body);
  });
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0]!.slice(0, 200);
    const body: ErrorReply = { statusCode: 404, code: 'MC_SERVE_NOT_FOUND', error: STATUS_CODES[404]!, message: `no route for ${req.method} ${path}` };
    return reply.code(404).send(body);
  });
}
