// planner: once the scope reaches DriftChecked, recommend actions from the
// governance drift rules (the rule table), or let the LLM plan from drift and
// rules; record the plan in the context log and propose DriftChecked → ContextIngested.
// When a reviewer rejects that proposal, plan again with the reviewer's note in view and
// ask again (a new proposal id, the note in its reason): never a silent stall.
import { STEP_BUDGETS } from '../budgets.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { message } from '../../shared/contract/messages.ts';
import { suggestedActions } from '../../shared/domain/governance.ts';
import { planActions } from '../../shared/llm/agents.ts';
import { withLlm } from '../../shared/llm/run.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import { loadLatestDrift } from '../../shared/store/artifacts.ts';
import { appendEvent } from '../../shared/store/context-log.ts';
import { readState } from '../../shared/store/state.ts';
import { saveMemory } from '../../shared/store/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';
import { entering, movedOn, stillAt } from '../../shared/swarm/guards.ts';
import { llmFor } from '../../shared/llm/run.ts';

const AGENT = 'planner';

export const step = defineAgentStep(AGENT, STEP_BUDGETS.planner, {
  holds: true,
  on: {
    'state.advanced': entering('DriftChecked', (adv, msg, ctx) => planAt(msg, ctx, adv.epoch)),
    'proposal.rejected': async (r, msg, ctx) => {
      // Only its own transition is the planner's to ask again; the others wait for new evidence.
      if (r.to !== 'ContextIngested' || r.from !== 'DriftChecked') return { result: { skipped: `a rejection of ${r.from} → ${r.to} is not the planner's` } };
      const previous = /\/r(\d+)$/.exec(r.proposal_id);
      return planAt(msg, ctx, r.expected_epoch, { responder: r.responder, note: r.note ?? null, reviewId: r.review_id, attempt: (previous ? Number(previous[1]) : 0) + 1 });
    },
  },
});
export const { app, handler } = step;

/** What a rejection the planner answers brings: who rejected, the note, which attempt comes next. */
interface Feedback {
  responder: string;
  note: string | null;
  reviewId: string;
  attempt: number;
}

/** Plan for the scope at DriftChecked `epoch`, after a rejection when `feedback` says so. */
async function planAt(msg: Envelope, ctx: StepContext, epoch: number, feedback?: Feedback) {
  const db = ctx.deps.db;
  const { deps } = ctx;
  const state = await readState(db, msg.scope);
  if (!stillAt(state, 'DriftChecked', epoch)) return movedOn();
  const drift = await loadLatestDrift(deps.artifacts, msg.scope);
  const policy = deps.policies.governance().policy;
  const ruleActions = suggestedActions(policy, drift);
  const said = feedback ? `${feedback.responder} rejected the previous plan${feedback.note ? `: "${feedback.note}"` : ' (no note)'}` : '';
  const plan = await withLlm({
    step: 'planner',
    ...llmFor(deps, 'planner'),
    run: (model, signal) =>
      planActions(model, { drift, rules: policy.rules, ruleActions, ...(feedback ? { feedback: { responder: feedback.responder, note: feedback.note } } : {}) }, signal),
    fallback: () => ({ actions: ruleActions, reasoning: `rule table (governance.yaml drift rules)${feedback ? `; asked again after ${said}` : ''}` }),
  });
  const reason = `${feedback ? `after ${said}; ` : ''}plan: ${plan.value.actions.join(', ') || 'no action'}`;
  return ctx.commit(async (tx) => {
    await appendEvent(tx, {
      scope: msg.scope,
      kind: 'actions_planned',
      source: AGENT,
      messageId: msg.id,
      payload: {
        ...plan.value,
        drift,
        tier: plan.tier,
        ...(plan.fallbackReason ? { fallback_reason: plan.fallbackReason } : {}),
        ...(feedback ? { feedback: { review_id: feedback.reviewId, responder: feedback.responder, note: feedback.note, attempt: feedback.attempt } } : {}),
      },
    });
    await saveMemory(tx, msg.scope, AGENT, { activated: true });
    return {
      emit: [message('plan.ready', { actions: plan.value.actions, tier: plan.tier }), proposeAdvance(msg.scope, AGENT, state, reason, feedback?.attempt ?? 0, { actions: plan.value.actions })],
      result: { actions: plan.value.actions, tier: plan.tier, ...(feedback ? { attempt: feedback.attempt } : {}) },
    };
  });
}
