// Submissions the API must answer synchronously although the steps record them only
// later: a doc_id already used for another text (409 doc_id_conflict), an
// Idempotency-Key already used for another body (422 idempotency_key_reused), a review
// that already has another answer (409 review_already_answered). Each is a row written
// before the message is published (INSERT ... ON CONFLICT DO NOTHING: of two racing
// requests exactly one inserts) and deleted again if publishing fails, so a failed
// request leaves nothing behind and its retry starts afresh. Migration 009.
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Envelope } from '../../shared/contract/envelope.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';
import { ApiError } from './errors.ts';
import { answerHash, documentEnvelope, publish, requestHash, type DocumentInput, type PublishResult } from './publish.ts';

interface Claimed<R> {
  inserted: boolean;
  row: R;
}

/** Insert a row, or read the one already there (the conflict target's). */
async function insertOrGet<R extends Record<string, unknown>>(db: GuardedPool, insert: string, select: string, values: unknown[], key: unknown[], attempt = 1): Promise<Claimed<R>> {
  const ins = await db.query<R>(insert, values);
  if (ins.rows[0]) return { inserted: true, row: ins.rows[0] };
  const got = await db.query<R>(select, key);
  // Deleted between the two statements (its request failed to publish): try once more.
  if (!got.rows[0]) {
    if (attempt >= 3) throw new ApiError(503, 'conflict_retry', 'a concurrent request keeps changing this record; retry', { headers: { 'Retry-After': '1' } });
    return insertOrGet(db, insert, select, values, key, attempt + 1);
  }
  return { inserted: false, row: got.rows[0] };
}

export interface Publisher {
  db: GuardedPool;
  js: JetStreamClient;
  prefix: string;
}

export interface Submitted extends PublishResult {
  doc_id: string;
}

/**
 * Publish a document once per (scope, doc_id) content. The same text under the same
 * doc_id is a duplicate (republished under the same message id, which JetStream or
 * the facts step's inbox drops); another text is 409. With an Idempotency-Key, the key
 * is bound to the request body it was first used with: the same body is a duplicate
 * answered with the original doc_id, another body is 422.
 */
export async function submitDocument(p: Publisher, scope: string, input: DocumentInput, principal: string, idempotencyKey?: string): Promise<Submitted> {
  const env = documentEnvelope(scope, input, principal);
  const docId = String(env.payload.doc_id);
  const undo: (() => Promise<unknown>)[] = [];
  try {
    if (idempotencyKey !== undefined) {
      const hash = requestHash(input);
      const k = await insertOrGet<{ request_hash: string; doc_id: string }>(
        p.db,
        `INSERT INTO api_idempotency_keys (principal, scope_id, key, request_hash, doc_id, message_id) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING RETURNING request_hash, doc_id`,
        'SELECT request_hash, doc_id FROM api_idempotency_keys WHERE principal = $1 AND scope_id = $2 AND key = $3',
        [principal, scope, idempotencyKey, hash, docId, env.id],
        [principal, scope, idempotencyKey],
      );
      if (k.inserted) {
        undo.push(() => p.db.query('DELETE FROM api_idempotency_keys WHERE principal = $1 AND scope_id = $2 AND key = $3', [principal, scope, idempotencyKey]));
      } else if (k.row.request_hash !== hash) {
        throw new ApiError(
          422,
          'idempotency_key_reused',
          `header.Idempotency-Key: already used in scope "${scope}" for a different request body (doc_id "${k.row.doc_id}"); send the original body to retry, or a new key for a new document`,
        );
      }
    }
    const d = await insertOrGet<{ message_id: string }>(
      p.db,
      `INSERT INTO api_documents (scope_id, doc_id, message_id, submitted_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING message_id`,
      'SELECT message_id FROM api_documents WHERE scope_id = $1 AND doc_id = $2',
      [scope, docId, env.id, principal],
      [scope, docId],
    );
    if (d.inserted) {
      undo.push(() => p.db.query('DELETE FROM api_documents WHERE scope_id = $1 AND doc_id = $2 AND message_id = $3', [scope, docId, env.id]));
    } else if (d.row.message_id !== env.id) {
      // The message id covers the document's kind and text: another id is another text.
      throw new ApiError(409, 'doc_id_conflict', `body.doc_id: "${docId}" was already submitted to scope "${scope}" with a different text; a new version needs a new doc_id`);
    }
    const pub = await publish(p.js, p.prefix, env);
    // A row that was there already means this document was accepted before, even when
    // JetStream's duplicate window has passed and the publish counted as new.
    return { doc_id: docId, ...pub, duplicate: pub.duplicate || !d.inserted };
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => {});
    throw err;
  }
}

/**
 * Claim the answer to a review before publishing it: the same answer again (a retry)
 * passes, another answer is 409 review_already_answered. Returns a release function
 * to call when publishing fails, or undefined if this request did not insert the row.
 */
export async function claimAnswer(db: GuardedPool, reviewId: string, env: Envelope, responder: string, resolutionText: string | undefined): Promise<(() => Promise<void>) | undefined> {
  const hash = answerHash(env, resolutionText);
  const a = await insertOrGet<{ answer_hash: string; responder: string }>(
    db,
    `INSERT INTO api_review_answers (review_id, answer_hash, message_id, responder) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING answer_hash, responder`,
    'SELECT answer_hash, responder FROM api_review_answers WHERE review_id = $1',
    [reviewId, hash, env.id, responder],
    [reviewId],
  );
  if (!a.inserted && a.row.answer_hash !== hash) {
    throw new ApiError(409, 'review_already_answered', `review "${reviewId}" already has an answer (by ${a.row.responder}); a review is answered once`);
  }
  if (!a.inserted) return undefined;
  return async () => {
    await db.query('DELETE FROM api_review_answers WHERE review_id = $1 AND answer_hash = $2', [reviewId, hash]);
  };
}
