// planner: once the scope reaches DriftChecked, recommend actions from the
// governance drift rules (the rule table), or let the LLM plan from drift and
// rules; record the plan in the context log and propose DriftChecked → ContextIngested.
import type { Envelope } from '../../shared/contract/envelope.ts';
import { message, payloadOf, PUBLISHERS } from '../../shared/contract/messages.ts';
import { suggestedActions } from '../../shared/domain/governance.ts';
import { planActions } from '../../shared/llm/agents.ts';
import { withLlm } from '../../shared/llm/run.ts';
import { lambdaHandler } from '../../shared/runtime/lambda.ts';
import { defineStep, type StepContext } from '../../shared/runtime/step.ts';
import { loadLatestDrift } from '../../shared/store/artifacts.ts';
import { appendEvent } from '../../shared/store/context-log.ts';
import { readState } from '../../shared/store/state.ts';
import { saveMemory } from '../../shared/swarm/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';
import { services } from '../../shared/swarm/services.ts';

const AGENT = 'planner';

export const step = defineStep({
  name: AGENT,
  consumes: ['state.advanced'],
  emits: PUBLISHERS.planner,
  timeoutMs: 90_000,
  handle: (msg, ctx) => run(msg, ctx),
});
export const app = step.app;
export const handler = lambdaHandler(step);

async function run(msg: Envelope, ctx: StepContext) {
  const adv = payloadOf('state.advanced', msg.payload);
  if (adv.to !== 'DriftChecked') return { result: { skipped: `state moved to ${adv.to}` } };
  const db = ctx.deps.db;
  const svc = services(ctx.deps);
  const state = await readState(db, msg.scope);
  if (!state || state.node !== 'DriftChecked' || state.epoch !== adv.epoch) return { result: { skipped: 'state moved on' } };
  const drift = await loadLatestDrift(svc.artifacts, msg.scope);
  const policy = svc.policies.governance().policy;
  const ruleActions = suggestedActions(policy, drift);
  const plan = await withLlm({
    step: 'planner',
    model: svc.model,
    timeoutMs: svc.llmTimeoutMs,
    run: (model, signal) => planActions(model, { drift, rules: policy.rules, ruleActions }, signal),
    fallback: () => ({ actions: ruleActions, reasoning: 'rule table (governance.yaml drift rules)' }),
  });
  return ctx.commit(async (tx) => {
    await appendEvent(tx, { scope: msg.scope, kind: 'actions_planned', source: AGENT, messageId: msg.id, payload: { ...plan.value, drift, tier: plan.tier, ...(plan.fallbackReason ? { fallback_reason: plan.fallbackReason } : {}) } });
    await saveMemory(tx, msg.scope, AGENT, { activated: true });
    return {
      emit: [message('plan.ready', { actions: plan.value.actions, tier: plan.tier }), proposeAdvance(msg.scope, AGENT, state, `plan: ${plan.value.actions.join(', ') || 'no action'}`)],
      result: { actions: plan.value.actions, tier: plan.tier },
    };
  });
}
