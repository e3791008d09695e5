// executor: applies what governance (or a human) approved — advance the scope's
// state by epoch compare-and-swap, in one transaction with the context-log entry.
// A lost race or a scope that moved on is not an error: the winner's transition
// stands. When a cycle completes (back to ContextIngested), finality evaluates.
// A governance review whose deadline passed is escalated, rejected or deferred here
// (review.escalated; shared/swarm/deadlines.ts checks it first).
import { STEP_BUDGETS } from '../budgets.ts';
import { recordReviewAnswered } from '../../shared/adapters/metrics.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { message, type Payload } from '../../shared/contract/messages.ts';
import { parseTransition, type StateNode } from '../../shared/domain/state-machine.ts';
import { PermanentError } from '../../shared/contract/errors.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import type { Tx } from '../../shared/store/db.ts';
import { approvalOnRecord } from '../../shared/store/governance.ts';
import { expireGovernanceReview } from '../../shared/store/review-deadlines.ts';
import { isReviewClosed, respondToGovernanceReview } from '../../shared/store/reviews.ts';
import { advanceState } from '../../shared/store/state.ts';
import { authorizeAnswer } from '../../shared/swarm/answers.ts';
import { applyDeadline } from '../../shared/swarm/deadlines.ts';
import { requireAgentRelation } from '../../shared/swarm/guards.ts';

const AGENT = 'executor';

export const step = defineAgentStep(AGENT, STEP_BUDGETS.executor, { holds: true, on: { 'action.approved': onApproved, 'review.responded': onReview, 'review.escalated': onDeadline } });
export const { app, handler } = step;

const authorize = (ctx: StepContext, scope: string) => requireAgentRelation(ctx.deps.authz, AGENT, 'executor', scope, 'may not execute on');

async function advance(tx: Tx, msg: Envelope, t: { from: string; to: string; expected_epoch: number }, cause: Record<string, unknown>) {
  const transition = parseTransition(t.from, t.to);
  if (!transition) throw new PermanentError('invalid_transition', `${t.from} → ${t.to} is not an edge of the state machine`);
  const r = await advanceState(tx, { scope: msg.scope, ...transition, expectedEpoch: t.expected_epoch, source: AGENT, messageId: msg.id, cause });
  if (!r.ok) return { emit: [], result: { advanced: false, reason: r.reason } };
  const emit = [message('state.advanced', { from: transition.from, to: transition.to, epoch: r.state.epoch, ...(typeof cause.proposal_id === 'string' ? { proposal_id: cause.proposal_id } : {}) })];
  if (transition.to === 'ContextIngested') emit.push(message('finality.evaluate', { reason: `cycle completed at epoch ${r.state.epoch}` }));
  return { emit, result: { advanced: true, epoch: r.state.epoch, replayed: Boolean(r.replayed) } };
}

async function onApproved(a: Payload<'action.approved'>, msg: Envelope, ctx: StepContext) {
  await authorize(ctx, msg.scope);
  return ctx.commit(async (tx) => {
    // The message says what was approved; only a decision record proves it.
    const onRecord = await approvalOnRecord(tx, { decisionId: a.decision_id, scope: msg.scope, proposalId: a.proposal_id, from: a.from, to: a.to, expectedEpoch: a.expected_epoch });
    if (!onRecord) {
      throw new PermanentError('approval_not_on_record', `no recorded approval ${a.decision_id} of proposal ${a.proposal_id} (${a.from} → ${a.to} at epoch ${a.expected_epoch}) on scope ${msg.scope}`);
    }
    return advance(tx, msg, a, { proposal_id: a.proposal_id, decision_id: a.decision_id, approved_by: a.approved_by });
  });
}

async function onReview(r: Payload<'review.responded'>, msg: Envelope, ctx: StepContext) {
  if (r.kind !== 'governance_review') return { result: { skipped: 'finality reviews are for the finality step' } };
  if (r.option !== 'approve' && r.option !== 'reject') throw new PermanentError('invalid_option', `governance reviews take approve or reject, not ${r.option}`);
  await authorize(ctx, msg.scope);
  await authorizeAnswer(ctx.deps, msg.scope, r.review_id, r.responder);
  const out = await ctx.commit(async (tx) => {
    let review;
    try {
      review = await respondToGovernanceReview(tx, {
        reviewId: r.review_id,
        approve: r.option === 'approve',
        scope: msg.scope,
        by: r.responder,
        accessId: r.access_id,
        ...(r.note ? { note: r.note } : {}),
        ...(r.amendments ? { amendments: r.amendments } : {}),
      });
    } catch (err) {
      // A second answer: the first one stands and was acted on; this one changes nothing.
      if (isReviewClosed(err)) return { result: { review: r.review_id, skipped: 'already answered' } };
      throw err;
    }
    if (r.option === 'reject') {
      // Said on the bus, so that the proposer's side plans again with the note: a rejection
      // must not leave the scope waiting for a document that may never come.
      const p = review.request.proposal as { proposal_id?: string; proposer?: string; from?: string; to?: string; expected_epoch?: number } | undefined;
      const emit =
        p?.proposal_id && p.proposer && p.from && p.to && typeof p.expected_epoch === 'number'
          ? [
              message('proposal.rejected', {
                review_id: review.reviewId,
                proposal_id: p.proposal_id,
                proposer: p.proposer,
                from: p.from as StateNode,
                to: p.to as StateNode,
                expected_epoch: p.expected_epoch,
                responder: r.responder,
                ...(r.note ? { note: r.note } : {}),
              }),
            ]
          : [];
      return { emit, result: { review: review.reviewId, approved: false } };
    }
    const o = ((review.request.obligations as { type: string; from: string; to: string; expected_epoch: number }[] | undefined) ?? []).find((x) => x.type === 'advance_state');
    if (!o) throw new PermanentError('review_without_obligation', `review ${r.review_id} carries no state change to apply`);
    // The transition is the one proposed (an amendment cannot change it); the cause says it was approved as amended.
    const amended = review.amendment ? { amended: review.amendment.changed, amended_by: `human:${review.amendment.by}` } : {};
    return advance(tx, msg, o, { proposal_id: review.proposalId, review_id: review.reviewId, decision_id: review.humanDecisionId, approved_by: `human:${r.responder}`, ...amended });
  });
  // Counted once committed; a second answer changed nothing.
  if (!(out.result as { skipped?: string }).skipped) recordReviewAnswered('governance_review', r.option);
  return out;
}

async function onDeadline(p: Payload<'review.escalated'>, msg: Envelope, ctx: StepContext) {
  if (p.kind !== 'governance_review') return { result: { skipped: 'finality reviews are for the finality step' } };
  await authorize(ctx, msg.scope);
  const { deps } = ctx;
  const policy = { deadlines: deps.policies.governance().policy.deadlines, now: deps.now() };
  return ctx.commit((tx) =>
    applyDeadline(tx, msg, p, policy, async (d) => {
      // Rejected or set aside: the proposal is not applied, and nothing asks the planner again
      // (a deadline reject that did would ask the same unanswered question forever).
      const review = await expireGovernanceReview(tx, d.review, d.action, d.applied);
      return { result: { review: review.reviewId, status: review.status, by: review.respondedBy } };
    }),
  );
}
