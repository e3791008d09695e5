// Server-sent events of one scope: each message published on <prefix>.<scope>.> is sent
// as `event: <type>`, `id: <stream seq>`, `data: <envelope JSON>`. A NATS JetStream
// ordered consumer (ephemeral, in memory, no acks) reads from the stream: new messages
// only, or from after `Last-Event-ID` / `?since=` to resume. The consumer is deleted when
// the client goes away or the process shuts down; if the process dies, the server drops
// it after INACTIVE_MS.
import { createRoute, z } from '@hono/zod-openapi';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { streamSSE } from 'hono/streaming';
import { decodeEnvelope } from '../../../shared/contract/envelope.ts';
import { authorize, mustGetScope, type Routes } from '../context.ts';
import { ApiError } from '../errors.ts';
import { bearer, errors } from '../openapi.ts';
import { readOnly } from '../queries.ts';
import { EventsQuery, LastEventHeader, ScopeParam } from '../schemas.ts';

/** The server deletes a consumer nobody has pulled from for this long (a crashed API's). */
export const INACTIVE_MS = 60_000;

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/scopes/{scope}/events',
  summary: "Server-sent events of the scope's messages",
  description:
    'event: <message type>, id: <stream sequence>, data: <envelope JSON>. First an `event: ready`. Keep-alive comments while idle. Resume with Last-Event-ID or ?since=<seq>. Permission: reader on the scope.',
  tags: ['events'],
  security: bearer,
  request: { params: ScopeParam, query: EventsQuery, headers: LastEventHeader },
  responses: {
    200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'The event stream' },
    ...errors(400, 401, 403, 404, 503),
  },
});

export function eventRoutes(app: Routes['app'], r: Routes): void {
  const { deps } = r;
  app.openapi(eventsRoute, async (c) => {
    const { scope } = c.req.valid('param');
    const { since } = c.req.valid('query');
    const lastEventId = c.req.valid('header')['Last-Event-ID'];
    await authorize(r, c, { action: 'events.read', relation: 'reader', object: `scope:${scope}`, scope, write: false });
    await readOnly(deps.db, (q) => mustGetScope(q, scope));
    if (deps.shutdown?.aborted) throw new ApiError(503, 'shutting_down', 'the API is shutting down; reconnect to another instance', { headers: { 'Retry-After': '1' } });
    // Check and take the slot in one synchronous step, before the first await below:
    // otherwise every request waiting on NATS passes the check and the cap is overshot.
    if (!r.streams.reserve(deps.env.API_SSE_MAX_STREAMS)) {
      throw new ApiError(503, 'too_many_streams', `${r.streams.open} event streams are open, the most this process serves (API_SSE_MAX_STREAMS)`, {
        headers: { 'Retry-After': '5' },
      });
    }
    const after = lastEventId !== undefined ? Number(lastEventId) : since;

    // Subscribe before answering: once the client sees `ready`, nothing published later is missed.
    let messages: ConsumerMessages;
    let remove: () => Promise<unknown>;
    try {
      const consumer = await deps.js.consumers.get(deps.env.NATS_STREAM, {
        filter_subjects: [`${deps.env.NATS_SUBJECT_PREFIX}.${scope}.>`],
        ...(after === undefined ? { deliver_policy: DeliverPolicy.New } : { opt_start_seq: after + 1 }),
        inactive_threshold: INACTIVE_MS,
      });
      remove = () => consumer.delete();
      messages = await consumer.consume({ max_messages: 64 });
    } catch (err) {
      r.streams.release();
      throw new ApiError(503, 'bus_unavailable', `cannot read the event stream from NATS: ${(err as Error).message}`, { headers: { 'Retry-After': '2' } });
    }
    const log = r.log.child({ scope, principal: c.get('principal'), request_id: c.get('requestId') });
    log.info({ after: after ?? null }, 'event stream opened');

    c.header('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
    return streamSSE(c, async (stream) => {
      const stop = () => messages.stop();
      stream.onAbort(stop);
      c.req.raw.signal?.addEventListener('abort', stop, { once: true });
      deps.shutdown?.addEventListener('abort', stop, { once: true });
      const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), deps.env.API_SSE_KEEPALIVE_MS);
      let sent = 0;
      try {
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ scope, from_seq: after === undefined ? null : after + 1 }), retry: 2000 });
        for await (const m of messages) {
          let data: string;
          let type: string;
          try {
            const env = decodeEnvelope(m.data);
            data = JSON.stringify(env);
            type = env.type;
          } catch (err) {
            log.warn({ seq: m.seq, subject: m.subject, err: (err as Error).message }, 'skipping a message that is not an envelope');
            continue;
          }
          await stream.writeSSE({ event: type, id: String(m.seq), data });
          sent++;
        }
      } catch (err) {
        // NATS went away mid-stream: say so; the client reconnects with Last-Event-ID.
        log.warn({ err }, 'event stream failed');
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ code: 'bus_unavailable', message: (err as Error).message }) });
      } finally {
        clearInterval(keepAlive);
        deps.shutdown?.removeEventListener('abort', stop);
        c.req.raw.signal?.removeEventListener('abort', stop);
        messages.stop();
        await remove().catch((err: unknown) => log.warn({ err }, 'could not delete the event consumer; the server drops it when inactive'));
        r.streams.release();
        log.info({ sent }, 'event stream closed');
      }
    });
  });
}
