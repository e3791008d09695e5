// One document's whole update of its scope, as one list of ops: revisions first (what
// they settle or retire is no longer a contradiction for the document's own figures),
// then its figures, its goals, and its other claims and risks. Pure: the caller reads
// once, before any of the document's writes (store/document-read.ts), and
// store/graph.ts applyGraphOps writes the ops in order.
import type { DocumentFacts } from '../extract/extract.ts';
import { planFigureClaims, type FigureClaimsNow, type Vectors } from './figure-plan.ts';
import { planGoals } from './goal-plan.ts';
import type { GraphPlan, Target } from './graph-ops.ts';
import { planGraphUpdate, type CurrentClaim, type GraphNow, type Neighbours, type PlanClaim } from './graph-plan.ts';
import type { GoalState, KnownGoal } from './goals.ts';
import { planRevisions, type RevisionRead } from './revision-plan.ts';

export interface DocumentInput {
  docId: string;
  facts: DocumentFacts;
  terms: Readonly<Record<string, string>>;
  vectors: Vectors;
}

/** What the plan needs of the scope, read before the document's writes. */
export interface DocumentNow {
  /** Per revision, in order. */
  revisions: readonly RevisionRead[];
  figures: FigureClaimsNow;
  goals: readonly KnownGoal[];
  /** For the claims without a figure (store/graph.ts readGraphForPlan). */
  graph: GraphNow;
  neighbours: Neighbours;
}

export interface DocumentPlan extends GraphPlan {
  /** Claim index → the node of its figure. */
  claimNodes: Map<number, Target>;
  contradictionsResolved: number;
  figuresRevised: number;
  restatements: number;
  goalChanges: { goalId: string; state: GoalState | null; replaced?: boolean }[];
}

export function planDocument(doc: DocumentInput, now: DocumentNow): DocumentPlan {
  const { facts } = doc;
  const revisions = planRevisions({ ...doc, revisions: facts.revisions }, now.revisions);
  const figures = planFigureClaims(doc, now.figures, revisions.retired, revisions.ops.length);
  const goals = planGoals(doc, now.goals);
  const ops = [...revisions.ops, ...figures.ops, ...goals.ops];

  // The graph as the claims without a figure would have queried it after the figures'
  // writes: a figure-free node a new figure claim updated has a metric since.
  const nodes = new Map<string, CurrentClaim>(now.graph.nodes);
  for (const [id, n] of now.figures.nodes) if (!nodes.has(id)) nodes.set(id, n);
  for (const [id, metric] of figures.metricOf) {
    const n = nodes.get(id);
    if (n) nodes.set(id, { ...n, metric });
  }
  const sameText = now.graph.sameText.map((id) => (id && figures.metricOf.has(id) ? undefined : id));
  const claims: PlanClaim[] = facts.claims.map((c, i) => {
    const figureNode = figures.claimNodes.get(i);
    return {
      text: c.text, confidence: c.confidence, vector: doc.vectors.of(c.text),
      ...(c.section ? { section: c.section } : {}), ...(c.span ? { span: c.span } : {}), ...(figureNode ? { figureNode } : {}),
    };
  });
  const graph = planGraphUpdate({ docId: doc.docId, claims, risks: facts.risks }, { nodes, sameText }, now.neighbours, ops.length);

  return {
    docId: doc.docId,
    ops: [...ops, ...graph.ops],
    unembedded: graph.unembedded,
    claimNodes: figures.claimNodes,
    contradictionsResolved: revisions.contradictionsResolved,
    figuresRevised: revisions.figuresRevised,
    restatements: figures.restatements,
    goalChanges: goals.goalChanges,
  };
}
