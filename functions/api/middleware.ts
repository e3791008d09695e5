// Middleware of the API that is not a route: the request body limit under /v1.
import { bodyLimit } from 'hono/body-limit';
import { MAX_ENVELOPE_BYTES } from '../../shared/contract/envelope.ts';
import { errorResponse } from './errors.ts';

/**
 * Bodies over this are refused from Content-Length, or while streaming, before they are
 * read whole: a document that fits no envelope cannot be accepted anyway.
 */
export const MAX_BODY_BYTES = MAX_ENVELOPE_BYTES;
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => errorResponse(c, 413, 'payload_too_large', `body: more than ${MAX_BODY_BYTES} bytes; a document must fit one ${MAX_ENVELOPE_BYTES}-byte message`),
});
