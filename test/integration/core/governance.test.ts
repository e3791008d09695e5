// Governance end to end: real OpenFGA for the permission check, decision records,
// policy versions, review queue and context-log events in the real Postgres.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOpenFga } from '../../../infra/services/bootstrap.ts';
import { createAuthorizer, createAuthzAdmin, type Authorizer, type AuthzAdmin } from '../../../shared/adapters/authz.ts';
import { loadEnv } from '../../../shared/config.ts';
import { DEFAULT_POLICY_PATHS, filePolicySource, loadGovernancePolicy } from '../../../shared/policy/load.ts';
import { readSince } from '../../../shared/store/context-log.ts';
import { governProposal, type GovernanceDeps, type ProposalInput } from '../../../shared/usecases/governance.ts';
import { getPolicyVersion } from '../../../shared/store/policies.ts';
import { answeredBy } from '../../support/answers.ts';
import { getReview, listPendingReviews, respondToGovernanceReview } from '../../../shared/store/reviews.ts';
import { setScopeMode } from '../../../shared/store/scopes.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { advanceState } from '../../../shared/store/state.ts';
import { freshDatabase, type TestDatabase } from '../../support/db.ts';
import { freePort } from './private-openfga.ts';
import { uniq } from '../../support/ids.ts';

const env = loadEnv();
let db: TestDatabase;
let authz: Authorizer;
let admin: AuthzAdmin;
let deps: GovernanceDeps;
const policies = filePolicySource(DEFAULT_POLICY_PATHS);

beforeAll(async () => {
  db = await freshDatabase();
  const { storeId, modelId } = await ensureOpenFga(env.OPENFGA_API_URL, uniq('gov-test-'), env.OPENFGA_API_TOKEN);
  const c = { ...env, OPENFGA_STORE_ID: storeId, OPENFGA_MODEL_ID: modelId };
  authz = createAuthorizer(c, { breaker: uniq('fga-') });
  admin = createAuthzAdmin(c);
  deps = { db: db.pool, policies, authz };
});
afterAll(async () => db?.drop());

/** A scope whose state is DriftChecked at epoch 2 (the planner's turn). */
async function scopeAtDriftChecked(scope: string, linked = true) {
  await ensureScope(db.pool, linked ? admin : null, { scope });
  await advanceState(db.pool, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
  await advanceState(db.pool, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
}

const proposal = (scope: string, over: Partial<ProposalInput> = {}): ProposalInput => ({
  proposal_id: uniq('p-'),
  scope,
  proposer: 'planner',
  action: 'advance_state',
  from: 'DriftChecked',
  to: 'ContextIngested',
  expected_epoch: 2,
  drift: { level: 'low', types: [] },
  ...over,
});

async function record(decisionId: string) {
  const { rows } = await db.pool.query('SELECT * FROM decision_records WHERE decision_id = $1', [decisionId]);
  return rows[0] as Record<string, unknown>;
}

describe('governance decisions are recorded with their obligations carried out', () => {
  it('YOLO approve: decision record, policy text, approval event with the CAS obligation', async () => {
    await scopeAtDriftChecked('gv-yolo');
    const r = await governProposal(deps, proposal('gv-yolo', { drift: { level: 'medium', types: ['contradiction'] }, message_id: 'msg-1' }));
    expect(r.decision).toMatchObject({ decision: 'approve', mode: 'YOLO', tier: 1, governance_path: 'processProposal', suggested_actions: ['open_investigation'] });
    const row = await record(r.decisionId!);
    expect(row).toMatchObject({
      scope_id: 'gv-yolo',
      proposer: 'planner',
      decision: 'approve',
      from_node: 'DriftChecked',
      to_node: 'ContextIngested',
      policy_version: loadGovernancePolicy().version,
      governance_path: 'processProposal',
      tier: 1,
      mode: 'YOLO',
    });
    expect((row.authz as { allowed: boolean; checks: unknown[] }).checks).toHaveLength(2);
    expect(row.obligations).toEqual([{ type: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 2 }]);
    expect((await getPolicyVersion(db.pool, r.decision.policy_version))!.text).toBe(loadGovernancePolicy().text);
    const [ev] = await readSince(db.pool, 'gv-yolo', r.seq - 1, { kinds: ['proposal_approved'] });
    expect(ev).toMatchObject({ seq: r.seq, messageId: 'msg-1', payload: { decision_id: r.decisionId, governance_path: 'processProposal', obligations: [{ type: 'advance_state', expected_epoch: 2 }] } });
  });

  it('a redelivered proposal message returns the stored decision and records nothing new', async () => {
    const again = await governProposal(deps, proposal('gv-yolo', { message_id: 'msg-1', drift: { level: 'critical', types: [] } }));
    expect(again).toMatchObject({ replayed: true, decision: { decision: 'approve' } });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM decision_records WHERE scope_id = 'gv-yolo'`);
    expect(rows[0].n).toBe(1);
    const concurrent = await Promise.all(Array.from({ length: 4 }, () => governProposal(deps, proposal('gv-yolo', { message_id: 'msg-2' }))));
    expect(new Set(concurrent.map((c) => c.decisionId)).size).toBe(1);
  });

  it('a blocking rule in YOLO: review queued, reviewers notified; a human approval emits the CAS obligation', async () => {
    await scopeAtDriftChecked('gv-block');
    const r = await governProposal(deps, proposal('gv-block', { drift: { level: 'critical', types: ['entropy'] } }));
    expect(r.decision).toMatchObject({ decision: 'review', blocked_by_rule: 0 });
    expect(r.reviewId).toBe(`gov-${r.decisionId}`);
    const review = (await getReview(db.pool, r.reviewId!))!;
    expect(review).toMatchObject({ kind: 'governance_review', status: 'pending', decisionId: r.decisionId });
    expect(review.request).toMatchObject({ drift: { level: 'critical' }, options: ['approve', 'reject'], suggested_actions: ['halt_and_review'] });
    const [pending] = await readSince(db.pool, 'gv-block', 0, { kinds: ['proposal_pending_approval'] });
    expect(pending!.payload).toMatchObject({ audience: 'reviewers', reason_code: 'policy_block', review_id: r.reviewId });

    // Amendments go with an approval only: a rejection carrying them is refused and records nothing.
    await expect(
      respondToGovernanceReview(db.pool, { reviewId: r.reviewId!, approve: false, amendments: { reason: 'x' }, ...(await answeredBy(db.pool, 'gv-block', r.reviewId!, 'alice')) }),
    ).rejects.toMatchObject({ code: 'amendment_not_allowed' });
    expect(await getReview(db.pool, r.reviewId!)).toMatchObject({ status: 'pending' });
    const done = await respondToGovernanceReview(db.pool, { reviewId: r.reviewId!, approve: true, ...(await answeredBy(db.pool, 'gv-block', r.reviewId!, 'alice')) });
    expect(done).toMatchObject({ status: 'approved', respondedBy: 'alice' });
    const [approved] = await readSince(db.pool, 'gv-block', 0, { kinds: ['proposal_approved'] });
    expect(approved!.payload).toMatchObject({ approved_by: 'human:alice', governance_path: 'human_review', obligations: [{ type: 'advance_state', expected_epoch: 2 }] });
    await expect(respondToGovernanceReview(db.pool, { reviewId: r.reviewId!, approve: false, ...(await answeredBy(db.pool, 'gv-block', r.reviewId!, 'bob')) })).rejects.toThrow(/already approved/);
  });

  it('the scope mode column drives the decision: MITL reviews, MASTER rejects a block', async () => {
    await scopeAtDriftChecked('gv-mode');
    await setScopeMode(db.pool, 'gv-mode', 'MITL');
    expect((await governProposal(deps, proposal('gv-mode'))).decision).toMatchObject({ decision: 'review', mode: 'MITL', reasons: [{ code: 'mitl_required' }] });
    await setScopeMode(db.pool, 'gv-mode', 'MASTER');
    const m = await governProposal(deps, proposal('gv-mode', { drift: { level: 'critical', types: [] } }));
    expect(m.decision).toMatchObject({ decision: 'reject', mode: 'MASTER', reasons: [{ code: 'policy_block' }] });
    expect(m.reviewId).toBeNull();
    expect((await listPendingReviews(db.pool, 'gv-mode')).map((x) => x.decisionId)).not.toContain(m.decisionId);
  });

  it('structural failures are rejected and recorded without asking OpenFGA', async () => {
    await scopeAtDriftChecked('gv-struct');
    const stale = await governProposal(deps, proposal('gv-struct', { expected_epoch: 1 }));
    expect(stale.decision.reasons[0]!.code).toBe('stale_epoch');
    expect(((await record(stale.decisionId!)).authz as { checks: unknown[] }).checks).toEqual([]);
    const [rej] = await readSince(db.pool, 'gv-struct', 0, { kinds: ['proposal_rejected'] });
    expect(rej!.payload).toMatchObject({ audience: 'proposer', reason_code: 'stale_epoch' });
    const ghost = await governProposal(deps, proposal('gv-ghost'));
    expect(ghost).toMatchObject({ decisionId: null, decision: { decision: 'reject', reasons: [{ code: 'scope_not_found' }] } });
  });

  it('permissions come from OpenFGA: an unlinked scope or the wrong agent is denied', async () => {
    await scopeAtDriftChecked('gv-unlinked', false);
    expect((await governProposal(deps, proposal('gv-unlinked'))).decision).toMatchObject({ decision: 'reject', reasons: [{ code: 'not_authorized' }] });
    await scopeAtDriftChecked('gv-agent');
    const facts = await governProposal(deps, proposal('gv-agent', { proposer: 'facts' }));
    expect(facts.decision).toMatchObject({ decision: 'reject', reasons: [{ code: 'not_authorized' }] });
    expect(facts.decision.reasons[0]!.message).toContain('advancer on state:ContextIngested: denied');
  });

  it('OpenFGA unreachable: rejected (fail closed), recorded, retryable', async () => {
    await scopeAtDriftChecked('gv-down');
    const down = createAuthorizer({ ...env, OPENFGA_API_URL: `http://127.0.0.1:${await freePort()}` }, { breaker: uniq('fga-') });
    const r = await governProposal({ ...deps, authz: down }, proposal('gv-down'));
    expect(r.decision).toMatchObject({ decision: 'reject', reasons: [{ code: 'authz_unavailable', retryable: true }] });
    expect((await record(r.decisionId!)).authz).toMatchObject({ allowed: false, checks: [{ reason: 'unavailable' }, { reason: 'unavailable' }] });
  });
});
