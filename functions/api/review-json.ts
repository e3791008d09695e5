// A review as the API shows it (the review routes and the console's inbox): its fields,
// the options it can still be answered with, and its deadline from governance.yaml.
import { dueAt } from '../../shared/domain/deadline.ts';
import type { Deadlines } from '../../shared/domain/policy.ts';
import type { Review } from '../../shared/store/reviews.ts';
import type { Routes } from './context.ts';
import { FINALITY_OPTIONS, GOVERNANCE_OPTIONS } from './schemas.ts';

/** The answers a pending review of each kind takes. */
export const REVIEW_OPTIONS: Record<Review['kind'], readonly string[]> = { governance_review: GOVERNANCE_OPTIONS, finality_review: FINALITY_OPTIONS };

/** governance.yaml's deadlines; a policy that does not load hides deadlines, it does not break reading reviews. */
export function deadlinesOf(r: Routes): Deadlines {
  try {
    return r.policies.governance().policy.deadlines;
  } catch (err) {
    r.log.warn({ err }, 'governance policy unreadable: review deadlines not shown');
    return {};
  }
}

/** What the review's deadline is and what happens then (pending reviews; null: it has none). */
function deadlineJson(r: Review, deadlines: Deadlines, now: number) {
  if (r.status !== 'pending') return { deadline: null, deadline_action: null };
  const due = dueAt(r, deadlines, now);
  if (due.action === 'none') return { deadline: null, deadline_action: null };
  return {
    deadline: due.deadline.toISOString(),
    deadline_action: due.action === 'wait' ? due.then : due.action,
    ...(due.escalate_to ? { deadline_escalate_to: due.escalate_to } : {}),
  };
}

export const reviewJson = (r: Review, deadlines: Deadlines = {}, now = Date.now()) => ({
  review_id: r.reviewId,
  scope: r.scope,
  kind: r.kind,
  status: r.status,
  options: r.status === 'pending' ? [...REVIEW_OPTIONS[r.kind]] : [],
  proposal_id: r.proposalId,
  decision_id: r.decisionId,
  request: r.request,
  response: r.response,
  responded_by: r.respondedBy,
  defer_until: r.deferUntil?.toISOString() ?? null,
  created_at: r.createdAt.toISOString(),
  resolved_at: r.resolvedAt?.toISOString() ?? null,
  escalation_level: r.escalationLevel,
  escalated_to: r.escalatedTo,
  escalated_at: r.escalatedAt?.toISOString() ?? null,
  ...deadlineJson(r, deadlines, now),
});
