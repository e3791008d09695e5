// Human review queue: governance reviews (a blocked or MITL proposal) and finality
// reviews (at most one pending per scope). A response is recorded once: responding to
// an item that is no longer pending is an error, not a silent second decision.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PermanentError } from '../contract/errors.ts';
import type { Basis, HumanDecision, HumanOption } from '../domain/finality.ts';
import { HUMAN_OPTIONS } from '../domain/finality.ts';
import type { FinalityReviewRequest } from '../domain/review.ts';
import { amendProposal, type AmendableField, type Proposal } from '../domain/amend.ts';
import { ProposalAmendments } from '../contract/messages.ts';
import { appendEvent } from './context-log.ts';
import { inTransaction, type Db, type Tx, type Queryable } from './db.ts';

export type ReviewKind = 'governance_review' | 'finality_review';
export type ReviewStatus = 'pending' | 'approved' | 'rejected' | 'responded' | 'deferred' | 'superseded';

export interface Review {
  reviewId: string;
  scope: string;
  kind: ReviewKind;
  status: ReviewStatus;
  proposalId: string | null;
  decisionId: string | null;
  request: Record<string, unknown>;
  response: Record<string, unknown> | null;
  respondedBy: string | null;
  deferUntil: Date | null;
  createdAt: Date;
  resolvedAt: Date | null;
  /** Escalations so far (governance.yaml `deadlines`); 0: never escalated. */
  escalationLevel: number;
  /** The OpenFGA group whose members may answer it too, since its last escalation. */
  escalatedTo: string | null;
  escalatedAt: Date | null;
}

export type ReviewRow = {
  review_id: string;
  scope_id: string;
  kind: ReviewKind;
  status: ReviewStatus;
  proposal_id: string | null;
  decision_id: string | null;
  request: Record<string, unknown>;
  response: Record<string, unknown> | null;
  responded_by: string | null;
  defer_until: Date | null;
  created_at: Date;
  resolved_at: Date | null;
  escalation_level: number;
  escalated_to: string | null;
  escalated_at: Date | null;
};

export const toReview = (r: ReviewRow): Review => ({
  reviewId: r.review_id,
  scope: r.scope_id,
  kind: r.kind,
  status: r.status,
  proposalId: r.proposal_id,
  decisionId: r.decision_id,
  request: r.request,
  response: r.response,
  respondedBy: r.responded_by,
  deferUntil: r.defer_until,
  createdAt: r.created_at,
  resolvedAt: r.resolved_at,
  escalationLevel: r.escalation_level,
  escalatedTo: r.escalated_to,
  escalatedAt: r.escalated_at,
});

export async function getReview(q: Queryable, reviewId: string): Promise<Review | null> {
  const { rows } = await q.query<ReviewRow>('SELECT * FROM review_queue WHERE review_id = $1', [reviewId]);
  return rows[0] ? toReview(rows[0]) : null;
}

/** These reviews, in the order of `ids` (missing ones left out). */
export async function getReviews(q: Queryable, ids: readonly string[]): Promise<Review[]> {
  if (!ids.length) return [];
  const { rows } = await q.query<ReviewRow>('SELECT * FROM review_queue WHERE review_id = ANY($1::text[])', [ids]);
  const byId = new Map(rows.map((r) => [r.review_id, toReview(r)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function listPendingReviews(q: Queryable, scope?: string): Promise<Review[]> {
  const { rows } = await q.query<ReviewRow>(
    `SELECT * FROM review_queue WHERE status = 'pending' AND ($1::text IS NULL OR scope_id = $1) ORDER BY created_at, review_id`,
    [scope ?? null],
  );
  return rows.map(toReview);
}

/** A scope's reviews, optionally of one status, oldest first. */
export async function listReviews(q: Queryable, scope: string, status: ReviewStatus | null, limit: number): Promise<Review[]> {
  const { rows } = await q.query<ReviewRow>(
    `SELECT * FROM review_queue WHERE scope_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at, review_id LIMIT $3`,
    [scope, status, limit],
  );
  return rows.map(toReview);
}

/** A governance review for a decision (id derived from the decision: one review per decision). */
export async function enqueueGovernanceReview(
  tx: Tx,
  r: { scope: string; proposalId: string; decisionId: string; request: Record<string, unknown> },
): Promise<string> {
  const id = `gov-${r.decisionId}`;
  await tx.query(
    `INSERT INTO review_queue (review_id, scope_id, kind, proposal_id, decision_id, request)
     VALUES ($1, $2, 'governance_review', $3, $4, $5) ON CONFLICT (review_id) DO NOTHING`,
    [id, r.scope, r.proposalId, r.decisionId, JSON.stringify(r.request)],
  );
  return id;
}

/** Open a finality review, or refresh the numbers of the one already pending. */
export async function upsertFinalityReview(tx: Tx, scope: string, request: FinalityReviewRequest): Promise<{ reviewId: string; created: boolean }> {
  const { rows } = await tx.query<{ review_id: string; created: boolean }>(
    `INSERT INTO review_queue (review_id, scope_id, kind, request)
     VALUES ($1, $2, 'finality_review', $3)
     ON CONFLICT (scope_id) WHERE kind = 'finality_review' AND status = 'pending'
     DO UPDATE SET request = EXCLUDED.request
       -- The trace of the evidence that raised the review stays until newer evidence replaces it.
       || CASE WHEN review_queue.request ? 'trace' THEN jsonb_build_object('trace', review_queue.request->'trace') ELSE '{}'::jsonb END
     RETURNING review_id, (xmax = 0) AS created`,
    [`fin-${scope}-${randomUUID().slice(0, 8)}`, scope, JSON.stringify(request)],
  );
  return { reviewId: rows[0]!.review_id, created: rows[0]!.created };
}

/** Add fields to a review's request (the finality step's trace and LLM explanation). */
export async function mergeReviewRequest(tx: Tx, reviewId: string, patch: Record<string, unknown>): Promise<void> {
  await tx.query(`UPDATE review_queue SET request = request || $2::jsonb WHERE review_id = $1`, [reviewId, JSON.stringify(patch)]);
}

/** A pending finality review that the scope's outcome made moot. */
export async function supersedeFinalityReview(tx: Tx, scope: string, reason: string): Promise<string | null> {
  const { rows } = await tx.query<{ review_id: string }>(
    `UPDATE review_queue SET status = 'superseded', resolved_at = now(), response = $2
      WHERE scope_id = $1 AND kind = 'finality_review' AND status = 'pending' RETURNING review_id`,
    [scope, JSON.stringify({ superseded: reason })],
  );
  return rows[0]?.review_id ?? null;
}

/**
 * The error a response to a review that is no longer pending raises. A step receiving
 * a second answer (a retry past the duplicate window, or a race the API lost) treats
 * it as done: the first answer stands, nothing to dead-letter.
 */
export const isReviewClosed = (err: unknown): boolean => err instanceof PermanentError && err.code === 'review_closed';

/** Who answered, from where: the answer's scope (the message's) and the API's access-log row for it. */
const Answer = { scope: z.string().min(1), by: z.string().min(1).max(100), accessId: z.number().int().positive() };

async function lockPending(tx: Tx, reviewId: string, kind: ReviewKind, answer: { scope: string; by: string; accessId: number }): Promise<Review> {
  const { rows } = await tx.query<ReviewRow>('SELECT * FROM review_queue WHERE review_id = $1 FOR UPDATE', [reviewId]);
  const r = rows[0];
  // A review of another scope is "not found" here too: a message for one scope cannot reach into another.
  if (!r || r.scope_id !== answer.scope) throw new PermanentError('review_not_found', `review ${reviewId} does not exist in scope ${answer.scope}`);
  if (r.kind !== kind) throw new PermanentError('wrong_review_kind', `review ${reviewId} is a ${r.kind}, not a ${kind}`);
  await verifyAnswerRecorded(tx, reviewId, answer);
  if (r.status !== 'pending') throw new PermanentError('review_closed', `review ${reviewId} is already ${r.status}`);
  return toReview(r);
}

/**
 * A human answer takes effect only if the API recorded it: an allowed review.respond of
 * this principal, on this scope, for this review. An answer published on the bus by
 * anything else (a forged message, a replayed access id) is refused.
 */
async function verifyAnswerRecorded(tx: Tx, reviewId: string, a: { scope: string; by: string; accessId: number }): Promise<void> {
  const { rowCount } = await tx.query(
    `SELECT 1 FROM access_log WHERE id = $1 AND principal = $2 AND scope_id = $3 AND target = $4 AND action = 'review.respond' AND allowed`,
    [a.accessId, a.by, a.scope, reviewId],
  );
  if (!rowCount) {
    throw new PermanentError('unverified_answer', `no access-log record ${a.accessId} of ${a.by} answering review ${reviewId} on scope ${a.scope}: the answer did not come through the API`);
  }
}

export const GovernanceResponse = z.object({
  reviewId: z.string().min(1),
  approve: z.boolean(),
  ...Answer,
  note: z.string().max(2000).optional(),
  /** Approve only: the proposal is approved as amended (reason, plan; shared/domain/amend.ts). */
  amendments: ProposalAmendments.optional(),
});

/** An approval with amendments, as review_queue.response keeps it (the decision record has the same). */
export interface RecordedAmendment {
  by: string;
  changed: AmendableField[];
  original: Proposal;
  amended: Proposal;
}

export type GovernanceAnswer = Review & {
  /** The human decision record appended for this answer. */
  humanDecisionId: string;
  amendment: RecordedAmendment | null;
};

/**
 * A human's answer to a governance review. Approval emits `proposal_approved` with the
 * proposal's compare-and-swap obligation; if the scope moved on meanwhile, the executor's
 * advance reports a lost race rather than applying a stale decision. The answer is
 * appended to decision_records (governance_path human_review, decided_by, no tier) beside
 * the tier decision that asked for it; with amendments, that record and the review's
 * response keep the proposal as proposed and as approved, and an amended plan is logged
 * (plan_amended) as the plan in force.
 */
export async function respondToGovernanceReview(db: Db, input: z.input<typeof GovernanceResponse>): Promise<GovernanceAnswer> {
  const a = GovernanceResponse.parse(input);
  return inTransaction(db, async (tx) => {
    const review = await lockPending(tx, a.reviewId, 'governance_review', a);
    let amendment: RecordedAmendment | null = null;
    if (a.amendments) {
      if (!a.approve) throw new PermanentError('amendment_not_allowed', `review ${a.reviewId}: amendments go with an approval, not a rejection`);
      // Checked again here: the API checked it, but the message is what arrives.
      const m = amendProposal(review.request.proposal, a.amendments);
      if (!m.ok) throw new PermanentError(m.code, `review ${a.reviewId}: ${m.message}`);
      amendment = { by: a.by, changed: m.changed, original: m.original, amended: m.amended };
    }
    const status: ReviewStatus = a.approve ? 'approved' : 'rejected';
    const response = { approve: a.approve, ...(a.note ? { note: a.note } : {}), ...(amendment ? { amendment } : {}) };
    const { rows } = await tx.query<ReviewRow>(
      `UPDATE review_queue SET status = $2, response = $3, responded_by = $4, resolved_at = now() WHERE review_id = $1 RETURNING *`,
      [a.reviewId, status, JSON.stringify(response), a.by],
    );
    const obligations = ((review.request.obligations as { type: string }[] | undefined) ?? []).filter((o) => o.type === 'advance_state');
    // Copied from the decision that asked: same proposal, transition, policy and mode; the human's answer, no tier.
    const human = await tx.query<{ decision_id: string }>(
      `INSERT INTO decision_records (scope_id, proposal_id, proposer, action, from_node, to_node, decision, reasons, obligations, suggested_actions,
         policy_version, governance_path, tier, mode, rationale, trace_id, decided_by, review_id, amended_from, amended_to)
       SELECT scope_id, proposal_id, proposer, action, from_node, to_node, $2, $3, $4, suggested_actions,
              policy_version, 'human_review', NULL, mode, $5, trace_id, $6, $7, $8, $9
         FROM decision_records WHERE decision_id = $1 AND scope_id = $10
       RETURNING decision_id`,
      [
        review.decisionId,
        a.approve ? 'approve' : 'reject',
        JSON.stringify(amendment ? [{ code: 'amended', message: `approved as amended by ${a.by}: ${amendment.changed.join(', ')}` }] : []),
        JSON.stringify(a.approve ? obligations : []),
        a.note ?? null,
        `human:${a.by}`,
        a.reviewId,
        amendment ? JSON.stringify(amendment.original) : null,
        amendment ? JSON.stringify(amendment.amended) : null,
        review.scope,
      ],
    );
    const humanDecisionId = human.rows[0]?.decision_id;
    if (!humanDecisionId) throw new PermanentError('review_without_decision', `review ${a.reviewId} names no decision record of scope ${review.scope}`);
    await appendEvent(tx, {
      scope: review.scope,
      kind: a.approve ? 'proposal_approved' : 'proposal_rejected',
      source: 'human',
      messageId: `review:${a.reviewId}`,
      payload: {
        proposal_id: review.proposalId,
        decision_id: review.decisionId,
        human_decision_id: humanDecisionId,
        review_id: a.reviewId,
        approved_by: `human:${a.by}`,
        governance_path: 'human_review',
        ...(a.note ? { reason: a.note } : {}),
        ...(a.approve ? { obligations } : {}),
        ...(amendment ? { amended: amendment.changed } : {}),
      },
    });
    if (amendment?.changed.includes('plan')) {
      // The timeline shows the plan in force: the reviewer's, not the one the planner logged.
      await appendEvent(tx, {
        scope: review.scope,
        kind: 'plan_amended',
        source: 'human',
        messageId: `review:${a.reviewId}:plan`,
        payload: {
          proposal_id: review.proposalId,
          review_id: a.reviewId,
          decision_id: humanDecisionId,
          amended_by: `human:${a.by}`,
          actions: amendment.amended.plan?.actions ?? [],
          original_actions: amendment.original.plan?.actions ?? [],
        },
      });
    }
    return { ...toReview(rows[0]!), humanDecisionId, amendment };
  });
}

export const FinalityResponse = z.object({
  reviewId: z.string().min(1),
  option: z.enum(HUMAN_OPTIONS),
  /** For defer: how long no new review is raised (default from finality.yaml). */
  days: z.number().int().min(1).max(365).optional(),
  ...Answer,
  note: z.string().max(2000).optional(),
});

const OUTCOME_OF: Record<HumanOption, 'RESOLVED' | 'ESCALATED' | 'ACTIVE'> = {
  approve_finality: 'RESOLVED',
  escalate: 'ESCALATED',
  provide_resolution: 'ACTIVE',
  defer: 'ACTIVE',
};

/**
 * A human's answer to a finality review, recorded in finality_decisions with the evidence
 * basis the review showed: it applies to that evidence only, so new evidence re-opens
 * the question instead of the answer sticking forever. The next finality evaluation acts on it.
 */
export async function respondToFinalityReview(
  db: Db,
  input: z.input<typeof FinalityResponse>,
  opts: { defaultDeferDays?: number; now?: Date } = {},
): Promise<{ review: Review; decision: HumanDecision }> {
  const a = FinalityResponse.parse(input);
  const now = opts.now ?? new Date();
  return inTransaction(db, async (tx) => {
    const review = await lockPending(tx, a.reviewId, 'finality_review', a);
    const days = a.option === 'defer' ? (a.days ?? opts.defaultDeferDays ?? 7) : null;
    const decision = await recordFinalityAnswer(tx, review, { option: a.option, decidedBy: `human:${a.by}`, days, note: a.note ?? null, now });
    await appendEvent(tx, {
      scope: review.scope,
      kind: 'finality_response',
      source: 'human',
      messageId: `review:${a.reviewId}`,
      payload: { review_id: a.reviewId, option: a.option, days, by: a.by },
    });
    return { review: decision.review, decision: { ...decision.decision, by: a.by } };
  });
}

/**
 * Close a pending finality review with this answer and record it in finality_decisions
 * with the evidence basis the review showed (a human's, or the deadline's defer).
 */
export async function recordFinalityAnswer(
  tx: Tx,
  review: Review,
  a: { option: HumanOption; decidedBy: string; days: number | null; note: string | null; now: Date; response?: Record<string, unknown> },
): Promise<{ review: Review; decision: HumanDecision }> {
  const basis = review.request.basis as Basis | undefined;
  if (!basis || typeof basis.evidence_seq !== 'number' || typeof basis.graph_revision !== 'number') {
    throw new PermanentError('review_without_basis', `review ${review.reviewId} carries no evidence basis`);
  }
  const deferUntil = a.days ? new Date(a.now.getTime() + a.days * 86_400_000) : null;
  const respondedBy = a.decidedBy.replace(/^human:/, '');
  const { rows } = await tx.query<ReviewRow>(
    `UPDATE review_queue SET status = $2, response = $3, responded_by = $4, resolved_at = $5, defer_until = $6 WHERE review_id = $1 RETURNING *`,
    [review.reviewId, a.option === 'defer' ? 'deferred' : 'responded', JSON.stringify({ option: a.option, days: a.days, note: a.note, ...a.response }), respondedBy, a.now, deferUntil],
  );
  await tx.query(
    `INSERT INTO finality_decisions (scope_id, outcome, decided_by, option, days, reasons, details, basis, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      review.scope,
      OUTCOME_OF[a.option],
      a.decidedBy,
      a.option,
      a.days,
      JSON.stringify(a.note ? [a.note] : []),
      JSON.stringify({ review_id: review.reviewId, defer_until: deferUntil?.toISOString() ?? null }),
      JSON.stringify(basis),
      a.now,
    ],
  );
  return {
    review: toReview(rows[0]!),
    decision: { option: a.option, by: respondedBy, at: a.now.getTime(), defer_until: deferUntil?.getTime() ?? null, basis },
  };
}

/** The latest human finality decision of the scope. */
export async function latestHumanDecision(q: Queryable, scope: string): Promise<HumanDecision | null> {
  const { rows } = await q.query<{ option: HumanOption; decided_by: string; created_at: Date; details: { defer_until?: string | null }; basis: Basis }>(
    `SELECT option, decided_by, created_at, details, basis FROM finality_decisions
      WHERE scope_id = $1 AND option IS NOT NULL ORDER BY id DESC LIMIT 1`,
    [scope],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    option: r.option,
    by: r.decided_by.replace(/^human:/, ''),
    at: r.created_at.getTime(),
    defer_until: r.details.defer_until ? Date.parse(r.details.defer_until) : null,
    basis: r.basis,
  };
}
