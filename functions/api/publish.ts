// What the API publishes: `doc.submitted` and `review.responded` envelopes with
// deterministic ids, so a retried request is dropped by JetStream's duplicate window
// (Nats-Msg-Id) and, past the window, by the receiving step's inbox. What the API must
// remember to refuse a conflicting request is kept by submissions.ts.
import { createHash } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEnvelope } from '../../shared/adapters/bus.ts';
import type { Context } from '../../shared/adapters/telemetry.ts';
import { Envelope, MAX_ENVELOPE_BYTES, describeIssues } from '../../shared/contract/envelope.ts';
import { DocSubmitted, ReviewResponded, type Payload } from '../../shared/contract/messages.ts';
import { canonicalAmendments } from '../../shared/domain/amend.ts';
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
 * text; the message id is a hash of the scope and the document (doc_id, kind, text),
 * so the same document is the same message whoever sends it and under whatever
 * Idempotency-Key (the key is checked against the request it was first used for, in
 * submissions.ts, not made the message's identity).
 */
export function documentEnvelope(scope: string, input: DocumentInput, principal: string): Envelope {
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
  return envelope(`api:doc:${h('doc', scope, payload.doc_id, payload.kind, payload.text)}`, scope, 'doc.submitted', payload);
}

/** What an Idempotency-Key is bound to: the request body as validated. */
export const requestHash = (input: DocumentInput): string => h('request', input.title, input.text, input.doc_id ?? '', input.kind);

/**
 * The review.responded envelope. Its id covers the whole response, so the same
 * response sent twice is one message, while a different response is another (the
 * receiving step records the first and refuses the rest: a review is answered once).
 */
/** What a review answer is, for telling a retry from a second, different answer. */
export const answerHash = (env: Envelope, resolutionText: string | undefined): string => h('answer', env.id, resolutionText ?? '');

export function responseEnvelope(scope: string, payload: Payload<'review.responded'>): Envelope {
  const p = ReviewResponded.parse(payload);
  // Amendments are part of the answer: the same approval with other amendments is another answer (409).
  const id = h(p.review_id, p.option, String(p.days ?? ''), p.note ?? '', p.responder, ...(p.amendments ? [canonicalAmendments(p.amendments)] : []));
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
