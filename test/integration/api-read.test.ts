// The console's read API (functions/api/routes/read.ts) against real Postgres and
// OpenFGA: each endpoint's shape on a scope with data written by the store functions,
// paging without overlap or gap, limits, permission filtering (a scope the principal
// cannot read is 404 and absent from lists; the inbox holds only reviews the principal
// may answer), and the state and graph as of a past instant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../shared/adapters/authz.ts';
import { withTransaction } from '../../shared/adapters/db.ts';
import { loadEnv } from '../../shared/config.ts';
import { buildReviewRequest } from '../../shared/domain/review.ts';
import { DEFAULT_POLICY_PATHS, filePolicySource, loadFinalityPolicy } from '../../shared/policy/load.ts';
import { loadSigner } from '../../shared/adapters/signer.ts';
import { appendEvent } from '../../shared/store/context-log.ts';
import { insertFigure } from '../../shared/store/figures.ts';
import { evaluateScopeFinality, previewFinality } from '../../shared/usecases/finality.ts';
import { governProposal } from '../../shared/usecases/governance.ts';
import { upsertEdge, upsertNode } from '../../shared/store/graph.ts';
import { upsertFinalityReview } from '../../shared/store/reviews.ts';
import { setScopeMode } from '../../shared/store/scopes.ts';
import { ensureScope } from '../../shared/usecases/scopes.ts';
import { loadSnapshot } from '../../shared/store/snapshot.ts';
import { advanceState } from '../../shared/store/state.ts';
import { AsOf, Briefings, Decisions, Facts, Inbox, Me, ScopeListing, ScopePermissions, Timeline } from '../../functions/api/read-schemas.ts';
import { ErrorBody } from '../../functions/api/errors.ts';
import { uniq } from '../support/ids.ts';
import { databaseFingerprint, startApi, token, type ApiHarness } from './api-harness.ts';

let h: ApiHarness;
const policies = filePolicySource(DEFAULT_POLICY_PATHS);
const alice = token();
let aliceApp: ApiHarness['app'];

async function get(path: string, t?: string, app?: ApiHarness['app']): Promise<{ status: number; body: any }> {
  const res = await h.call('GET', path, { ...(t ? { token: t } : {}), ...(app ? { app } : {}) });
  return { status: res.status, body: await res.json() };
}
const ok = async (path: string, t?: string, app?: ApiHarness['app']) => {
  const r = await get(path, t, app);
  expect([path, r.status]).toEqual([path, 200]);
  return r.body;
};

/** The database's clock now, with microseconds, as ISO UTC. */
async function dbNow(): Promise<string> {
  const { rows } = await h.db.pool.query(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t`);
  return rows[0].t;
}

async function newScope(): Promise<string> {
  const scope = uniq('r-');
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
  return scope;
}

async function finalityReview(scope: string): Promise<string> {
  const fin = loadFinalityPolicy().policy;
  return withTransaction(h.db.pool, async (tx) => {
    const { snapshot } = await loadSnapshot(tx, scope, fin);
    const { evaluation } = await previewFinality({ db: tx, policies }, scope);
    return (await upsertFinalityReview(tx, scope, buildReviewRequest(scope, snapshot, evaluation, fin))).reviewId;
  });
}

/** A governance review: MITL scope at DriftChecked, a proposal waits for a human. Returns [review id, decision id]. */
async function governanceReview(scope: string, epoch: number): Promise<[string, string]> {
  const gov = await governProposal(
    { db: h.db.pool, policies, authz: createAuthorizer(h.env, { breaker: uniq('fga-') }) },
    { proposal_id: uniq('p-'), scope, proposer: 'planner', action: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: epoch, drift: { level: 'low', types: [] } },
  );
  expect(gov.reviewId).toBeTruthy();
  return [gov.reviewId!, gov.decisionId!];
}

// The main scope: documents, a contradiction that appears after t0, a resolved one, goals,
// risks, decision records, rounds, a briefing, a finality review.
let scope: string;
let t0: string;
let t1: string;
let claimA: string;
let claimB: string;
let openEdge: string;
let resolvedEdge: string;
let govReviews: string[] = [];
let finReview: string;
const longText = `NovaTech plans to hire 20 engineers by Q3. ${'Background. '.repeat(100)}`;

beforeAll(async () => {
  h = await startApi();
  aliceApp = h.appWith({ API_TOKENS: `${h.env.API_TOKENS}, ${alice}=user:alice` });
  const pool = h.db.pool;
  scope = await newScope();
  await appendEvent(pool, { scope, kind: 'context_doc', source: 'facts', messageId: 'doc-1', payload: { doc_id: 'd1', title: 'Q3 plan', text: longText } });
  const a = await upsertNode(pool, { scope, kind: 'claim', content: 'NovaTech will hire 20 engineers by Q3', subject: 'engineers hired', metric: 'count:engineer', value: { kind: 'count', value: 20 }, confidence: 0.8, sourceDoc: 'd1', sourceRef: { docs: ['d1'] }, createdBy: 'facts' });
  const b = await upsertNode(pool, { scope, kind: 'claim', content: 'NovaTech will hire 12 engineers by Q3', subject: 'engineers hired', metric: 'count:engineer', value: { kind: 'count', value: 12 }, confidence: 0.7, sourceDoc: 'd2', sourceRef: { docs: ['d2'] }, createdBy: 'facts' });
  [claimA, claimB] = [a.id, b.id];
  const statement = (v: number) => ({ subject: 'engineers hired', metric: 'count:engineer', value: { kind: 'count', value: v }, surface: `${v} engineers` });
  await insertFigure(pool, { scope, nodeId: claimA, docId: 'd1', statement: statement(20) as never, subjectText: 'engineers hired', vector: null, sentence: 'NovaTech plans to hire 20 engineers by Q3.' });
  await insertFigure(pool, { scope, nodeId: claimB, docId: 'd2', statement: statement(12) as never, subjectText: 'engineers hired', vector: null, sentence: 'Only 12 engineers will be hired by Q3.' });
  await upsertNode(pool, { scope, kind: 'goal', content: 'Confirm the hiring plan', createdBy: 'facts', metadata: { state: 'open', deadline: { label: 'Q3' } } });
  await upsertNode(pool, { scope, kind: 'risk', content: 'Hiring freeze', severity: 'high', createdBy: 'facts' });
  t0 = await dbNow();

  await advanceState(pool, { scope, from: 'ContextIngested', to: 'FactsExtracted', expectedEpoch: 0, source: 'test' });
  const sides = [
    { node_id: claimA, value: { kind: 'count', value: 20 }, display: '20' },
    { node_id: claimB, value: { kind: 'count', value: 12 }, display: '12' },
  ];
  openEdge = (await upsertEdge(pool, { scope, kind: 'contradicts', sourceId: claimA, targetId: claimB, createdBy: 'facts', metadata: { subject: 'engineers hired', metric: 'count:engineer', found_in: 'd2', sides } })).id;
  // A second pair, contradicted and then settled by a third document.
  const c = await upsertNode(pool, { scope, kind: 'claim', content: 'Revenue was $48M', subject: 'revenue', metric: 'USD', value: { kind: 'money', value: 48e6 }, sourceDoc: 'd1', createdBy: 'facts' });
  const d = await upsertNode(pool, { scope, kind: 'claim', content: 'Revenue was $41M', subject: 'revenue', metric: 'USD', value: { kind: 'money', value: 41e6 }, sourceDoc: 'd2', createdBy: 'facts' });
  const rsides = [
    { node_id: c.id, value: { kind: 'money', value: 48e6 }, display: '48000000' },
    { node_id: d.id, value: { kind: 'money', value: 41e6 }, display: '41000000' },
  ];
  const meta = { subject: 'revenue', metric: 'USD', found_in: 'd2', sides: rsides };
  resolvedEdge = (await upsertEdge(pool, { scope, kind: 'contradicts', sourceId: c.id, targetId: d.id, createdBy: 'facts', metadata: meta })).id;
  await upsertEdge(pool, {
    scope, kind: 'contradicts', sourceId: c.id, targetId: d.id, status: 'resolved', createdBy: 'facts',
    metadata: { ...meta, resolved_by: 'facts', resolution: { doc: 'd3', how: 'restated', accepted_node: d.id, accepted: '41000000', text: 'Revenue is restated to $41M.', span: null } },
  });
  t1 = await dbNow();

  await advanceState(pool, { scope, from: 'FactsExtracted', to: 'DriftChecked', expectedEpoch: 1, source: 'test' });
  await setScopeMode(pool, scope, 'MITL');
  for (let i = 0; i < 3; i++) govReviews.push((await governanceReview(scope, 2))[0]);
  const signer = await loadSigner(loadEnv());
  for (const m of ['eval-1', 'eval-2']) await evaluateScopeFinality({ db: pool, policies, signer }, { scope, messageId: m });
  await appendEvent(pool, { scope, kind: 'status_card', source: 'status', payload: { trigger: 'drift.analyzed', node: 'DriftChecked', epoch: 2, status: 'open', briefing: 'Scope is open; one contradiction.', tier: 'fallback' } });
  await appendEvent(pool, { scope, kind: 'status_card', source: 'status', payload: { trigger: 'finality.decided', node: 'DriftChecked', epoch: 2, status: 'open', briefing: 'Still open.', tier: 'fallback' } });
  finReview = await finalityReview(scope);
}, 120_000);
afterAll(async () => h?.close());

const errorCode = (body: unknown) => ErrorBody.parse(body).error.code;

describe('scopes, me and permissions', () => {
  it('a line per readable scope: state, the latest round, counts', async () => {
    const list = ScopeListing.parse(await ok('/v1/scopes?limit=200'));
    const line = list.scopes.find((s) => s.scope === scope)!;
    const { rows } = await h.db.pool.query('SELECT goal_score, lyapunov_v FROM convergence_history WHERE scope_id = $1 ORDER BY round DESC LIMIT 1', [scope]);
    expect(line).toMatchObject({
      status: 'open',
      mode: 'MITL',
      state: { node: 'DriftChecked', epoch: 2 },
      goal_score: rows[0].goal_score,
      lyapunov_v: rows[0].lyapunov_v,
      rounds: 2,
      open_contradictions: 1,
      pending_reviews: 4,
      certificates: 0,
    });
    expect(line.outcome).toEqual(expect.any(String));
  });

  it('pages by scope id with no overlap and no gap; over the maximum is 400', async () => {
    for (let i = 0; i < 4; i++) await newScope();
    const { rows } = await h.db.pool.query('SELECT scope_id FROM scopes ORDER BY scope_id');
    const all = rows.map((r) => r.scope_id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const p = ScopeListing.parse(await ok(`/v1/scopes?limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`));
      seen.push(...p.scopes.map((s) => s.scope));
      after = p.next_after;
      if (!after) break;
    }
    expect(seen).toEqual(all);
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect((await get('/v1/scopes?limit=201')).status).toBe(400);
    expect((await get('/v1/scopes?limit=0')).status).toBe(400);
    const bad = await get('/v1/scopes?after=Not%20a%20scope');
    expect([bad.status, errorCode(bad.body)]).toEqual([400, 'invalid_cursor']);
  });

  it('lists only scopes the principal can read, still filling the page past hidden ones', async () => {
    expect(ScopeListing.parse(await ok('/v1/scopes', h.tokens.intruder))).toEqual({ scopes: [], next_after: null });
    const { rows } = await h.db.pool.query('SELECT scope_id FROM scopes ORDER BY scope_id');
    const all: string[] = rows.map((r) => r.scope_id);
    // Readable: the second and the last scope only; everything between is hidden.
    const granted = [all[1]!, all[all.length - 1]!];
    await h.admin.write(granted.map((s) => ({ user: 'agent:intruder', relation: 'contributor', object: `scope:${s}` })));
    const page1 = ScopeListing.parse(await ok('/v1/scopes?limit=1', h.tokens.intruder));
    expect(page1.scopes.map((s) => s.scope)).toEqual([granted[0]]);
    const page2 = ScopeListing.parse(await ok(`/v1/scopes?limit=1&after=${encodeURIComponent(page1.next_after!)}`, h.tokens.intruder));
    expect(page2.scopes.map((s) => s.scope)).toEqual([granted[1]]);
    expect(page2.next_after).toBeNull();
    expect(ScopeListing.parse(await ok('/v1/scopes?limit=5', h.tokens.intruder)).scopes.map((s) => s.scope)).toEqual(granted);
    await h.admin.delete(granted.map((s) => ({ user: 'agent:intruder', relation: 'contributor', object: `scope:${s}` })));
  });

  it('me and permissions say what the principal may do; a scope it cannot read is 404', async () => {
    expect(Me.parse(await ok('/v1/me'))).toEqual({ principal: 'agent:api', swarm: { ingester: true, reviewer: false } });
    expect(Me.parse(await ok('/v1/me', h.tokens.operator))).toEqual({ principal: 'user:operator', swarm: { ingester: false, reviewer: true } });
    expect(Me.parse(await ok('/v1/me', h.tokens.intruder))).toEqual({ principal: 'agent:intruder', swarm: { ingester: false, reviewer: false } });
    expect(ScopePermissions.parse(await ok(`/v1/scopes/${scope}/permissions`))).toEqual({ scope, reader: true, ingester: true, reviewer: false, operator: false });
    expect(ScopePermissions.parse(await ok(`/v1/scopes/${scope}/permissions`, h.tokens.operator))).toEqual({ scope, reader: true, ingester: false, reviewer: true, operator: true });
    const hidden = await get(`/v1/scopes/${scope}/permissions`, h.tokens.intruder);
    expect([hidden.status, errorCode(hidden.body)]).toEqual([404, 'scope_not_found']);
  });

  it('fails closed: OpenFGA unreachable is 503, not an empty or full list', async () => {
    const app = h.appWith({ OPENFGA_API_URL: 'http://127.0.0.1:9' });
    for (const path of ['/v1/scopes', '/v1/me', '/v1/reviews']) {
      const r = await get(path, undefined, app);
      expect([path, r.status, errorCode(r.body)]).toEqual([path, 503, 'authz_unavailable']);
    }
  });
});

describe("a scope's facts, timeline, decisions and briefings", () => {
  it('every scope endpoint is 404 for a principal without reader, as for a missing scope', async () => {
    for (const sub of ['facts', 'timeline', 'decisions', 'briefings', 'as-of?epoch=0', 'permissions']) {
      for (const [s, t] of [[scope, h.tokens.intruder], ['no-such-scope', h.tokens.api]] as const) {
        const r = await get(`/v1/scopes/${s}/${sub}`, t);
        expect([sub, s, r.status, errorCode(r.body)]).toEqual([sub, s, 404, 'scope_not_found']);
      }
    }
  });

  it('facts: claims with the sentence stating each figure, goals, risks, contradictions with sources and resolution', async () => {
    const f = Facts.parse(await ok(`/v1/scopes/${scope}/facts`));
    expect(f.truncated).toBe(false);
    expect(f.claims).toHaveLength(4);
    expect(f.claims.find((c) => c.node_id === claimA)).toMatchObject({
      content: 'NovaTech will hire 20 engineers by Q3',
      subject: 'engineers hired',
      metric: 'count:engineer',
      value: { kind: 'count', value: 20 },
      confidence: 0.8,
      status: 'active',
      source_doc: 'd1',
      source_ref: { docs: ['d1'] },
      sentence: 'NovaTech plans to hire 20 engineers by Q3.',
    });
    expect(f.goals).toEqual([expect.objectContaining({ content: 'Confirm the hiring plan', status: 'active', state: 'open', deadline: 'Q3' })]);
    expect(f.risks).toEqual([expect.objectContaining({ content: 'Hiring freeze', severity: 'high', status: 'active' })]);
    const open = f.contradictions.find((c) => c.edge_id === openEdge)!;
    expect(open).toMatchObject({
      status: 'open',
      subject: 'engineers hired',
      a: { node_id: claimA, value: { kind: 'count', value: 20 }, source_doc: 'd1', sentence: 'NovaTech plans to hire 20 engineers by Q3.' },
      b: { node_id: claimB, value: { kind: 'count', value: 12 }, source_doc: 'd2', sentence: 'Only 12 engineers will be hired by Q3.' },
      resolved_by: null,
    });
    expect(f.contradictions.find((c) => c.edge_id === resolvedEdge)).toMatchObject({
      status: 'resolved',
      resolved_by: { by: 'facts', doc: 'd3', how: 'restated', accepted: '41000000', text: 'Revenue is restated to $41M.' },
    });
    const cut = Facts.parse(await ok(`/v1/scopes/${scope}/facts?limit=1`));
    expect([cut.claims.length, cut.contradictions.length, cut.truncated]).toEqual([1, 1, true]);
    expect((await get(`/v1/scopes/${scope}/facts?limit=1001`)).status).toBe(400);
  });

  it('timeline: newest first, one line per entry, document text cut; pages meet without overlap; kinds filter', async () => {
    const { rows } = await h.db.pool.query('SELECT seq FROM context_log WHERE scope_id = $1 ORDER BY seq DESC', [scope]);
    const all = rows.map((r) => Number(r.seq));
    expect(all.length).toBeGreaterThan(6);
    const seen: number[] = [];
    let before: number | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const p = Timeline.parse(await ok(`/v1/scopes/${scope}/timeline?limit=3${before ? `&before=${before}` : ''}`));
      expect(p.entries.length).toBeLessThanOrEqual(3);
      seen.push(...p.entries.map((e) => e.seq));
      before = p.next_before;
      if (before === null) break;
    }
    expect(seen).toEqual(all);

    const docs = Timeline.parse(await ok(`/v1/scopes/${scope}/timeline?kinds=context_doc`));
    expect(docs.entries).toHaveLength(1);
    const d = docs.entries[0]!;
    expect(d.summary).toBe('document received: Q3 plan');
    expect(d.payload).toMatchObject({ doc_id: 'd1', text: longText.slice(0, 400), text_chars: longText.length, text_truncated: true });
    expect(d.payload_truncated).toBe(true);

    const moves = Timeline.parse(await ok(`/v1/scopes/${scope}/timeline?kinds=state_transition,proposal_pending_approval`));
    const lines = moves.entries.map((e) => e.summary);
    expect(lines).toContain('state ContextIngested → FactsExtracted (epoch 1)');
    expect(lines).toContain('state FactsExtracted → DriftChecked (epoch 2)');
    expect(lines.filter((l) => /^governance review requested \(tier \d, gov-/.test(l))).toHaveLength(3);
    expect(new Set(moves.entries.map((e) => e.kind))).toEqual(new Set(['state_transition', 'proposal_pending_approval']));

    expect((await get(`/v1/scopes/${scope}/timeline?limit=201`)).status).toBe(400);
    expect((await get(`/v1/scopes/${scope}/timeline?kinds=Bad%20Kind`)).status).toBe(400);
  });

  it('decisions: newest first, paged by cursor without overlap or gap', async () => {
    const { rows } = await h.db.pool.query('SELECT decision_id FROM decision_records WHERE scope_id = $1 ORDER BY created_at DESC, decision_id DESC', [scope]);
    expect(rows).toHaveLength(3);
    const first = Decisions.parse(await ok(`/v1/scopes/${scope}/decisions?limit=2`));
    expect(first.decisions).toHaveLength(2);
    expect(first.decisions[0]).toMatchObject({ proposer: 'planner', action: 'advance_state', from_node: 'DriftChecked', to_node: 'ContextIngested', decision: 'review', mode: 'MITL' });
    expect(first.decisions[0]!.tier).toEqual(expect.any(Number));
    const second = Decisions.parse(await ok(`/v1/scopes/${scope}/decisions?limit=2&before=${encodeURIComponent(first.next_before!)}`));
    expect(second.next_before).toBeNull();
    expect([...first.decisions, ...second.decisions].map((d) => d.decision_id)).toEqual(rows.map((r) => r.decision_id));
    // An instant alone: the records created before it (all of them, now).
    expect(Decisions.parse(await ok(`/v1/scopes/${scope}/decisions?before=${encodeURIComponent(await dbNow())}`)).decisions).toHaveLength(3);
    expect((await get(`/v1/scopes/${scope}/decisions?limit=201`)).status).toBe(400);
    expect(errorCode((await get(`/v1/scopes/${scope}/decisions?before=yesterday`)).body)).toBe('invalid_cursor');
  });

  it('briefings: the status cards, newest first', async () => {
    const b = Briefings.parse(await ok(`/v1/scopes/${scope}/briefings`));
    expect(b.briefings.map((x) => x.briefing)).toEqual(['Still open.', 'Scope is open; one contradiction.']);
    expect(b.briefings[0]).toMatchObject({ trigger: 'finality.decided', node: 'DriftChecked', epoch: 2, status: 'open', tier: 'fallback' });
    const one = Briefings.parse(await ok(`/v1/scopes/${scope}/briefings?limit=1`));
    expect(one.briefings.map((x) => x.briefing)).toEqual(['Still open.']);
    const rest = Briefings.parse(await ok(`/v1/scopes/${scope}/briefings?limit=1&before=${one.next_before}`));
    expect(rest.briefings.map((x) => x.briefing)).toEqual(['Scope is open; one contradiction.']);
    expect((await get(`/v1/scopes/${scope}/briefings?limit=101`)).status).toBe(400);
  });
});

describe('review inbox', () => {
  let other: string;
  let unlinked: string;
  let otherFin: string;

  beforeAll(async () => {
    // A second scope with a finality review; a scope not linked to the swarm (no reviewer but by grant).
    other = await newScope();
    otherFin = await finalityReview(other);
    unlinked = uniq('u-');
    await ensureScope(h.db.pool, null, { scope: unlinked });
    await finalityReview(unlinked);
    await h.admin.write([{ user: 'user:alice', relation: 'reviewer', object: `scope:${other}` }]);
  });

  it('a reviewer sees the pending reviews of the scopes it reviews, oldest first, with can_answer', async () => {
    const inbox = Inbox.parse(await ok('/v1/reviews?limit=200', h.tokens.operator));
    const ids = inbox.reviews.map((r) => r.review_id);
    const { rows } = await h.db.pool.query(`SELECT review_id FROM review_queue WHERE status = 'pending' AND scope_id <> $1 ORDER BY created_at, review_id`, [unlinked]);
    expect(ids).toEqual(rows.map((r) => r.review_id));
    expect(ids).toEqual(expect.arrayContaining([...govReviews, finReview, otherFin]));
    expect(inbox.reviews.every((r) => r.can_answer && r.status === 'pending')).toBe(true);
    expect(inbox.reviews.find((r) => r.review_id === govReviews[0])).toMatchObject({ scope, kind: 'governance_review', options: ['approve', 'reject'] });
  });

  it('filters by reviewer permission: a reviewer of one scope sees only its reviews; readers and strangers an empty list', async () => {
    const mine = Inbox.parse(await ok('/v1/reviews', alice, aliceApp));
    expect(mine.reviews.map((r) => r.review_id)).toEqual([otherFin]);
    expect(Inbox.parse(await ok('/v1/reviews'))).toEqual({ reviews: [], next_after: null });
    expect(Inbox.parse(await ok('/v1/reviews', h.tokens.intruder))).toEqual({ reviews: [], next_after: null });
    expect(Inbox.parse(await ok(`/v1/reviews?scope=${scope}`, alice, aliceApp)).reviews).toEqual([]);
  });

  it('filters by kind and scope; pages meet without overlap; a cursor is bound to its principal', async () => {
    const fin = Inbox.parse(await ok('/v1/reviews?kind=finality_review', h.tokens.operator));
    expect(fin.reviews.map((r) => r.review_id).sort()).toEqual([finReview, otherFin].sort());
    const gov = Inbox.parse(await ok(`/v1/reviews?kind=governance_review&scope=${scope}`, h.tokens.operator));
    expect(gov.reviews.map((r) => r.review_id)).toEqual(govReviews);

    const all = Inbox.parse(await ok('/v1/reviews?limit=200', h.tokens.operator)).reviews.map((r) => r.review_id);
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const p = Inbox.parse(await ok(`/v1/reviews?limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`, h.tokens.operator));
      seen.push(...p.reviews.map((r) => r.review_id));
      after = p.next_after;
      if (!after) break;
    }
    expect(seen).toEqual(all);

    const p1 = Inbox.parse(await ok('/v1/reviews?limit=1', h.tokens.operator));
    const stolen = await get(`/v1/reviews?limit=1&after=${encodeURIComponent(p1.next_after!)}`);
    expect([stolen.status, errorCode(stolen.body)]).toEqual([400, 'invalid_cursor']);
    expect((await get('/v1/reviews?limit=201', h.tokens.operator)).status).toBe(400);
    expect((await get('/v1/reviews?kind=other', h.tokens.operator)).status).toBe(400);
  });
});

describe('as of a past instant', () => {
  it('before the contradiction: the earlier state and graph; after it: the contradiction', async () => {
    const before = AsOf.parse(await ok(`/v1/scopes/${scope}/as-of?at=${encodeURIComponent(t0)}`));
    expect(before).toMatchObject({ scope, at: t0, epoch: 0, state: { node: 'ContextIngested', epoch: 0 } });
    expect(before.graph.nodes.map((n) => n.node_id)).toEqual(expect.arrayContaining([claimA, claimB]));
    expect(before.graph.nodes.filter((n) => n.kind === 'claim')).toHaveLength(2);
    expect(before.graph.edges).toEqual([]);
    expect(before.graph.truncated).toBe(false);

    const after = AsOf.parse(await ok(`/v1/scopes/${scope}/as-of?at=${encodeURIComponent(t1)}`));
    expect(after).toMatchObject({ epoch: 1, state: { node: 'FactsExtracted', epoch: 1 } });
    expect(after.graph.edges.map((e) => [e.edge_id, e.status]).sort()).toEqual([[openEdge, 'active'], [resolvedEdge, 'resolved']].sort());

    // The epoch's own instant: when the scope entered it.
    const e1 = AsOf.parse(await ok(`/v1/scopes/${scope}/as-of?epoch=1`));
    expect(e1.state).toMatchObject({ node: 'FactsExtracted', epoch: 1 });
    expect(e1.at > t0 && e1.at < t1).toBe(true);
    expect(e1.graph.edges).toEqual([]);
    const e0 = AsOf.parse(await ok(`/v1/scopes/${scope}/as-of?epoch=0`));
    expect([e0.state.node, e0.graph.nodes.length]).toEqual(['ContextIngested', 0]);

    const cut = AsOf.parse(await ok(`/v1/scopes/${scope}/as-of?at=${encodeURIComponent(t1)}&limit=1`));
    expect([cut.graph.nodes.length, cut.graph.truncated]).toEqual([1, true]);
  });

  it('exactly one of at and epoch; an epoch not reached is 404', async () => {
    for (const q of ['', `?at=${encodeURIComponent(t0)}&epoch=1`, '?at=yesterday', '?epoch=-1', '?epoch=0&limit=1001']) {
      expect([q, (await get(`/v1/scopes/${scope}/as-of${q}`)).status]).toEqual([q, 400]);
    }
    const r = await get(`/v1/scopes/${scope}/as-of?epoch=99`);
    expect([r.status, errorCode(r.body)]).toEqual([404, 'epoch_not_found']);
  });
});

describe('read-only', () => {
  it('every read leaves every table as it was', async () => {
    const before = await databaseFingerprint(h.db);
    for (const path of [
      '/v1/scopes',
      '/v1/me',
      `/v1/scopes/${scope}/permissions`,
      `/v1/scopes/${scope}/facts`,
      `/v1/scopes/${scope}/timeline`,
      `/v1/scopes/${scope}/decisions`,
      `/v1/scopes/${scope}/briefings`,
      `/v1/scopes/${scope}/as-of?epoch=1`,
    ]) {
      await ok(path);
    }
    await ok('/v1/reviews', h.tokens.operator);
    expect(await databaseFingerprint(h.db)).toEqual(before);
  });
});
