// What the API publishes: `doc.submitted` and `review.responded` envelopes with
// deterministic ids, so a retried request is dropped by JetStream's duplicate window
// (Nats-Msg-Id) and, past the window, by the receiving step's inbox. The API stores
// nothing for either: if publishing fails, nothing happened, and the client may retry.
import { createHash } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEnvelope } from '../../shared/adapters/bus.ts';
import type { Context } from '../../shared/adapters/telemetry.ts';
import { Envelope, MAX_ENVELOPE_BYTES, describeIssues } from '../../shared/contract/envelope.ts';
import { DocSubmitted, ReviewResponded, type Payload } from '../../shared/contract/messages.ts';
import { ApiError } from './errors.ts';

/** Source of every envelope the API publishes. */
export const SOURCE = 'api';

const h = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('base64url').slice(0, 22);

export interface DocumentInput {
  title: string;
  text: string;
  doc_id?: string | undefined;
  kind: 'document' | 'resolution';
}

/**
 * The doc.submitted envelope for a submission. doc_id defaults to a hash of title and
 * text; the message id is a hash of the scope and either the principal's
 * Idempotency-Key or the document (doc_id, kind, text), so the same submission is the
 * same message.
 */
export function documentEnvelope(scope: string, input: DocumentInput, principal: string, idempotencyKey?: string): Envelope {
  const parsed = DocSubmitted.safeParse({
    doc_id: input.doc_id ?? `d-${h(input.title.trim(), input.text.trim()).slice(0, 16)}`,
    title: input.title,
    text: input.text,
    kind: input.kind,
    submitted_by: principal,
  });
  // The body schema is stricter than the catalogue's; this only guards against the two drifting apart.
  if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error).replace(/(^|; )/g, '$1body.'));
  const payload: Payload<'doc.submitted'> = parsed.data;
  const key = idempotencyKey ? h('key', principal, scope, idempotencyKey) : h('doc', scope, payload.doc_id, payload.kind, payload.text);
  return envelope(`api:doc:${key}`, scope, 'doc.submitted', payload);
}

/**
 * The review.responded envelope. Its id covers the whole response, so the same
 * response sent twice is one message, while a different response is another (the
 * receiving step records the first and refuses the rest: a review is answered once).
 */
export function responseEnvelope(scope: string, payload: Payload<'review.responded'>): Envelope {
  const p = ReviewResponded.parse(payload);
  const id = h(p.review_id, p.option, String(p.days ?? ''), p.note ?? '', p.responder);
  return envelope(`api:review:${id}`, scope, 'review.responded', p);
}

function envelope(id: string, scope: string, type: string, payload: Record<string, unknown>): Envelope {
  const parsed = Envelope.safeParse({ id, scope, type, payload, attempt: 1, source: SOURCE, ts: new Date().toISOString() });
  if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
  const size = Buffer.byteLength(JSON.stringify(parsed.data));
  if (size > MAX_ENVELOPE_BYTES) {
    throw new ApiError(413, 'document_too_large', `body.text: the message would be ${size} bytes, more than the ${MAX_ENVELOPE_BYTES} allowed`);
  }
  return parsed.data;
}

export interface PublishResult {
  message_id: string;
  stream_seq: number;
  duplicate: boolean;
}

/** Publish; a NATS failure (down, no stream, timeout) is a 503 naming it. */
export async function publish(js: JetStreamClient, prefix: string, env: Envelope, ctx?: Context): Promise<PublishResult> {
  try {
    const ack = await publishEnvelope(js, prefix, env, ctx);
    return { message_id: env.id, stream_seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw new ApiError(503, 'bus_unavailable', `could not publish ${env.type} to NATS: ${(err as Error).message}; nothing was stored, retry the request`, {
      headers: { 'Retry-After': '2' },
    });
  }
}
