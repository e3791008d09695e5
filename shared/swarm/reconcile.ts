// One document's facts against what the scope already knows, inside the facts step's
// transaction: revisions settle open contradictions (and retire the values they
// replace), each stated figure is matched in the figures index — the same figure with
// an agreeing value is a restatement, with another value a contradiction — and goals
// move through their lifecycle. The decisions are pure (extract/compare.ts,
// swarm/goals.ts); this module reads and writes through the stores.
import { formatValue, identifiersCompatible, periodsCompatible, sameFigure, settles, similarity, subjectText, unitsCompatible, valuesAgree, type ContestedFigure } from '../extract/compare.ts';
import type { DocumentFacts, Revision } from '../extract/extract.ts';
import type { Statement } from '../extract/types.ts';
import type { Tx } from '../store/db.ts';
import { candidateFigures, figuresOfNodes, figuresWithValue, insertFigure, markRevised, type FigureRow } from '../store/figures.ts';
import { contradictionBetween, currentGoals, getNode, openContradictionsOf, upsertEdge, upsertNode, type GraphEdge } from '../store/graph.ts';
import { goalChanges, type GoalState, type KnownGoal } from './goals.ts';
import { corroborate } from '../domain/match.ts';

export interface Vectors {
  /** Vector of a text (a subject phrase, a sentence), when the embeddings worker gave one. */
  of(text: string): number[] | null;
}

export interface ReconcileInput {
  scope: string;
  docId: string;
  agent: string;
  facts: DocumentFacts;
  terms: Readonly<Record<string, string>>;
  vectors: Vectors;
}

export interface ReconcileResult {
  /** Claim index → graph node id, for claims with a figure. */
  claimNodes: Map<number, string>;
  contradictionsFound: number;
  contradictionsResolved: number;
  figuresRevised: number;
  restatements: number;
  goalChanges: { goalId: string; state: GoalState | null; replaced?: boolean }[];
}

export const statementValue = (s: Statement) => ({
  ...s.value,
  ...(s.period ? { period: s.period } : {}),
  ...(s.unit ? { unit: s.unit } : {}),
  surface: s.surface,
  display: formatValue(s.value),
});

/** Metadata of a contradiction edge, as the reports and the API read it. */
export interface ContradictionMeta {
  subject: string;
  metric: string;
  unit: string | null;
  period: string | null;
  found_in: string;
  sides: { node_id: string; value: Statement['value']; display: string }[];
  resolution?: { doc: string; how: 'restated' | 'accepted' | 'withdrawn'; accepted_node: string; accepted: string; text: string; span: [number, number] | null };
}

const targetVsActual = (a: Statement, b: Statement) =>
  (a.role === 'target' && b.role !== 'target' && !b.modal) || (b.role === 'target' && a.role !== 'target' && !a.modal);

/** A claim that states two figures of one sentence needs its own text per figure. */
function claimContent(facts: DocumentFacts, i: number): string {
  const c = facts.claims[i]!;
  const twins = facts.claims.filter((x) => x.text === c.text && x.statement).length;
  return twins > 1 && c.statement ? `${c.text} [${c.statement.subject}: ${c.statement.surface}]` : c.text;
}

const docsOf = (sourceRef: Record<string, unknown>): string[] => (Array.isArray(sourceRef.docs) ? (sourceRef.docs as string[]) : []);

export async function reconcile(tx: Tx, input: ReconcileInput): Promise<ReconcileResult> {
  const { scope, docId, agent, facts, terms, vectors } = input;
  const result: ReconcileResult = { claimNodes: new Map(), contradictionsFound: 0, contradictionsResolved: 0, figuresRevised: 0, restatements: 0, goalChanges: [] };

  // 1. Revisions first: what they settle or retire is no longer a contradiction for this document's own figures.
  const settled = new Set<string>();
  for (const rev of facts.revisions) {
    const revText = subjectText(rev, terms);
    const revSaid = { text: revText, vector: vectors.of(revText) };
    const { open, figuresOf } = await contestedNear(tx, scope, rev.metric, revSaid.vector);
    for (const e of open) {
      if (settled.has(e.edgeId)) continue;
      const meta = e.metadata as unknown as ContradictionMeta;
      const mine = [...(figuresOf.get(e.sourceId) ?? []), ...(figuresOf.get(e.targetId) ?? [])];
      const best = mine.map((f) => similarity(revSaid, { text: f.subjectText, vector: f.vector })).sort((a, b) => b.score - a.score)[0] ?? similarity(revSaid, { text: meta.subject });
      const contested: ContestedFigure = { metric: meta.metric, subject: meta.subject, ...(meta.period ? { period: meta.period } : {}), sides: [meta.sides[0]!.value, meta.sides[1]!.value] };
      const s = settles(rev, contested, best);
      if (!s) continue;
      const accepted = meta.sides[s.accepted]!;
      const rejected = meta.sides[1 - s.accepted]!;
      await upsertEdge(tx, {
        scope, kind: 'contradicts', sourceId: e.sourceId, targetId: e.targetId, status: 'resolved', createdBy: agent,
        metadata: { resolved_by: agent, resolution: { doc: docId, how: s.how, accepted_node: accepted.node_id, accepted: accepted.display, text: rev.text.slice(0, 1000), span: rev.span ?? null } },
      });
      // The rejected value is retired: it no longer contradicts what comes next.
      const retired = mine.filter((f) => f.nodeId === rejected.node_id).map((f) => f.figureId);
      await markRevised(tx, scope, retired, docId);
      settled.add(e.edgeId);
      result.figuresRevised += retired.length;
      result.contradictionsResolved++;
    }
    // "Budget revised from 62M to 71M" with no dispute on record: the old value is retired all the same.
    if (rev.from && rev.to && rev.kind !== 'replacement') result.figuresRevised += await retire(tx, input, rev, revSaid);
  }

  // 2. Figures: restatement of a known figure, or a contradiction with it.
  for (let i = 0; i < facts.claims.length; i++) {
    const c = facts.claims[i]!;
    const st = c.statement;
    if (!st) continue;
    const text = subjectText(st, terms);
    const vector = vectors.of(text);
    const candidates = await candidateFigures(tx, scope, { metric: st.metric, vector, excludeDoc: docId });
    const same = candidates
      .map((f) => ({ f, s: similarity({ text, vector }, { text: f.subjectText, vector: f.vector }) }))
      // A goal's target and an actual stated as fact are different figures ("cut leakage to 15%" vs "leakage was
      // 19.4%"); a target and a plan ("we will hire 20") are not.
      .filter((x) => !targetVsActual(st, x.f.statement) && sameFigure(st, x.f.statement, x.s))
      .sort((a, b) => b.s.score - a.s.score);
    // "58.9 kt rather than 63.5 kt": whoever states the denied value is stating this figure, whatever words they used.
    if (st.denies) {
      const slack = Math.max(Math.abs(st.denies.high ?? st.denies.value), 1e-9) * 0.01;
      const denied = await figuresWithValue(tx, scope, { metric: st.metric, lo: st.denies.value - slack, hi: (st.denies.high ?? st.denies.value) + slack, excludeDoc: docId });
      for (const f of denied) {
        if (same.some((x) => x.f.figureId === f.figureId) || !unitsCompatible(st, f.statement) || !periodsCompatible(st.period, f.statement.period) || !identifiersCompatible(st, f.statement)) continue;
        if (!valuesAgree(f.statement.value, st.denies)) continue;
        same.push({ f, s: { score: 1, by: 'embedding' } });
      }
    }
    const bothTargets = (x: { f: FigureRow }) => st.role === 'target' && x.f.statement.role === 'target';
    const agree = (x: { f: FigureRow }) => valuesAgree(st.value, x.f.statement.value, { targets: bothTargets(x) });
    const agreeing = same.find(agree);
    let nodeId: string;
    const existing = agreeing ? await getNode(tx, agreeing.f.nodeId) : null;
    if (existing) {
      const r = await upsertNode(tx, {
        scope, kind: 'claim', nodeId: existing.nodeId, content: existing.content, createdBy: agent,
        confidence: corroborate(existing.confidence, c.confidence),
        sourceRef: { docs: [...new Set([...docsOf(existing.sourceRef), docId])] },
        metadata: { [`restated_in_${docId}`]: agreeing!.s.by },
      });
      nodeId = r.id;
      result.restatements++;
    } else {
      const r = await upsertNode(tx, {
        scope, kind: 'claim', content: claimContent(facts, i), createdBy: agent, confidence: c.confidence, sourceDoc: docId,
        sourceRef: { docs: [docId] }, subject: st.subject, metric: st.metric, value: statementValue(st),
        metadata: { ...(c.section ? { section: c.section } : {}), role: st.role ?? 'asserted', ...(st.hedge ? { hedge: st.hedge } : {}) },
      });
      nodeId = r.id;
    }
    result.claimNodes.set(i, nodeId);
    await insertFigure(tx, { scope, nodeId, docId, statement: st, subjectText: text, vector, sentence: c.text });

    // Different values of the same figure in other documents: one contradiction per pair of value nodes.
    const others = [...new Set(same.filter((x) => !agree(x) && x.f.nodeId !== nodeId).map((x) => x.f.nodeId))];
    for (const other of others) {
      const [a, b] = [nodeId, other].sort();
      // A pair of values is one contradiction, whatever happened to it since (a resolved one stays resolved).
      if (await contradictionBetween(tx, scope, a!, b!)) continue;
      const otherFig = same.find((x) => x.f.nodeId === other)!.f;
      const side = (id: string) => {
        const s = id === nodeId ? st : otherFig.statement;
        return { node_id: id, value: s.value, display: formatValue(s.value) };
      };
      const meta: ContradictionMeta = {
        subject: otherFig.statement.subject.length <= st.subject.length ? otherFig.statement.subject : st.subject,
        metric: st.metric,
        unit: st.unit ?? otherFig.statement.unit ?? null,
        period: st.period ?? otherFig.statement.period ?? null,
        found_in: docId,
        sides: [side(a!), side(b!)],
      };
      const r = await upsertEdge(tx, { scope, kind: 'contradicts', sourceId: a!, targetId: b!, createdBy: agent, metadata: meta as unknown as Record<string, unknown> });
      if (r.action === 'insert') result.contradictionsFound++;
    }
  }

  // 3. Goals: this document's goals join the scope; its updates and statements move earlier goals on.
  const known = await knownGoals(tx, scope);
  const changes = goalChanges(known, {
    id: docId,
    updates: facts.goalUpdates.map((u) => ({ ...u, vector: vectors.of(u.text) })),
    claims: facts.claims.filter((c) => !c.statement).map((c) => ({ ...c, vector: vectors.of(c.text) })),
  });
  // A revised target supersedes the goal that set the old one ("hiring target revised from 20 to 15").
  for (const rev of facts.revisions) {
    if (!rev.from || !rev.to || rev.kind === 'replacement') continue;
    const revText = subjectText(rev, terms);
    const to: Statement = { subject: rev.subject, metric: rev.metric, ...(rev.period ? { period: rev.period } : {}), value: rev.to, surface: '' };
    for (const g of known) {
      if (g.state !== 'open' || !g.target || changes.some((c) => c.goalId === g.id)) continue;
      // Goal nodes keep the sentence's vector, not the subject's: subjects are compared by their words.
      const sim = similarity({ text: revText }, { text: subjectText(g.target, terms) });
      if (valuesAgree(g.target.value, rev.from, { targets: true }) && !valuesAgree(g.target.value, rev.to, { targets: true }) && sameFigure(to, g.target, sim)) {
        changes.push({ goalId: g.id, state: 'superseded', text: rev.text, ...(rev.span ? { span: rev.span } : {}) });
      }
    }
  }
  for (const ch of changes) {
    const g = known.find((x) => x.id === ch.goalId)!;
    const state = ch.state ?? g.state;
    const status = state === 'met' ? 'resolved' : state === 'superseded' || ch.replaced ? 'irrelevant' : 'active';
    await upsertNode(tx, {
      scope, kind: 'goal', nodeId: g.id, content: g.text, createdBy: agent, status,
      metadata: { state, ...(ch.state ? { state_by: docId, state_text: ch.text.slice(0, 1000), state_span: ch.span ?? null } : {}), ...(ch.replaced ? { replaced_by: docId } : {}) },
    });
    result.goalChanges.push({ goalId: ch.goalId, state: ch.state, ...(ch.replaced ? { replaced: true } : {}) });
  }
  for (const g of facts.goals) {
    const v = vectors.of(g.text);
    await upsertNode(tx, {
      scope, kind: 'goal', content: g.text, createdBy: agent, sourceDoc: docId, confidence: 0.8,
      ...(g.statement ? { subject: g.statement.subject, metric: g.statement.metric, value: statementValue(g.statement) } : {}),
      metadata: { state: 'open', ...(g.deadline ? { deadline: g.deadline } : {}), ...(g.span ? { span: g.span } : {}) },
      ...(v ? { embedding: v } : {}),
    });
  }
  return result;
}

/** Figures near a revision's subject looked at for the disputes it may settle (see contestedNear). */
export const REVISION_CANDIDATE_FIGURES = 48;
/** Open contradictions of those figures' claims looked at, at most. */
export const REVISION_CANDIDATE_CONTRADICTIONS = 500;

/**
 * The open contradictions a revision may settle, and every figure of their claims: those
 * touching the figures nearest the revision's subject in its metric family (the figures
 * index, any status), not every open contradiction of the scope — a revision settles a
 * dispute only over a subject it names (settles() needs their similarity), so the work
 * per revision is bounded by the two limits above, whatever the scope's size. The
 * scoring is unchanged: the best similarity over the claims' figures.
 */
async function contestedNear(tx: Tx, scope: string, metric: string, vector: number[] | null): Promise<{ open: GraphEdge[]; figuresOf: Map<string, FigureRow[]> }> {
  const near = await candidateFigures(tx, scope, { metric, vector, excludeDoc: null, limit: REVISION_CANDIDATE_FIGURES, revision: true });
  const open = (await openContradictionsOf(tx, scope, near.map((f) => f.nodeId), REVISION_CANDIDATE_CONTRADICTIONS)).filter((e) => {
    const m = e.metadata as unknown as ContradictionMeta;
    return Array.isArray(m.sides) && m.sides.length === 2;
  });
  const figuresOf = new Map<string, FigureRow[]>();
  for (const f of await figuresOfNodes(tx, scope, open.flatMap((e) => [e.sourceId, e.targetId]))) {
    const list = figuresOf.get(f.nodeId);
    if (list) list.push(f);
    else figuresOf.set(f.nodeId, [f]);
  }
  return { open, figuresOf };
}

/** Figures of the revised value retire: same figure as the revision's new value, agreeing with its old one. */
async function retire(tx: Tx, input: ReconcileInput, rev: Revision, said: { text: string; vector: number[] | null }): Promise<number> {
  const to: Statement = { subject: rev.subject, metric: rev.metric, ...(rev.period ? { period: rev.period } : {}), value: rev.to!, surface: '' };
  const candidates: FigureRow[] = await candidateFigures(tx, input.scope, { metric: rev.metric, vector: said.vector, excludeDoc: input.docId });
  const ids = candidates
    .filter((f) => valuesAgree(f.statement.value, rev.from!) && !valuesAgree(f.statement.value, rev.to!))
    .filter((f) => sameFigure(to, f.statement, similarity(said, { text: f.subjectText, vector: f.vector })))
    .map((f) => f.figureId);
  await markRevised(tx, input.scope, ids, input.docId);
  return ids.length;
}

async function knownGoals(tx: Tx, scope: string): Promise<KnownGoal[]> {
  return (await currentGoals(tx, scope)).map((r) => {
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
