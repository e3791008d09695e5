// status: writes a briefing of the scope into the context log — after a finality
// decision or a review request always, otherwise at most once per interval
// (activation: timer). Template text, or an LLM-written briefing.
import { STEP_BUDGETS } from '../budgets.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { writeBriefing } from '../../shared/llm/agents.ts';
import { withLlm } from '../../shared/llm/run.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import { appendEvent } from '../../shared/store/context-log.ts';
import { latestFinalityDecision } from '../../shared/store/finality.ts';
import { previewFinality } from '../../shared/usecases/finality.ts';
import { queryEdges } from '../../shared/store/graph.ts';
import { listPendingReviews } from '../../shared/store/reviews.ts';
import { readState } from '../../shared/store/state.ts';
import { activation } from '../../shared/swarm/activation.ts';
import { templateBriefing } from '../../shared/swarm/briefing.ts';
import { loadMemory, saveMemory } from '../../shared/store/memory.ts';
import { llmFor } from '../../shared/llm/run.ts';

const AGENT = 'status';
/** Events that always deserve a briefing; the rest at most once per interval. */
const ALWAYS = new Set(['finality.decided', 'review.requested']);
export const STATUS_INTERVAL_MS = 60_000;

export const step = defineAgentStep(AGENT, STEP_BUDGETS.status, {
  consumes: ['facts.extracted', 'drift.assessed', 'plan.ready', 'finality.decided', 'review.requested', 'status.tick'],
  handle: run,
});
export const { app, handler } = step;

async function run(msg: Envelope, ctx: StepContext) {
  const db = ctx.deps.db;
  const { deps } = ctx;
  const memory = await loadMemory(db, msg.scope, AGENT);
  const act = ALWAYS.has(msg.type) ? { activate: true, reasons: [msg.type] } : activation([{ kind: 'timer', intervalMs: STATUS_INTERVAL_MS }], memory, { now: Date.now() });
  if (!act.activate) return { result: { skipped: act.reasons.join('; ') } };

  const [state, preview, edges, reviews, last] = await Promise.all([
    readState(db, msg.scope),
    previewFinality({ db, policies: deps.policies }, msg.scope),
    queryEdges(db, msg.scope, { kinds: ['contradicts'] }),
    listPendingReviews(db, msg.scope),
    latestFinalityDecision(db, msg.scope),
  ]);
  const ev = preview.evaluation;
  const summary = {
    scope: msg.scope,
    node: state?.node ?? 'unknown',
    epoch: state?.epoch ?? 0,
    status: preview.status,
    goalScore: ev.goal_score,
    lyapunovV: ev.lyapunov_v,
    alpha: ev.convergence?.rate ?? null,
    bottleneck: ev.convergence?.bottleneck ?? null,
    openContradictions: edges.filter((e) => e.status === 'active').length,
    resolvedContradictions: edges.filter((e) => e.status === 'resolved').length,
    pendingReviews: reviews.length,
    lastOutcome: last?.outcome ?? null,
  };
  const template = templateBriefing(summary);
  const text = await withLlm({
    step: 'status',
    ...llmFor(deps, 'status'),
    run: (model, signal) => writeBriefing(model, { summary, template }, signal),
    fallback: () => template,
  });
  return ctx.commit(async (tx) => {
    await appendEvent(tx, { scope: msg.scope, kind: 'status_card', source: AGENT, messageId: msg.id, payload: { ...summary, briefing: text.value, tier: text.tier, trigger: msg.type } });
    await saveMemory(tx, msg.scope, AGENT, { activated: true });
    return { result: { briefing: text.value, tier: text.tier } };
  });
}
