// Each figure a document states against the figures index: the same figure with an
// agreeing value is a restatement of its node, with another value a contradiction
// (one per pair of value nodes, whatever happened to it since). Pure: the caller reads
// the candidates once, before the document's writes (store/document-read.ts), and
// this plan accounts for what those writes change: the figures its revisions retired
// are no longer candidates (the read took that many more to fill their places), a
// contradiction inserted for an earlier claim exists for the later ones, and a new
// claim whose text a node already has updates that node (upsert by content).
import { formatValue, identifiersCompatible, periodsCompatible, sameFigure, similarity, subjectText, unitsCompatible, valuesAgree, type Similarity } from '../extract/compare.ts';
import type { ClaimFact, DocumentFacts } from '../extract/extract.ts';
import type { Statement } from '../extract/types.ts';
import { contentHash } from './graph.ts';
import type { GraphOp, Target } from './graph-ops.ts';
import type { CurrentClaim } from './graph-plan.ts';

/** One figure of the index: which claim node states which value, in which document. */
export interface FigureFact {
  figureId: number;
  nodeId: string;
  docId: string;
  metric: string;
  subject: string;
  subjectText: string;
  vector: number[] | null;
  statement: Statement;
  sentence: string;
}

export interface Vectors {
  /** Vector of a text (a subject phrase, a sentence), when the embeddings worker gave one. */
  of(text: string): number[] | null;
}

/** Current figures of other documents nearest a subject, as store/figures.ts candidateFigures reads them. */
export const CANDIDATE_FIGURES = 24;
/** Current figures of other documents with a value a sentence denies, at most. */
export const DENIED_FIGURES = 20;

/**
 * A candidateFigures lookup in its two parts (nearest subjects; figures without a vector,
 * newest first), each read with room for the figures this document may retire first.
 */
export interface CandidateRead {
  near: FigureFact[];
  unembedded: FigureFact[];
}

/** The lookup as it would have returned after `retired` were retired: the same figures, in the same order. */
export function unretired(read: CandidateRead, retired: ReadonlySet<number>, limit: number, vector: boolean): FigureFact[] {
  const keep = (fs: FigureFact[]) => fs.filter((f) => !retired.has(f.figureId));
  return [...keep(read.near).slice(0, limit), ...keep(read.unembedded).slice(0, vector ? limit : limit * 4)];
}

export interface ClaimFigureRead {
  candidates: CandidateRead;
  /** Figures stating the value the claim denies ("rather than 63.5 kt"), newest first, with room for retired ones. */
  denied?: FigureFact[];
  /** The current claim node with this claim's content, which inserting the claim updates instead. */
  sameContent?: string;
}

export interface FigureClaimsNow {
  /** Per claim index, for claims that state a figure. */
  claims: readonly (ClaimFigureRead | undefined)[];
  /** Current nodes of the candidate figures and of the same-content hits. */
  nodes: ReadonlyMap<string, CurrentClaim>;
  /** Contradictions (any status) between any two of those nodes, as pairKey. */
  contradictions: ReadonlySet<string>;
}

/** Key of an unordered pair of nodes (ids, or `ref:n` for a node of this document). */
export const pairKey = (a: string, b: string) => [a, b].sort().join(' ');

export const statementValue = (s: Statement) => ({
  ...s.value,
  ...(s.period ? { period: s.period } : {}),
  ...(s.unit ? { unit: s.unit } : {}),
  surface: s.surface,
  display: formatValue(s.value),
});

/** A claim that states two figures of one sentence needs its own text per figure. */
export function claimContent(claims: readonly ClaimFact[], i: number): string {
  const c = claims[i]!;
  const twins = claims.filter((x) => x.text === c.text && x.statement).length;
  return twins > 1 && c.statement ? `${c.text} [${c.statement.subject}: ${c.statement.surface}]` : c.text;
}

const targetVsActual = (a: Statement, b: Statement) =>
  (a.role === 'target' && b.role !== 'target' && !b.modal) || (b.role === 'target' && a.role !== 'target' && !a.modal);

export interface FigureClaimsPlan {
  ops: GraphOp[];
  /** Claim index → the node of its figure. */
  claimNodes: Map<number, Target>;
  restatements: number;
  /** Figure-free nodes this document's new figure claims update by content: they get a metric. */
  metricOf: Map<string, string>;
}

/** The figures' ops; `first` is the index the first of them has in the document's plan. */
export function planFigureClaims(
  doc: { docId: string; facts: Pick<DocumentFacts, 'claims'>; terms: Readonly<Record<string, string>>; vectors: Vectors },
  now: FigureClaimsNow,
  retired: ReadonlySet<number>,
  first: number,
): FigureClaimsPlan {
  const { docId, terms, vectors } = doc;
  const claims = doc.facts.claims;
  const out: FigureClaimsPlan = { ops: [], claimNodes: new Map(), restatements: 0, metricOf: new Map() };
  const pairs = new Set(now.contradictions);
  // Content hash → the node a new claim with that content lands on (a node of the graph, or one inserted earlier here).
  const byContent = new Map<string, { target: Target; key: string }>();

  for (let i = 0; i < claims.length; i++) {
    const c = claims[i]!;
    const st = c.statement;
    if (!st) continue;
    const read = now.claims[i]!;
    const text = subjectText(st, terms);
    const vector = vectors.of(text);
    const candidates = unretired(read.candidates, retired, CANDIDATE_FIGURES, !!vector);
    const same: { f: FigureFact; s: Similarity }[] = candidates
      .map((f) => ({ f, s: similarity({ text, vector }, { text: f.subjectText, vector: f.vector }) }))
      // A goal's target and an actual stated as fact are different figures ("cut leakage to 15%" vs "leakage was
      // 19.4%"); a target and a plan ("we will hire 20") are not.
      .filter((x) => !targetVsActual(st, x.f.statement) && sameFigure(st, x.f.statement, x.s))
      .sort((a, b) => b.s.score - a.s.score);
    // "58.9 kt rather than 63.5 kt": whoever states the denied value is stating this figure, whatever words they used.
    if (st.denies) {
      const denied = (read.denied ?? []).filter((f) => !retired.has(f.figureId)).slice(0, DENIED_FIGURES);
      for (const f of denied) {
        if (same.some((x) => x.f.figureId === f.figureId) || !unitsCompatible(st, f.statement) || !periodsCompatible(st.period, f.statement.period) || !identifiersCompatible(st, f.statement)) continue;
        if (!valuesAgree(f.statement.value, st.denies)) continue;
        same.push({ f, s: { score: 1, by: 'embedding' } });
      }
    }
    const bothTargets = (x: { f: FigureFact }) => st.role === 'target' && x.f.statement.role === 'target';
    const agree = (x: { f: FigureFact }) => valuesAgree(st.value, x.f.statement.value, { targets: bothTargets(x) });
    const agreeing = same.find(agree);
    // The node's identity as the graph will have it: an id, or the first op of this document that inserts it.
    let node: Target;
    let key: string;
    if (agreeing && now.nodes.has(agreeing.f.nodeId)) {
      node = { nodeId: agreeing.f.nodeId };
      key = agreeing.f.nodeId;
      out.ops.push({ op: 'restate-figure', nodeId: key, confidence: c.confidence, by: agreeing.s.by });
      out.restatements++;
    } else {
      const content = claimContent(claims, i);
      const hash = contentHash(content);
      const landed = byContent.get(hash) ?? (read.sameContent ? { target: { nodeId: read.sameContent }, key: read.sameContent } : undefined);
      const ref = first + out.ops.length;
      out.ops.push({
        op: 'figure-claim', content, confidence: c.confidence, subject: st.subject, metric: st.metric, value: statementValue(st),
        metadata: { ...(c.section ? { section: c.section } : {}), role: st.role ?? 'asserted', ...(st.hedge ? { hedge: st.hedge } : {}) },
      });
      ({ target: node, key } = landed ?? { target: { ref }, key: `ref:${ref}` });
      byContent.set(hash, { target: node, key });
      if ('nodeId' in node) out.metricOf.set(node.nodeId, st.metric);
    }
    out.claimNodes.set(i, node);
    out.ops.push({ op: 'figure', node, statement: st, subjectText: text, vector, sentence: c.text });

    // Different values of the same figure in other documents: one contradiction per pair of value nodes.
    const others = [...new Set(same.filter((x) => !agree(x) && x.f.nodeId !== key).map((x) => x.f.nodeId))];
    for (const other of others) {
      // A pair of values is one contradiction, whatever happened to it since (a resolved one stays resolved).
      if (pairs.has(pairKey(key, other))) continue;
      pairs.add(pairKey(key, other));
      const otherFig = same.find((x) => x.f.nodeId === other)!.f;
      out.ops.push({
        op: 'contradiction', node, value: st.value, other, otherValue: otherFig.statement.value,
        meta: {
          subject: otherFig.statement.subject.length <= st.subject.length ? otherFig.statement.subject : st.subject,
          metric: st.metric,
          unit: st.unit ?? otherFig.statement.unit ?? null,
          period: st.period ?? otherFig.statement.period ?? null,
          found_in: docId,
        },
      });
    }
  }
  return out;
}
