// A review.escalated arriving on the bus is a wake-up, checked rather than trusted: the
// step locks the review and applies a deadline only if the review is still pending at
// the level the message names (its id, deadline:<review>:<level>) and the policy, by the
// step's own clock, says that level's deadline has passed. What it applies is what the
// policy says now (an edited policy wins over the message).
import type { Envelope } from '../contract/envelope.ts';
import { PermanentError, TransientError } from '../contract/errors.ts';
import type { Payload } from '../contract/messages.ts';
import { deadlineMessageLevel, dueAt, type DeadlineAction } from '../domain/deadline.ts';
import type { Deadlines } from '../domain/policy.ts';
import type { Tx } from '../store/db.ts';
import { lockReview, recordEscalation, type DeadlineApplied } from '../store/review-deadlines.ts';
import type { Review } from '../store/reviews.ts';

/** Clocks of the bridge and the step may differ by this much: a deadline "not yet passed" by less is retried. */
export const CLOCK_SKEW_MS = 5 * 60_000;

export type DeadlineCheck =
  | { skipped: string }
  | { review: Review; action: DeadlineAction; escalateTo: string | undefined; applied: DeadlineApplied };

export async function deadlineToApply(tx: Tx, msg: Envelope, p: Payload<'review.escalated'>, deadlines: Deadlines, now: number): Promise<DeadlineCheck> {
  const level = deadlineMessageLevel(msg.id, p.review_id);
  if (level === null) throw new PermanentError('invalid_deadline_message', `message id ${msg.id} is not deadline:${p.review_id}:<level>`);
  const review = await lockReview(tx, p.review_id, msg.scope, p.kind);
  // A human answer (or the deadline, applied by an earlier copy of this message) got there first: it stands.
  if (review.status !== 'pending') return { skipped: `review is already ${review.status}` };
  if (review.escalationLevel !== level) return { skipped: `review is at level ${review.escalationLevel}, not ${level}` };
  const due = dueAt(review, deadlines, now);
  if (due.action === 'none') return { skipped: `the policy sets no deadline for a ${review.kind} at level ${level}` };
  if (due.action === 'wait') {
    const early = due.deadline.getTime() - now;
    const detail = `the deadline of review ${review.reviewId} at level ${level} is ${due.deadline.toISOString()}, ${Math.ceil(early / 1000)} s from now`;
    // A little early: another host's clock; retried. Far too early: not a deadline this policy set.
    if (early <= CLOCK_SKEW_MS) throw new TransientError('deadline_not_due', detail, { kind: 'failure' });
    throw new PermanentError('deadline_not_due', detail);
  }
  return { review, action: due.action, escalateTo: due.escalate_to, applied: { level, deadline: due.deadline, at: new Date(now), messageId: msg.id } };
}

/** A deadline that has passed at the last level: the policy's fail-safe, for the step to apply. */
export type FailSafe = Omit<Exclude<DeadlineCheck, { skipped: string }>, 'action' | 'escalateTo'> & { action: Exclude<DeadlineAction, 'escalate'> };

/**
 * The deadline a review.escalated names, inside the step's transaction: nothing when it
 * no longer applies, an escalation to the next level, or the fail-safe, which is the
 * step's own to apply (`failSafe`: the executor rejects or defers a governance review,
 * finality defers its review and evaluates again).
 */
export async function applyDeadline<T>(
  tx: Tx,
  msg: Envelope,
  p: Payload<'review.escalated'>,
  policy: { deadlines: Deadlines; now: number },
  failSafe: (d: FailSafe) => Promise<T>,
): Promise<T | { emit: []; result: Record<string, unknown> }> {
  const d = await deadlineToApply(tx, msg, p, policy.deadlines, policy.now);
  if ('skipped' in d) return { emit: [], result: { review: p.review_id, skipped: d.skipped } };
  if (d.action === 'escalate') {
    const review = await recordEscalation(tx, d.review, d.escalateTo!, d.applied);
    return { emit: [], result: { review: review.reviewId, escalated_to: review.escalatedTo, level: review.escalationLevel } };
  }
  return failSafe({ review: d.review, action: d.action, applied: d.applied });
}
