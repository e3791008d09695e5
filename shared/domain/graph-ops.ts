// The writes a document's plan asks for, in the order store/graph.ts applyGraphOps
// makes them: figures, revisions and goals (domain/figure-plan.ts, revision-plan.ts,
// goal-plan.ts), then claims without a figure and risks (domain/graph-plan.ts).
// A node the plan creates gets its id in SQL: later ops name it by the op's index.
import type { Similarity } from '../extract/compare.ts';
import type { Statement } from '../extract/types.ts';
import type { NodeStatus, Severity } from './graph.ts';

/** A node this document inserts (by its op's index) or a node the graph has. */
export type Target = { ref: number } | { nodeId: string };

/** Metadata of a contradiction edge, as the reports and the API read it. */
export interface ContradictionMeta {
  subject: string;
  metric: string;
  unit: string | null;
  period: string | null;
  found_in: string;
  sides: { node_id: string; value: Statement['value']; display: string }[];
  resolution?: Resolution;
}

export interface Resolution {
  doc: string;
  how: 'restated' | 'accepted' | 'withdrawn';
  accepted_node: string;
  accepted: string;
  text: string;
  span: [number, number] | null;
}

export type GraphOp =
  // A revision settles an open contradiction (the edge is resolved, never re-opened).
  | { op: 'resolve'; sourceId: string; targetId: string; resolution: Resolution }
  // Figures that stop being matched: a revision replaced their value.
  | { op: 'retire'; figureIds: number[] }
  // A figure stated again with an agreeing value: the node is read when written, so restating it twice corroborates twice.
  | { op: 'restate-figure'; nodeId: string; confidence: number; by: Similarity['by'] }
  // A claim stating a figure the scope did not have (upserted by content: the same text is the same node).
  | { op: 'figure-claim'; content: string; confidence: number; subject: string; metric: string; value: Record<string, unknown>; metadata: Record<string, unknown> }
  | { op: 'figure'; node: Target; statement: Statement; subjectText: string; vector: number[] | null; sentence: string }
  // Two values of one figure; the sides are ordered by node id when written, as the edge's endpoints are.
  | {
      op: 'contradiction';
      node: Target;
      value: Statement['value'];
      other: string;
      otherValue: Statement['value'];
      meta: Omit<ContradictionMeta, 'sides' | 'resolution'>;
    }
  | { op: 'goal-state'; nodeId: string; content: string; status: NodeStatus; metadata: Record<string, unknown> }
  | {
      op: 'goal';
      content: string;
      subject?: string;
      metric?: string;
      value?: Record<string, unknown>;
      metadata: Record<string, unknown>;
      vector?: number[];
    }
  | { op: 'embed'; target: Target; vector: number[] }
  | {
      op: 'claim';
      /** The claim this one restates; without it (or if it is no longer a figure-free claim), a node of its own. */
      match?: { target: Target; by: 'text' | 'embedding' };
      content: string;
      confidence: number;
      section?: string;
      span?: [number, number];
      vector?: number[];
    }
  | { op: 'risk'; content: string; severity: Severity; mitigation?: string; riskDelta: number };

export interface GraphPlan {
  docId: string;
  ops: GraphOp[];
  /** Figure claims left without a vector (inserted claims without one are counted when applied). */
  unembedded: number;
}
