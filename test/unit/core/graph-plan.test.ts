// planGraphUpdate: the facts step's decisions for claims without figures and for risks,
// with no database — including the document's own earlier writes, which the graph
// queried before the plan cannot show.
import { describe, expect, it } from 'vitest';
import type { GraphOp } from '../../../shared/domain/graph-ops.ts';
import { planGraphUpdate, type CurrentClaim, type PlanClaim } from '../../../shared/domain/graph-plan.ts';
import { SAME_CLAIM_MIN_COSINE } from '../../../shared/domain/similarity.ts';

const DIM = 8;
/** A unit-ish vector along axis `a`, a little along `b`. */
const vec = (a: number, b = (a + 1) % DIM, w = 0.1) => {
  const v = new Array<number>(DIM).fill(0);
  v[a] = 1;
  v[b] = w;
  return v;
};
const node = (nodeId: string, content: string, over: Partial<CurrentClaim> = {}): CurrentClaim => ({ nodeId, content, metric: null, status: 'active', hasEmbedding: true, ...over });
const claim = (text: string, vector: number[] | null = null, over: Partial<PlanClaim> = {}): PlanClaim => ({ text, confidence: 0.7, vector, ...over });
const empty = { nodes: new Map<string, CurrentClaim>(), sameText: [] as (string | undefined)[] };
const claimsOf = (ops: GraphOp[]) => ops.filter((o): o is Extract<GraphOp, { op: 'claim' }> => o.op === 'claim');

describe('planGraphUpdate', () => {
  it('a new claim is a node of its own; a claim with the same text as a current one restates it', () => {
    const now = { nodes: new Map([['n1', node('n1', 'The board approved the budget.')]]), sameText: [undefined, 'n1'] };
    const plan = planGraphUpdate({ docId: 'd2', claims: [claim('Churn fell.'), claim('the board approved the budget')], risks: [] }, now, [[], []]);
    const [a, b] = claimsOf(plan.ops);
    expect(a!.match).toBeUndefined();
    expect(b!.match).toEqual({ target: { nodeId: 'n1' }, by: 'text' });
  });

  it('an embedding neighbour at the threshold restates; below it, or one stating a figure, does not', () => {
    const now = { nodes: new Map([['near', node('near', 'A')], ['fig', node('fig', 'B 20', { metric: 'count' })], ['far', node('far', 'C')]]), sameText: [undefined, undefined, undefined] };
    const plan = planGraphUpdate(
      { docId: 'd', claims: [claim('x', vec(0)), claim('y', vec(1)), claim('z', vec(2))], risks: [] },
      now,
      [[{ nodeId: 'near', similarity: SAME_CLAIM_MIN_COSINE }], [{ nodeId: 'fig', similarity: 0.99 }], [{ nodeId: 'far', similarity: SAME_CLAIM_MIN_COSINE - 0.001 }]],
    );
    expect(claimsOf(plan.ops).map((o) => o.match)).toEqual([{ target: { nodeId: 'near' }, by: 'embedding' }, undefined, undefined]);
  });

  it("a claim inserted earlier in the document is matched by a later one, by text or by vector", () => {
    const plan = planGraphUpdate(
      { docId: 'd', claims: [claim('Office in Berlin.', vec(3)), claim('office in berlin'), claim('Berlin hosts the office', vec(3, 4, 0.12))], risks: [] },
      empty,
      [[], [], []],
    );
    const ops = claimsOf(plan.ops);
    expect(ops[0]!.match).toBeUndefined();
    expect(ops[1]!.match).toEqual({ target: { ref: 0 }, by: 'text' });
    expect(ops[2]!.match).toEqual({ target: { ref: 0 }, by: 'embedding' });
  });

  it("a node given a vector in this document (restated by text, or a figure claim) is a neighbour for the later claims", () => {
    // 'old' restated by text gets the first claim's vector; the third claim is near it only by that vector.
    const now = {
      nodes: new Map([['old', node('old', 'Ops moved to Lisbon.', { hasEmbedding: false })], ['fig', node('fig', 'Hires 20', { metric: 'count' })]]),
      sameText: ['old', undefined, undefined],
    };
    const plan = planGraphUpdate(
      {
        docId: 'd',
        claims: [claim('ops moved to lisbon', vec(5)), claim('Hires 20', vec(0), { figureNode: { nodeId: 'fig' } }), claim('Lisbon is where ops went', vec(5, 6, 0.12))],
        risks: [],
      },
      now,
      [[], [], []],
    );
    expect(plan.ops[1]).toEqual({ op: 'embed', target: { nodeId: 'fig' }, vector: vec(0) });
    expect(claimsOf(plan.ops)[1]!.match).toEqual({ target: { nodeId: 'old' }, by: 'embedding' });
  });

  it('only the nearest three count, metric claims included, as the graph query returns them', () => {
    // Three figure claims of this document sit nearer than the graph's match: it is out of the top three.
    const figures = ['f1', 'f2', 'f3'].map((id, i) => claim(`fig ${i}`, vec(0, 1, 0.01 * i), { figureNode: { nodeId: id } }));
    const now = { nodes: new Map([...['f1', 'f2', 'f3'].map((id) => [id, node(id, id, { metric: 'count' })] as const), ['g', node('g', 'G')]]), sameText: [] };
    const plan = planGraphUpdate({ docId: 'd', claims: [...figures, claim('q', vec(0, 1, 0.005))], risks: [] }, now, [[], [], [], [{ nodeId: 'g', similarity: 0.95 }]]);
    expect(claimsOf(plan.ops)[0]!.match).toBeUndefined();
  });

  it('figure claims only get their vector (or count as unembedded); risks carry their impact, halved when mitigated', () => {
    const plan = planGraphUpdate(
      { docId: 'd', claims: [claim('Hires 20', null, { figureNode: { nodeId: 'fig' } })], risks: [{ text: 'Vendor lock-in', severity: 'high' }, { text: 'FX', severity: 'critical', mitigation: 'hedged' }] },
      { nodes: new Map(), sameText: [] },
      [[]],
    );
    expect(plan.unembedded).toBe(1);
    expect(plan.ops).toEqual([
      { op: 'risk', content: 'Vendor lock-in', severity: 'high', riskDelta: 0.08 },
      { op: 'risk', content: 'FX', severity: 'critical', mitigation: 'hedged', riskDelta: 0.1 },
    ]);
  });
});
