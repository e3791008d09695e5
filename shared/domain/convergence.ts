// Convergence tracker (reference §6.3): pure functions over a scope's history of
// evaluation rounds, oldest first. Nothing here reads or writes: a round is appended
// by the store only when a real evaluation happens.
import {
  bottleneck,
  dimensionScores,
  goalScore,
  lyapunovV,
  pressure,
  type Dimension,
  type Dimensions,
  type Snapshot,
  type Weights,
} from './snapshot.ts';

export interface ConvergencePoint {
  goal_score: number;
  lyapunov_v: number;
  dimensions: Dimensions;
  pressure: Dimensions;
}

export interface ConvergenceConfig {
  /** Monotonicity window (Gate A): the last β scores must not fall. */
  beta: number;
  /** Plateau: this many rounds in a row of negligible progress. */
  tau: number;
  ema_alpha: number;
  plateau_threshold: number;
  /** α below this (with ≥ 3 rounds) means the scope is diverging. */
  divergence_rate: number;
  /** ...provided V rose by at least this fraction in the last round (default 1 %). */
  divergence_min_step?: number;
  auto_threshold: number;
  monotonic_tolerance: number;
  /** ETA is the number of rounds until V drops below this. */
  eta_target_v: number;
  /** α averages over at most this many consecutive pairs. */
  rate_window: number;
  /** Oscillation looks at this many latest scores. */
  oscillation_window: number;
}

export const DEFAULT_CONVERGENCE: ConvergenceConfig = {
  beta: 3,
  tau: 3,
  ema_alpha: 0.3,
  plateau_threshold: 0.01,
  divergence_rate: -0.05,
  auto_threshold: 0.92,
  monotonic_tolerance: 0.001,
  eta_target_v: 0.005,
  rate_window: 5,
  oscillation_window: 10,
};

export interface PlateauState {
  is_plateaued: boolean;
  /** Trailing rounds whose progress EMA stayed under the threshold. */
  rounds: number;
  ema: number;
}

export interface OscillationState {
  direction_changes: number;
  /** Lag-1 autocorrelation of the window; null below 4 points or with a flat series. */
  autocorrelation_lag1: number | null;
  detected: boolean;
}

export interface ConvergenceAnalysis {
  rounds: number;
  goal_score: number | null;
  lyapunov_v: number | null;
  /** α: mean of −ln(V_t / V_{t−1}); > 0 converging, < 0 diverging. */
  rate: number;
  /** Rounds until V < eta_target_v at rate α; 0 when already there; null when not converging (or > 1000). */
  eta_rounds: number | null;
  is_monotonic: boolean;
  is_diverging: boolean;
  plateau: PlateauState;
  oscillation: OscillationState;
  /** Gate C: 1 for a clean trajectory, lower for reversals, anti-correlation and drops from a peak. */
  trajectory_quality: number;
  pressure: Dimensions | null;
  bottleneck: Dimension | null;
  score_history: number[];
}

const V_FLOOR = 1e-10;
export const DIVERGENCE_MIN_STEP = 0.01;

/** One round's numbers from a snapshot. */
export function convergencePoint(s: Snapshot, weights: Weights, claimTarget = 0.85): ConvergencePoint {
  const dimensions = dimensionScores(s, claimTarget);
  return {
    dimensions,
    goal_score: goalScore(dimensions, weights),
    lyapunov_v: lyapunovV(dimensions, weights),
    pressure: pressure(dimensions, weights),
  };
}

/** α over the last ≤ window consecutive pairs; pairs starting at V ≈ 0 carry no information and are skipped. */
export function convergenceRate(vs: readonly number[], window = 5): number {
  let sum = 0;
  let n = 0;
  for (let i = Math.max(1, vs.length - window); i < vs.length; i++) {
    const prev = vs[i - 1]!;
    if (prev <= V_FLOOR) continue;
    sum += -Math.log(Math.max(vs[i]! / prev, V_FLOOR));
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

export function etaRounds(v: number, rate: number, target = 0.005): number | null {
  if (v <= target) return 0;
  if (rate <= 0.001) return null;
  const eta = Math.ceil(-Math.log(target / v) / rate);
  return eta > 1000 ? null : eta;
}

/** Gate A: at least β rounds, and none of the last β scores fell by more than the tolerance. */
export function isMonotonic(scores: readonly number[], beta: number, tolerance = 0.001): boolean {
  if (scores.length < beta || beta < 1) return false;
  for (let i = scores.length - beta + 1; i < scores.length; i++) {
    if (scores[i]! < scores[i - 1]! - tolerance) return false;
  }
  return true;
}

/**
 * EMA of the progress ratio r_t = max(0, s_t − s_{t−1}) / max(auto − s_t, 0.001): progress
 * relative to the distance still to go. Plateaued after τ trailing rounds under the threshold.
 */
export function plateau(
  scores: readonly number[],
  auto: number,
  alpha: number,
  threshold: number,
  tau: number,
): PlateauState {
  let ema = 0;
  let rounds = 0;
  for (let t = 1; t < scores.length; t++) {
    const r = Math.max(0, scores[t]! - scores[t - 1]!) / Math.max(auto - scores[t]!, 0.001);
    ema = alpha * r + (1 - alpha) * ema;
    rounds = ema < threshold ? rounds + 1 : 0;
  }
  return { is_plateaued: rounds >= tau, rounds, ema };
}

function lag1Autocorrelation(x: readonly number[], from: number): number | null {
  const n = x.length - from - 1; // pairs
  if (n + 1 < 4) return null;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += x[from + i]!;
    mb += x[from + i + 1]!;
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const a = x[from + i]! - ma;
    const b = x[from + i + 1]! - mb;
    cov += a * b;
    va += a * a;
    vb += b * b;
  }
  // A flat series has no defined correlation; treat it as "no oscillation evidence".
  if (va < 1e-18 || vb < 1e-18) return null;
  return cov / Math.sqrt(va * vb);
}

/** Gate C inputs over the last `window` scores: direction reversals and lag-1 autocorrelation. */
export function oscillation(scores: readonly number[], window = 10, tolerance = 0.001): OscillationState & { quality: number } {
  const from = Math.max(0, scores.length - window);
  const n = scores.length - from;
  let changes = 0;
  for (let i = from + 2; i < scores.length; i++) {
    const d1 = scores[i - 1]! - scores[i - 2]!;
    const d2 = scores[i]! - scores[i - 1]!;
    if ((d1 > tolerance && d2 < -tolerance) || (d1 < -tolerance && d2 > tolerance)) changes++;
  }
  const ac = lag1Autocorrelation(scores, from);
  let quality = 1;
  if (n > 1) {
    quality = 1 - 0.12 * Math.min(changes, 5);
    if (ac !== null && ac < -0.3) quality = Math.min(quality, 0.65);
    if (n >= 3) {
      let max = -Infinity;
      for (let i = from; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
      // Fallen well below its own peak: the trajectory is not settling.
      if (max - scores[scores.length - 1]! > 0.05) quality = Math.min(quality, 0.85);
    }
    quality = Math.min(1, Math.max(0, quality));
  }
  return {
    direction_changes: changes,
    autocorrelation_lag1: ac,
    detected: changes >= 2 || (ac !== null && ac < -0.3),
    quality,
  };
}

/** Everything the finality evaluator and the review request need, from the history (oldest first). */
export function analyzeConvergence(history: readonly ConvergencePoint[], cfg: ConvergenceConfig = DEFAULT_CONVERGENCE): ConvergenceAnalysis {
  const n = history.length;
  const scores = new Array<number>(n);
  const vs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    scores[i] = history[i]!.goal_score;
    vs[i] = history[i]!.lyapunov_v;
  }
  const last = n > 0 ? history[n - 1]! : null;
  const rate = convergenceRate(vs, cfg.rate_window);
  const osc = oscillation(scores, cfg.oscillation_window, cfg.monotonic_tolerance);
  return {
    rounds: n,
    goal_score: last?.goal_score ?? null,
    lyapunov_v: last?.lyapunov_v ?? null,
    rate,
    eta_rounds: last ? etaRounds(last.lyapunov_v, rate, cfg.eta_target_v) : null,
    is_monotonic: isMonotonic(scores, cfg.beta, cfg.monotonic_tolerance),
    // Diverging: α below the rate over the window *and* V still rising in the last round. A
    // single drop (a contradiction discovered) followed by a flat stretch is a plateau to
    // put to a human, not a divergence to escalate.
    is_diverging: n >= 3 && rate < cfg.divergence_rate && vs[n - 1]! > vs[n - 2]! * (1 + (cfg.divergence_min_step ?? DIVERGENCE_MIN_STEP)),
    plateau: plateau(scores, cfg.auto_threshold, cfg.ema_alpha, cfg.plateau_threshold, cfg.tau),
    oscillation: { direction_changes: osc.direction_changes, autocorrelation_lag1: osc.autocorrelation_lag1, detected: osc.detected },
    trajectory_quality: osc.quality,
    pressure: last?.pressure ?? null,
    bottleneck: last ? bottleneck(last.pressure) : null,
    score_history: scores,
  };
}
