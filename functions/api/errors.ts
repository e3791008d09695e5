// One error shape for every 4xx and 5xx the API answers:
//   { "error": { "code": "invalid_request", "message": "body.text: must not be empty", "details": [...], "request_id": "..." } }
// The message names the problem (for a validation failure: the field path and why).
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { classify, StepError } from '../../shared/contract/errors.ts';

export const ErrorDetail = z.object({ path: z.string(), message: z.string() }).openapi('ErrorDetail');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_request' }),
      message: z.string().openapi({ example: 'body.text: must not be empty' }),
      details: z.array(ErrorDetail).optional(),
      request_id: z.string().optional(),
    }),
  })
  .openapi('Error');
export type ErrorBody = z.infer<typeof ErrorBody>;

/** An answer other than success, thrown anywhere in a handler and rendered by onError. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: { details?: z.infer<typeof ErrorDetail>[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A missing scope, and one the caller may not read: the same answer, so scope ids cannot be probed. */
export const scopeNotFound = (scope: string) => new ApiError(404, 'scope_not_found', `scope "${scope}" does not exist (create it with PUT /v1/scopes/${scope})`);

export function errorBody(c: Context, code: string, message: string, details?: z.infer<typeof ErrorDetail>[]): ErrorBody {
  const request_id = c.get('requestId') as string | undefined;
  return { error: { code, message, ...(details?.length ? { details } : {}), ...(request_id ? { request_id } : {}) } };
}

export function errorResponse(c: Context, status: ContentfulStatusCode, code: string, message: string, extra: ApiError['extra'] = {}): Response {
  for (const [k, v] of Object.entries(extra.headers ?? {})) c.header(k, v);
  c.header('Cache-Control', 'no-store');
  return c.json(errorBody(c, code, message, extra.details), status);
}

const TARGET: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header', form: 'body', cookie: 'cookie' };

/** "body.text: must not be empty" for every issue; zod's wording, but "is required" for a missing field. */
export function describeValidation(target: string, error: z.ZodError): z.infer<typeof ErrorDetail>[] {
  const prefix = TARGET[target] ?? target;
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].join('.');
    const missing = i.code === 'invalid_type' && /received undefined$/.test(i.message);
    return { path, message: missing ? 'is required' : i.message };
  });
}

/** Too long a document is "too large" (413), whatever else is wrong with it. */
const tooLarge = (target: string, error: z.ZodError) =>
  target === 'json' && error.issues.some((i) => i.code === 'too_big' && i.path.length === 1 && i.path[0] === 'text');

/** The defaultHook of the OpenAPIHono app: a failed validation becomes a 400 naming each field. */
export function validationHook(result: { success: boolean; error?: z.ZodError; target: string }, c: Context): Response | undefined {
  if (result.success || !result.error) return undefined;
  const details = describeValidation(result.target, result.error);
  const message = details.map((d) => `${d.path}: ${d.message}`).join('; ');
  if (tooLarge(result.target, result.error)) return errorResponse(c, 413, 'document_too_large', message, { details });
  return errorResponse(c, 400, 'invalid_request', message, { details });
}

/**
 * Everything thrown ends here. ApiError: as it says. Hono's own (malformed JSON, 415
 * from the media-type gate, 413 from bodyLimit): mapped to named codes. A dependency
 * failure (Postgres, NATS): 503 with Retry-After. Anything else: 500, logged.
 */
export function toErrorResponse(err: unknown, c: Context, log: (err: unknown) => void): Response {
  if (err instanceof ApiError) return errorResponse(c, err.status, err.code, err.message, err.extra);
  if (err instanceof HTTPException) {
    if (err.status === 400 && /Malformed JSON/i.test(err.message)) return errorResponse(c, 400, 'malformed_json', 'body: not valid JSON');
    if (err.status === 415) return errorResponse(c, 415, 'unsupported_media_type', `body: send Content-Type: application/json (got ${JSON.stringify(c.req.header('content-type') ?? null)})`);
    if (err.status === 413) return errorResponse(c, 413, 'payload_too_large', 'body: larger than allowed');
    return errorResponse(c, err.status as ContentfulStatusCode, `http_${err.status}`, err.message || 'request refused');
  }
  const e = err instanceof StepError ? err : classify(err);
  if (e.errorClass === 'transient') {
    log(err);
    return errorResponse(c, 503, 'unavailable', `a dependency is unavailable (${e.code}); try again`, { headers: { 'Retry-After': '2' } });
  }
  if (e.code === 'scope_not_found') return errorResponse(c, 404, 'scope_not_found', e.message);
  log(err);
  return errorResponse(c, 500, 'internal', 'internal error; the request id is in the log');
}
