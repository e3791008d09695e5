// A document read once, planned, then written (the facts step's merge), against
// Postgres: what the document's own earlier writes change for its later claims is what
// the queries between the writes returned — a figure its revision retired is gone from
// the nearest figures and the next one takes its place, a node restated twice is
// corroborated twice, and a new contradiction counts as found when its edge is inserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDocument, type DocumentInput } from '../../../shared/domain/document-plan.ts';
import { corroborate } from '../../../shared/domain/match.ts';
import { subjectText } from '../../../shared/extract/compare.ts';
import type { ClaimFact, DocumentFacts } from '../../../shared/extract/extract.ts';
import type { Statement } from '../../../shared/extract/types.ts';
import { inTransaction } from '../../../shared/store/db.ts';
import { readDocumentForPlan } from '../../../shared/store/document-read.ts';
import { candidateFigures, insertFigure } from '../../../shared/store/figures.ts';
import { applyGraphOps, getNode, queryEdges, upsertEdge, upsertNode } from '../../../shared/store/graph.ts';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { freshDatabase, type TestDatabase } from '../../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase({ poolMax: 4 });
});
afterAll(async () => db?.drop());

const DIM = 384;
/** Along axis 0 (the subject under test), leaning `w` towards axis `b`: further off as w grows. */
const near0 = (b?: number, w = 0) => {
  const v = new Array<number>(DIM).fill(0);
  v[0] = 1;
  if (b !== undefined) v[b] = w;
  return v;
};
const usd = (m: number) => ({ kind: 'money' as const, value: m * 1e6 });
const st = (m: number, period: string): Statement => ({ subject: 'total cost', metric: 'USD', period, value: usd(m), surface: `USD ${m}M` });
const facts = (over: Partial<DocumentFacts>): DocumentFacts => ({ title: 't', claims: [], goals: [], risks: [], assumptions: [], revisions: [], goalUpdates: [], acronyms: {}, ...over });

describe('a document read once, planned, and written', () => {
  it("its revision's retirement, its repeated restatement and its new contradiction, as the interleaved queries saw them", async () => {
    const scope = 'dp-doc';
    await ensureScope(db.pool, null, { scope });
    const put = async (doc: string, m: number, period: string, vector: number[]) => {
      const s = st(m, period);
      const n = await upsertNode(db.pool, { scope, kind: 'claim', content: `${doc}: the total cost is USD ${m}M (${period}).`, createdBy: 'facts', confidence: 0.6, sourceDoc: doc, sourceRef: { docs: [doc] }, subject: s.subject, metric: s.metric, value: s.value });
      const figureId = await insertFigure(db.pool, { scope, nodeId: n.id, docId: doc, statement: s, subjectText: 'total cost', vector, sentence: 'x' });
      return { nodeId: n.id, figureId };
    };
    // X (62) and Y (71) in dispute; 23 figures of another year nearer the subject than Z (62 again).
    const x = await put('doc-x', 62, 'FY2026', near0());
    const y = await put('doc-y', 71, 'FY2026', near0(300, 0.7));
    for (let i = 0; i < 23; i++) await put(`doc-f${i}`, 62, 'FY2019', near0(100 + i, 0.01 * (i + 1)));
    const z = await put('doc-z', 62, 'FY2026', near0(200, 0.5));
    const [a, b] = [x.nodeId, y.nodeId].sort();
    const side = (id: string) => ({ node_id: id, value: usd(id === x.nodeId ? 62 : 71), display: id === x.nodeId ? '62' : '71' });
    const dispute = await upsertEdge(db.pool, {
      scope, kind: 'contradicts', sourceId: a!, targetId: b!, createdBy: 'facts',
      metadata: { subject: 'total cost', metric: 'USD', unit: null, period: 'FY2026', found_in: 'doc-y', sides: [side(a!), side(b!)] },
    });
    // Before the document, X is the nearest 62 of FY2026 and Z is out of the nearest 24.
    const before = await candidateFigures(db.pool, scope, { metric: 'USD', vector: near0(), excludeDoc: 'd1' });
    expect(before.map((f) => f.figureId)).toContain(x.figureId);
    expect(before.map((f) => f.figureId)).not.toContain(z.figureId);

    const claim = (m: number, text: string): ClaimFact => ({ text, confidence: 0.7, statement: st(m, 'FY2026') });
    const input: DocumentInput = {
      docId: 'd1',
      facts: facts({
        // "instead of": settles the dispute (and retires X's figure) without retiring every 62.
        revisions: [{ subject: 'total cost', metric: 'USD', period: 'FY2026', from: usd(62), to: usd(71), kind: 'replacement', text: 'The total cost is USD 71M instead of 62M.' }],
        claims: [claim(62, 'The total cost is USD 62M.'), claim(62, 'Total cost: USD 62M.'), claim(80, 'The total cost is USD 80M.')],
      }),
      terms: {},
      vectors: { of: (t) => (t === subjectText(st(1, 'FY2026')) ? near0() : null) },
    };
    const { plan, written } = await inTransaction(db.pool, async (tx) => {
      const plan = planDocument(input, await readDocumentForPlan(tx, scope, input));
      return { plan, written: await applyGraphOps(tx, scope, 'facts', plan) };
    });
    expect(plan).toMatchObject({ contradictionsResolved: 1, figuresRevised: 1, restatements: 2 });
    expect(written).toEqual({ unembedded: 3, contradictionsFound: 1 });

    // With X retired, the query the claims made between the writes had Z in its 24: both restate Z.
    const after = await candidateFigures(db.pool, scope, { metric: 'USD', vector: near0(), excludeDoc: 'd1' });
    expect(after.map((f) => f.figureId)).toContain(z.figureId);
    expect(after.map((f) => f.figureId)).not.toContain(x.figureId);
    const zNow = await getNode(db.pool, z.nodeId);
    expect(zNow!.confidence).toBeCloseTo(corroborate(corroborate(0.6, 0.7), 0.7), 10);
    expect(zNow!.sourceRef).toEqual({ docs: ['doc-z', 'd1'] });
    expect(zNow!.metadata).toMatchObject({ 'restated_in_d1': 'embedding' });

    const edges = await queryEdges(db.pool, scope, { kinds: ['contradicts'] });
    expect(edges.find((e) => e.edgeId === dispute.id)).toMatchObject({ status: 'resolved', metadata: { resolved_by: 'facts', resolution: { doc: 'd1', how: 'restated', accepted_node: y.nodeId, accepted: '71' } } });
    // The 80 contradicts Z (and not X, retired): its sides in node id order, as the edge's ends.
    const fresh = edges.filter((e) => e.edgeId !== dispute.id);
    expect(fresh).toHaveLength(1);
    const e = fresh[0]!;
    expect([e.sourceId, e.targetId]).toContain(z.nodeId);
    expect(e.sourceId < e.targetId).toBe(true);
    const sides = (e.metadata as { sides: { node_id: string; display: string }[] }).sides;
    expect(sides.map((s) => s.node_id)).toEqual([e.sourceId, e.targetId]);
    expect(sides.find((s) => s.node_id === z.nodeId)!.display).toBe('62000000');
    expect(e.metadata).toMatchObject({ found_in: 'd1', subject: 'total cost', period: 'FY2026' });
  });
});
