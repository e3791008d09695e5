// Semantic graph against the real Postgres + pgvector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planGraphUpdate, type PlanClaim } from '../../../shared/domain/graph-plan.ts';
import { inTransaction } from '../../../shared/store/db.ts';
import {
  applyGraphOps,
  edgeHistory,
  getNode,
  nearestClaims,
  nodeHistory,
  queryEdges,
  queryNodes,
  resolveEdge,
  readGraphForPlan,
  setEmbedding,
  upsertEdge,
  upsertNode,
} from '../../../shared/store/graph.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { freshDatabase, type TestDatabase } from '../../support/db.ts';

let db: TestDatabase;
const DIM = 384;
beforeAll(async () => {
  db = await freshDatabase({ poolMax: 12 });
  for (const s of ['g-time', 'g-conc', 'g-mono', 'g-nn', 'g-sync', 'g-edge']) await ensureScope(db.pool, null, { scope: s });
});
afterAll(async () => db?.drop());

/** A unit vector pointing mostly along axis `a`, a little along `b`. */
const vec = (a: number, b = (a + 1) % DIM, w = 0.1) => {
  const v = new Array<number>(DIM).fill(0);
  v[a] = 1;
  v[b] = w;
  return v;
};
const tick = () => new Promise((r) => setTimeout(r, 15));
const dbNow = async () => (await db.pool.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t;

describe('bitemporal nodes', () => {
  it('answers as-of queries on valid time, transaction time, and both; nothing is deleted', async () => {
    const q1 = new Date('2024-01-01T00:00:00Z');
    const q2 = new Date('2024-04-01T00:00:00Z');
    // Revenue 2.1M held from Q1; recorded at t0.
    const a = await upsertNode(db.pool, { scope: 'g-time', kind: 'claim', content: 'Q revenue is 2.1M', confidence: 0.6, createdBy: 'facts', validFrom: q1 });
    await tick();
    const t1 = await dbNow();
    await tick();
    // Later we learn it only held until Q2, and a new figure from Q2 on.
    await upsertNode(db.pool, { scope: 'g-time', kind: 'claim', content: 'Q revenue is 2.1M', nodeId: a.id, validTo: q2, createdBy: 'facts' });
    const b = await upsertNode(db.pool, { scope: 'g-time', kind: 'claim', content: 'Q revenue is 2.4M', confidence: 0.7, createdBy: 'facts', validFrom: q2 });
    await tick();
    const t2 = await dbNow();

    const contents = (ns: { content: string }[]) => ns.map((n) => n.content).sort();
    // Current knowledge, in the world in February: the old figure; in May: the new one.
    expect(contents(await queryNodes(db.pool, 'g-time', { validAt: new Date('2024-02-01T00:00:00Z') }))).toEqual(['Q revenue is 2.1M']);
    expect(contents(await queryNodes(db.pool, 'g-time', { validAt: new Date('2024-05-01T00:00:00Z') }))).toEqual(['Q revenue is 2.4M']);
    // What the database believed at t1 (before the correction) about May: the old figure, open-ended.
    expect(contents(await queryNodes(db.pool, 'g-time', { knownAt: t1, validAt: new Date('2024-05-01T00:00:00Z') }))).toEqual(['Q revenue is 2.1M']);
    expect((await getNode(db.pool, a.id, { knownAt: t1 }))!.validTo).toBeNull();
    expect((await getNode(db.pool, a.id, { knownAt: t2 }))!.validTo).toEqual(q2);
    // Transaction time alone.
    expect(contents(await queryNodes(db.pool, 'g-time', { knownAt: t1 }))).toEqual(['Q revenue is 2.1M']);
    expect(contents(await queryNodes(db.pool, 'g-time', { knownAt: t2 }))).toEqual(['Q revenue is 2.1M', 'Q revenue is 2.4M']);
    // Before anything was recorded: nothing.
    expect(await queryNodes(db.pool, 'g-time', { knownAt: new Date('2000-01-01T00:00:00Z') })).toEqual([]);
    // Supersede, never delete: both versions of a remain, chained in transaction time.
    const h = await nodeHistory(db.pool, a.id);
    expect(h).toHaveLength(2);
    expect(h[0]!.supersededAt).toEqual(h[1]!.recordedAt);
    expect(h[1]!.supersededAt).toBeNull();
    expect(b.action).toBe('insert');
    const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM graph_nodes WHERE scope_id = 'g-time'`);
    expect(Number(rows[0]!.n)).toBe(3);
  });
});

describe('monotonic upserts', () => {
  it('concurrent writers of one claim: confidence ends at the maximum and never decreases across versions', async () => {
    const confidences = Array.from({ length: 24 }, (_, i) => Math.round(((i * 7) % 24) / 24 * 100) / 100);
    const results = await Promise.all(
      confidences.map((c, i) => upsertNode(db.pool, { scope: 'g-conc', kind: 'claim', content: 'Headcount is 120', confidence: c, createdBy: `w${i}` })),
    );
    const ids = new Set(results.map((r) => r.id));
    expect(ids.size).toBe(1); // every writer found the same node
    const [id] = [...ids];
    const h = await nodeHistory(db.pool, id!);
    expect(h.filter((v) => v.supersededAt === null)).toHaveLength(1);
    for (let i = 1; i < h.length; i++) {
      expect(h[i]!.confidence).toBeGreaterThan(h[i - 1]!.confidence);
      expect(h[i - 1]!.supersededAt).toEqual(h[i]!.recordedAt);
    }
    expect(h.at(-1)!.confidence).toBe(Math.max(...confidences));
  });

  it('a lower confidence or an unchanged write makes no new version', async () => {
    const a = await upsertNode(db.pool, { scope: 'g-mono', kind: 'claim', content: 'CTO left in May', confidence: 0.8, createdBy: 'facts' });
    const b = await upsertNode(db.pool, { scope: 'g-mono', kind: 'claim', content: '  cto LEFT in may ', confidence: 0.3, createdBy: 'facts' });
    expect(b).toMatchObject({ id: a.id, action: 'noop' });
    expect(await nodeHistory(db.pool, a.id)).toHaveLength(1);
  });

  it('a resolved goal stays resolved', async () => {
    const g = await upsertNode(db.pool, { scope: 'g-mono', kind: 'goal', content: 'Pass SOC 2', createdBy: 'facts' });
    await upsertNode(db.pool, { scope: 'g-mono', kind: 'goal', content: 'Pass SOC 2', status: 'resolved', createdBy: 'resolution' });
    const again = await upsertNode(db.pool, { scope: 'g-mono', kind: 'goal', content: 'Pass SOC 2', status: 'active', createdBy: 'facts' });
    expect(again.action).toBe('noop');
    expect((await getNode(db.pool, g.id))!.status).toBe('resolved');
  });
});

describe('edges', () => {
  it('a resolved contradiction never re-opens; contradicts is symmetric', async () => {
    const a = await upsertNode(db.pool, { scope: 'g-edge', kind: 'claim', content: 'Hiring 20 engineers', createdBy: 'facts' });
    const b = await upsertNode(db.pool, { scope: 'g-edge', kind: 'claim', content: 'Hiring 15 engineers', createdBy: 'facts' });
    const e = await upsertEdge(db.pool, { scope: 'g-edge', kind: 'contradicts', sourceId: a.id, targetId: b.id, createdBy: 'facts' });
    const same = await upsertEdge(db.pool, { scope: 'g-edge', kind: 'contradicts', sourceId: b.id, targetId: a.id, createdBy: 'facts' });
    expect(same).toMatchObject({ id: e.id, action: 'noop' });
    await resolveEdge(db.pool, 'g-edge', e.id, 'human:alice', '15 external, 20 incl. internal');
    const reopened = await Promise.all(
      Array.from({ length: 5 }, () => upsertEdge(db.pool, { scope: 'g-edge', kind: 'contradicts', sourceId: a.id, targetId: b.id, status: 'active', createdBy: 'facts' })),
    );
    expect(reopened.every((r) => r.action === 'noop')).toBe(true);
    const [cur] = await queryEdges(db.pool, 'g-edge', { kinds: ['contradicts'] });
    expect(cur).toMatchObject({ status: 'resolved', metadata: { resolved_by: 'human:alice' } });
    expect((await edgeHistory(db.pool, e.id)).map((v) => v.status)).toEqual(['active', 'resolved']);
  });

  it('refuses edges to unknown nodes and to itself', async () => {
    const a = await upsertNode(db.pool, { scope: 'g-edge', kind: 'claim', content: 'X', createdBy: 'facts' });
    await expect(upsertEdge(db.pool, { scope: 'g-edge', kind: 'supports', sourceId: a.id, targetId: '00000000-0000-4000-8000-000000000000', createdBy: 'f' })).rejects.toThrow(/not current nodes/);
    await expect(upsertEdge(db.pool, { scope: 'g-edge', kind: 'supports', sourceId: a.id, targetId: a.id, createdBy: 'f' })).rejects.toThrow(/two different/);
  });
});

describe('nearest-neighbour matching', () => {
  it('finds the closest current claims by cosine similarity', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await upsertNode(db.pool, { scope: 'g-nn', kind: 'claim', content: `claim ${i}`, createdBy: 'facts', embedding: vec(i * 10) })).id);
    const near = await nearestClaims(db.pool, 'g-nn', vec(20, 21, 0.2), { k: 2 });
    expect(near[0]!.node.nodeId).toBe(ids[2]);
    expect(near[0]!.similarity).toBeGreaterThan(0.99);
    expect(near[1]!.similarity).toBeLessThan(0.1);
    expect(await nearestClaims(db.pool, 'g-nn', vec(20, 21, 0.2), { minSimilarity: 0.9 })).toHaveLength(1);
    // Other scopes are not searched; an embedding keeps no new version.
    expect(await nearestClaims(db.pool, 'g-time', vec(20))).toEqual([]);
    expect(await setEmbedding(db.pool, ids[0]!, vec(300))).toBe(true);
    expect(await nodeHistory(db.pool, ids[0]!)).toHaveLength(1);
    await expect(setEmbedding(db.pool, ids[0]!, [1, 2, 3])).rejects.toThrow(/dimensions/);
  });

  it("a document's graph plan: a reworded claim restates the node by embedding, corroborated, never lowered; risks get their assessment", async () => {
    const apply = (docId: string, claims: PlanClaim[], risks: { text: string; severity: 'high' }[] = []) =>
      inTransaction(db.pool, async (tx) => {
        const { now, neighbours } = await readGraphForPlan(tx, 'g-sync', claims);
        return applyGraphOps(tx, 'g-sync', 'facts', planGraphUpdate({ docId, claims, risks }, now, neighbours));
      });
    const claim = (text: string, confidence: number, vector: number[] | null): PlanClaim => ({ text, confidence, vector });
    expect(await apply('doc-1', [claim('ARR is 50M', 0.6, vec(1)), claim('Office in Berlin', 0.9, null)], [{ text: 'Key person risk', severity: 'high' }])).toEqual({ unembedded: 1, contradictionsFound: 0 });
    const first = await queryNodes(db.pool, 'g-sync', { kinds: ['claim'] });
    const arr = first.find((n) => n.content === 'ARR is 50M')!;
    // Other words, same claim (by vector); the same sentence again (by text); within the document, a paraphrase of its own new claim.
    expect(
      await apply('doc-2', [claim('Annual recurring revenue is 50M', 0.8, vec(1, 2, 0.12)), claim('office in berlin', 0.2, null), claim('Churn fell', 0.5, vec(50)), claim('Churn has fallen', 0.5, vec(50, 51, 0.12))]),
    ).toEqual({ unembedded: 0, contradictionsFound: 0 });
    const now = await getNode(db.pool, arr.nodeId);
    expect(now).toMatchObject({ content: 'ARR is 50M', sourceRef: { docs: ['doc-1', 'doc-2'] }, metadata: { 'restated_in_doc-2': 'embedding' } });
    expect(now!.confidence).toBeGreaterThan(0.6);
    const berlin = (await queryNodes(db.pool, 'g-sync', { kinds: ['claim'] })).find((n) => n.content === 'Office in Berlin')!;
    expect(berlin).toMatchObject({ hasEmbedding: false, metadata: { 'restated_in_doc-2': 'text' } });
    expect(berlin.confidence).toBeGreaterThanOrEqual(0.9); // a weak restatement never lowers it
    const churn = (await queryNodes(db.pool, 'g-sync', { kinds: ['claim'] })).filter((n) => n.content.startsWith('Churn'));
    expect(churn).toHaveLength(1);
    expect(churn[0]!.metadata).toMatchObject({ 'restated_in_doc-2': 'embedding' });
    const [assessment] = await queryNodes(db.pool, 'g-sync', { kinds: ['assessment'] });
    expect(assessment).toMatchObject({ content: 'Impact of risk: Key person risk', metadata: { risk_delta: 0.08, mitigated: false } });
  });
});
