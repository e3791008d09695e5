// Snapshot builders for the convergence scenarios of the issue (reference §11.2) and the
// HITL seed (§10.5). Shared by the unit tests and the core benchmark.
import { emptySnapshot, type Snapshot } from '../../../shared/domain/snapshot.ts';

/** Five active claims at one confidence, goal ratio, scope risk, contradictions unresolved of total. */
export function snap(conf: number, goals: number, risk: number, unresolved: number, total: number, extra: Partial<Snapshot> = {}): Snapshot {
  return emptySnapshot({
    claims_active_count: 5,
    claims_active_min_confidence: conf,
    claims_active_avg_confidence: conf,
    goals_total_count: 20,
    goals_resolved_count: Math.round(goals * 20),
    goals_completion_ratio: goals,
    scope_risk_score: risk,
    contradictions_total_count: total,
    contradictions_unresolved_count: unresolved,
    contradiction_mass: unresolved,
    ...extra,
  });
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

export const scenarios = {
  /** 1. 15 rounds: confidence 0.5→0.95, goals 0.5→1.0, risk 0.3→0, 3 contradictions resolved one by one. */
  steady: (): Snapshot[] =>
    Array.from({ length: 15 }, (_, i) => {
      const t = i / 14;
      return snap(lerp(0.5, 0.95, t), lerp(0.5, 1, t), lerp(0.3, 0, t), Math.round(3 * (1 - t)), 3);
    }),
  /** 2. 10 rounds alternating around 0.71; 1 of 2 contradictions unresolved. */
  plateau: (): Snapshot[] => Array.from({ length: 10 }, (_, i) => snap(i % 2 ? 0.698 : 0.702, i % 2 ? 0.648 : 0.652, 0, 1, 2)),
  /** 3. Scores 0.75, 0.81, 0.87, 0.99, 0.86. */
  spikeDrop: (): Snapshot[] => [snap(0.9, 0.6, 0, 2, 4), snap(0.9, 0.84, 0, 2, 4), snap(0.9, 0.78, 0, 1, 4), snap(0.9, 0.96, 0, 0, 4), snap(0.9, 0.74, 0, 1, 4)],
  /** 4. Contradictions 1/2 → 6/7, confidence 0.7→0.45, goals 0.6→0.35, risk 0.2→0.7. */
  divergence: (): Snapshot[] => Array.from({ length: 6 }, (_, i) => snap(0.7 - 0.05 * i, 0.6 - 0.05 * i, 0.2 + 0.1 * i, 1 + i, 2 + i)),
  /** 5. Everything ≥ 0.95 but 3 of 4 contradictions unresolved, 5 rounds. */
  bottleneck: (): Snapshot[] => Array.from({ length: 5 }, () => snap(0.95, 0.95, 0.05, 3, 4)),
  /** 6. Three rounds to ≥ 0.98. */
  fast: (): Snapshot[] => [snap(0.7, 0.7, 0.1, 1, 2), snap(0.85, 0.9, 0.05, 0, 2), snap(0.95, 1, 0, 0, 2)],
  /** 7. Empty graph: no claims, no goals completed, no risk. */
  empty: (): Snapshot[] => [emptySnapshot({ goals_completion_ratio: 0 })],
};

/** The HITL seed fixture (§10.5): 5 claims at 0.9, 2 contradictions (1 resolved), 4 of 5 goals resolved, 2 high risks. */
export const hitlSnapshot = (): Snapshot =>
  emptySnapshot({
    claims_active_count: 5,
    claims_active_min_confidence: 0.9,
    claims_active_avg_confidence: 0.9,
    contradictions_total_count: 2,
    contradictions_unresolved_count: 1,
    contradiction_mass: 1,
    goals_total_count: 5,
    goals_resolved_count: 4,
    goals_completion_ratio: 0.8,
    evidence_coverage: 0,
  });
