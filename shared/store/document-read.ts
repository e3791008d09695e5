// What domain/document-plan.ts needs to know of a scope to plan one document, read
// once, before any of the document's writes. The plan replays the document's own
// writes over it; where a write would shrink a later query's answer (a figure retired,
// a dispute settled by its revisions) and the query has a LIMIT, this read takes that
// many more rows, so that the plan can cut the list where the query would have. How
// many: the revisions' plan (pure) over what has been read before that query.
import type { DocumentInput, DocumentNow } from '../domain/document-plan.ts';
import { CANDIDATE_FIGURES, claimContent, DENIED_FIGURES, type ClaimFigureRead, type FigureFact } from '../domain/figure-plan.ts';
import type { CurrentClaim } from '../domain/graph-plan.ts';
import type { GoalState, KnownGoal } from '../domain/goals.ts';
import { planRevisions, REVISION_CANDIDATE_CONTRADICTIONS, REVISION_CANDIDATE_FIGURES, retiresOldValue, type OpenDispute, type RevisionRead } from '../domain/revision-plan.ts';
import { subjectText } from '../extract/compare.ts';
import type { Statement } from '../extract/types.ts';
import type { Queryable } from './db.ts';
import { candidateFigureParts, candidateFigures, figuresOfNodes, figuresWithValue, sameMetricFamily } from './figures.ts';
import { claimWithContent, contradictionPairsAmong, currentClaim, currentGoals, currentNodesById, openContradictionsOf, readGraphForPlan } from './graph.ts';

export async function readDocumentForPlan(q: Queryable, scope: string, doc: DocumentInput): Promise<DocumentNow> {
  const { docId, facts, terms, vectors } = doc;
  const figures = new Map<number, FigureFact>();
  const disputes = new Map<string, OpenDispute>();
  const revisions: RevisionRead[] = [];
  // What the first k revisions retire and settle, planned over their reads.
  const planned = (k: number) => planRevisions({ docId, revisions: facts.revisions.slice(0, k), terms, vectors }, revisions);
  // Figures retired before a lookup of `metric` (in its family, of other documents): it reads that many more.
  const room = (metric: string, retired: ReadonlySet<number>) =>
    [...retired].filter((id) => {
      const f = figures.get(id)!;
      return f.docId !== docId && sameMetricFamily(metric, f.metric);
    }).length;

  for (const [k, rev] of facts.revisions.entries()) {
    const vector = vectors.of(subjectText(rev, terms));
    const near = await candidateFigures(q, scope, { metric: rev.metric, vector, excludeDoc: null, limit: REVISION_CANDIDATE_FIGURES, revision: true });
    const nearNodes = new Set(near.map((f) => f.nodeId));
    // Disputes the earlier revisions settled are no longer open: read as many more.
    const settled = [...planned(k).settled].filter((id) => nearNodes.has(disputes.get(id)!.sourceId) || nearNodes.has(disputes.get(id)!.targetId)).length;
    const open = (await openContradictionsOf(q, scope, [...nearNodes], REVISION_CANDIDATE_CONTRADICTIONS + settled)).map((e) => ({
      edgeId: e.edgeId, sourceId: e.sourceId, targetId: e.targetId, metadata: e.metadata,
    }));
    open.forEach((e) => disputes.set(e.edgeId, e));
    const figuresOf = new Map<string, FigureFact[]>();
    for (const f of await figuresOfNodes(q, scope, open.flatMap((e) => [e.sourceId, e.targetId]))) {
      const list = figuresOf.get(f.nodeId);
      if (list) list.push(f);
      else figuresOf.set(f.nodeId, [f]);
      figures.set(f.figureId, f);
    }
    const read: RevisionRead = { open, figuresOf };
    revisions.push(read);
    if (retiresOldValue(rev)) {
      // Its lookup comes after its own disputes' retirements: plan it with an empty lookup first.
      read.retire = { near: [], unembedded: [] };
      const extra = room(rev.metric, planned(k + 1).retired);
      read.retire = await candidateFigureParts(q, scope, { metric: rev.metric, vector, excludeDoc: docId, limit: CANDIDATE_FIGURES + extra });
      for (const f of [...read.retire.near, ...read.retire.unembedded]) figures.set(f.figureId, f);
    }
  }
  const retired = planned(facts.revisions.length).retired;

  const claims: (ClaimFigureRead | undefined)[] = [];
  const nodeIds = new Set<string>();
  const nodes = new Map<string, CurrentClaim>();
  for (const [i, c] of facts.claims.entries()) {
    const st = c.statement;
    if (!st) {
      claims.push(undefined);
      continue;
    }
    const extra = room(st.metric, retired);
    const candidates = await candidateFigureParts(q, scope, { metric: st.metric, vector: vectors.of(subjectText(st, terms)), excludeDoc: docId, limit: CANDIDATE_FIGURES + extra });
    const read: ClaimFigureRead = { candidates };
    if (st.denies) {
      const slack = Math.max(Math.abs(st.denies.high ?? st.denies.value), 1e-9) * 0.01;
      read.denied = await figuresWithValue(q, scope, { metric: st.metric, lo: st.denies.value - slack, hi: (st.denies.high ?? st.denies.value) + slack, excludeDoc: docId, limit: DENIED_FIGURES + extra });
    }
    const same = await claimWithContent(q, scope, claimContent(facts.claims, i));
    if (same) {
      read.sameContent = same.nodeId;
      nodes.set(same.nodeId, currentClaim(same));
    }
    for (const f of [...candidates.near, ...candidates.unembedded, ...(read.denied ?? [])]) nodeIds.add(f.nodeId);
    claims.push(read);
  }
  for (const n of (await currentNodesById(q, scope, [...nodeIds].filter((id) => !nodes.has(id)))).values()) nodes.set(n.nodeId, currentClaim(n));
  const contradictions = await contradictionPairsAmong(q, scope, [...nodes.keys()]);

  const goals = await knownGoals(q, scope);
  const { now: graph, neighbours } = await readGraphForPlan(
    q,
    scope,
    facts.claims.map((c) => ({ text: c.text, vector: vectors.of(c.text), figure: !!c.statement })),
  );
  return { revisions, figures: { claims, nodes, contradictions }, goals, graph, neighbours };
}

async function knownGoals(q: Queryable, scope: string): Promise<KnownGoal[]> {
  return (await currentGoals(q, scope)).map((r) => {
    const m = r.metadata as { state?: GoalState; deadline?: KnownGoal['deadline']; replaced_by?: string };
    const value = r.value as (Statement['value'] & { period?: string }) | null;
    return {
      id: r.nodeId,
      text: r.content,
      doc: r.sourceDoc ?? '',
      state: m.state ?? 'open',
      ...(m.replaced_by ? { replaced: true } : {}),
      ...(m.deadline ? { deadline: m.deadline } : {}),
      vector: r.embedding,
      ...(r.subject && r.metric && value ? { target: { subject: r.subject, metric: r.metric, value, ...(value.period ? { period: value.period } : {}), surface: '', role: 'target' as const } } : {}),
    };
  });
}
