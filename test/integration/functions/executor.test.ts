// The executor step against the real services: what governance approved (a real
// governance decision, or a human's answer to a governance review) advances the
// scope by epoch compare-and-swap, with its context-log entry and state.advanced
// (+ finality.evaluate when a cycle completes); a stale approval changes nothing;
// OpenFGA decides whether the executor may act, and its outage is worth a retry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step as executor } from '../../../functions/executor/index.ts';
import { step as facts } from '../../../functions/facts/index.ts';
import { step as governance } from '../../../functions/governance/index.ts';
import { createAuthorizer } from '../../../shared/adapters/authz.ts';
import { initMetrics, metricsText, shutdownMetrics } from '../../../shared/adapters/metrics.ts';
import type { Envelope } from '../../../shared/contract/envelope.ts';
import { getReview } from '../../../shared/store/reviews.ts';
import { advanceState, readState } from '../../../shared/store/state.ts';
import { uniq } from '../../support/ids.ts';
import { freePort } from '../core/private-openfga.ts';
import { acme, emitted, envelope, humanAnswer, invoke, logEntries, recordedApproval, rows, run, swarmTestEnv, types, type SwarmTestEnv } from '../../support/swarm.ts';

let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => t?.close());

/** A document through facts and governance: what governance emitted for its proposal. */
async function governed(scope: string): Promise<Envelope[]> {
  const doc = await run(facts, t.deps, envelope('doc.submitted', scope, acme(1)));
  return (await run(governance, t.deps, emitted(doc, 'proposal.submitted'))).emit;
}

const approval = (scope: string, a: { from: string; to: string; expected_epoch: number }) => recordedApproval(t, scope, a);

describe('executor', () => {
  it('applies a governance approval: CAS advance, state_transition entry, state.advanced; a redelivery changes nothing', async () => {
    const scope = await t.scope('x1-');
    const approved = (await governed(scope)).find((e) => e.type === 'action.approved')!;
    expect(approved.payload).toMatchObject({ from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 });

    const res = await run(executor, t.deps, approved);
    expect(res.result).toEqual({ advanced: true, epoch: 1, replayed: false });
    expect(types(res)).toEqual(['state.advanced']); // not a completed cycle: no finality evaluation
    expect(emitted(res, 'state.advanced').payload).toEqual({ from: 'ContextIngested', to: 'FactsExtracted', epoch: 1, proposal_id: approved.payload.proposal_id });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'FactsExtracted', epoch: 1 });
    const [entry, ...more] = await logEntries(t, scope, ['state_transition']);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      source: 'executor',
      message_id: approved.id,
      payload: { from: 'ContextIngested', to: 'FactsExtracted', epoch: 1, cause: { proposal_id: approved.payload.proposal_id, decision_id: approved.payload.decision_id, approved_by: 'governance:tier1' } },
    });

    const again = await run(executor, t.deps, { ...approved, attempt: 2 });
    expect(again).toMatchObject({ replayed: true, emit: res.emit });
    expect(await readState(t.guarded, scope)).toMatchObject({ epoch: 1 });
    expect(await logEntries(t, scope, ['state_transition'])).toHaveLength(1);
  });

  it('completing a cycle (back to ContextIngested) also asks finality to evaluate', async () => {
    const scope = await t.scope('x2-');
    await advanceState(t.guarded, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
    await advanceState(t.guarded, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
    const res = await run(executor, t.deps, await approval(scope, { from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2 }));
    expect(types(res)).toEqual(['state.advanced', 'finality.evaluate']);
    expect(emitted(res, 'state.advanced').payload).toMatchObject({ from: 'DriftChecked', to: 'ContextIngested', epoch: 3 });
    expect(emitted(res, 'finality.evaluate').payload).toEqual({ reason: 'cycle completed at epoch 3' });
  });

  it('a stale approval (another writer advanced first) is not applied and emits nothing', async () => {
    const scope = await t.scope('x3-');
    const approved = (await governed(scope)).find((e) => e.type === 'action.approved')!;
    await run(executor, t.deps, approved);
    // The same approval delivered as another message (e.g. decided twice): its epoch is gone.
    const stale = await run(executor, t.deps, { ...approved, id: uniq('dup-') });
    expect(stale).toMatchObject({ emit: [], result: { advanced: false, reason: 'lost_race' } });
    // An approval whose from-node is not the current node.
    const wrong = await run(executor, t.deps, await approval(scope, { from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 1 }));
    expect(wrong).toMatchObject({ emit: [], result: { advanced: false, reason: 'wrong_node' } });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'FactsExtracted', epoch: 1 });
    expect(await logEntries(t, scope, ['state_transition'])).toHaveLength(1);
  });

  it('a governance review a human approved (review.responded) advances; a rejected one does not', async () => {
    const scope = await t.scope('x4-', { mode: 'MITL' });
    const requested = (await governed(scope)).find((e) => e.type === 'review.requested')!;
    expect(requested.payload).toMatchObject({ kind: 'governance_review' });
    const reviewId = String(requested.payload.review_id);

    // A finality review answer is not the executor's; an option of the other kind is refused.
    expect(await run(executor, t.deps, await humanAnswer(t, scope, { review_id: reviewId, kind: 'finality_review', option: 'approve_finality', responder: 'user:alice' }))).toMatchObject({
      emit: [],
      result: { skipped: 'finality reviews are for the finality step' },
    });
    expect(await invoke(executor, t.deps, await humanAnswer(t, scope, { review_id: reviewId, kind: 'governance_review', option: 'defer', responder: 'user:alice' }))).toMatchObject({
      ok: false,
      error: { class: 'permanent', code: 'invalid_option' },
    });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });

    const msg = await humanAnswer(t, scope, { review_id: reviewId, kind: 'governance_review', option: 'approve', responder: 'user:alice', note: 'figures checked' });
    const res = await run(executor, t.deps, msg);
    expect(res.result).toMatchObject({ advanced: true, epoch: 1 });
    expect(emitted(res, 'state.advanced').payload).toMatchObject({ from: 'ContextIngested', to: 'FactsExtracted', epoch: 1 });
    expect(await getReview(t.guarded, reviewId)).toMatchObject({ status: 'approved', respondedBy: 'user:alice' });
    const [entry] = await logEntries(t, scope, ['state_transition']);
    expect(entry!.payload).toMatchObject({ cause: { review_id: reviewId, approved_by: 'human:user:alice' } });

    // Another MITL proposal, rejected by the human: recorded, nothing advances; the rejection is
    // said on the bus (proposal.rejected) so that the proposer's side can plan again.
    const scope2 = await t.scope('x5-', { mode: 'MITL' });
    const req2 = (await governed(scope2)).find((e) => e.type === 'review.requested')!;
    const rejected = await run(executor, t.deps, await humanAnswer(t, scope2, { review_id: String(req2.payload.review_id), kind: 'governance_review', option: 'reject', responder: 'user:bob' }));
    expect(rejected).toMatchObject({
      emit: [{ type: 'proposal.rejected', payload: { review_id: String(req2.payload.review_id), proposer: 'facts', from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0, responder: 'user:bob' } }],
      result: { approved: false },
    });
    expect(await getReview(t.guarded, String(req2.payload.review_id))).toMatchObject({ status: 'rejected', respondedBy: 'user:bob' });
    expect(await readState(t.guarded, scope2)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    // Each human answer is a decision record of its own, after the tier decision that asked for it.
    const records = await rows<{ decision: string; tier: number | null; decided_by: string | null; amended_to: unknown }>(
      t, `SELECT decision, tier, decided_by, amended_to FROM decision_records WHERE scope_id = ANY($1) ORDER BY scope_id = $2, created_at`, [[scope, scope2], scope2],
    );
    expect(records).toEqual([
      { decision: 'review', tier: 1, decided_by: null, amended_to: null },
      { decision: 'approve', tier: null, decided_by: 'human:user:alice', amended_to: null },
      { decision: 'review', tier: 1, decided_by: null, amended_to: null },
      { decision: 'reject', tier: null, decided_by: 'human:user:bob', amended_to: null },
    ]);

    // A second, different answer (another message) is a no-op, not a dead letter: the first one stands.
    const second = await run(executor, t.deps, await humanAnswer(t, scope2, { review_id: String(req2.payload.review_id), kind: 'governance_review', option: 'approve', responder: 'user:carol' }));
    expect(second).toMatchObject({ emit: [], result: { review: req2.payload.review_id, skipped: 'already answered' } });
    expect(await getReview(t.guarded, String(req2.payload.review_id))).toMatchObject({ status: 'rejected', respondedBy: 'user:bob' });
    expect(await readState(t.guarded, scope2)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
  });

  it('counts a human answer once committed: not again for a redelivery or a second answer', async () => {
    initMetrics({ METRICS_ENABLED: true, OTEL_SERVICE_NAME: 'executor-test' });
    try {
      const answered = async () => (await metricsText()).split('\n').filter((l) => l.startsWith('gswarm_reviews_answered_total{'));
      const scope = await t.scope('x-metrics-', { mode: 'MITL' });
      const reviewId = String((await governed(scope)).find((e) => e.type === 'review.requested')!.payload.review_id);
      const msg = await humanAnswer(t, scope, { review_id: reviewId, kind: 'governance_review', option: 'approve', responder: 'user:alice' });
      await run(executor, t.deps, msg);
      await run(executor, t.deps, { ...msg, attempt: 2 });
      await run(executor, t.deps, await humanAnswer(t, scope, { review_id: reviewId, kind: 'governance_review', option: 'reject', responder: 'user:bob' }));
      expect(await answered()).toEqual(['gswarm_reviews_answered_total{gswarm_review_kind="governance_review",gswarm_review_answer="approve"} 1']);
    } finally {
      await shutdownMetrics();
    }
  });

  it('amendments on the bus are checked again: with a rejection, or changing nothing, they are refused and the review stays open; valid ones are recorded', async () => {
    const scope = await t.scope('xa-', { mode: 'MITL' });
    const reviewId = String((await governed(scope)).find((e) => e.type === 'review.requested')!.payload.review_id);
    const proposal = (await getReview(t.guarded, reviewId))!.request.proposal as { reason?: string };
    const answer = { review_id: reviewId, kind: 'governance_review' as const, responder: 'user:alice' };
    const refused = async (msg: Envelope, code: string) => {
      expect(await invoke(executor, t.deps, msg)).toMatchObject({ ok: false, error: { class: 'permanent', code } });
      expect(await getReview(t.guarded, reviewId)).toMatchObject({ status: 'pending', respondedBy: null });
      expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    };
    // The API refuses these; a message that did not go through its check is refused here too
    // (amendments with a rejection by the message schema itself, a no-op amendment by the executor's check).
    await refused(await humanAnswer(t, scope, { ...answer, option: 'reject', amendments: { reason: 'x' } }), 'invalid_input');
    await refused(await humanAnswer(t, scope, { ...answer, option: 'approve', amendments: { reason: proposal.reason ?? '' } }), 'invalid_amendment');

    const res = await run(executor, t.deps, await humanAnswer(t, scope, { ...answer, option: 'approve', amendments: { reason: 'checked by alice', plan: { actions: ['open_investigation'] } } }));
    expect(res.result).toMatchObject({ advanced: true, epoch: 1 });
    const [human] = await rows<{ decided_by: string; amended_from: Record<string, unknown>; amended_to: Record<string, unknown> }>(
      t, `SELECT decided_by, amended_from, amended_to FROM decision_records WHERE scope_id = $1 AND review_id = $2`, [scope, reviewId],
    );
    expect(human).toMatchObject({ decided_by: 'human:user:alice', amended_from: { proposer: 'facts' }, amended_to: { proposer: 'facts', reason: 'checked by alice', plan: { actions: ['open_investigation'] } } });
    expect(human!.amended_from.plan).toBeUndefined(); // facts proposes no plan; the reviewer added one
    expect((await logEntries(t, scope, ['plan_amended']))[0]?.payload).toMatchObject({ actions: ['open_investigation'], original_actions: [] });
  });

  it('forged approvals change nothing: no decision record, another scope\'s, another transition, a decision that was a review', async () => {
    const scope = await t.scope('xf-');
    const refused = async (msg: Envelope) => {
      expect(await invoke(executor, t.deps, msg)).toMatchObject({ ok: false, error: { class: 'permanent', code: 'approval_not_on_record' } });
      expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    };
    const advance = { from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 };
    // Made up: a well-formed id that no decision has.
    await refused(envelope('action.approved', scope, { proposal_id: `${scope}/forged`, decision_id: '6f1c2c1e-6a7e-4d7b-9a55-0d1f2e3a4b5c', approved_by: 'governance:tier1', ...advance }));
    // A real approval of another scope, replayed at this one.
    const other = await approval(await t.scope('xo-'), advance);
    await refused({ ...other, id: uniq('fx-'), scope });
    // A real approval of this scope, stretched to another transition or epoch.
    const real = await approval(scope, advance);
    await refused({ ...real, id: uniq('fx-'), payload: { ...real.payload, to: 'DriftChecked' } });
    await refused({ ...real, id: uniq('fx-'), payload: { ...real.payload, expected_epoch: 1 } });
    // A decision that sent the proposal to a human is not an approval.
    const mitl = await t.scope('xm-', { mode: 'MITL' });
    const doc = await run(facts, t.deps, envelope('doc.submitted', mitl, acme(1)));
    const proposal = emitted(doc, 'proposal.submitted');
    const gov = await run(governance, t.deps, proposal);
    expect(types(gov)).toEqual(['review.requested']);
    const [d] = await rows<{ decision_id: string }>(t, `SELECT decision_id FROM decision_records WHERE scope_id = $1`, [mitl]);
    const asApproval = envelope('action.approved', mitl, { proposal_id: proposal.payload.proposal_id, decision_id: d!.decision_id, approved_by: 'governance:tier1', ...advance });
    expect(await invoke(executor, t.deps, asApproval)).toMatchObject({ ok: false, error: { code: 'approval_not_on_record' } });
    expect(await readState(t.guarded, mitl)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    // The real one still applies.
    expect((await run(executor, t.deps, real)).result).toMatchObject({ advanced: true, epoch: 1 });
  });

  it('forged human answers change nothing: no access record, a record of another review, a responder who is not a reviewer, a review of another scope', async () => {
    const scope = await t.scope('xh-', { mode: 'MITL' });
    const reviewId = String((await governed(scope)).find((e) => e.type === 'review.requested')!.payload.review_id);
    const answer = { review_id: reviewId, kind: 'governance_review' as const, option: 'approve', responder: 'user:mallory' };
    const refused = async (msg: Envelope, code: string) => {
      expect(await invoke(executor, t.deps, msg)).toMatchObject({ ok: false, error: { class: 'permanent', code } });
      expect(await getReview(t.guarded, reviewId)).toMatchObject({ status: 'pending', respondedBy: null });
      expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    };
    // Straight onto the bus: no API request recorded it (mallory is made a reviewer, so only the record is missing).
    await t.admin.write([{ user: 'user:mallory', relation: 'reviewer', object: `scope:${scope}` }]);
    await refused(envelope('review.responded', scope, { ...answer, access_id: 987_654_321 }), 'unverified_answer');
    // A genuine record of an answer to another review, replayed for this one.
    const elsewhere = await humanAnswer(t, scope, { ...answer, review_id: 'gov-another' });
    await refused(envelope('review.responded', scope, { ...answer, access_id: elsewhere.payload.access_id }), 'unverified_answer');
    // Someone else's record.
    const alices = await humanAnswer(t, scope, { ...answer, responder: 'user:alice' });
    await refused(envelope('review.responded', scope, { ...answer, access_id: alices.payload.access_id }), 'unverified_answer');
    // A recorded answer by someone who is not (or no longer) a reviewer.
    const eve = await humanAnswer(t, scope, { ...answer, responder: 'user:eve' });
    await t.admin.delete([{ user: 'user:eve', relation: 'reviewer', object: `scope:${scope}` }]);
    await refused(eve, 'responder_not_authorized');
    // A recorded answer delivered under another scope does not reach this scope's review.
    const foreign = await t.scope('xg-', { mode: 'MITL' });
    const viaForeign = await humanAnswer(t, foreign, { ...answer, responder: 'user:alice' });
    expect(await invoke(executor, t.deps, viaForeign)).toMatchObject({ ok: false, error: { class: 'permanent', code: 'review_not_found' } });
    expect(await getReview(t.guarded, reviewId)).toMatchObject({ status: 'pending' });
    // The genuine answer takes effect.
    expect((await run(executor, t.deps, alices)).result).toMatchObject({ advanced: true, epoch: 1 });
  });

  it('OpenFGA: a scope not linked to the swarm is refused (permanent); OpenFGA unreachable is worth a retry (transient)', async () => {
    const unlinked = await t.scope('x6-', { linked: false });
    const denied = await invoke(executor, t.deps, await approval(unlinked, { from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 }));
    expect(denied).toMatchObject({ ok: false, error: { class: 'permanent', code: 'not_authorized' } });

    const scope = await t.scope('x7-');
    const down = createAuthorizer({ ...t.env, OPENFGA_API_URL: `http://127.0.0.1:${await freePort()}` }, { breaker: uniq('fga-down-') });
    const msg = await approval(scope, { from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 });
    const res = await invoke(executor, t.depsWith({}, {}, { authz: down }), msg);
    expect(res).toMatchObject({ ok: false, error: { class: 'transient', code: 'authz_unavailable' } });
    expect(await readState(t.guarded, scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    // The retry, with OpenFGA back, applies it.
    expect((await run(executor, t.deps, { ...msg, attempt: 2 })).result).toMatchObject({ advanced: true, epoch: 1 });
    expect(await readState(t.guarded, unlinked)).toMatchObject({ epoch: 0 });
  });
});
