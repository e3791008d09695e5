// Finality evaluator: one outcome per evaluation round from the snapshot, the
// convergence history, finality.yaml, the latest human decision and the latest
// certificate. Pure; shared/usecases/finality.ts gathers inputs and persists results.
//
// Order (each step decides when it applies):
//   0. certified outcome still covers the evidence     → that outcome (sticky, no new certificate)
//      (new evidence since the certificate re-opens the scope and evaluation continues)
//   1. human decision that covers the current evidence → approve_finality: RESOLVED,
//      escalate: ESCALATED; defer / provide_resolution only hold back new reviews
//   2. divergence (α < divergence_rate, ≥ 3 rounds)    → ESCALATED
//   3. RESOLVED rule ∧ score ≥ auto ∧ gates A–E          → RESOLVED
//   4. ESCALATED / BLOCKED / EXPIRED rules, file order  → that outcome
//   5. Gate E (minimum content) fails                   → ACTIVE
//   6. score ≥ near, not held back, not settling (resolvable but for time: too few rounds
//      or not yet quiet), not still converging                → REVIEW (human)
//   7.                                                   → ACTIVE
// Gates: A monotonic, B evidence coverage and contradiction mass, C trajectory quality,
// D quiescence, E minimum content. A human decision is tied to the evidence it saw
// (its basis): new evidence makes it stale instead of sticky forever.
import type { FinalityPolicy, RuleOutcome } from './policy.ts';
import { evaluateRule, type RuleResult } from './conditions.ts';
import {
  analyzeConvergence,
  convergencePoint,
  type ConvergenceAnalysis,
  type ConvergenceConfig,
  type ConvergencePoint,
} from './convergence.ts';
import type { Dimensions, Snapshot } from './snapshot.ts';

export const FINALITY_OUTCOMES = ['RESOLVED', 'ESCALATED', 'BLOCKED', 'EXPIRED', 'REVIEW', 'ACTIVE'] as const;
export type FinalityOutcome = (typeof FINALITY_OUTCOMES)[number];

export const HUMAN_OPTIONS = ['approve_finality', 'provide_resolution', 'escalate', 'defer'] as const;
export type HumanOption = (typeof HUMAN_OPTIONS)[number];

/** The evidence an evaluation, a human decision or a certificate saw. */
export interface Basis {
  evidence_seq: number;
  graph_revision: number;
}

export const covers = (seen: Basis, now: Basis): boolean =>
  seen.evidence_seq >= now.evidence_seq && seen.graph_revision >= now.graph_revision;

export interface HumanDecision {
  option: HumanOption;
  by: string;
  at: number;
  /** For defer: until when no review is raised. */
  defer_until: number | null;
  basis: Basis;
}

export interface CertifiedState {
  certificate_id: string;
  seq: number;
  outcome: RuleOutcome;
  basis: Basis;
}

export interface FinalityInput {
  snapshot: Snapshot;
  /** Convergence rounds oldest first, this round last. Empty for a preview without a round. */
  history: readonly ConvergencePoint[];
  policy: FinalityPolicy;
  now: number;
  human: HumanDecision | null;
  /** The latest certificate when the scope's status is still its outcome. */
  certified: CertifiedState | null;
}

export type FinalityReasonCode =
  | 'certified'
  | 'reopened'
  | 'human_approved'
  | 'human_escalated'
  | 'review_deferred'
  | 'awaiting_resolution'
  | 'diverging'
  | 'resolved'
  | 'rule'
  | 'minimum_content'
  | 'review'
  | 'converging'
  | 'settling'
  | 'below_near'
  | 'gate_failed';

export interface FinalityReason {
  code: FinalityReasonCode;
  message: string;
}

export interface GateReport {
  A_monotonic: boolean;
  B_evidence: { ok: boolean; coverage: number; contradiction_mass: number; missing_kinds: string[] };
  C_trajectory: { ok: boolean; quality: number };
  D_quiescence: { ok: boolean; idle_cycles: number; last_delta_age_ms: number };
  E_minimum_content: { ok: boolean; active_claims: number; goals: number };
}

export interface FinalityEvaluation {
  outcome: FinalityOutcome;
  decided_by: string;
  reasons: FinalityReason[];
  /** The scope had a certified outcome and new evidence re-opened it. */
  reopened: boolean;
  /** The outcome is a certificate's, carried over because nothing new arrived. */
  sticky: boolean;
  goal_score: number;
  lyapunov_v: number;
  dimensions: Dimensions;
  convergence: ConvergenceAnalysis;
  gates: GateReport;
  rules: Partial<Record<RuleOutcome, RuleResult>>;
  basis: Basis;
}

export function convergenceConfig(p: FinalityPolicy): ConvergenceConfig {
  const c = p.convergence;
  return {
    beta: c.beta,
    tau: c.tau,
    ema_alpha: c.ema_alpha,
    plateau_threshold: c.plateau_threshold,
    divergence_rate: c.divergence_rate,
    auto_threshold: p.goal_gradient.auto_finality_threshold,
    monotonic_tolerance: c.monotonic_tolerance,
    eta_target_v: c.eta_target_v,
    rate_window: c.rate_window,
    oscillation_window: c.oscillation_window,
  };
}

/** This round's point from the snapshot, with the policy's weights. */
export const pointFor = (s: Snapshot, p: FinalityPolicy): ConvergencePoint =>
  convergencePoint(s, p.goal_gradient.weights, p.goal_gradient.claim_confidence_target);

/** Still getting better on its own: no reason to ask a human yet. */
export function stillConverging(c: ConvergenceAnalysis, beta: number): boolean {
  return c.rate > 0.001 && !c.plateau.is_plateaued && (c.is_monotonic || c.rounds < beta);
}

export function gateReport(s: Snapshot, conv: ConvergenceAnalysis, p: FinalityPolicy): GateReport {
  const e = p.evidence;
  return {
    A_monotonic: conv.is_monotonic,
    B_evidence: {
      ok: s.evidence_coverage >= e.min_coverage - 1e-9 && s.contradiction_mass <= e.max_contradiction_mass + 1e-9 && s.evidence_missing_kinds.length === 0,
      coverage: s.evidence_coverage,
      contradiction_mass: s.contradiction_mass,
      missing_kinds: s.evidence_missing_kinds,
    },
    C_trajectory: { ok: conv.trajectory_quality >= p.convergence.min_trajectory_quality - 1e-9, quality: conv.trajectory_quality },
    D_quiescence: {
      ok: s.idle_cycles >= p.quiescence.idle_cycles_min && s.last_delta_age_ms >= p.quiescence.window_ms,
      idle_cycles: s.idle_cycles,
      last_delta_age_ms: s.last_delta_age_ms,
    },
    E_minimum_content: {
      ok: s.claims_active_count >= p.minimum_content.active_claims && s.goals_total_count >= p.minimum_content.goals,
      active_claims: s.claims_active_count,
      goals: s.goals_total_count,
    },
  };
}

const fmt = (x: number | null) => (x === null ? 'n/a' : (Math.round(x * 1e4) / 1e4).toString());

export function evaluateFinality(input: FinalityInput): FinalityEvaluation {
  const { snapshot: s, policy: p, now, human, certified } = input;
  const history = input.history.length > 0 ? input.history.slice(-p.convergence.history_depth) : [pointFor(s, p)];
  const conv = analyzeConvergence(history, convergenceConfig(p));
  const point = history[history.length - 1]!;
  const basis: Basis = { evidence_seq: s.evidence_seq, graph_revision: s.graph_revision };
  const gates = gateReport(s, conv, p);
  const rules: Partial<Record<RuleOutcome, RuleResult>> = {};
  for (const [k, rule] of Object.entries(p.finality) as [RuleOutcome, FinalityPolicy['finality'][RuleOutcome]][]) {
    if (rule) rules[k] = evaluateRule(rule, s);
  }
  const reasons: FinalityReason[] = [];
  const done = (outcome: FinalityOutcome, extra: Partial<FinalityEvaluation> = {}): FinalityEvaluation => ({
    outcome,
    decided_by: 'evaluator',
    reasons,
    reopened: false,
    sticky: false,
    goal_score: point.goal_score,
    lyapunov_v: point.lyapunov_v,
    dimensions: point.dimensions,
    convergence: conv,
    gates,
    rules,
    basis,
    ...extra,
  });

  // 0. A certified outcome holds until new evidence arrives.
  let reopened = false;
  if (certified) {
    if (covers(certified.basis, basis)) {
      reasons.push({ code: 'certified', message: `certificate #${certified.seq} covers the evidence (seq ${basis.evidence_seq}, graph revision ${basis.graph_revision})` });
      return done(certified.outcome, { sticky: true });
    }
    reopened = true;
    reasons.push({
      code: 'reopened',
      message: `new evidence since certificate #${certified.seq} (${certified.outcome}): evidence seq ${certified.basis.evidence_seq} → ${basis.evidence_seq}, graph revision ${certified.basis.graph_revision} → ${basis.graph_revision}`,
    });
  }

  // 1. A human decision counts only for the evidence it was made on.
  let holdReview: FinalityReason | null = null;
  if (human && covers(human.basis, basis)) {
    switch (human.option) {
      case 'approve_finality':
        reasons.push({ code: 'human_approved', message: `finality approved by ${human.by}` });
        return done('RESOLVED', { decided_by: `human:${human.by}`, reopened });
      case 'escalate':
        reasons.push({ code: 'human_escalated', message: `escalated by ${human.by}` });
        return done('ESCALATED', { decided_by: `human:${human.by}`, reopened });
      case 'defer':
        if (human.defer_until !== null && human.defer_until > now) {
          holdReview = { code: 'review_deferred', message: `review deferred by ${human.by} until ${new Date(human.defer_until).toISOString()}` };
        }
        break;
      case 'provide_resolution':
        holdReview = { code: 'awaiting_resolution', message: `${human.by} will provide a resolution; no new review until new evidence arrives` };
        break;
    }
  }

  // 2. Divergence.
  if (conv.is_diverging) {
    reasons.push({ code: 'diverging', message: `convergence rate α=${fmt(conv.rate)} < ${p.convergence.divergence_rate} over ${conv.rounds} rounds` });
    return done('ESCALATED', { reopened });
  }

  // 3. RESOLVED: the rule, the threshold and every gate.
  const auto = p.goal_gradient.auto_finality_threshold;
  const resolvedRule = rules.RESOLVED!;
  const failedGates: string[] = [];
  if (!resolvedRule.met) failedGates.push(`RESOLVED conditions: ${resolvedRule.failed.join(', ')}`);
  if (point.goal_score < auto - 1e-9) failedGates.push(`goal score ${fmt(point.goal_score)} < ${auto}`);
  if (!gates.A_monotonic) failedGates.push(`A: not monotonic over the last ${p.convergence.beta} rounds`);
  if (!gates.B_evidence.ok) {
    failedGates.push(
      `B: evidence coverage ${fmt(s.evidence_coverage)} (min ${p.evidence.min_coverage}), contradiction mass ${fmt(s.contradiction_mass)} (max ${p.evidence.max_contradiction_mass})${s.evidence_missing_kinds.length ? `, missing ${s.evidence_missing_kinds.join(', ')}` : ''}`,
    );
  }
  if (!gates.C_trajectory.ok) failedGates.push(`C: trajectory quality ${fmt(conv.trajectory_quality)} < ${p.convergence.min_trajectory_quality}`);
  if (!gates.D_quiescence.ok) {
    failedGates.push(`D: not quiescent (idle ${s.idle_cycles}/${p.quiescence.idle_cycles_min} rounds, ${s.last_delta_age_ms}/${p.quiescence.window_ms} ms since the last change)`);
  }
  if (!gates.E_minimum_content.ok) failedGates.push(`E: ${s.claims_active_count} active claims, ${s.goals_total_count} goals`);
  if (failedGates.length === 0) {
    reasons.push({ code: 'resolved', message: `score ${fmt(point.goal_score)} ≥ ${auto}, RESOLVED conditions hold and gates A–E pass` });
    return done('RESOLVED', { reopened });
  }

  // 4. Terminal rules in file order.
  for (const [k, r] of Object.entries(rules) as [RuleOutcome, RuleResult][]) {
    if (k === 'RESOLVED' || !r.met) continue;
    reasons.push({ code: 'rule', message: `${k}: ${r.holding.join(p.finality[k]!.mode === 'all' ? ' and ' : ' or ')}` });
    return done(k, { reopened });
  }

  // 5. Nothing to decide on yet.
  if (!gates.E_minimum_content.ok) {
    reasons.push({
      code: 'minimum_content',
      message: `${s.claims_active_count} active claims (min ${p.minimum_content.active_claims}), ${s.goals_total_count} goals (min ${p.minimum_content.goals})`,
    });
    return done('ACTIVE', { reopened });
  }

  // 6. Put it to a human when the swarm cannot get there alone.
  const near = p.goal_gradient.near_finality_threshold;
  if (point.goal_score >= near - 1e-9) {
    if (holdReview) {
      reasons.push(holdReview);
      return done('ACTIVE', { reopened });
    }
    // Everything is in place but time: too few rounds for Gate A, or not quiet yet (Gate D).
    const settling =
      resolvedRule.met &&
      point.goal_score >= auto - 1e-9 &&
      gates.B_evidence.ok &&
      gates.C_trajectory.ok &&
      gates.E_minimum_content.ok &&
      (gates.A_monotonic || conv.rounds < p.convergence.beta);
    if (settling) {
      reasons.push({ code: 'settling', message: `resolvable once settled: ${failedGates.join('; ')}` });
      return done('ACTIVE', { reopened });
    }
    if (p.review.suppress_while_converging && stillConverging(conv, p.convergence.beta)) {
      reasons.push({ code: 'converging', message: `still converging (α=${fmt(conv.rate)}, ETA ${conv.eta_rounds ?? 'n/a'} rounds); ${failedGates.join('; ')}` });
      return done('ACTIVE', { reopened });
    }
    reasons.push({ code: 'review', message: `score ${fmt(point.goal_score)} in review range (≥ ${near}); not resolvable because ${failedGates.join('; ')}` });
    return done('REVIEW', { reopened });
  }

  reasons.push({ code: 'below_near', message: `score ${fmt(point.goal_score)} < ${near}` });
  return done('ACTIVE', { reopened });
}
