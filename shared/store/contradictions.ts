// What a reader of a scope wants to see of its evidence: every contradiction with the
// two values side by side, the documents and sentences stating each, and what settled
// it; every goal with its state. Read from the graph (contradicts edges, goal nodes)
// and the figures index. Used by the API, the demo report, the eval and certificates.
import type { Value } from '../extract/types.ts';
import type { ContradictionMeta } from '../domain/graph-ops.ts';
import type { Queryable } from './db.ts';
import { figuresOfNodes } from './figures.ts';

export interface StatedBy {
  doc: string;
  sentence: string;
  span: [number, number] | null;
}

export interface ContradictionSideView {
  value: Value;
  display: string;
  /** Every document stating this value now (restatements included), with its sentence. */
  stated_by: StatedBy[];
  docs: string[];
}

export interface ContradictionView {
  edge_id: string;
  subject: string;
  metric: string;
  unit: string | null;
  period: string | null;
  found_in: string;
  status: 'open' | 'resolved';
  sides: [ContradictionSideView, ContradictionSideView];
  /** The document that settled it, which value it accepted, and how. */
  resolved_by: string | null;
  accepted: string | null;
  resolution: ContradictionMeta['resolution'] | null;
}

export async function listContradictions(q: Queryable, scope: string, opts: { status?: 'open' | 'resolved'; limit?: number } = {}): Promise<ContradictionView[]> {
  const { rows } = await q.query<{ edge_id: string; status: string; source_id: string; target_id: string; metadata: ContradictionMeta }>(
    `SELECT edge_id, status, source_id, target_id, metadata FROM graph_edges
      WHERE scope_id = $1 AND kind = 'contradicts' AND superseded_at IS NULL AND status <> 'irrelevant'
        AND ($2::text IS NULL OR status = $2)
      ORDER BY recorded_at, edge_id LIMIT $3`,
    [scope, opts.status === undefined ? null : opts.status === 'open' ? 'active' : 'resolved', Math.min(Math.max(opts.limit ?? 500, 1), 5000)],
  );
  const figs = await figuresOfNodes(q, scope, rows.flatMap((r) => [r.source_id, r.target_id]));
  return rows
    .filter((r) => Array.isArray(r.metadata.sides) && r.metadata.sides.length === 2)
    .map((r) => {
      const m = r.metadata;
      const side = (i: 0 | 1): ContradictionSideView => {
        const s = m.sides[i]!;
        const stated = figs.filter((f) => f.nodeId === s.node_id).map((f) => ({ doc: f.docId, sentence: f.sentence, span: f.statement.span ?? null }));
        return { value: s.value, display: s.display, stated_by: stated, docs: [...new Set(stated.map((x) => x.doc))] };
      };
      return {
        edge_id: r.edge_id,
        subject: m.subject,
        metric: m.metric,
        unit: m.unit ?? null,
        period: m.period ?? null,
        found_in: m.found_in,
        status: r.status === 'resolved' ? ('resolved' as const) : ('open' as const),
        sides: [side(0), side(1)] as [ContradictionSideView, ContradictionSideView],
        resolved_by: m.resolution?.doc ?? null,
        accepted: m.resolution?.accepted ?? null,
        resolution: m.resolution ?? null,
      };
    });
}

export interface GoalView {
  node_id: string;
  text: string;
  doc: string | null;
  state: 'open' | 'met' | 'unreachable' | 'superseded';
  deadline: string | null;
  /** The document that changed its state, and the sentence that did. */
  by: string | null;
  because: string | null;
  replaced_by: string | null;
}

export async function listGoals(q: Queryable, scope: string): Promise<GoalView[]> {
  const { rows } = await q.query<{ node_id: string; content: string; source_doc: string | null; metadata: Record<string, unknown> }>(
    `SELECT node_id, content, source_doc, metadata FROM graph_nodes WHERE scope_id = $1 AND kind = 'goal' AND superseded_at IS NULL ORDER BY version_id LIMIT 1000`,
    [scope],
  );
  return rows.map((r) => {
    const m = r.metadata as { state?: GoalView['state']; deadline?: { label: string }; state_by?: string; state_text?: string; replaced_by?: string };
    return {
      node_id: r.node_id,
      text: r.content,
      doc: r.source_doc,
      state: m.state ?? 'open',
      deadline: m.deadline?.label ?? null,
      by: m.state_by ?? null,
      because: m.state_text ?? null,
      replaced_by: m.replaced_by ?? null,
    };
  });
}
