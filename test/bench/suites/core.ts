// Pure governance / convergence / finality cores, per call, in-process (no I/O).
// Cases: a tier-1 governance decision (rotating over approve, review, reject inputs),
// convergence analysis of 20 history points, the full finality evaluation over 20 points
// (analysis + gates + finality.yaml rules), and building a review request.
// Baseline: an empty call timed the same way (the timer's own cost). The reference quotes
// < 1 ms per decision and < 5 ms for the convergence math; `x_reference` = reference / p99.
import { analyzeConvergence, convergencePoint, type ConvergencePoint } from '../../../shared/domain/convergence.ts';
import { convergenceConfig, evaluateFinality } from '../../../shared/domain/finality.ts';
import { evaluateProposal, type GovernanceInput } from '../../../shared/domain/governance.ts';
import { buildReviewRequest } from '../../../shared/domain/review.ts';
import { loadFinalityPolicy, loadGovernancePolicy } from '../../../shared/policy/load.ts';
import type { Mode } from '../../../shared/domain/policy.ts';
import { hitlSnapshot, scenarios } from '../../unit/core/fixtures.ts';
import { latencyRows, percentile, timeCalls, type BenchRow, type BenchSuite } from '../harness.ts';

const N = 20_000;

export const suite: BenchSuite = {
  name: 'core',
  description: 'pure cores per call: tier-1 governance decision, convergence analysis and finality evaluation over 20 history points, review request; baseline: empty call',
  async run(): Promise<BenchRow[]> {
    const gov = loadGovernancePolicy();
    const fin = loadFinalityPolicy();
    const W = fin.policy.goal_gradient.weights;
    const cfg = convergenceConfig(fin.policy);

    const modes: Mode[] = ['YOLO', 'MITL', 'MASTER'];
    const drifts = [
      { level: 'low' as const, types: [] },
      { level: 'high' as const, types: ['entropy', 'factual'] },
      { level: 'critical' as const, types: ['contradiction'] },
      { level: 'medium' as const, types: ['goal'] },
    ];
    const inputs: GovernanceInput[] = [];
    for (let i = 0; i < 24; i++) {
      inputs.push({
        proposal: { proposal_id: `p${i}`, scope: 'acme', proposer: 'planner', action: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: i % 5 === 4 ? 3 : 7 },
        state: { node: 'DriftChecked', epoch: 7 },
        drift: drifts[i % drifts.length]!,
        mode: modes[i % modes.length]!,
        authz: { allowed: true, checks: [{ relation: 'proposer', object: 'scope:acme', allowed: true, reason: 'allowed' }] },
        policy: gov.policy,
        policy_version: gov.version,
      });
    }

    // 20-point histories from the scenarios, padded by repeating their last point.
    const to20 = (pts: ConvergencePoint[]) => Array.from({ length: 20 }, (_, i) => pts[Math.min(i, pts.length - 1)]!);
    const sets = [scenarios.steady(), scenarios.plateau(), scenarios.spikeDrop(), scenarios.divergence(), scenarios.bottleneck()].map((snaps) => ({
      snapshot: snaps.at(-1)!,
      history: to20(snaps.map((s) => convergencePoint(s, W))),
    }));
    const hitl = hitlSnapshot();
    const hitlEval = evaluateFinality({ snapshot: hitl, history: to20([convergencePoint(hitl, W)]), policy: fin.policy, now: 0, human: null, certified: null });

    let sink = 0;
    const baseline = await timeCalls(N, (i) => {
      sink += i;
    });
    const decision = await timeCalls(N, (i) => {
      sink += evaluateProposal(inputs[i % inputs.length]!).obligations.length;
    });
    const convergence = await timeCalls(N, (i) => {
      sink += analyzeConvergence(sets[i % sets.length]!.history, cfg).rate;
    });
    const finality = await timeCalls(N, (i) => {
      const s = sets[i % sets.length]!;
      sink += evaluateFinality({ snapshot: s.snapshot, history: s.history, policy: fin.policy, now: 0, human: null, certified: null }).goal_score;
    });
    const review = await timeCalls(N, () => {
      sink += buildReviewRequest('acme', hitl, hitlEval, fin.policy).blockers.length;
    });
    if (Number.isNaN(sink)) throw new Error('unreachable');

    const p99 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 99);
    return [
      ...latencyRows('baseline-empty-call', baseline),
      ...latencyRows('governance-decision', decision),
      { case: 'governance-decision', metric: 'x_reference', value: 1 / p99(decision), unit: 'x (1 ms / p99)' },
      ...latencyRows('convergence-analysis-20', convergence),
      { case: 'convergence-analysis-20', metric: 'x_reference', value: 5 / p99(convergence), unit: 'x (5 ms / p99)' },
      ...latencyRows('finality-evaluation-20', finality),
      { case: 'finality-evaluation-20', metric: 'x_reference', value: 5 / p99(finality), unit: 'x (5 ms / p99)' },
      ...latencyRows('review-request', review),
    ];
  },
};
