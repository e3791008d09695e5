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
import { message, payloadOf, type OutMessage } from '../../shared/contract/messages.ts';
import { buildReviewRequest } from '../../shared/domain/review.ts';
import { explainReview } from '../../shared/llm/agents.ts';
import { withLlm } from '../../shared/llm/run.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import type { Tx } from '../../shared/store/db.ts';
import { evaluateScopeFinality, previewFinality } from '../../shared/usecases/finality.ts';
import { DEADLINE_PRINCIPAL, finalityExpiredEvent, recordEscalation } from '../../shared/store/review-deadlines.ts';
import { getReview, isReviewClosed, mergeReviewRequest, recordFinalityAnswer, respondToFinalityReview } from '../../shared/store/reviews.ts';
import { loadSnapshot } from '../../shared/store/snapshot.ts';
import { authorizeResponder } from '../../shared/swarm/answers.ts';
import { deadlineToApply } from '../../shared/swarm/deadlines.ts';
import { requireAgentRelation } from '../../shared/swarm/guards.ts';
import { llmFor, services } from '../../shared/swarm/services.ts';

const AGENT = 'finality';

export const step = defineAgentStep(AGENT, STEP_BUDGETS.finality, {
  consumes: ['finality.evaluate', 'review.responded', 'review.escalated'],
  holds: true,
  handle: run,
});
export const { app, handler } = step;

async function run(msg: Envelope, ctx: StepContext) {
  const svc = services(ctx.deps);
  const db = ctx.deps.db;
  let response: ReturnType<typeof payloadOf<'review.responded'>> | undefined;
  let deadline: ReturnType<typeof payloadOf<'review.escalated'>> | undefined;
  if (msg.type === 'review.escalated') {
    deadline = payloadOf('review.escalated', msg.payload);
    if (deadline.kind !== 'finality_review') return { result: { skipped: 'governance reviews are for the executor' } };
  } else if (msg.type === 'review.responded') {
    response = payloadOf('review.responded', msg.payload);
    if (response.kind !== 'finality_review') return { result: { skipped: 'governance reviews are for the executor' } };
    if (['approve', 'reject'].includes(response.option)) throw new PermanentError('invalid_option', `finality reviews take approve_finality, provide_resolution, escalate or defer, not ${response.option}`);
  } else {
    payloadOf('finality.evaluate', msg.payload);
  }
  await requireAgentRelation(ctx.deps.authz, AGENT, 'certifier', msg.scope, 'may not certify');
  if (response) {
    // A member of the group the review was escalated to may answer it too.
    const escalatedTo = (await getReview(db, response.review_id))?.escalatedTo ?? null;
    await authorizeResponder(ctx.deps.authz, msg.scope, response.responder, escalatedTo);
  }

  // The explanation for a human is written before the transaction (an LLM call may be slow),
  // from a read-only preview of the round about to be evaluated.
  let explanation: { text: string; tier: 'llm' | 'fallback' } | undefined;
  if (!response && !deadline) {
    const preview = await previewFinality({ db, policies: svc.policies }, msg.scope);
    if (preview.evaluation.outcome === 'REVIEW') {
      const policy = svc.policies.finality().policy;
      const { snapshot } = await loadSnapshot(db, msg.scope, policy);
      const request = buildReviewRequest(msg.scope, snapshot, preview.evaluation, policy);
      const out = await withLlm({
        step: 'review-explanation',
        ...llmFor(svc, 'review_explanation'),
        run: (model, signal) => explainReview(model, { review: request }, signal),
        // The deterministic explanation is already part of every review request.
        fallback: () => request.explanation,
      });
      explanation = { text: out.value, tier: out.tier };
    }
  }
  const signer = await svc.signer().catch(() => null);
  const defaultDeferDays = svc.policies.finality().policy.review.defer_days;
  let reviewCreated = false;

  const out = await ctx.commit(async (tx: Tx) => {
    if (deadline) {
      const d = await deadlineToApply(tx, msg, deadline, svc.policies.governance().policy.deadlines, svc.now());
      if ('skipped' in d) return { emit: [] as OutMessage[], result: { review: deadline.review_id, skipped: d.skipped } };
      if (d.action === 'escalate') {
        const review = await recordEscalation(tx, d.review, d.escalateTo!, d.applied);
        return { emit: [] as OutMessage[], result: { review: review.reviewId, escalated_to: review.escalatedTo, level: review.escalationLevel } };
      }
      // The grammar allows only defer for finality reviews; a policy saying otherwise is not applied.
      if (d.action !== 'defer') throw new PermanentError('invalid_fail_safe', `a finality review cannot fail safe to ${d.action}`);
      // Deferred as a human deferral is, for finality.yaml's review.defer_days; then the round runs as after an answer.
      const note = `no answer by the deadline (${d.applied.deadline.toISOString()})`;
      await recordFinalityAnswer(tx, d.review, { option: 'defer', decidedBy: DEADLINE_PRINCIPAL, days: defaultDeferDays, note, now: d.applied.at, response: { by: DEADLINE_PRINCIPAL, deadline: d.applied.deadline.toISOString() } });
      await finalityExpiredEvent(tx, d.review, d.applied, defaultDeferDays);
    }
    if (response) {
      try {
        await respondToFinalityReview(tx, { reviewId: response.review_id, option: response.option as 'approve_finality', scope: msg.scope, by: response.responder, accessId: response.access_id, ...(response.days ? { days: response.days } : {}), ...(response.note ? { note: response.note } : {}) }, { defaultDeferDays });
      } catch (err) {
        // A second answer: the first one stands and was acted on; this one changes nothing.
        if (isReviewClosed(err)) return { emit: [] as OutMessage[], result: { review: response.review_id, skipped: 'already answered' } };
        throw err;
      }
    }
    const r = await evaluateScopeFinality({ db: tx, policies: svc.policies, signer }, { scope: msg.scope, messageId: msg.id });
    if (r.review) {
      // The review carries the trace of the evidence that raised it (a later round with nothing new keeps it):
      // the human's answer continues that trace.
      const carrier = new Headers();
      if (r.review.created || r.evaluation.gates.D_quiescence.idle_cycles === 0) injectContext(carrier);
      const patch: Record<string, unknown> = carrier.get('traceparent') ? { trace: { traceparent: carrier.get('traceparent'), ...(carrier.get('tracestate') ? { tracestate: carrier.get('tracestate') } : {}) } } : {};
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
  const res = out.result as { outcome?: string; certificate?: string | null; review?: string | null; replayed?: boolean; skipped?: string };
  if (response && !res.skipped) recordReviewAnswered('finality_review', response.option);
  if (res.certificate && !res.replayed && res.outcome) recordCertificate(res.outcome);
  if (reviewCreated) recordReviewOpened('finality_review');
  return out;
}
