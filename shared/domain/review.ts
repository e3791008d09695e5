// The human finality review request (reference §6.5): why the scope is not final, what
// blocks it (with node ids), the trajectory, and the four options. The explanation here
// is deterministic text; the finality step may add an LLM-written one (llm_explanation,
// shared/llm/agents.ts explainReview), with this text as its fallback.
import type { FinalityPolicy } from './policy.ts';
import type { Basis, FinalityEvaluation, HumanOption } from './finality.ts';
import type { Dimension, Snapshot } from './snapshot.ts';

export type DimensionStatus = 'ok' | 'partial' | 'blocking';

export interface DimensionBreakdown {
  name: Dimension;
  score: number;
  weight: number;
  status: DimensionStatus;
  detail: string;
}

export type BlockerType =
  | 'unresolved_contradiction'
  | 'critical_risk'
  | 'critical_assessment'
  | 'low_confidence_claims'
  | 'missing_goal_resolution'
  | 'low_evidence_coverage';

export interface Blocker {
  type: BlockerType;
  node_ids: string[];
  /** For contradictions: the contradicts edges. */
  edge_ids?: string[];
  description: string;
}

export interface ReviewOption {
  option: HumanOption;
  label: string;
  days?: number;
}

export interface FinalityReviewRequest {
  type: 'finality_review';
  scope_id: string;
  goal_score: number;
  near_threshold: number;
  auto_threshold: number;
  gap: number;
  dimension_breakdown: DimensionBreakdown[];
  blockers: Blocker[];
  explanation: string;
  llm_explanation: string | null;
  suggested_actions: string[];
  options: ReviewOption[];
  convergence: {
    rate: number;
    estimated_rounds: number | null;
    plateau_rounds: number;
    lyapunov_v: number;
    highest_pressure: Dimension | null;
    is_monotonic: boolean;
    is_plateaued: boolean;
    score_history: number[];
    trajectory_quality: number;
    oscillation_detected: boolean;
  };
  /** The evidence the request describes; a response applies to exactly this. */
  basis: Basis;
}

const ACTION_FOR: Record<BlockerType, string> = {
  unresolved_contradiction: 'Resolve the open contradictions: say which claim holds, or add a resolution document.',
  critical_risk: 'Mitigate or accept the critical risks explicitly.',
  critical_assessment: 'Address the critical assessments.',
  low_confidence_claims: 'Corroborate the low-confidence claims with a further source.',
  missing_goal_resolution: 'Confirm the open goals are met, or state why they no longer apply.',
  low_evidence_coverage: 'Attach sources to the claims that cite none.',
};

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function dimensionBreakdown(s: Snapshot, ev: FinalityEvaluation, p: FinalityPolicy): DimensionBreakdown[] {
  const w = p.goal_gradient.weights;
  const target = p.goal_gradient.claim_confidence_target;
  const d = ev.dimensions;
  const claimStatus: DimensionStatus =
    s.claims_active_count === 0 ? 'blocking' : s.claims_active_min_confidence >= target ? 'ok' : s.claims_active_min_confidence >= 0.65 ? 'partial' : 'blocking';
  const goalStatus: DimensionStatus = s.goals_completion_ratio >= 0.9 ? 'ok' : s.goals_completion_ratio >= 0.7 ? 'partial' : 'blocking';
  const riskStatus: DimensionStatus = s.scope_risk_score < 0.2 ? 'ok' : s.scope_risk_score < 0.5 ? 'partial' : 'blocking';
  return [
    {
      name: 'claim_confidence',
      score: r4(d.claim_confidence),
      weight: w.claim_confidence,
      status: claimStatus,
      detail: `${s.claims_active_count} active claims, min confidence ${r4(s.claims_active_min_confidence)}, average ${r4(s.claims_active_avg_confidence)} (target ${target})`,
    },
    {
      name: 'contradiction_resolution',
      score: r4(d.contradiction_resolution),
      weight: w.contradiction_resolution,
      status: s.contradictions_unresolved_count === 0 ? 'ok' : 'blocking',
      detail: `${s.contradictions_unresolved_count} of ${s.contradictions_total_count} contradictions unresolved`,
    },
    {
      name: 'goal_completion',
      score: r4(d.goal_completion),
      weight: w.goal_completion,
      status: goalStatus,
      detail: `${s.goals_resolved_count} of ${s.goals_total_count} goals resolved`,
    },
    {
      name: 'risk_score_inverse',
      score: r4(d.risk_score_inverse),
      weight: w.risk_score_inverse,
      status: riskStatus,
      detail: `scope risk score ${r4(s.scope_risk_score)}, ${s.risks_critical_active_count} critical risks active`,
    },
  ];
}

export function blockers(s: Snapshot, p: FinalityPolicy): Blocker[] {
  const out: Blocker[] = [];
  const b = s.blockers;
  if (s.contradictions_unresolved_count > 0) {
    const ids = new Set<string>();
    for (const c of b.unresolved_contradictions) ids.add(c.source_id).add(c.target_id);
    out.push({
      type: 'unresolved_contradiction',
      node_ids: [...ids],
      edge_ids: b.unresolved_contradictions.map((c) => c.edge_id),
      description: `${s.contradictions_unresolved_count} unresolved contradiction(s)`,
    });
  }
  if (s.risks_critical_active_count > 0) {
    out.push({ type: 'critical_risk', node_ids: b.critical_risk_ids, description: `${s.risks_critical_active_count} critical risk(s) active` });
  }
  if (s.assessments_critical_unaddressed_count > 0) {
    out.push({
      type: 'critical_assessment',
      node_ids: b.critical_assessment_ids,
      description: `${s.assessments_critical_unaddressed_count} critical assessment(s) unaddressed`,
    });
  }
  if (s.claims_active_count > 0 && s.claims_active_min_confidence < p.goal_gradient.claim_confidence_target) {
    out.push({
      type: 'low_confidence_claims',
      node_ids: b.low_confidence_claim_ids,
      description: `claims below confidence ${p.goal_gradient.claim_confidence_target} (lowest ${r4(s.claims_active_min_confidence)})`,
    });
  }
  if (s.goals_completion_ratio < 0.9) {
    out.push({
      type: 'missing_goal_resolution',
      node_ids: b.open_goal_ids,
      description: `${s.goals_total_count - s.goals_resolved_count} of ${s.goals_total_count} goals not resolved`,
    });
  }
  if (s.evidence_coverage < p.evidence.min_coverage) {
    out.push({
      type: 'low_evidence_coverage',
      node_ids: [],
      description: `only ${Math.round(s.evidence_coverage * 100)}% of active claims cite a source (min ${Math.round(p.evidence.min_coverage * 100)}%)`,
    });
  }
  return out;
}

export function buildReviewRequest(scope: string, s: Snapshot, ev: FinalityEvaluation, p: FinalityPolicy): FinalityReviewRequest {
  const near = p.goal_gradient.near_finality_threshold;
  const auto = p.goal_gradient.auto_finality_threshold;
  const bl = blockers(s, p);
  const c = ev.convergence;
  const trend =
    c.rounds < 2
      ? 'one evaluation round so far'
      : `α=${r4(c.rate)} over ${c.rounds} rounds, ${c.is_monotonic ? 'monotonic' : 'not monotonic'}${c.plateau.is_plateaued ? `, plateau for ${c.plateau.rounds} rounds` : ''}${c.oscillation.detected ? ', oscillating' : ''}`;
  const explanation =
    `Goal score ${r4(ev.goal_score)} (resolvable from ${auto}, gap ${r4(Math.max(0, auto - ev.goal_score))}); ` +
    `V=${r4(ev.lyapunov_v)}; bottleneck ${c.bottleneck ?? 'none'}; ${trend}. ` +
    (bl.length ? `Blocking: ${bl.map((x) => x.description).join('; ')}.` : 'No content blockers; a gate holds it back.');
  return {
    type: 'finality_review',
    scope_id: scope,
    goal_score: r4(ev.goal_score),
    near_threshold: near,
    auto_threshold: auto,
    gap: r4(Math.max(0, auto - ev.goal_score)),
    dimension_breakdown: dimensionBreakdown(s, ev, p),
    blockers: bl,
    explanation,
    llm_explanation: null,
    suggested_actions: bl.map((x) => ACTION_FOR[x.type]),
    options: [
      { option: 'approve_finality', label: 'Mark as Resolved now' },
      { option: 'provide_resolution', label: 'Add missing resolutions' },
      { option: 'escalate', label: 'Escalate to authority' },
      { option: 'defer', days: p.review.defer_days, label: `Defer review (${p.review.defer_days} days)` },
    ],
    convergence: {
      rate: c.rate,
      estimated_rounds: c.eta_rounds,
      plateau_rounds: c.plateau.rounds,
      lyapunov_v: ev.lyapunov_v,
      highest_pressure: c.bottleneck,
      is_monotonic: c.is_monotonic,
      is_plateaued: c.plateau.is_plateaued,
      score_history: c.score_history,
      trajectory_quality: c.trajectory_quality,
      oscillation_detected: c.oscillation.detected,
    },
    basis: ev.basis,
  };
}
