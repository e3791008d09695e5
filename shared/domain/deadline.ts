// When a review's deadline passes and what it does then (governance.yaml `deadlines`).
// Pure: the bridge's tick asks it which pending reviews are due, and the step that
// applies a deadline asks it again (with its own clock and policy) before acting.
import type { DeadlineLevel, Deadlines } from './policy.ts';

export type ReviewKind = 'governance_review' | 'finality_review';

/** What a review's deadline depends on. */
export interface ReviewClock {
  kind: ReviewKind;
  createdAt: Date;
  /** Escalations so far (0: never escalated). */
  escalationLevel: number;
  /** When the last escalation happened (null: never escalated). */
  escalatedAt: Date | null;
}

export type DeadlineAction = 'escalate' | 'reject' | 'defer';

export type Due =
  /** No deadline at this level (the kind has none, or its levels are used up). */
  | { action: 'none'; deadline: null }
  /** A deadline, not passed yet. */
  | { action: 'wait'; deadline: Date; level: number; then: DeadlineAction; escalate_to?: string }
  | { action: DeadlineAction; deadline: Date; level: number; escalate_to?: string };

/** The policy's level `level` for this kind (undefined: none). */
export const deadlineLevel = (deadlines: Deadlines, kind: ReviewKind, level: number): DeadlineLevel | undefined => deadlines[kind]?.[level];

const actionOf = (l: DeadlineLevel): DeadlineAction => (l.escalate_to ? 'escalate' : l.fail_safe!);

/**
 * The deadline of the review's current level and what is due at `now`. A level's time
 * runs from the review's creation (level 0) or from its last escalation.
 */
export function dueAt(review: ReviewClock, deadlines: Deadlines, now: number): Due {
  const l = deadlineLevel(deadlines, review.kind, review.escalationLevel);
  if (!l) return { action: 'none', deadline: null };
  const from = review.escalationLevel === 0 ? review.createdAt : (review.escalatedAt ?? review.createdAt);
  const deadline = new Date(from.getTime() + l.respond_within_ms);
  const to = l.escalate_to ? { escalate_to: l.escalate_to } : {};
  if (now < deadline.getTime()) return { action: 'wait', deadline, level: review.escalationLevel, then: actionOf(l), ...to };
  return { action: actionOf(l), deadline, level: review.escalationLevel, ...to };
}

/**
 * For the tick's query: per (kind, level) of the policy, the latest instant a review of
 * that level may have started its clock and be due at `now`.
 */
export function dueCutoffs(deadlines: Deadlines, now: number): { kind: ReviewKind; level: number; cutoff: Date }[] {
  const out: { kind: ReviewKind; level: number; cutoff: Date }[] = [];
  for (const kind of ['governance_review', 'finality_review'] as const) {
    (deadlines[kind] ?? []).forEach((l, level) => out.push({ kind, level, cutoff: new Date(now - l.respond_within_ms) }));
  }
  return out;
}

/** The id of the one message that applies this level's deadline (several bridges publish it once). */
export const deadlineMessageId = (reviewId: string, level: number): string => `deadline:${reviewId}:${level}`;

/** The level a deadline message is for, from its id (null: not a deadline message id for this review). */
export function deadlineMessageLevel(messageId: string, reviewId: string): number | null {
  const prefix = `deadline:${reviewId}:`;
  if (!messageId.startsWith(prefix)) return null;
  const rest = messageId.slice(prefix.length);
  return /^(0|[1-9][0-9]{0,2})$/.test(rest) ? Number(rest) : null;
}
