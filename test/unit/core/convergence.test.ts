import { describe, expect, it } from 'vitest';
import {
  analyzeConvergence,
  convergencePoint,
  convergenceRate,
  DEFAULT_CONVERGENCE,
  etaRounds,
  isMonotonic,
  oscillation,
  plateau,
} from '../../../shared/domain/convergence.ts';
import { bottleneck, DEFAULT_WEIGHTS, dimensionScores, emptySnapshot, goalScore, lyapunovV, pressure, type Snapshot } from '../../../shared/domain/snapshot.ts';
import { hitlSnapshot, scenarios, snap } from './fixtures.ts';

const analyze = (snaps: Snapshot[]) => {
  const points = snaps.map((s) => convergencePoint(s, DEFAULT_WEIGHTS));
  return { points, a: analyzeConvergence(points, DEFAULT_CONVERGENCE) };
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

describe('dimension scores and goal score (reference §6.2)', () => {
  it('normalises claim confidence by 0.85 and caps at 1', () => {
    expect(dimensionScores(snap(0.425, 1, 0, 0, 0)).claim_confidence).toBeCloseTo(0.5, 12);
    expect(dimensionScores(snap(0.95, 1, 0, 0, 0)).claim_confidence).toBe(1);
  });
  it('scores contradictions as 1 − unresolved/total, and 1 when there are none', () => {
    expect(dimensionScores(snap(0.9, 1, 0, 1, 4)).contradiction_resolution).toBe(0.75);
    expect(dimensionScores(snap(0.9, 1, 0, 0, 0)).contradiction_resolution).toBe(1);
  });
  it('gives no claim score without active claims, and inverts the risk score', () => {
    const d = dimensionScores(emptySnapshot({ scope_risk_score: 0.3 }));
    expect(d.claim_confidence).toBe(0);
    expect(d.risk_score_inverse).toBeCloseTo(0.7, 12);
  });
  it('weights the dimensions 0.30 / 0.30 / 0.25 / 0.15', () => {
    const only = (k: keyof typeof DEFAULT_WEIGHTS) =>
      goalScore({ claim_confidence: 0, contradiction_resolution: 0, goal_completion: 0, risk_score_inverse: 0, [k]: 1 }, DEFAULT_WEIGHTS);
    expect([only('claim_confidence'), only('contradiction_resolution'), only('goal_completion'), only('risk_score_inverse')]).toEqual([0.3, 0.3, 0.25, 0.15]);
  });
  it('V = Σ w(1 − d)², pressure = w·(1 − d), bottleneck = highest pressure', () => {
    const d = { claim_confidence: 1, contradiction_resolution: 0.5, goal_completion: 0.8, risk_score_inverse: 1 };
    expect(lyapunovV(d, DEFAULT_WEIGHTS)).toBeCloseTo(0.3 * 0.25 + 0.25 * 0.04, 12);
    const p = pressure(d, DEFAULT_WEIGHTS);
    expect(p.contradiction_resolution).toBeCloseTo(0.15, 12);
    expect(p.goal_completion).toBeCloseTo(0.05, 12);
    expect(bottleneck(p)).toBe('contradiction_resolution');
    expect(bottleneck(pressure({ claim_confidence: 1, contradiction_resolution: 1, goal_completion: 1, risk_score_inverse: 1 }, DEFAULT_WEIGHTS))).toBeNull();
  });
  it('reproduces the HITL seed numbers (§10.5): score 0.80, V 0.085, bottleneck contradiction resolution', () => {
    const pt = convergencePoint(hitlSnapshot(), DEFAULT_WEIGHTS);
    expect(pt.goal_score).toBeCloseTo(0.8, 12);
    expect(pt.lyapunov_v).toBeCloseTo(0.085, 12);
    expect(pt.pressure).toEqual({ claim_confidence: 0, contradiction_resolution: 0.15, goal_completion: expect.closeTo(0.05, 12), risk_score_inverse: 0 });
    expect(bottleneck(pt.pressure)).toBe('contradiction_resolution');
  });
});

describe('convergence mechanisms (reference §6.3)', () => {
  it('α averages −ln(V_t/V_{t−1}) over the last 5 steps, skipping steps from V ≈ 0', () => {
    expect(convergenceRate([1, 0.5])).toBeCloseTo(Math.log(2), 12);
    // Only the last five pairs count: the early big jump is out of the window.
    expect(convergenceRate([100, 1, 1, 1, 1, 1, 1])).toBe(0);
    expect(convergenceRate([1, 0.5, 0, 0])).toBeCloseTo((Math.log(2) + -Math.log(1e-10)) / 2, 9);
    expect(convergenceRate([0.3])).toBe(0);
  });
  it('ETA is the rounds to V < 0.005 at rate α; 0 when there; null when not converging or beyond 1000', () => {
    expect(etaRounds(0.1, Math.log(2))).toBe(Math.ceil(Math.log(0.1 / 0.005) / Math.log(2)));
    expect(etaRounds(0.004, 0)).toBe(0);
    expect(etaRounds(0.1, 0.0005)).toBeNull();
    expect(etaRounds(0.1, -1)).toBeNull();
    expect(etaRounds(1e6, 0.002)).toBeNull();
  });
  it('monotonicity needs β points and tolerates drops up to 0.001', () => {
    expect(isMonotonic([0.5, 0.6], 3)).toBe(false);
    expect(isMonotonic([0.5, 0.6, 0.7], 3)).toBe(true);
    expect(isMonotonic([0.5, 0.6, 0.5995, 0.7], 3)).toBe(true);
    expect(isMonotonic([0.5, 0.6, 0.598, 0.7], 3)).toBe(false);
    // Only the window counts: an old drop is forgiven.
    expect(isMonotonic([0.9, 0.5, 0.6, 0.7], 3)).toBe(true);
  });
  it('plateau: τ rounds of progress EMA under the threshold', () => {
    expect(plateau([0.5, 0.5, 0.5, 0.5], 0.92, 0.3, 0.01, 3)).toMatchObject({ is_plateaued: true, rounds: 3 });
    expect(plateau([0.5, 0.5, 0.5], 0.92, 0.3, 0.01, 3)).toMatchObject({ is_plateaued: false, rounds: 2 });
    expect(plateau([0.4, 0.5, 0.6, 0.7], 0.92, 0.3, 0.01, 3)).toMatchObject({ is_plateaued: false, rounds: 0 });
  });
  it('oscillation: direction changes and lag-1 autocorrelation set trajectory quality', () => {
    const zigzag = oscillation([0.5, 0.6, 0.5, 0.6, 0.5]);
    expect(zigzag.direction_changes).toBe(3);
    expect(zigzag.autocorrelation_lag1).toBeCloseTo(-1, 9);
    expect(zigzag.detected).toBe(true);
    expect(zigzag.quality).toBeCloseTo(0.64, 12); // 1 − 0.12·3, then capped at 0.65
    expect(oscillation([0.5]).quality).toBe(1);
    expect(oscillation([0.5, 0.6, 0.7]).autocorrelation_lag1).toBeNull(); // fewer than 4 points
    expect(oscillation([0.6, 0.9, 0.8]).quality).toBeCloseTo(0.85, 12); // 1 change → 0.88, then 0.1 under the peak → 0.85
  });
});

describe('the seven convergence scenarios', () => {
  it('1. steady convergence over 15 rounds: α > 0, monotonic, no plateau, V falls to 0', () => {
    const { points, a } = analyze(scenarios.steady());
    expect(points).toHaveLength(15);
    expect(r3(points[0]!.goal_score)).toBe(0.406); // reference §11.2
    expect(r3(points[0]!.lyapunov_v)).toBe(0.427);
    expect(a.rate).toBeGreaterThan(0);
    expect(a.rate).toBeCloseTo(5.554, 3);
    expect(a.is_monotonic).toBe(true);
    expect(a.plateau).toMatchObject({ is_plateaued: false, rounds: 0 });
    expect(points.at(-1)!.lyapunov_v).toBe(0);
    expect(a.eta_rounds).toBe(0);
    expect(a.goal_score).toBe(1);
    expect(a.oscillation.detected).toBe(false);
  });

  it('2. plateau around 0.71 for 10 rounds: α ≈ 0, plateau, not monotonic (oscillation), bottleneck contradictions', () => {
    const { a } = analyze(scenarios.plateau());
    expect(a.score_history.every((s) => Math.abs(s - 0.71) < 0.005)).toBe(true);
    expect(Math.abs(a.rate)).toBeLessThan(0.005);
    expect(a.rate).toBeCloseTo(-0.0021, 4);
    expect(a.plateau).toMatchObject({ is_plateaued: true, rounds: 9 });
    expect(a.is_monotonic).toBe(false);
    expect(a.oscillation.detected).toBe(true);
    expect(a.oscillation.autocorrelation_lag1).toBeCloseTo(-1, 6);
    expect(a.trajectory_quality).toBeCloseTo(0.4, 12);
    expect(a.eta_rounds).toBeNull();
    expect(a.bottleneck).toBe('contradiction_resolution');
  });

  it('3. spike then drop (0.75, 0.81, 0.87, 0.99, 0.86): not monotonic', () => {
    const { a } = analyze(scenarios.spikeDrop());
    expect(a.score_history.map((s) => Math.round(s * 100) / 100)).toEqual([0.75, 0.81, 0.87, 0.99, 0.86]);
    expect(a.is_monotonic).toBe(false);
    expect(a.trajectory_quality).toBeCloseTo(0.85, 12); // 0.13 below its peak
    expect(a.rate).toBeGreaterThan(0); // V still fell overall: only the gate catches it
  });

  it('4. divergence: α < −0.05', () => {
    const { points, a } = analyze(scenarios.divergence());
    expect([r3(points[0]!.goal_score), r3(points.at(-1)!.goal_score)]).toEqual([0.667, 0.334]); // reference §11.2
    expect([r3(points[0]!.lyapunov_v), r3(points.at(-1)!.lyapunov_v)]).toEqual([0.13, 0.466]);
    expect(a.rate).toBeCloseTo(-0.2548, 4);
    expect(a.rate).toBeLessThan(-0.05);
    expect(a.is_diverging).toBe(true);
    expect(a.plateau).toMatchObject({ is_plateaued: true, rounds: 5 });
  });

  it('a single drop followed by a flat stretch is not a divergence (V must still be rising)', () => {
    // A contradiction discovered in round 2 drops the score once; nothing gets worse after.
    const point = (v: number) => ({ goal_score: 1 - v, lyapunov_v: v, dimensions: {} as never, pressure: {} as never });
    const drop = [0.251, 0.553, 0.554, 0.5545].map(point);
    const a = analyzeConvergence(drop, DEFAULT_CONVERGENCE);
    expect(a.rate).toBeLessThan(-0.05); // α alone would call it diverging...
    expect(a.is_diverging).toBe(false); // ...but V rose by under 1 % in the last round.
    const rising = analyzeConvergence([...drop, point(0.62)], DEFAULT_CONVERGENCE);
    expect(rising.is_diverging).toBe(true);
  });

  it('5. one-dimension bottleneck: contradiction resolution', () => {
    const { points, a } = analyze(scenarios.bottleneck());
    expect(r3(points[0]!.goal_score)).toBe(0.755);
    expect(r3(points[0]!.lyapunov_v)).toBe(0.17);
    expect(points[0]!.dimensions.claim_confidence).toBe(1);
    expect(points[0]!.dimensions.goal_completion).toBeGreaterThanOrEqual(0.95);
    expect(a.bottleneck).toBe('contradiction_resolution');
    expect(a.is_monotonic).toBe(true);
    expect(a.plateau).toMatchObject({ is_plateaued: true, rounds: 4 });
    expect(a.rate).toBe(0);
  });

  it('6. fast convergence: three rounds to ≥ 0.98, α > 0 and monotonic', () => {
    const { a } = analyze(scenarios.fast());
    expect(a.rounds).toBe(3);
    expect(a.score_history.at(-1)).toBeGreaterThanOrEqual(0.98);
    expect(a.rate).toBeGreaterThan(0);
    expect(a.is_monotonic).toBe(true);
    expect(a.plateau.is_plateaued).toBe(false);
  });

  it('7. empty graph: a defined score, no ETA, no crash', () => {
    const { points, a } = analyze(scenarios.empty());
    expect(points[0]!.goal_score).toBeCloseTo(0.45, 12); // reference §11.2
    expect(points[0]!.lyapunov_v).toBeCloseTo(0.55, 12);
    expect(a.eta_rounds).toBeNull();
    expect(a.rate).toBe(0);
    expect(a.is_monotonic).toBe(false);
    expect(a.plateau.is_plateaued).toBe(false);
    expect(a.trajectory_quality).toBe(1);
    expect(analyzeConvergence([])).toMatchObject({ rounds: 0, goal_score: null, eta_rounds: null, bottleneck: null, trajectory_quality: 1 });
  });
});
