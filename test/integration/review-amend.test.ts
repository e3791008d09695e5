// Issue 13, item 2: edit before approve, on real services (Postgres, NATS, OpenFGA, S3; the
// swarm in-process). The critical drift of the harbor documents holds the planner's proposal
// for a human; the reviewer approves it with an amended plan and reason. The scope advances;
// the decision records keep the proposal as proposed and as approved and who amended it;
// the context log has the plan in force. Amendments of what was proposed (its identity and
// transition), amendments with a rejection and amendments of a finality review are 400s.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { startApi, type ApiHarness } from './api-harness.ts';

const HARBOR = join(import.meta.dirname, '../../infra/demo/scenarios/harbor');
type Proposal = { proposal_id: string; reason?: string; plan?: { actions: string[] } };
type ReviewJson = { review_id: string; kind: string; status: string; request: { proposal?: Proposal }; response: Record<string, unknown> | null; responded_by: string | null };

let h: ApiHarness;
let swarm: SwarmRuntime;
beforeAll(async () => {
  h = await startApi();
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('amend-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
  swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await h?.close();
});

const op = { token: () => h.tokens.operator };
const respond = (id: string, json: Record<string, unknown>) => h.call('POST', `/v1/reviews/${id}/respond`, { token: op.token(), json });
const errorOf = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { code: string; message: string } }).error });
const pendingGovernance = async (scope: string) =>
  ((await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: op.token() })).json()) as { reviews: ReviewJson[] }).reviews.filter((r) => r.kind === 'governance_review');

describe('approve with amendments', () => {
  it('refuses amendments of what was proposed, with a rejection, or of a finality review; applies and records an amended plan', async () => {
    const scope = uniq('amd-');
    expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
    for (const file of ['01-information-memorandum.md', '02-quality-of-earnings.txt']) {
      expect((await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title: file, text: readFileSync(join(HARBOR, file), 'utf8') } })).status).toBe(202);
    }
    const review = await waitFor('the critical drift to hold the planner for a human', async () => (await pendingGovernance(scope))[0], { timeoutMs: 60_000 });
    const original = review.request.proposal!;
    // The planner put its plan in the proposal, for the reviewer to see.
    expect(original.plan?.actions.length).toBeGreaterThan(0);

    // What was proposed and decided on cannot change: each identity field is named.
    for (const [field, value] of [['to', 'FactsExtracted'], ['expected_epoch', 99], ['proposal_id', 'other'], ['proposer', 'drift']] as const) {
      const e = await errorOf(await respond(review.review_id, { option: 'approve', amendments: { reason: 'x', [field]: value } }));
      expect(e).toMatchObject({ status: 400, code: 'amendment_not_allowed' });
      expect(e.message).toContain(`body.amendments.${field}`);
    }
    // Validated as a proposal is: an action that is no lower-case word.
    expect(await errorOf(await respond(review.review_id, { option: 'approve', amendments: { plan: { actions: ['Drop Table'] } } }))).toMatchObject({ status: 400, code: 'invalid_amendment' });
    // Amendments go with an approval only.
    expect(await errorOf(await respond(review.review_id, { option: 'reject', amendments: { reason: 'x' } }))).toMatchObject({ status: 400, code: 'amendment_not_allowed' });
    // ... of a governance review only (a finality review of the same scope, as the finality step opens them).
    // The finality step may have opened one already (at most one is pending per scope): use it, or open one.
    await h.db.pool.query(
      `INSERT INTO review_queue (review_id, scope_id, kind, request) VALUES ($1, $2, 'finality_review', '{}')
       ON CONFLICT (scope_id) WHERE kind = 'finality_review' AND status = 'pending' DO NOTHING`,
      [uniq('fin-'), scope],
    );
    const fin = (await h.db.pool.query<{ review_id: string }>(`SELECT review_id FROM review_queue WHERE scope_id = $1 AND kind = 'finality_review' AND status = 'pending'`, [scope])).rows[0]!.review_id;
    expect(await errorOf(await respond(fin, { option: 'approve_finality', amendments: { reason: 'x' } }))).toMatchObject({ status: 400, code: 'amendment_not_allowed' });
    // None of those was an answer: the review is still open.
    expect((await pendingGovernance(scope)).map((r) => r.review_id)).toContain(review.review_id);

    const actions = [...original.plan!.actions, 'halt_and_review'];
    const reason = 'approved with a hold: review the evidence before the next cycle';
    expect((await respond(review.review_id, { option: 'approve', note: 'hold first', amendments: { plan: { actions }, reason } })).status).toBe(202);
    // The same answer again is a retry; the approval without the amendments is another answer.
    expect((await respond(review.review_id, { option: 'approve', note: 'hold first', amendments: { reason, plan: { actions } } })).status).toBe(202);
    expect(await errorOf(await respond(review.review_id, { option: 'approve', note: 'hold first' }))).toMatchObject({ status: 409, code: 'review_already_answered' });

    await waitFor('the scope to advance past DriftChecked', async () => {
      const s = (await (await h.call('GET', `/v1/scopes/${scope}`)).json()) as { state: { node: string } };
      return s.state.node !== 'DriftChecked' ? s : undefined;
    }, { timeoutMs: 30_000 });

    // The review shows both versions and who amended.
    const done = (await (await h.call('GET', `/v1/reviews/${review.review_id}`, { token: op.token() })).json()) as ReviewJson;
    expect(done).toMatchObject({ status: 'approved', responded_by: 'user:operator' });
    expect(done.response).toMatchObject({
      approve: true,
      note: 'hold first',
      amendment: { by: 'user:operator', changed: ['reason', 'plan'], original: { proposal_id: original.proposal_id, plan: original.plan }, amended: { proposal_id: original.proposal_id, reason, plan: { actions } } },
    });

    // The decision records: the tier decision that asked, unchanged, and the human's, with both versions.
    const { rows } = await h.db.pool.query<{ decision: string; governance_path: string; tier: number | null; decided_by: string | null; review_id: string | null; amended_from: Proposal | null; amended_to: Proposal | null; created_at: Date }>(
      `SELECT decision, governance_path, tier, decided_by, review_id, amended_from, amended_to, created_at FROM decision_records WHERE scope_id = $1 AND proposal_id = $2 ORDER BY created_at`,
      [scope, original.proposal_id],
    );
    expect(rows.map((r) => [r.decision, r.governance_path, r.tier, r.decided_by])).toEqual([
      ['review', 'processProposal', 1, null],
      ['approve', 'human_review', null, 'human:user:operator'],
    ]);
    const human = rows[1]!;
    expect(human.review_id).toBe(review.review_id);
    expect(human.amended_from).toEqual(original);
    expect(human.amended_to).toEqual({ ...original, reason, plan: { actions } });
    expect(human.created_at).toBeInstanceOf(Date);
    // The same, as an auditor reads it through the API.
    const api = (await (await h.call('GET', `/v1/scopes/${scope}/decisions?limit=200`, { token: op.token() })).json()) as { decisions: Record<string, unknown>[] };
    expect(api.decisions.find((d) => d.review_id === review.review_id)).toMatchObject({ decided_by: 'human:user:operator', tier: null, amended_from: original, amended_to: { plan: { actions } } });
    // Append-only: an amendment is a new record, and no record can be edited afterwards.
    await expect(h.db.pool.query(`UPDATE decision_records SET rationale = 'edited' WHERE scope_id = $1`, [scope])).rejects.toThrow(/append-only/);

    // The context log: the plan in force, and the state advance naming the amendment.
    const log = await h.db.pool.query<{ kind: string; source: string; payload: Record<string, unknown> }>(
      `SELECT kind, source, payload FROM context_log WHERE scope_id = $1 AND kind IN ('plan_amended', 'state_transition') ORDER BY seq`,
      [scope],
    );
    const plan = log.rows.find((r) => r.kind === 'plan_amended');
    expect(plan).toMatchObject({ source: 'human', payload: { actions, original_actions: original.plan!.actions, amended_by: 'human:user:operator', review_id: review.review_id } });
    const advanced = log.rows.find((r) => r.kind === 'state_transition' && r.payload.from === 'DriftChecked');
    expect(advanced?.payload.cause).toMatchObject({ review_id: review.review_id, amended: ['reason', 'plan'], amended_by: 'human:user:operator' });
  }, 180_000);
});
