// Issue 13, item 3: when nobody answers a review. On the real services (NATS, Postgres,
// OpenFGA, MinIO, the swarm's steps in-process) with the shipped governance.yaml
// (governance review: 24h → escalate to group:review-leads, then 48h → reject; finality
// review: 72h → defer) and a clock the test moves: the bridge's tick is called with a
// `now`, and the steps read the same clock (Deps.now).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tick } from '../../infra/bridge/ticker.ts';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { connectBus, jetStream, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadGovernancePolicy } from '../../shared/policy/load.ts';
import type { FinalityReviewRequest } from '../../shared/domain/review.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { inTransaction } from '../../shared/store/db.ts';
import { upsertFinalityReview } from '../../shared/store/reviews.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { startApi, token, type ApiHarness } from './api-harness.ts';

const H = 3_600_000;
type ReviewJson = {
  review_id: string;
  kind: string;
  status: string;
  created_at: string;
  responded_by: string | null;
  response: Record<string, unknown> | null;
  escalation_level: number;
  escalated_to: string | null;
  escalated_at: string | null;
  deadline: string | null;
  deadline_action: string | null;
};

let h: ApiHarness;
let swarm: SwarmRuntime;
let nc2: NatsConnection;
/** The steps' clock; undefined: the real one. */
let clock: number | undefined;
const tokens = { lead: token(), stranger: token(), auditor: token() };
let app: ApiHarness['app'];
const deadlines = () => loadGovernancePolicy().policy.deadlines;

beforeAll(async () => {
  h = await startApi();
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('deadline-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
  const deps = createDeps({ env, db: h.guarded, now: () => clock ?? Date.now() });
  swarm = await startSwarm(env, { deps });
  // A second connection: the second bridge ticking at the same moment.
  nc2 = await connectBus(h.env, 'deadline-test-2', 'operator');
  app = h.appWith({ API_TOKENS: `${h.env.API_TOKENS}, ${tokens.lead}=user:lead, ${tokens.stranger}=user:stranger, ${tokens.auditor}=user:auditor` });
  await h.admin.write([{ user: 'user:lead', relation: 'member', object: 'group:review-leads' }]);
}, 60_000);
afterAll(async () => {
  await swarm?.stop();
  await nc2?.drain().catch(() => {});
  await h?.close();
});

const as = (t: string) => ({ token: t, app });
const get = async <T>(path: string, t = h.tokens.operator): Promise<T> => (await (await h.call('GET', path, as(t))).json()) as T;
const review = (id: string) => get<ReviewJson>(`/v1/reviews/${id}`);

/** Two bridges ticking at the same instant. */
async function tickTwice(now: number): Promise<number[]> {
  clock = now;
  const js2 = (await jetStream(nc2)).js;
  return Promise.all([h.js, js2].map((js) => tick(h.db.pool, js, h.env.NATS_SUBJECT_PREFIX, 15 * 60_000, now, { deadlines })));
}

const streamCount = async (scope: string, type: string) => {
  const info = await h.jsm.streams.info(h.env.NATS_STREAM, { subjects_filter: `${h.env.NATS_SUBJECT_PREFIX}.${scope}.${type}` });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
};
const logKinds = async (scope: string, kind: string) =>
  (await h.db.pool.query<{ payload: Record<string, unknown>; source: string }>('SELECT payload, source FROM context_log WHERE scope_id = $1 AND kind = $2 ORDER BY seq', [scope, kind])).rows;

/** A MITL scope with one document: its first proposal waits for a human. */
async function pendingGovernanceReview(): Promise<{ scope: string; review: ReviewJson }> {
  const scope = uniq('dl-');
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: { mode: 'MITL' } })).status).toBe(201);
  const doc = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title: 'Memo', text: 'Acme will hire 20 engineers in Q4 2026.\nRevenue was $12.5M in FY2025.' } });
  expect(doc.status).toBe(202);
  const r = await waitFor(
    'a governance review of the MITL proposal',
    async () => (await get<{ reviews: ReviewJson[] }>(`/v1/scopes/${scope}/reviews`)).reviews.find((x) => x.kind === 'governance_review'),
    { timeoutMs: 60_000 },
  );
  return { scope, review: r };
}

const state = async (scope: string) => (await get<{ state: { node: string; epoch: number } }>(`/v1/scopes/${scope}`)).state;

describe('review deadlines', () => {
  it('a governance review is escalated once at its deadline, even by two bridges; then a member of the group may answer it, and nobody else', async () => {
    const { scope, review: r } = await pendingGovernanceReview();
    const created = Date.parse(r.created_at);
    expect(r).toMatchObject({ escalation_level: 0, escalated_to: null, deadline: new Date(created + 24 * H).toISOString(), deadline_action: 'escalate' });

    // Not yet: a second before the deadline nothing is published for the review.
    await tickTwice(created + 24 * H - 1000);
    expect(await streamCount(scope, 'review.escalated')).toBe(0);

    const at = created + 24 * H + 1000;
    await tickTwice(at);
    const escalated = await waitFor('the escalation', async () => ((await review(r.review_id)).escalation_level === 1 ? review(r.review_id) : undefined));
    expect(escalated).toMatchObject({ status: 'pending', escalated_to: 'group:review-leads', escalated_at: new Date(at).toISOString(), deadline: new Date(at + 48 * H).toISOString(), deadline_action: 'reject' });
    // Once: one message (JetStream dropped the second bridge's), one event, even when ticked again.
    await tickTwice(at + 60_000);
    expect(await streamCount(scope, 'review.escalated')).toBe(1);
    const events = await logKinds(scope, 'review_escalated');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ source: 'deadline', payload: { review_id: r.review_id, action: 'escalate', escalated_to: 'group:review-leads', level: 0, by: 'system:deadline' } });

    // The group's member sees it in the inbox and may answer; a reader who is neither gets 403, a stranger 404.
    const inbox = await get<{ reviews: ReviewJson[] }>('/v1/reviews', tokens.lead);
    expect(inbox.reviews.map((x) => x.review_id)).toEqual([r.review_id]);
    expect((await h.call('POST', `/v1/reviews/${r.review_id}/respond`, { ...as(tokens.stranger), json: { option: 'approve' } })).status).toBe(404);
    expect((await h.call('POST', `/v1/reviews/${r.review_id}/respond`, { ...as(tokens.auditor), json: { option: 'approve' } })).status).toBe(403);
    expect((await get<{ reviews: ReviewJson[] }>('/v1/reviews', tokens.stranger)).reviews).toEqual([]);
    const res = await h.call('POST', `/v1/reviews/${r.review_id}/respond`, { ...as(tokens.lead), json: { option: 'approve', note: 'escalated to me; fine' } });
    expect(res.status).toBe(202);
    // The executor checks the member too (OpenFGA) and applies the answer: the scope advances.
    await waitFor('the approved proposal to advance the scope', async () => ((await state(scope)).node !== 'ContextIngested' ? true : undefined), { timeoutMs: 30_000 });
    expect(await review(r.review_id)).toMatchObject({ status: 'approved', responded_by: 'user:lead' });
  }, 180_000);

  it('a user of a group the review was not escalated to cannot answer it', async () => {
    const { review: r } = await pendingGovernanceReview();
    // Not escalated yet: membership of the group the policy names grants nothing.
    expect((await h.call('POST', `/v1/reviews/${r.review_id}/respond`, { ...as(tokens.lead), json: { option: 'approve' } })).status).toBe(404);
    expect((await get<{ reviews: ReviewJson[] }>('/v1/reviews', tokens.lead)).reviews.map((x) => x.review_id)).not.toContain(r.review_id);
  }, 120_000);

  it('at the next level nobody answered either: the review is rejected by system:deadline, the state does not advance, and the planner is not asked again', async () => {
    const { scope, review: r } = await pendingGovernanceReview();
    const created = Date.parse(r.created_at);
    await tickTwice(created + 24 * H + 1000);
    const escalated = await waitFor('the escalation', async () => ((await review(r.review_id)).escalation_level === 1 ? review(r.review_id) : undefined));
    const second = Date.parse(escalated.escalated_at!) + 48 * H;
    await tickTwice(second + 1000);
    const rejected = await waitFor('the fail-safe rejection', async () => ((await review(r.review_id)).status !== 'pending' ? review(r.review_id) : undefined));
    expect(rejected).toMatchObject({ status: 'rejected', responded_by: 'system:deadline', deadline: null, response: { approve: false, by: 'system:deadline', deadline: new Date(second).toISOString() } });
    expect(await state(scope)).toMatchObject({ node: 'ContextIngested', epoch: 0 });
    const expired = await logKinds(scope, 'review_expired');
    expect(expired.map((e) => e.payload)).toEqual([expect.objectContaining({ review_id: r.review_id, action: 'reject', level: 1 })]);
    expect(await streamCount(scope, 'review.escalated')).toBe(2);
    // No proposal.rejected: a rejection by the clock must not start the ask-again loop.
    expect(await streamCount(scope, 'proposal.rejected')).toBe(0);
    // The answer stands: a human arriving late is told so.
    const late = await h.call('POST', `/v1/reviews/${r.review_id}/respond`, { ...as(h.tokens.operator), json: { option: 'approve' } });
    expect(late.status).toBe(409);
  }, 180_000);

  it('a human answer that wins the race stands: the deadline message arriving after it changes nothing', async () => {
    const { scope, review: r } = await pendingGovernanceReview();
    expect((await h.call('POST', `/v1/reviews/${r.review_id}/respond`, { ...as(h.tokens.operator), json: { option: 'reject', note: 'no' } })).status).toBe(202);
    await waitFor('the rejection', async () => ((await review(r.review_id)).status === 'rejected' ? true : undefined));
    // Published as if a tick had read the review just before the answer landed.
    const created = Date.parse(r.created_at);
    clock = created + 24 * H + 1000;
    const { publishEnvelope } = await import('../../shared/adapters/bus.ts');
    await publishEnvelope(h.js, h.env.NATS_SUBJECT_PREFIX, {
      id: `deadline:${r.review_id}:0`,
      scope,
      type: 'review.escalated',
      payload: { review_id: r.review_id, kind: 'governance_review', action: 'escalate', escalated_to: 'group:review-leads', deadline: new Date(created + 24 * H).toISOString() },
      attempt: 1,
      source: 'ticker',
    });
    await waitFor('the executor to consume it', async () => {
      const { rows } = await h.db.pool.query<{ result: unknown }>(`SELECT result FROM inbox WHERE consumer LIKE '%executor%' AND message_id = $1 AND status = 'completed'`, [`deadline:${r.review_id}:0`]);
      return rows[0]?.result;
    });
    expect(await review(r.review_id)).toMatchObject({ status: 'rejected', responded_by: 'user:operator', escalation_level: 0, escalated_to: null });
    expect(await logKinds(scope, 'review_escalated')).toEqual([]);
  }, 120_000);

  it('a finality review nobody answers is deferred by system:deadline, as a deferral by a person would be', async () => {
    const scope = uniq('dlf-');
    expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
    const request = { type: 'finality_review', scope_id: scope, goal_score: 0.6, explanation: 'test', basis: { evidence_seq: 0, graph_revision: 0 } } as unknown as FinalityReviewRequest;
    const { reviewId } = await inTransaction(h.db.pool, (tx) => upsertFinalityReview(tx, scope, request));
    const r = await review(reviewId);
    const created = Date.parse(r.created_at);
    expect(r).toMatchObject({ kind: 'finality_review', deadline: new Date(created + 72 * H).toISOString(), deadline_action: 'defer' });
    const at = created + 72 * H + 1000;
    await tickTwice(at);
    const deferred = await waitFor('the deferral', async () => ((await review(reviewId)).status !== 'pending' ? review(reviewId) : undefined), { timeoutMs: 30_000 });
    const days = 7; // finality.yaml review.defer_days
    expect(deferred).toMatchObject({ status: 'deferred', responded_by: 'system:deadline', response: { option: 'defer', days, by: 'system:deadline' } });
    const { rows } = await h.db.pool.query<{ decided_by: string; option: string; details: { defer_until: string } }>(
      `SELECT decided_by, option, details FROM finality_decisions WHERE scope_id = $1 AND option IS NOT NULL`,
      [scope],
    );
    expect(rows).toEqual([{ decided_by: 'system:deadline', option: 'defer', details: { review_id: reviewId, defer_until: new Date(at + days * 24 * H).toISOString() } }]);
    expect((await logKinds(scope, 'review_expired')).map((e) => e.payload)).toEqual([expect.objectContaining({ review_id: reviewId, action: 'defer', level: 0 })]);
  }, 120_000);
});
