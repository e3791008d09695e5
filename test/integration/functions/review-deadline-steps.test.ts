// The executor applying a review.escalated: checked against the policy by the step's own
// clock, not trusted (issue 13, item 3). Real Postgres and OpenFGA; the step invoked directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step as executor } from '../../../functions/executor/index.ts';
import { step as finality } from '../../../functions/finality/index.ts';
import { loadFinalityPolicy, parseGovernancePolicy, staticPolicySource } from '../../../shared/policy/load.ts';
import { uniq } from '../../support/ids.ts';
import { envelope, invoke, logEntries, rows, run, swarmTestEnv, type SwarmTestEnv } from '../../support/swarm.ts';

const H = 3_600_000;
let t: SwarmTestEnv;
beforeAll(async () => {
  t = await swarmTestEnv();
});
afterAll(async () => {
  await t?.close();
});

const policies = staticPolicySource(parseGovernancePolicy('mode: YOLO\ndeadlines:\n  governance_review: { respond_within: 1h, fail_safe: defer }\n'), loadFinalityPolicy());

async function pendingReview(scope: string, createdAt: number): Promise<string> {
  const id = uniq('gov-');
  await t.db.pool.query(`INSERT INTO review_queue (review_id, scope_id, kind, proposal_id, request, created_at) VALUES ($1, $2, 'governance_review', 'p-1', '{}'::jsonb, $3)`, [id, scope, new Date(createdAt)]);
  return id;
}
const deadlineMsg = (scope: string, reviewId: string, id = `deadline:${reviewId}:0`) =>
  envelope('review.escalated', scope, { review_id: reviewId, kind: 'governance_review', action: 'defer', deadline: new Date().toISOString() }, id);
const status = async (id: string) => (await rows<{ status: string; responded_by: string | null }>(t, 'SELECT status, responded_by FROM review_queue WHERE review_id = $1', [id]))[0];

describe('executor: review.escalated', () => {
  it('defers a governance review whose deadline passed (fail_safe: defer), once, by system:deadline, and emits nothing', async () => {
    const scope = await t.scope('dls-');
    const created = Date.now() - 2 * H;
    const id = await pendingReview(scope, created);
    const now = created + H + 5_000;
    const deps = t.depsWith({ policies, now: () => now });
    const res = await run(executor, deps, deadlineMsg(scope, id));
    expect(res.emit).toEqual([]);
    expect(await status(id)).toEqual({ status: 'deferred', responded_by: 'system:deadline' });
    const [e] = await logEntries(t, scope, ['review_expired']);
    expect(e).toMatchObject({ source: 'deadline', payload: { review_id: id, action: 'defer', level: 0, deadline: new Date(created + H).toISOString() } });
    // Another copy of it (a second bridge's, a redelivery) gets the stored result and changes nothing.
    const again = await run(executor, t.depsWith({ policies, now: () => now + H }), deadlineMsg(scope, id));
    expect(again.result).toEqual(res.result);
    expect(await logEntries(t, scope, ['review_expired'])).toHaveLength(1);
  });

  it('refuses a deadline that has not passed by its clock: retried when a few minutes early (clock skew), refused when far too early; the review stays pending', async () => {
    const scope = await t.scope('dls-');
    const created = Date.now();
    const id = await pendingReview(scope, created);
    const early = await invoke(executor, t.depsWith({ policies, now: () => created + H - 60_000 }), deadlineMsg(scope, id));
    expect(early).toMatchObject({ ok: false, error: { class: 'transient', code: 'deadline_not_due' } });
    const forged = await invoke(executor, t.depsWith({ policies, now: () => created + 10 * 60_000 }), deadlineMsg(scope, id));
    expect(forged).toMatchObject({ ok: false, error: { class: 'permanent', code: 'deadline_not_due' } });
    expect(await status(id)).toEqual({ status: 'pending', responded_by: null });
  });

  it('refuses a message whose id does not name this review and a level, and leaves reviews of the other kind to the other step', async () => {
    const scope = await t.scope('dls-');
    const id = await pendingReview(scope, Date.now() - 2 * H);
    const bad = await invoke(executor, t.depsWith({ policies }), deadlineMsg(scope, id, uniq('forged-')));
    expect(bad).toMatchObject({ ok: false, error: { class: 'permanent', code: 'invalid_deadline_message' } });
    // The finality step skips a governance review's deadline; the executor a finality review's.
    expect((await run(finality, t.depsWith({ policies }), deadlineMsg(scope, id, `deadline:${id}:0`))).result).toMatchObject({ skipped: 'governance reviews are for the executor' });
    const fin = envelope('review.escalated', scope, { review_id: 'fin-x', kind: 'finality_review', action: 'defer', deadline: new Date().toISOString() }, 'deadline:fin-x:0');
    expect((await run(executor, t.depsWith({ policies }), fin)).result).toMatchObject({ skipped: 'finality reviews are for the finality step' });
    expect(await status(id)).toEqual({ status: 'pending', responded_by: null });
  });
});
