// The API's middleware (app.ts puts them in order): our own request id, the trace span,
// metrics and log line of each request, the body limit and no-store under /v1.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { matchedRoutes } from 'hono/route';
import { recordHttpRequest } from '../../shared/adapters/metrics.ts';
import { SpanKind, extractContext, inSpan } from '../../shared/adapters/telemetry.ts';
import { MAX_ENVELOPE_BYTES } from '../../shared/contract/envelope.ts';
import type { Logger } from '../../shared/log.ts';
import type { Vars } from './context.ts';
import { errorResponse } from './errors.ts';

type Middleware = MiddlewareHandler<{ Variables: Vars }>;

/** A client's X-Request-Id kept for correlation (logs only): short, and nothing a log reader could misread. */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

// The request id that goes into the access log is always ours: a client could
// otherwise choose, repeat or forge the ids audit rows are found by. The client's own
// X-Request-Id, if well-formed, is only logged beside it as client_request_id.
export const requestId: Middleware = async (c, next) => {
  const id = randomUUID();
  c.set('requestId', id);
  const theirs = c.req.header('x-request-id');
  if (theirs !== undefined && CLIENT_REQUEST_ID.test(theirs)) c.set('clientRequestId', theirs);
  c.header('X-Request-Id', id);
  await next();
};

/** A server span, the HTTP metrics and one log line per request. */
export const traceAndLog =
  (log: Logger): Middleware =>
  async (c, next) => {
    const t0 = performance.now();
    await inSpan(`${c.req.method} ${c.req.path}`, { kind: SpanKind.SERVER }, extractContext(c.req.raw.headers), async (span) => {
      await next();
      // The route pattern, not the path: span names stay few.
      const route = matchedRoutes(c).findLast((m) => m.method !== 'ALL')?.path ?? '(unmatched)';
      span.updateName(`${c.req.method} ${route}`);
      span.setAttributes({ 'http.request.method': c.req.method, 'http.route': route, 'http.response.status_code': c.res.status });
      recordHttpRequest(c.req.method, route, c.res.status, (performance.now() - t0) / 1000);
    });
    log.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - t0), principal: c.get('principal'), request_id: c.get('requestId'), client_request_id: c.get('clientRequestId') },
      'request',
    );
  };

/**
 * Bodies over this are refused from Content-Length, or while streaming, before they are
 * read whole: a document that fits no envelope cannot be accepted anyway.
 */
export const MAX_BODY_BYTES = MAX_ENVELOPE_BYTES;
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => errorResponse(c, 413, 'payload_too_large', `body: more than ${MAX_BODY_BYTES} bytes; a document must fit one ${MAX_ENVELOPE_BYTES}-byte message`),
});

/** API answers are per principal and change as the swarm works: not cached unless a route says so. */
export const noStore: Middleware = async (c, next) => {
  await next();
  if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
};
