// governance: every proposal → tier 1 (structure, OpenFGA permission — failing
// closed —, transition and drift rules, the effective mode), then in YOLO mode
// tiers 2/3 (LLM oversight and agent, which may only make the decision stricter).
// The decision record is written with its policy version and governance path;
// an approval goes to the executor, a review to the human queue.
import { STEP_BUDGETS } from '../budgets.ts';
import { recordGovernanceDecision, recordReviewOpened } from '../../shared/adapters/metrics.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { TransientError } from '../../shared/contract/errors.ts';
import { message, type OutMessage, type Payload } from '../../shared/contract/messages.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import { loadLatestDrift } from '../../shared/store/artifacts.ts';
import { commitDecision, decideProposal, recordRetryableRejection, type GovernanceResult } from '../../shared/usecases/governance.ts';
import { llmFor } from '../../shared/llm/run.ts';
import { llmTiers, type TierTrace } from './tiers.ts';

export const step = defineAgentStep('governance', STEP_BUDGETS.governance, { holds: true, on: { 'proposal.submitted': decide } });
export const { app, handler } = step;

async function decide(p: Payload<'proposal.submitted'>, msg: Envelope, ctx: StepContext) {
  const { deps } = ctx;
  // Governance reads the drift itself; a proposer cannot vouch for it.
  const drift = await loadLatestDrift(deps.artifacts, msg.scope);
  const trace: TierTrace = {};
  const decided = await decideProposal(
    { db: deps.db, policies: deps.policies, authz: deps.authz, tiers: llmTiers({ oversight: llmFor(deps, 'governance_oversight'), tools: llmFor(deps, 'governance_tools') }, trace) },
    { ...p, scope: msg.scope, drift: { level: drift.level, types: [...drift.types] }, message_id: msg.id, ...(msg.trace ? { trace_id: msg.trace.traceparent.split('-')[1] } : {}) },
  );
  if (!decided.stored && decided.retryable) {
    // OpenFGA could not answer: the rejection is kept for the audit trail, and the proposal comes back with backoff.
    await recordRetryableRejection(ctx.deps.db, decided);
    throw new TransientError('authz_unavailable', decided.decision.reasons.map((r) => r.message).join('; '));
  }
  const fallback = [trace.oversight, trace.agent].find((t) => t?.tier === 'fallback')?.fallbackReason;
  let res: GovernanceResult | undefined;
  // The decision commits with the message's inbox record: a redelivery gets the stored result back.
  const out = await ctx.commit(async (tx) => {
    const r = (res = await commitDecision(tx, decided));
    const d = r.decision;
    const emit: OutMessage[] = [];
    if (d.decision === 'approve' && r.decisionId) {
      emit.push(message('action.approved', { proposal_id: p.proposal_id, decision_id: r.decisionId, from: p.from, to: p.to, expected_epoch: p.expected_epoch, approved_by: `governance:tier${d.tier}` }));
    } else if (d.decision === 'review' && r.reviewId) {
      emit.push(message('review.requested', { review_id: r.reviewId, kind: 'governance_review', reason: d.reasons.map((x) => x.message).join('; ').slice(0, 500) }));
    }
    return {
      emit,
      result: { decision: d.decision, tier: d.tier, path: d.governance_path, mode: d.mode, decision_id: r.decisionId, replayed: r.replayed, ...(fallback ? { llm_fallback: fallback } : {}) },
    };
  });
  // Counted once committed, and not for a decision found already recorded.
  if (res?.decisionId && !res.replayed) {
    const d = res.decision;
    recordGovernanceDecision(d.governance_path, d.tier, d.decision);
    if (d.decision === 'review' && res.reviewId) recordReviewOpened('governance_review');
  }
  return out;
}
