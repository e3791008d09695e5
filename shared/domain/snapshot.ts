// What the finality evaluator knows about a scope at one moment (aggregated from the
// semantic graph, the context log and the convergence history by shared/store/snapshot.ts),
// and the four dimension scores derived from it.

export const DIMENSIONS = ['claim_confidence', 'contradiction_resolution', 'goal_completion', 'risk_score_inverse'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type Dimensions = Record<Dimension, number>;
export type Weights = Record<Dimension, number>;

export const DEFAULT_WEIGHTS: Weights = {
  claim_confidence: 0.3,
  contradiction_resolution: 0.3,
  goal_completion: 0.25,
  risk_score_inverse: 0.15,
};

export interface ContradictionRef {
  edge_id: string;
  source_id: string;
  target_id: string;
}

/** Node ids behind each blocker, so a reviewer sees exactly what is open. */
export interface SnapshotBlockers {
  unresolved_contradictions: ContradictionRef[];
  low_confidence_claim_ids: string[];
  open_goal_ids: string[];
  critical_risk_ids: string[];
  critical_assessment_ids: string[];
}

export interface Snapshot {
  claims_active_count: number;
  /** 0 when there are no active claims. */
  claims_active_min_confidence: number;
  claims_active_avg_confidence: number;
  /** Contradictions whose claims held at overlapping times; resolved and mooted ones stay counted. */
  contradictions_total_count: number;
  contradictions_unresolved_count: number;
  /** Σ weight of unresolved contradictions (edge weight carries severity). */
  contradiction_mass: number;
  goals_total_count: number;
  goals_resolved_count: number;
  /** met / all goals (superseded and replaced ones left out); 1 when there are none. */
  goals_completion_ratio: number;
  /** Goals a document declared unreachable that no new target replaced. */
  goals_unreachable_count: number;
  risks_critical_active_count: number;
  /** clamp₀₁(Σ risk_delta of active assessments). */
  scope_risk_score: number;
  assessments_critical_unaddressed_count: number;
  /** Share of active claims that cite a source document or have a supporting edge. */
  evidence_coverage: number;
  /** Node kinds that finality.yaml requires but the graph lacks. */
  evidence_missing_kinds: string[];
  /** Evaluation rounds in a row (this one included) that saw no graph change. */
  idle_cycles: number;
  /** Time since the graph last changed (since the scope was created when it never did). */
  last_delta_age_ms: number;
  /** Time since anything was appended to the scope's context log. */
  last_active_age_ms: number;
  /** Highest graph version id of the scope: any node or edge change raises it. */
  graph_revision: number;
  /** Highest context-log seq of an evidence kind (documents, resolutions). */
  evidence_seq: number;
  blockers: SnapshotBlockers;
}

/** An empty scope: no nodes, no edges, no history. */
export function emptySnapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    claims_active_count: 0,
    claims_active_min_confidence: 0,
    claims_active_avg_confidence: 0,
    contradictions_total_count: 0,
    contradictions_unresolved_count: 0,
    contradiction_mass: 0,
    goals_total_count: 0,
    goals_resolved_count: 0,
    goals_completion_ratio: 1,
    goals_unreachable_count: 0,
    risks_critical_active_count: 0,
    scope_risk_score: 0,
    assessments_critical_unaddressed_count: 0,
    evidence_coverage: 1,
    evidence_missing_kinds: [],
    idle_cycles: 0,
    last_delta_age_ms: 0,
    last_active_age_ms: 0,
    graph_revision: 0,
    evidence_seq: 0,
    blockers: {
      unresolved_contradictions: [],
      low_confidence_claim_ids: [],
      open_goal_ids: [],
      critical_risk_ids: [],
      critical_assessment_ids: [],
    },
    ...overrides,
  };
}

export const clamp01 = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : Number.isNaN(x) ? 0 : x);

/**
 * The four dimension scores in [0, 1] (reference §6.2):
 * claim = min(avg confidence / target, 1); contradictions = 1 − unresolved/total (1 when none);
 * goals = completion ratio; risk = 1 − risk score.
 */
export function dimensionScores(s: Snapshot, claimTarget = 0.85): Dimensions {
  return {
    claim_confidence: s.claims_active_count > 0 ? clamp01(s.claims_active_avg_confidence / claimTarget) : 0,
    contradiction_resolution:
      s.contradictions_total_count > 0 ? clamp01(1 - s.contradictions_unresolved_count / s.contradictions_total_count) : 1,
    goal_completion: clamp01(s.goals_completion_ratio),
    risk_score_inverse: 1 - clamp01(s.scope_risk_score),
  };
}

/** Linear weighted goal score, clamped to [0, 1]. */
export function goalScore(d: Dimensions, w: Weights): number {
  return clamp01(
    w.claim_confidence * d.claim_confidence +
      w.contradiction_resolution * d.contradiction_resolution +
      w.goal_completion * d.goal_completion +
      w.risk_score_inverse * d.risk_score_inverse,
  );
}

/** Lyapunov disagreement V = Σ w·(1 − d)²; 0 is perfect. */
export function lyapunovV(d: Dimensions, w: Weights): number {
  const g = (x: number) => (1 - x) * (1 - x);
  return (
    w.claim_confidence * g(d.claim_confidence) +
    w.contradiction_resolution * g(d.contradiction_resolution) +
    w.goal_completion * g(d.goal_completion) +
    w.risk_score_inverse * g(d.risk_score_inverse)
  );
}

/** Per-dimension pressure p = w·max(0, 1 − d): how much score each dimension withholds. */
export function pressure(d: Dimensions, w: Weights): Dimensions {
  return {
    claim_confidence: w.claim_confidence * Math.max(0, 1 - d.claim_confidence),
    contradiction_resolution: w.contradiction_resolution * Math.max(0, 1 - d.contradiction_resolution),
    goal_completion: w.goal_completion * Math.max(0, 1 - d.goal_completion),
    risk_score_inverse: w.risk_score_inverse * Math.max(0, 1 - d.risk_score_inverse),
  };
}

/** The dimension with the highest pressure (first in DIMENSIONS order on ties); null when nothing presses. */
export function bottleneck(p: Dimensions): Dimension | null {
  let best: Dimension | null = null;
  let max = 0;
  for (const k of DIMENSIONS) {
    if (p[k] > max) {
      max = p[k];
      best = k;
    }
  }
  return best;
}
