// A document's goals join the scope; its updates, statements and revised targets move
// earlier goals on (domain/goals.ts). Pure: the goals are read before the document's
// writes, which touch claims, figures and contradictions only, so the read is the one
// the goals' own step would have made.
import { sameFigure, similarity, subjectText, valuesAgree } from '../extract/compare.ts';
import type { DocumentFacts } from '../extract/extract.ts';
import type { Statement } from '../extract/types.ts';
import { statementValue, type Vectors } from './figure-plan.ts';
import type { GraphOp } from './graph-ops.ts';
import { goalChanges, type GoalState, type KnownGoal } from './goals.ts';
import { retiresOldValue } from './revision-plan.ts';

export interface GoalsPlan {
  ops: GraphOp[];
  goalChanges: { goalId: string; state: GoalState | null; replaced?: boolean }[];
}

export function planGoals(
  doc: { docId: string; facts: Pick<DocumentFacts, 'claims' | 'goals' | 'goalUpdates' | 'revisions'>; terms: Readonly<Record<string, string>>; vectors: Vectors },
  known: readonly KnownGoal[],
): GoalsPlan {
  const { docId, facts, terms, vectors } = doc;
  const out: GoalsPlan = { ops: [], goalChanges: [] };
  const changes = goalChanges(known, {
    id: docId,
    updates: facts.goalUpdates.map((u) => ({ ...u, vector: vectors.of(u.text) })),
    claims: facts.claims.filter((c) => !c.statement).map((c) => ({ ...c, vector: vectors.of(c.text) })),
  });
  // A revised target supersedes the goal that set the old one ("hiring target revised from 20 to 15").
  for (const rev of facts.revisions) {
    if (!retiresOldValue(rev)) continue;
    const revText = subjectText(rev, terms);
    const to: Statement = { subject: rev.subject, metric: rev.metric, ...(rev.period ? { period: rev.period } : {}), value: rev.to!, surface: '' };
    for (const g of known) {
      if (g.state !== 'open' || !g.target || changes.some((c) => c.goalId === g.id)) continue;
      // Goal nodes keep the sentence's vector, not the subject's: subjects are compared by their words.
      const sim = similarity({ text: revText }, { text: subjectText(g.target, terms) });
      if (valuesAgree(g.target.value, rev.from!, { targets: true }) && !valuesAgree(g.target.value, rev.to!, { targets: true }) && sameFigure(to, g.target, sim)) {
        changes.push({ goalId: g.id, state: 'superseded', text: rev.text, ...(rev.span ? { span: rev.span } : {}) });
      }
    }
  }
  for (const ch of changes) {
    const g = known.find((x) => x.id === ch.goalId)!;
    const state = ch.state ?? g.state;
    const status = state === 'met' ? 'resolved' : state === 'superseded' || ch.replaced ? 'irrelevant' : 'active';
    out.ops.push({
      op: 'goal-state', nodeId: g.id, content: g.text, status,
      metadata: { state, ...(ch.state ? { state_by: docId, state_text: ch.text.slice(0, 1000), state_span: ch.span ?? null } : {}), ...(ch.replaced ? { replaced_by: docId } : {}) },
    });
    out.goalChanges.push({ goalId: ch.goalId, state: ch.state, ...(ch.replaced ? { replaced: true } : {}) });
  }
  for (const g of facts.goals) {
    const v = vectors.of(g.text);
    out.ops.push({
      op: 'goal', content: g.text,
      ...(g.statement ? { subject: g.statement.subject, metric: g.statement.metric, value: statementValue(g.statement) } : {}),
      metadata: { state: 'open', ...(g.deadline ? { deadline: g.deadline } : {}), ...(g.span ? { span: g.span } : {}) },
      ...(v ? { vector: v } : {}),
    });
  }
  return out;
}
