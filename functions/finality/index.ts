// finality: after each completed cycle (and after a human answers a finality
// review), one evaluation round: goal score, Lyapunov V, convergence rate, gates,
// and the outcome — RESOLVED / ESCALATED / EXPIRED with a signed certificate,
// BLOCKED, a human REVIEW (with an explanation, LLM or template), or ACTIVE.
// One round per message: a redelivery returns the stored round. A finality review
// whose deadline passed is escalated, or deferred as a human deferral would be
// (review.escalated; shared/swarm/deadlines.ts checks it first).
import { injectContext, trace } from '../../shared/adapters/telemetry.ts';
import { recordCertificate, recordReviewAnswered, recordReviewOpened } from '../../shared/adapters/metrics.ts';
import { STEP_BUDGETS } from '../budgets.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { PermanentError } from '../../shared/contract/errors.ts';
import { message, type OutMessage, type Payload } from '../../shared/contract/messages.ts';
import { buildReviewRequest } from '../../shared/domain/review.ts';
import { explainReview } from '../../shared/llm/agents.ts';
import { withLlm } from '../../shared/llm/run.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import type { Tx } from '../../shared/store/db.ts';
import { evaluateScopeFinality, previewFinality } from '../../shared/usecases/finality.ts';
import { DEADLINE_PRINCIPAL, finalityExpiredEvent } from '../../shared/store/review-deadlines.ts';
import { isReviewClosed, mergeReviewRequest, recordFinalityAnswer, respondToFinalityReview } from '../../shared/store/reviews.ts';
import { loadSnapshot } from '../../shared/store/snapshot.ts';
import { authorizeAnswer } from '../../shared/swarm/answers.ts';
import { applyDeadline } from '../../shared/swarm/deadlines.ts';
import { requireAgentRelation } from '../../shared/swarm/guards.ts';
import { llmFor } from '../../shared/llm/run.ts';

const AGENT = 'finality';

export const step = defineAgentStep(AGENT, STEP_BUDGETS.finality, { holds: true, on: { 'finality.evaluate': onEvaluate, 'review.responded': onAnswer, 'review.escalated': onDeadline } });
export const { app, handler } = step;

const authorize = (ctx: StepContext, scope: string) => requireAgentRelation(ctx.deps.authz, AGENT, 'certifier', scope, 'may not certify');
const notMine = { result: { skipped: 'governance reviews are for the executor' } };

type Explanation = { text: string; tier: 'llm' | 'fallback' };
/** What happens in the round's transaction before it evaluates: an output instead of the round, or nothing to go on. */
type Before = (tx: Tx, deps: Deps, defaultDeferDays: number) => Promise<{ emit: OutMessage[]; result: Record<string, unknown> } | void>;

async function onEvaluate(_p: Payload<'finality.evaluate'>, msg: Envelope, ctx: StepContext) {
  await authorize(ctx, msg.scope);
  return round(msg, ctx, { explanation: await explain(ctx, msg.scope) });
}

async function onAnswer(r: Payload<'review.responded'>, msg: Envelope, ctx: StepContext) {
  if (r.kind !== 'finality_review') return notMine;
  if (['approve', 'reject'].includes(r.option)) throw new PermanentError('invalid_option', `finality reviews take approve_finality, provide_resolution, escalate or defer, not ${r.option}`);
  await authorize(ctx, msg.scope);
  await authorizeAnswer(ctx.deps, msg.scope, r.review_id, r.responder);
  const out = await round(msg, ctx, {
    before: async (tx, _deps, defaultDeferDays) => {
      try {
        await respondToFinalityReview(tx, { reviewId: r.review_id, option: r.option as 'approve_finality', scope: msg.scope, by: r.responder, accessId: r.access_id, ...(r.days ? { days: r.days } : {}), ...(r.note ? { note: r.note } : {}) }, { defaultDeferDays });
      } catch (err) {
        // A second answer: the first one stands and was acted on; this one changes nothing.
        if (isReviewClosed(err)) return { emit: [], result: { review: r.review_id, skipped: 'already answered' } };
        throw err;
      }
    },
  });
  if (!(out.result as { skipped?: string }).skipped) recordReviewAnswered('finality_review', r.option);
  return out;
}

async function onDeadline(p: Payload<'review.escalated'>, msg: Envelope, ctx: StepContext) {
  if (p.kind !== 'finality_review') return notMine;
  await authorize(ctx, msg.scope);
  return round(msg, ctx, {
    before: (tx, deps, defaultDeferDays) =>
      applyDeadline(tx, msg, p, { deadlines: deps.policies.governance().policy.deadlines, now: deps.now() }, async (d) => {
        // The grammar allows only defer for finality reviews; a policy saying otherwise is not applied.
        if (d.action !== 'defer') throw new PermanentError('invalid_fail_safe', `a finality review cannot fail safe to ${d.action}`);
        // Deferred as a human deferral is, for finality.yaml's review.defer_days; then the round runs as after an answer.
        const note = `no answer by the deadline (${d.applied.deadline.toISOString()})`;
        await recordFinalityAnswer(tx, d.review, { option: 'defer', decidedBy: DEADLINE_PRINCIPAL, days: defaultDeferDays, note, now: d.applied.at, response: { by: DEADLINE_PRINCIPAL, deadline: d.applied.deadline.toISOString() } });
        await finalityExpiredEvent(tx, d.review, d.applied, defaultDeferDays);
      }),
  });
}

/**
 * The explanation for a human, written before the transaction (an LLM call may be slow),
 * from a read-only preview of the round about to be evaluated; none unless it is a REVIEW.
 */
async function explain(ctx: StepContext, scope: string): Promise<Explanation | undefined> {
  const { deps } = ctx;
  const preview = await previewFinality({ db: ctx.deps.db, policies: deps.policies }, scope);
  if (preview.evaluation.outcome !== 'REVIEW') return undefined;
  const policy = deps.policies.finality().policy;
  const { snapshot } = await loadSnapshot(ctx.deps.db, scope, policy);
  const request = buildReviewRequest(scope, snapshot, preview.evaluation, policy);
  const out = await withLlm({
    step: 'review-explanation',
    ...llmFor(deps, 'review_explanation'),
    run: (model, signal) => explainReview(model, { review: request }, signal),
    // The deterministic explanation is already part of every review request.
    fallback: () => request.explanation,
  });
  return { text: out.value, tier: out.tier };
}

/** One evaluation round in one transaction, after what `before` records (an answer, a deadline). */
async function round(msg: Envelope, ctx: StepContext, opts: { explanation?: Explanation | undefined; before?: Before }) {
  const { deps } = ctx;
  const signer = await deps.signer().catch(() => null);
  const defaultDeferDays = deps.policies.finality().policy.review.defer_days;
  let reviewCreated = false;

  const out = await ctx.commit(async (tx: Tx) => {
    const instead = await opts.before?.(tx, deps, defaultDeferDays);
    if (instead) return instead;
    const r = await evaluateScopeFinality({ db: tx, policies: deps.policies, signer }, { scope: msg.scope, messageId: msg.id });
    if (r.review) {
      // The review carries the trace of the evidence that raised it (a later round with nothing new keeps it):
      // the human's answer continues that trace.
      const carrier = new Headers();
      if (r.review.created || r.evaluation.gates.D_quiescence.idle_cycles === 0) injectContext(carrier);
      const patch: Record<string, unknown> = carrier.get('traceparent') ? { trace: { traceparent: carrier.get('traceparent'), ...(carrier.get('tracestate') ? { tracestate: carrier.get('tracestate') } : {}) } } : {};
      const explanation = opts.explanation;
      if (explanation) Object.assign(patch, explanation.tier === 'llm' ? { llm_explanation: explanation.text, explanation_tier: 'llm' } : { explanation_tier: 'fallback' });
      if (Object.keys(patch).length) await mergeReviewRequest(tx, r.review.reviewId, patch);
    }
    if (r.certificate) trace.getActiveSpan()?.setAttributes({ 'gswarm.certificate_id': r.certificate.certificateId, 'gswarm.outcome': r.outcome });
    const emit: OutMessage[] = [
      message('finality.decided', {
        round: r.round,
        outcome: r.outcome,
        goal_score: r.evaluation.goal_score,
        lyapunov_v: r.evaluation.lyapunov_v,
        certificate_id: r.certificate?.certificateId ?? null,
        review_id: r.review?.reviewId ?? null,
      }),
    ];
    reviewCreated = Boolean(r.review?.created);
    if (r.review?.created) emit.push(message('review.requested', { review_id: r.review.reviewId, kind: 'finality_review', reason: `goal score ${r.evaluation.goal_score.toFixed(2)}` }));
    return { emit, result: { round: r.round, outcome: r.outcome, certificate: r.certificate?.certificateId ?? null, review: r.review?.reviewId ?? null, replayed: r.replayed } };
  });
  // Counted once committed; a replayed evaluation issued nothing new.
  const res = out.result as { outcome?: string; certificate?: string | null; replayed?: boolean };
  if (res.certificate && !res.replayed && res.outcome) recordCertificate(res.outcome);
  if (reviewCreated) recordReviewOpened('finality_review');
  return out;
}
