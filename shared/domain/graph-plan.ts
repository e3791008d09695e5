// What one document changes in the semantic graph besides its figures, revisions and
// goals (domain/figure-plan.ts and its siblings): each claim without a figure is either
// a restatement of a claim the graph has — same sentence, or an embedding neighbour at
// SAME_CLAIM_MIN_COSINE — or a node of its own; each risk is a node plus the assessment
// the risk dimension reads. Pure: the caller reads the graph once, before this
// document's writes, and store/graph.ts applyGraphOps writes the ops in order.
//
// The graph is read before the document's writes, so the plan accounts for them
// itself, as a query between writes would have: a claim inserted earlier in the
// document is a candidate for the later ones, and a node that gets a vector in this
// document joins (or moves within) the nearest-neighbour candidates with it.
import { cosine } from '../extract/compare.ts';
import { matchClaim, type KnownClaim } from './match.ts';
import { SAME_CLAIM_MIN_COSINE } from './similarity.ts';
import type { NodeStatus, Severity } from './graph.ts';
import type { GraphOp, GraphPlan, Target } from './graph-ops.ts';

/** Impact of a risk on the scope's risk score, by severity; a mitigated risk counts half. */
export const RISK_DELTA = { low: 0.02, medium: 0.05, high: 0.08, critical: 0.2 } as const;

/** Neighbours looked at per claim, as the graph's nearest-claims query returns them (best first). */
export const CLAIM_NEIGHBOURS = 3;

export interface PlanClaim {
  text: string;
  confidence: number;
  section?: string;
  span?: [number, number];
  /** The sentence's vector, when the embeddings worker gave one. */
  vector: number[] | null;
  /** The node of a claim that states a figure (domain/figure-plan.ts): it only gets its vector. */
  figureNode?: Target;
}

export interface PlanRisk {
  text: string;
  severity: Severity;
  mitigation?: string;
}

/** A current claim node, as the plan needs it. */
export interface CurrentClaim {
  nodeId: string;
  content: string;
  metric: string | null;
  status: NodeStatus;
  hasEmbedding: boolean;
}

export interface GraphNow {
  /** Current nodes the plan may touch: same-text hits, neighbours, the figure claims' nodes. */
  nodes: ReadonlyMap<string, CurrentClaim>;
  /** Per claim: the current figure-free claim with the same text (content hash), if any. */
  sameText: readonly (string | undefined)[];
}

/** Per claim: the nearest current claims with a vector (any figure), best first, before this document's writes. */
export type Neighbours = readonly (readonly { nodeId: string; similarity: number }[])[];

/** Vectors are stored as float4: compare as the database will. */
const stored = (v: readonly number[]) => v.map(Math.fround);

/** The ops of claims without a figure and of risks; `first` is the index the first of them has in the document's plan. */
export function planGraphUpdate(doc: { docId: string; claims: readonly PlanClaim[]; risks: readonly PlanRisk[] }, now: GraphNow, neighbours: Neighbours, first = 0): GraphPlan {
  const ops: GraphOp[] = [];
  let unembedded = 0;
  // Nodes given a vector by this document so far (by id or ref key), with what the neighbour query would see of them.
  const embedded = new Map<string, { target: Target; vector: number[]; metric: boolean; content: string; active: boolean }>();
  const key = (t: Target) => ('ref' in t ? `ref:${t.ref}` : t.nodeId);
  const known: (KnownClaim & { target: Target })[] = [];
  const active = (n: CurrentClaim) => n.status === 'active' || n.status === 'in_progress';

  doc.claims.forEach((c, i) => {
    const v = c.vector;
    if (c.figureNode) {
      if (!v) {
        unembedded++;
        return;
      }
      ops.push({ op: 'embed', target: c.figureNode, vector: v });
      const n = 'nodeId' in c.figureNode ? now.nodes.get(c.figureNode.nodeId) : undefined;
      embedded.set(key(c.figureNode), { target: c.figureNode, vector: stored(v), metric: true, content: n?.content ?? c.text, active: n ? active(n) : true });
      return;
    }
    // The neighbour query at this point: the graph before the document, with this document's vectors in place.
    let near: { target: Target; similarity: number; metric: boolean; content: string }[] = [];
    if (v) {
      const q = stored(v);
      const fromGraph = (neighbours[i] ?? [])
        .filter((x) => !embedded.has(x.nodeId))
        .flatMap((x) => {
          const n = now.nodes.get(x.nodeId);
          return n ? [{ target: { nodeId: n.nodeId } as Target, similarity: x.similarity, metric: n.metric !== null, content: n.content }] : [];
        });
      const fromDoc = [...embedded.values()].filter((e) => e.active).map((e) => ({ target: e.target, similarity: cosine(q, e.vector), metric: e.metric, content: e.content }));
      near = [...fromGraph, ...fromDoc]
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, CLAIM_NEIGHBOURS)
        .filter((x) => x.similarity >= SAME_CLAIM_MIN_COSINE && !x.metric);
    }
    // A figure-less claim is matched only with figure-less claims: a changed number is not a paraphrase.
    const hit = now.sameText[i] ? now.nodes.get(now.sameText[i]!) : undefined;
    const candidates = [
      ...known,
      ...(hit ? [{ nodeId: hit.nodeId, content: hit.content, target: { nodeId: hit.nodeId } as Target }] : []),
      ...near.map((x) => ({ nodeId: key(x.target), content: x.content, target: x.target })),
    ];
    const m = matchClaim(c.text, candidates, near.map((x) => ({ nodeId: key(x.target), similarity: x.similarity })));
    const target = m ? candidates.find((k) => k.nodeId === m.nodeId)!.target : undefined;
    const ref = first + ops.length;
    ops.push({
      op: 'claim',
      ...(target ? { match: { target, by: m!.by } } : {}),
      content: c.text,
      confidence: c.confidence,
      ...(c.section ? { section: c.section } : {}),
      ...(c.span ? { span: c.span } : {}),
      ...(v ? { vector: v } : {}),
    });
    if (target) {
      // A restated node without a vector gets this one: later claims may find it by it.
      const k = key(target);
      const n = 'nodeId' in target ? now.nodes.get(target.nodeId) : undefined;
      const content = n?.content ?? candidates.find((x) => x.nodeId === k)!.content;
      if (v && !embedded.has(k) && !n?.hasEmbedding) embedded.set(k, { target, vector: stored(v), metric: false, content, active: n ? active(n) : true });
      return;
    }
    known.push({ nodeId: `ref:${ref}`, content: c.text, target: { ref } });
    if (v) embedded.set(`ref:${ref}`, { target: { ref }, vector: stored(v), metric: false, content: c.text, active: true });
  });

  for (const r of doc.risks) {
    ops.push({ op: 'risk', content: r.text, severity: r.severity, ...(r.mitigation ? { mitigation: r.mitigation } : {}), riskDelta: RISK_DELTA[r.severity] * (r.mitigation ? 0.5 : 1) });
  }
  return { docId: doc.docId, ops, unembedded };
}
