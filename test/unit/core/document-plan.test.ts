// planDocument: the facts step's decisions for a whole document (revisions, figures,
// goals, other claims), with no database. The scope is read before the document's
// writes, so the plan must see what those writes change as the queries between them
// did: figures its revisions retired, disputes they settled, contradictions and nodes
// it inserted earlier.
import { describe, expect, it } from 'vitest';
import { planDocument, type DocumentNow } from '../../../shared/domain/document-plan.ts';
import { pairKey, type ClaimFigureRead, type FigureFact } from '../../../shared/domain/figure-plan.ts';
import type { GraphOp } from '../../../shared/domain/graph-ops.ts';
import type { CurrentClaim } from '../../../shared/domain/graph-plan.ts';
import { REVISION_CANDIDATE_CONTRADICTIONS, type OpenDispute, type RevisionRead } from '../../../shared/domain/revision-plan.ts';
import { subjectText } from '../../../shared/extract/compare.ts';
import type { ClaimFact, DocumentFacts, Revision } from '../../../shared/extract/extract.ts';
import type { Statement } from '../../../shared/extract/types.ts';

const DIM = 4;
const axis = (a: number) => Array.from({ length: DIM }, (_, i) => (i === a ? 1 : 0));
const usd = (m: number) => ({ kind: 'money' as const, value: m * 1e6 });
const st = (m: number, subject = 'total cost'): Statement => ({ subject, metric: 'USD', value: usd(m), surface: `USD ${m}M` });
const COST = subjectText(st(1));
/** The subject under test has a vector along axis 0; the fillers' subjects are orthogonal to it. */
const vectors = { of: (t: string) => (t === COST ? axis(0) : null) };

let ids = 0;
const fig = (nodeId: string, m: number, subject = 'total cost', vector = axis(0)): FigureFact => ({
  figureId: ++ids, nodeId, docId: 'd0', metric: 'USD', subject, subjectText: subject, vector, statement: st(m, subject), sentence: `The ${subject} is USD ${m}M.`,
});
const filler = (i: number) => fig(`filler-${i}`, 1000 + i, `unrelated line ${i}`, axis(1));
const node = (nodeId: string, over: Partial<CurrentClaim> = {}): CurrentClaim => ({ nodeId, content: nodeId, metric: 'USD', status: 'active', hasEmbedding: false, ...over });
const claim = (m: number, over: Partial<ClaimFact> = {}): ClaimFact => ({ text: `The total cost is USD ${m}M.`, confidence: 0.7, statement: st(m), ...over });
const facts = (over: Partial<DocumentFacts>): DocumentFacts => ({ title: 't', claims: [], goals: [], risks: [], assumptions: [], revisions: [], goalUpdates: [], acronyms: {}, ...over });
const revise = (from: number, to: number): Revision => ({ subject: 'total cost', metric: 'USD', from: usd(from), to: usd(to), kind: 'revision', text: `Total cost revised from ${from}M to ${to}M.` });
const dispute = (edgeId: string, a: [string, number], b: [string, number], metric = 'USD'): OpenDispute => ({
  edgeId, sourceId: a[0], targetId: b[0],
  metadata: { subject: 'total cost', metric, unit: null, period: null, found_in: 'd0', sides: [a, b].map(([id, m]) => ({ node_id: id, value: usd(m), display: String(m) })) },
});
const figureRead = (near: FigureFact[], over: Partial<ClaimFigureRead> = {}): ClaimFigureRead => ({ candidates: { near, unembedded: [] }, ...over });

function now(over: { revisions?: RevisionRead[]; claims?: (ClaimFigureRead | undefined)[]; nodes?: string[]; contradictions?: string[]; graph?: DocumentNow['graph'] } = {}): DocumentNow {
  return {
    revisions: over.revisions ?? [],
    figures: { claims: over.claims ?? [], nodes: new Map((over.nodes ?? []).map((id) => [id, node(id)])), contradictions: new Set(over.contradictions ?? []) },
    goals: [],
    graph: over.graph ?? { nodes: new Map(), sameText: [] },
    neighbours: [],
  };
}
const plan = (f: DocumentFacts, n: DocumentNow) => planDocument({ docId: 'd1', facts: f, terms: {}, vectors }, n);
const kinds = (ops: GraphOp[]) => ops.map((o) => o.op);
const of = <K extends GraphOp['op']>(ops: GraphOp[], k: K) => ops.filter((o): o is Extract<GraphOp, { op: K }> => o.op === k);

describe('planDocument: revisions before figures', () => {
  // X (62) and Y (71) are in dispute; "revised from 62 to 71" settles it and retires X's figure.
  const fx = fig('X', 62);
  const fy = fig('Y', 71);
  const fz = fig('Z', 62); // another document's 62, further down the nearest figures
  const revision: RevisionRead = { open: [dispute('e', ['X', 62], ['Y', 71])], figuresOf: new Map([['X', [fx]], ['Y', [fy]]]), retire: { near: [fx, fy], unembedded: [] } };
  const fillers = Array.from({ length: 23 }, (_, i) => filler(i));

  it("a figure this document's revision retired is no candidate for its claims, and the one past the limit takes its place", () => {
    // The read took 25 (24 + the one the revision may retire); the query after the retirement returns fz as the 24th.
    const p = plan(facts({ revisions: [revise(62, 71)], claims: [claim(62)] }), now({ revisions: [revision], claims: [figureRead([fx, ...fillers, fz])], nodes: ['X', 'Y', 'Z'] }));
    expect(kinds(p.ops)).toEqual(['resolve', 'retire', 'restate-figure', 'figure']);
    expect(p.ops[0]).toMatchObject({ sourceId: 'X', targetId: 'Y', resolution: { doc: 'd1', how: 'restated', accepted_node: 'Y', accepted: '71' } });
    expect(p.ops[1]).toEqual({ op: 'retire', figureIds: [fx.figureId] });
    expect(p.ops[2]).toMatchObject({ nodeId: 'Z' });
    expect(p).toMatchObject({ contradictionsResolved: 1, figuresRevised: 1, restatements: 1 });
    expect(p.claimNodes.get(0)).toEqual({ nodeId: 'Z' });
  });

  it('without the revision the same read is cut at the limit: the retired-to-be figure is the match, the 25th is not seen', () => {
    const p = plan(facts({ claims: [claim(62)] }), now({ claims: [figureRead([fx, ...fillers, fz])], nodes: ['X', 'Y', 'Z'] }));
    expect(p.ops[0]).toMatchObject({ op: 'restate-figure', nodeId: 'X' });
    // One more filler: fz is 26th, past the room the retirement made.
    const q = plan(facts({ revisions: [revise(62, 71)], claims: [claim(62)] }), now({ revisions: [revision], claims: [figureRead([fx, ...fillers, filler(99), fz])], nodes: ['X', 'Y', 'Z'] }));
    expect(kinds(q.ops)).toEqual(['resolve', 'retire', 'figure-claim', 'figure']);
  });

  it('a dispute settled by an earlier revision is not settled again, and the next one moves within the limit', () => {
    const others = Array.from({ length: REVISION_CANDIDATE_CONTRADICTIONS - 1 }, (_, i) => dispute(`o${i}`, [`p${i}`, 1], [`q${i}`, 2], 'percent'));
    const second = dispute('e2', ['P', 62], ['Q', 71]);
    const figuresOf = new Map([['X', [fx]], ['Y', [fy]], ['P', [fig('P', 62)]], ['Q', [fig('Q', 71)]]]);
    // The second revision's read: e, 499 disputes it cannot settle, then e2 (501: one more for e, which the first may settle).
    const read: RevisionRead = { open: [dispute('e', ['X', 62], ['Y', 71]), ...others, second], figuresOf, retire: { near: [], unembedded: [] } };
    const both = plan(facts({ revisions: [revise(62, 71), revise(62, 71)] }), now({ revisions: [revision, read] }));
    expect(of(both.ops, 'resolve').map((o) => [o.sourceId, o.targetId])).toEqual([['X', 'Y'], ['P', 'Q']]);
    expect(both.contradictionsResolved).toBe(2);
    // Alone, the second revision settles e and e2 is past the limit.
    const alone = plan(facts({ revisions: [revise(62, 71)] }), now({ revisions: [read] }));
    expect(of(alone.ops, 'resolve').map((o) => [o.sourceId, o.targetId])).toEqual([['X', 'Y']]);
  });
});

describe('planDocument: figures against the scope and against the document itself', () => {
  const f20 = fig('A', 20);
  const f15 = fig('B', 15);

  it('two claims restating one node restate it twice; a contradiction written for the first exists for the second', () => {
    const read = figureRead([f20, f15]);
    const p = plan(facts({ claims: [claim(20), claim(20, { text: 'Total cost: USD 20M.' })] }), now({ claims: [read, read], nodes: ['A', 'B'] }));
    expect(kinds(p.ops)).toEqual(['restate-figure', 'figure', 'contradiction', 'restate-figure', 'figure']);
    expect(of(p.ops, 'restate-figure').map((o) => o.nodeId)).toEqual(['A', 'A']);
    expect(of(p.ops, 'contradiction')[0]).toMatchObject({ node: { nodeId: 'A' }, value: usd(20), other: 'B', otherValue: usd(15), meta: { subject: 'total cost', metric: 'USD', found_in: 'd1' } });
    expect(p.restatements).toBe(2);
  });

  it('a pair already contradicted in the scope (any status) gets no new edge', () => {
    const read = figureRead([f20, f15]);
    const p = plan(facts({ claims: [claim(20)] }), now({ claims: [read], nodes: ['A', 'B'], contradictions: [pairKey('B', 'A')] }));
    expect(kinds(p.ops)).toEqual(['restate-figure', 'figure']);
  });

  it('a new value is a node of its own, named by its op in the ops after it; each pair with it once', () => {
    const read = figureRead([f20, f15]);
    const p = plan(
      facts({ claims: [claim(30), claim(30)] }),
      now({ claims: [read, read], nodes: ['A', 'B'], graph: { nodes: new Map(), sameText: [undefined, undefined] } }),
    );
    // Twins (same sentence, same figure) have one content: the second lands on the first's node.
    expect(kinds(p.ops)).toEqual(['figure-claim', 'figure', 'contradiction', 'contradiction', 'figure-claim', 'figure']);
    expect(p.ops[0]).toMatchObject({ content: 'The total cost is USD 30M. [total cost: USD 30M]', subject: 'total cost', metric: 'USD', value: { kind: 'money', value: 30e6, surface: 'USD 30M', display: '30000000' } });
    for (const i of [1, 2, 3, 5]) expect(p.ops[i]).toMatchObject({ node: { ref: 0 } });
    expect(of(p.ops, 'contradiction').map((o) => o.other)).toEqual(['A', 'B']);
    expect(p.claimNodes).toEqual(new Map([[0, { ref: 0 }], [1, { ref: 0 }]]));
  });

  it('a value the sentence denies finds its figure whatever the words', () => {
    const other = fig('N', 63.5, 'net output', axis(2));
    const p = plan(
      facts({ claims: [claim(58.9, { statement: { ...st(58.9), denies: usd(63.5) } })] }),
      now({ claims: [figureRead([], { denied: [other] })], nodes: ['N'] }),
    );
    expect(of(p.ops, 'contradiction')).toMatchObject([{ node: { ref: 0 }, other: 'N' }]);
  });

  it("a new claim whose text a node has lands on that node: later claims see it as a figure's node", () => {
    // W: a claim without a figure until now, with this sentence; the third claim says it again, without a figure.
    const text = 'The total cost is USD 30M.';
    const p = plan(
      facts({ claims: [claim(30), { text: 'Something else.', confidence: 0.5 }, { text, confidence: 0.5 }] }),
      now({
        claims: [figureRead([], { sameContent: 'W' }), undefined, undefined],
        graph: { nodes: new Map([['W', node('W', { content: text, metric: null })]]), sameText: [undefined, undefined, 'W'] },
      }),
    );
    expect(p.ops[1]).toMatchObject({ op: 'figure', node: { nodeId: 'W' } });
    expect(p.claimNodes.get(0)).toEqual({ nodeId: 'W' });
    // W states a figure now: the same sentence without one is not a restatement of it.
    expect(of(p.ops, 'claim').map((o) => o.match)).toEqual([undefined, undefined]);
  });

  it("a figure claim's node gets the sentence's vector, by ref when new", () => {
    const v = axis(3);
    const p = planDocument(
      { docId: 'd1', facts: facts({ claims: [claim(30)] }), terms: {}, vectors: { of: (t) => (t === 'The total cost is USD 30M.' ? v : vectors.of(t)) } },
      now({ claims: [figureRead([])], graph: { nodes: new Map(), sameText: [undefined] } }),
    );
    expect(p.ops).toContainEqual({ op: 'embed', target: { ref: 0 }, vector: v });
    expect(p.unembedded).toBe(0);
  });
});

describe('planDocument: goals', () => {
  it('a revised target supersedes the goal that set the old one; new goals join open', () => {
    const target: Statement = { subject: 'engineers hired', metric: 'count:engineer', value: { kind: 'count', value: 20 }, surface: '20 engineers', role: 'target' };
    const goals = [{ id: 'G', text: 'Hire 20 engineers by Q4.', doc: 'd0', state: 'open' as const, target }];
    const rev: Revision = { subject: 'engineers hired', metric: 'count:engineer', from: { kind: 'count', value: 20 }, to: { kind: 'count', value: 15 }, kind: 'revision', text: 'The hiring target was revised from 20 to 15 engineers.' };
    const n = { ...now({ revisions: [{ open: [], figuresOf: new Map(), retire: { near: [], unembedded: [] } }] }), goals };
    const p = plan(facts({ revisions: [rev], goals: [{ text: 'Hire 15 engineers by Q4.' }] }), n);
    expect(p.ops).toEqual([
      { op: 'goal-state', nodeId: 'G', content: 'Hire 20 engineers by Q4.', status: 'irrelevant', metadata: { state: 'superseded', state_by: 'd1', state_text: rev.text, state_span: null } },
      { op: 'goal', content: 'Hire 15 engineers by Q4.', metadata: { state: 'open' } },
    ]);
    expect(p.goalChanges).toEqual([{ goalId: 'G', state: 'superseded' }]);
  });
});
