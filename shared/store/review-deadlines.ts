// Review deadlines in the queue: which pending reviews are due (the bridge's tick), and
// applying one (the executor for governance reviews, finality for finality reviews).
// Applying is conditional on the review still being pending at the level the deadline
// was for, under the row's lock: a human answer that got there first stands, and a
// deadline applied twice (two bridges, a redelivery) changes nothing the second time.
import { PermanentError } from '../contract/errors.ts';
import type { ReviewKind } from '../domain/deadline.ts';
import { appendEvent } from './context-log.ts';
import type { Tx, Queryable } from './db.ts';
import { getReview, toReview, type Review, type ReviewRow } from './reviews.ts';

/** Who answers when the clock does. */
export const DEADLINE_PRINCIPAL = 'system:deadline';

/** Reviews one tick examines per (kind, level) at most; the rest are due at the next tick. */
export const DEADLINE_BATCH = 200;

/** Per (kind, level, cutoff) of the policy, the oldest due pending reviews: $1 kinds, $2 levels, $3 cutoffs, $4 limit each. */
export const DUE_REVIEWS_SQL = `SELECT r.*
   FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS d(kind, level, cutoff)
   CROSS JOIN LATERAL (
     SELECT * FROM review_queue
      WHERE status = 'pending' AND kind = d.kind AND escalation_level = d.level
        AND coalesce(escalated_at, created_at) <= d.cutoff
      ORDER BY coalesce(escalated_at, created_at), review_id
      LIMIT $4) r`;

/**
 * Pending reviews whose clock (creation, or last escalation) started at or before the
 * cutoff of their (kind, level): one statement, a range scan of review_queue_deadline per
 * pair, at most `limit` rows each.
 */
export async function dueReviews(q: Queryable, cutoffs: readonly { kind: ReviewKind; level: number; cutoff: Date }[], limit = DEADLINE_BATCH): Promise<Review[]> {
  if (!cutoffs.length) return [];
  const { rows } = await q.query<ReviewRow>(DUE_REVIEWS_SQL, [cutoffs.map((c) => c.kind), cutoffs.map((c) => c.level), cutoffs.map((c) => c.cutoff), limit]);
  return rows.map(toReview);
}

/** The review, locked, as the deadline's step sees it; a review of another scope or kind is not this message's to touch. */
export async function lockReview(tx: Tx, reviewId: string, scope: string, kind: ReviewKind): Promise<Review> {
  await tx.query('SELECT 1 FROM review_queue WHERE review_id = $1 FOR UPDATE', [reviewId]);
  const r = await getReview(tx, reviewId);
  if (!r || r.scope !== scope) throw new PermanentError('review_not_found', `review ${reviewId} does not exist in scope ${scope}`);
  if (r.kind !== kind) throw new PermanentError('wrong_review_kind', `review ${reviewId} is a ${r.kind}, not a ${kind}`);
  return r;
}

export interface DeadlineApplied {
  level: number;
  deadline: Date;
  at: Date;
  messageId: string;
}

const event = (tx: Tx, review: Review, kind: 'review_escalated' | 'review_expired', d: DeadlineApplied, payload: Record<string, unknown>) =>
  appendEvent(tx, {
    scope: review.scope,
    kind,
    source: 'deadline',
    messageId: d.messageId,
    // A clock passing is not activity on the scope's evidence.
    touchActivity: false,
    payload: { review_id: review.reviewId, review_kind: review.kind, proposal_id: review.proposalId, level: d.level, deadline: d.deadline.toISOString(), by: DEADLINE_PRINCIPAL, ...payload },
  });

/** The review stays pending, one level up: the group's members may now answer it too. */
export async function recordEscalation(tx: Tx, review: Review, to: string, d: DeadlineApplied): Promise<Review> {
  const { rows } = await tx.query<{ review_id: string }>(
    `UPDATE review_queue SET escalation_level = escalation_level + 1, escalated_to = $3, escalated_at = $4
      WHERE review_id = $1 AND status = 'pending' AND escalation_level = $2 RETURNING review_id`,
    [review.reviewId, d.level, to, d.at],
  );
  if (!rows.length) throw new PermanentError('review_moved_on', `review ${review.reviewId} is no longer pending at level ${d.level}`);
  await event(tx, review, 'review_escalated', d, { action: 'escalate', escalated_to: to });
  return (await getReview(tx, review.reviewId))!;
}

/**
 * A governance review nobody answered in time: rejected (the proposal is not applied) or
 * deferred (set aside), by system:deadline. Nothing is said on the bus: the scope waits
 * for new evidence rather than asking the same question again.
 */
export async function expireGovernanceReview(tx: Tx, review: Review, action: 'reject' | 'defer', d: DeadlineApplied): Promise<Review> {
  const response = { ...(action === 'reject' ? { approve: false } : { deferred: true }), by: DEADLINE_PRINCIPAL, deadline: d.deadline.toISOString(), note: `no answer by the deadline (${d.deadline.toISOString()})` };
  const { rows } = await tx.query<{ review_id: string }>(
    `UPDATE review_queue SET status = $3, response = $4, responded_by = $5, resolved_at = $6
      WHERE review_id = $1 AND status = 'pending' AND escalation_level = $2 RETURNING review_id`,
    [review.reviewId, d.level, action === 'reject' ? 'rejected' : 'deferred', JSON.stringify(response), DEADLINE_PRINCIPAL, d.at],
  );
  if (!rows.length) throw new PermanentError('review_moved_on', `review ${review.reviewId} is no longer pending at level ${d.level}`);
  await event(tx, review, 'review_expired', d, { action });
  return (await getReview(tx, review.reviewId))!;
}

/** The event of a finality review deferred by its deadline (recordFinalityAnswer records the decision). */
export const finalityExpiredEvent = (tx: Tx, review: Review, d: DeadlineApplied, days: number) => event(tx, review, 'review_expired', d, { action: 'defer', days });
