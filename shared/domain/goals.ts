// The lifecycle of a scope's goals, from later evidence: a goal is open until a
// document says it cannot be met (unreachable), replaces it with a new target
// (superseded), or states it as done or holding (met). Pure: the caller supplies the
// goals, the new document's goal updates and claims, and their vectors.
import { similarity } from '../extract/compare.ts';
import type { ClaimFact, Deadline, GoalUpdate } from '../extract/extract.ts';
import type { Statement } from '../extract/types.ts';

export const GOAL_STATES = ['open', 'met', 'unreachable', 'superseded'] as const;
export type GoalState = (typeof GOAL_STATES)[number];

/**
 * Similarities (all-MiniLM-L6-v2 on whole sentences; lexical Dice when a vector is
 * missing). A sentence states a goal as done when it says the same thing (measured:
 * the restated bridge goal 0.91, a related status sentence 0.65, a scheduled audit
 * 0.80 — excluded as planned, not done). An update names its goal less exactly
 * ("the goal of closing by October 31, 2026 cannot be met" 0.59), so it needs less,
 * and a matching deadline settles it.
 */
export const GOAL_MET_MIN = { embedding: 0.8, lexical: 0.6 };
export const GOAL_UPDATE_MIN = { embedding: 0.4, lexical: 0.25 };

export interface KnownGoal {
  id: string;
  text: string;
  doc: string;
  state: GoalState;
  /** A newer target replaced it (after it became unreachable). */
  replaced?: boolean;
  deadline?: Deadline;
  vector?: readonly number[] | null;
  /** The figure the goal sets ("hire 20 engineers"), when it sets one. */
  target?: Statement;
}

export interface GoalChange {
  goalId: string;
  /** The new state; unchanged (null) when an unreachable goal is only replaced by a new target. */
  state: GoalState | null;
  replaced?: boolean;
  /** The sentence that said so. */
  text: string;
  span?: [number, number];
}

interface Said {
  text: string;
  vector?: readonly number[] | null;
}

const overlaps = (a: Deadline, b: Deadline) => a.start <= b.end && b.start <= a.end;

/**
 * What a new document does to the scope's goals. `goals` are the goals known before
 * the document (its own new goals are not candidates); each goal changes at most once
 * per document, and only forward (met, unreachable and superseded are final).
 */
export function goalChanges(
  goals: readonly KnownGoal[],
  doc: { id: string; updates: readonly (GoalUpdate & { vector?: readonly number[] | null })[]; claims: readonly (Pick<ClaimFact, 'text' | 'mood' | 'span'> & { vector?: readonly number[] | null })[] },
): GoalChange[] {
  const out: GoalChange[] = [];
  const changed = new Set<string>();
  const pick = (candidates: readonly KnownGoal[], said: Said, dates: readonly Deadline[], min: { embedding: number; lexical: number }) => {
    let best: { g: KnownGoal; score: number } | undefined;
    for (const g of candidates) {
      if (changed.has(g.id) || g.doc === doc.id) continue;
      const s = similarity(g, said);
      const byDate = g.deadline && dates.some((d) => overlaps(d, g.deadline!));
      // A deadline named again is the strongest pointer to a goal; otherwise the words must match.
      const score = s.score + (byDate ? 1 : 0);
      if (!byDate && s.score < min[s.by]) continue;
      if (!best || score > best.score) best = { g, score };
    }
    return best?.g;
  };

  for (const u of doc.updates) {
    if (u.state === 'unreachable') {
      const g = pick(goals.filter((x) => x.state === 'open'), u, u.dates, GOAL_UPDATE_MIN);
      if (g) {
        out.push({ goalId: g.id, state: 'unreachable', text: u.text, ...(u.span ? { span: u.span } : {}) });
        changed.add(g.id);
      }
    } else {
      // A new target replaces the goal it restates with another deadline.
      const candidates = goals.filter((x) => (x.state === 'open' || (x.state === 'unreachable' && !x.replaced)) && !(x.deadline && u.deadline && overlaps(x.deadline, u.deadline)));
      const g = pick(candidates, u, [], GOAL_UPDATE_MIN);
      if (g) {
        out.push(g.state === 'open' ? { goalId: g.id, state: 'superseded', text: u.text, ...(u.span ? { span: u.span } : {}) } : { goalId: g.id, state: null, replaced: true, text: u.text, ...(u.span ? { span: u.span } : {}) });
        changed.add(g.id);
      }
    }
  }

  // Met: a sentence that states the goal as done or holding — not planned, not denied.
  for (const c of doc.claims) {
    if (!c.mood?.done || c.mood.negated || c.mood.modal) continue;
    let best: { g: KnownGoal; score: number } | undefined;
    for (const g of goals) {
      if (g.state !== 'open' || changed.has(g.id) || g.doc === doc.id) continue;
      const s = similarity(g, c);
      if (s.score >= GOAL_MET_MIN[s.by] && (!best || s.score > best.score)) best = { g, score: s.score };
    }
    if (best) {
      out.push({ goalId: best.g.id, state: 'met', text: c.text, ...(c.span ? { span: c.span } : {}) });
      changed.add(best.g.id);
    }
  }
  return out;
}
