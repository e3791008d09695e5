// The finality step against the real services, on the Acme evidence the facts step
// wrote and the finality.evaluate the executor emits at the end of a cycle: one
// convergence round and one finality_decisions row per message (a redelivery adds
// none), finality.decided; a REVIEW with the deterministic explanation, or the one a
// scripted `explain` call wrote; a human's approve_finality → RESOLVED with a
// certificate that verifies with the published JWKS alone.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { step as executor } from '../../../functions/executor/index.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { step as finality } from '../../../functions/finality/index.ts';
import { createAuthorizer } from '../../../shared/adapters/authz.ts';
import { initMetrics, metricsText, shutdownMetrics } from '../../../shared/adapters/metrics.ts';
import { resetBreakers } from '../../../shared/adapters/resilience.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { jwks, listCertificates } from '../../../shared/store/certificates.ts';
import { verifyCertificate } from '../../../shared/adapters/signer.ts';
import { getScope } from '../../../shared/store/scopes.ts';
import { advanceState } from '../../../shared/store/state.ts';
import { uniq } from '../../support/ids.ts';
import { scriptedModel } from '../../support/scripted-model.ts';
import { freePort } from '../core/private-openfga.ts';
import { acme, count, emitted, envelope, humanAnswer, invoke, logEntries, recordedApproval, rows, run, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());
beforeEach(() => resetBreakers());

/** Acme docs 1-2 in the graph, a cycle completed by the executor: its finality.evaluate. */
async function cycleCompleted(scope: string): Promise<Envelope> {
  for (const n of [1, 2] as const) await run(facts, t.deps, envelope('doc.submitted', scope, acme(n)));
  await advanceState(t.guarded, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
  await advanceState(t.guarded, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
  const res = await run(executor, t.deps, await recordedApproval(t, scope, { from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2 }));
  return emitted(res, 'finality.evaluate');
}

const rounds = (scope: string) => count(t, 'SELECT count(*) AS n FROM convergence_history WHERE scope_id = $1', [scope]);
type DecisionRow = { round: number; outcome: string; decided_by: string; message_id: string | null; option: string | null; details: { review: { reviewId: string } | null; certificate_id: string | null } };
const decisions = (scope: string) => rows<DecisionRow>(t, 'SELECT round, outcome, decided_by, message_id, option, details FROM finality_decisions WHERE scope_id = $1 ORDER BY id', [scope]);
const reviewRequest = async (reviewId: string) => (await rows<{ request: Record<string, unknown> }>(t, 'SELECT request FROM review_queue WHERE review_id = $1', [reviewId]))[0]!.request;

describe('finality', () => {
  it('finality.evaluate: one round, one decision, finality.decided; a REVIEW with the deterministic explanation; a redelivery adds nothing', async () => {
    const scope = await t.scope('n1-');
    const evaluate = await cycleCompleted(scope);
    const res = await run(finality, t.deps, evaluate);

    expect(await rounds(scope)).toBe(1);
    const [row, ...more] = await decisions(scope);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ round: 1, outcome: 'REVIEW', decided_by: 'evaluator', message_id: evaluate.id });
    const decided = emitted(res, 'finality.decided').payload;
    expect(decided).toMatchObject({ round: 1, outcome: 'REVIEW', certificate_id: null, review_id: row!.details.review!.reviewId });
    const [history] = await rows<{ goal_score: number; lyapunov_v: number; epoch: string }>(t, 'SELECT goal_score, lyapunov_v, epoch FROM convergence_history WHERE scope_id = $1', [scope]);
    expect(decided.goal_score).toBeCloseTo(Number(history!.goal_score), 9);
    expect(decided.lyapunov_v).toBeCloseTo(Number(history!.lyapunov_v), 9);
    expect(Number(history!.epoch)).toBe(3);

    // The human is asked, with the deterministic explanation (no model configured).
    expect(types(res)).toEqual(['finality.decided', 'review.requested']);
    const reviewId = String(decided.review_id);
    expect(emitted(res, 'review.requested').payload).toMatchObject({ review_id: reviewId, kind: 'finality_review' });
    const request = await reviewRequest(reviewId);
    expect(request).toMatchObject({ explanation_tier: 'fallback', explanation: expect.any(String), llm_explanation: null });
    expect(String(request.explanation).length).toBeGreaterThan(20);
    expect(await logEntries(t, scope, ['finality_review_requested'])).toHaveLength(1);

    const again = await run(finality, t.deps, { ...evaluate, attempt: 2 });
    expect(again).toMatchObject({ replayed: true, emit: res.emit });
    expect(await rounds(scope)).toBe(1);
    expect(await decisions(scope)).toHaveLength(1);
  });

  it('a REVIEW explained by the model: the scripted explain call is stored with explanation_tier llm', async () => {
    const scope = await t.scope('n2-');
    const evaluate = await cycleCompleted(scope);
    const text = 'The hiring target (20 vs 15+ engineers) is still contested; resolving it is the smallest step to finality.';
    const model = scriptedModel([{ tools: [{ name: 'readReview', args: {} }] }, { tools: [{ name: 'explain', args: { text } }] }, { text: 'Done.' }]);
    const res = await run(finality, t.depsWith({ model }), evaluate);
    const reviewId = String(emitted(res, 'finality.decided').payload.review_id);
    expect(await reviewRequest(reviewId)).toMatchObject({ llm_explanation: text, explanation_tier: 'llm' });
    // The model read the real review request: its blockers name the contradiction.
    expect(JSON.stringify(model.doGenerateCalls[1]!.prompt)).toContain('unresolved_contradiction');
  });

  it('an approve_finality that did not come through the API, or from someone who is not a reviewer, certifies nothing', async () => {
    const scope = await t.scope('nf-');
    const first = await run(finality, t.deps, await cycleCompleted(scope));
    const reviewId = String(emitted(first, 'finality.decided').payload.review_id);
    const answer = { review_id: reviewId, kind: 'finality_review' as const, option: 'approve_finality', responder: 'user:mallory-no-token' };
    await t.admin.write([{ user: answer.responder, relation: 'reviewer', object: `scope:${scope}` }]);
    expect(await invoke(finality, t.deps, envelope('review.responded', scope, { ...answer, access_id: 424_242 }))).toMatchObject({ ok: false, error: { class: 'permanent', code: 'unverified_answer' } });
    const outsider = await humanAnswer(t, scope, { ...answer, responder: 'user:outsider' });
    await t.admin.delete([{ user: 'user:outsider', relation: 'reviewer', object: `scope:${scope}` }]);
    expect(await invoke(finality, t.deps, outsider)).toMatchObject({ ok: false, error: { class: 'permanent', code: 'responder_not_authorized' } });
    expect(await count(t, 'SELECT count(*) AS n FROM certificates WHERE scope_id = $1', [scope])).toBe(0);
    expect((await getScope(t.guarded, scope))!.status).not.toBe('resolved');
    expect(await rows(t, `SELECT status FROM review_queue WHERE review_id = $1`, [reviewId])).toEqual([{ status: 'pending' }]);
  });

  it("a human's approve_finality (review.responded) resolves the scope with a certificate that verifies with the JWKS", async () => {
    const scope = await t.scope('n3-');
    const first = await run(finality, t.deps, await cycleCompleted(scope));
    const reviewId = String(emitted(first, 'finality.decided').payload.review_id);

    // Governance options are not finality options.
    expect(await invoke(finality, t.deps, await humanAnswer(t, scope, { review_id: reviewId, kind: 'finality_review', option: 'approve', responder: 'user:alice' }))).toMatchObject({
      ok: false,
      error: { class: 'permanent', code: 'invalid_option' },
    });
    // A governance review's answer is the executor's.
    expect(await run(finality, t.deps, await humanAnswer(t, scope, { review_id: 'gov-x', kind: 'governance_review', option: 'approve', responder: 'user:alice' }))).toMatchObject({
      result: { skipped: 'governance reviews are for the executor' },
    });

    const answer = await humanAnswer(t, scope, { review_id: reviewId, kind: 'finality_review', option: 'approve_finality', responder: 'user:alice', note: 'accept as is' });
    const res = await run(finality, t.deps, answer);
    const decided = emitted(res, 'finality.decided').payload;
    expect(decided).toMatchObject({ round: 2, outcome: 'RESOLVED', certificate_id: expect.any(String), review_id: null });
    expect(types(res)).toEqual(['finality.decided']);
    expect((await getScope(t.guarded, scope))!.status).toBe('resolved');
    const ds = await decisions(scope);
    expect(ds.map((d) => [d.outcome, d.decided_by, d.option])).toEqual([
      ['REVIEW', 'evaluator', null],
      ['RESOLVED', 'human:user:alice', 'approve_finality'],
      ['RESOLVED', 'human:user:alice', null],
    ]);
    expect(ds[2]!.details.certificate_id).toBe(decided.certificate_id);

    const [cert, ...others] = await listCertificates(t.guarded, scope);
    expect(others).toEqual([]);
    expect(cert!.certificateId).toBe(decided.certificate_id);
    const keys = JSON.parse(JSON.stringify(await jwks(t.guarded)));
    const payload = await verifyCertificate(cert!.jws, keys);
    expect(payload).toMatchObject({ sub: scope, outcome: 'RESOLVED', decided_by: 'human:user:alice', seq: 1, prev: null });
    await expect(verifyCertificate(cert!.jws, { keys: [] })).rejects.toThrow();

    // Redelivered answer: the stored result, no second certificate or round.
    expect(await run(finality, t.deps, { ...answer, attempt: 2 })).toMatchObject({ replayed: true, emit: res.emit });
    // A second, different answer (another message) is a no-op, not a dead letter: no round, no certificate.
    const late = await humanAnswer(t, scope, { review_id: reviewId, kind: 'finality_review', option: 'defer', responder: 'user:bob' });
    expect(await run(finality, t.deps, late)).toMatchObject({ emit: [], result: { review: reviewId, skipped: 'already answered' } });
    expect(await decisions(scope)).toHaveLength(3);
    expect(await listCertificates(t.guarded, scope)).toHaveLength(1);
    expect(await rounds(scope)).toBe(2);
  });

  it('counts the review it opened, the answer and the certificate once each, whatever is redelivered', async () => {
    initMetrics({ METRICS_ENABLED: true, OTEL_SERVICE_NAME: 'finality-test' });
    try {
      const series = async () =>
        (await metricsText()).split('\n').filter((l) => /^gswarm_(reviews_opened|reviews_answered|certificates_issued)_total\{/.test(l)).sort();
      const scope = await t.scope('n-metrics-');
      const evaluate = await cycleCompleted(scope);
      const first = await run(finality, t.deps, evaluate);
      await run(finality, t.deps, { ...evaluate, attempt: 2 });
      const reviewId = String(emitted(first, 'finality.decided').payload.review_id);
      const answer = await humanAnswer(t, scope, { review_id: reviewId, kind: 'finality_review', option: 'approve_finality', responder: 'user:alice' });
      await run(finality, t.deps, answer);
      await run(finality, t.deps, { ...answer, attempt: 2 });
      expect(await series()).toEqual([
        'gswarm_certificates_issued_total{gswarm_certificate_outcome="RESOLVED"} 1',
        'gswarm_reviews_answered_total{gswarm_review_kind="finality_review",gswarm_review_answer="approve_finality"} 1',
        'gswarm_reviews_opened_total{gswarm_review_kind="finality_review"} 1',
      ]);
    } finally {
      await shutdownMetrics();
    }
  });

  it('OpenFGA unreachable: a transient failure (retried), no round; denied on an unlinked scope: permanent', async () => {
    const scope = await t.scope('n4-');
    const evaluate = await cycleCompleted(scope);
    const down = createAuthorizer({ ...t.env, OPENFGA_API_URL: `http://127.0.0.1:${await freePort()}` }, { breaker: uniq('fga-down-') });
    expect(await invoke(finality, t.depsWith({}, {}, { authz: down }), evaluate)).toMatchObject({ ok: false, error: { class: 'transient', code: 'authz_unavailable' } });
    expect(await rounds(scope)).toBe(0);
    expect((await run(finality, t.deps, { ...evaluate, attempt: 2 })).result).toMatchObject({ round: 1 });

    const unlinked = await t.scope('n5-', { linked: false });
    expect(await invoke(finality, t.deps, envelope('finality.evaluate', unlinked, { reason: 'test' }))).toMatchObject({ ok: false, error: { class: 'permanent', code: 'not_authorized' } });
    expect(await rounds(unlinked)).toBe(0);
  });
});
