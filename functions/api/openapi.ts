// Helpers for route declarations: JSON bodies, the error responses a route can give,
// and the bearer security requirement.
import type { z } from '@hono/zod-openapi';
import { ErrorBody } from './errors.ts';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });

const ERRORS = {
  400: 'The request is malformed; the message names the field',
  401: 'Missing or unknown bearer token',
  403: 'The principal lacks the OpenFGA relation on a scope it can read (recorded in access_log)',
  404: 'No such scope, review, certificate or route, or one in a scope the principal cannot read (the same answer)',
  409: 'The review already has an answer (review_already_answered) or is closed, the doc_id was used for another text (doc_id_conflict), the scope exists with another mode, or the scope is closed (scope_closed)',
  413: 'Body or document too large',
  415: 'Body is not application/json',
  422: 'The Idempotency-Key was already used with a different body (idempotency_key_reused)',
  503: 'A dependency (Postgres, NATS, OpenFGA) is unavailable; retry',
} as const;

/** Error responses, all with the one error body. */
export function errors<K extends keyof typeof ERRORS>(...statuses: K[]): Record<K, ReturnType<typeof json<typeof ErrorBody>>> {
  return Object.fromEntries(statuses.map((s) => [s, json(ErrorBody, ERRORS[s])])) as Record<K, ReturnType<typeof json<typeof ErrorBody>>>;
}

export const bearer = [{ bearer: [] as string[] }];
