import { describe, expect, it } from 'vitest';
import { convergencePoint } from '../../../shared/domain/convergence.ts';
import { evaluateFinality, FINALITY_OUTCOMES, type FinalityInput, type FinalityOutcome } from '../../../shared/domain/finality.ts';
import { buildReviewRequest } from '../../../shared/domain/review.ts';
import type { Snapshot } from '../../../shared/domain/snapshot.ts';
import { loadFinalityPolicy, parseFinalityPolicy } from '../../../shared/policy/load.ts';
import { hitlSnapshot, scenarios, snap } from './fixtures.ts';

const fin = loadFinalityPolicy();
const P = fin.policy;
const NOW = Date.parse('2025-06-01T12:00:00Z');
const W = P.goal_gradient.weights;
const pts = (snaps: Snapshot[]) => snaps.map((s) => convergencePoint(s, W));

/** A scope that meets every RESOLVED condition and gate on its own. */
const done = (extra: Partial<Snapshot> = {}): Snapshot =>
  snap(0.95, 1, 0, 0, 2, { idle_cycles: 1, evidence_coverage: 1, graph_revision: 40, evidence_seq: 12, ...extra });
const rising = (last: Snapshot) => [...pts([snap(0.9, 0.9, 0, 0, 2), snap(0.92, 0.95, 0, 0, 2)]), convergencePoint(last, W)];

function run(i: Partial<FinalityInput> & { snapshot: Snapshot }) {
  return evaluateFinality({ history: [convergencePoint(i.snapshot, W)], policy: P, now: NOW, human: null, certified: null, ...i });
}

describe('finality evaluator: every outcome is reachable', () => {
  const reached = new Set<FinalityOutcome>();
  const expectOutcome = (ev: ReturnType<typeof run>, o: FinalityOutcome) => {
    expect(ev.outcome, JSON.stringify(ev.reasons)).toBe(o);
    reached.add(o);
  };

  it('RESOLVED: conditions, score ≥ auto and gates A–E', () => {
    const s = done();
    const ev = run({ snapshot: s, history: rising(s) });
    expectOutcome(ev, 'RESOLVED');
    expect(ev.decided_by).toBe('evaluator');
    expect(ev.gates).toMatchObject({ A_monotonic: true, B_evidence: { ok: true }, C_trajectory: { ok: true }, D_quiescence: { ok: true }, E_minimum_content: { ok: true } });
  });

  it('ESCALATED: divergence (scenario 4)', () => {
    const snaps = scenarios.divergence();
    const ev = run({ snapshot: snaps.at(-1)!, history: pts(snaps) });
    expectOutcome(ev, 'ESCALATED');
    expect(ev.reasons[0]!.code).toBe('diverging');
  });

  it('ESCALATED: a rule (scope risk ≥ 0.75)', () => {
    const ev = run({ snapshot: snap(0.9, 0.9, 0.8, 0, 0) });
    expectOutcome(ev, 'ESCALATED');
    expect(ev.reasons[0]).toMatchObject({ code: 'rule', message: expect.stringContaining('scope.risk_score >= 0.75') });
  });

  it('BLOCKED: idle ≥ 5 rounds, no change for 5 minutes, a contradiction open', () => {
    const s = snap(0.9, 0.95, 0, 1, 4, { idle_cycles: 6, last_delta_age_ms: 600_000 });
    const ev = run({ snapshot: s, history: pts([s, s, s]) });
    expectOutcome(ev, 'BLOCKED');
  });

  it('EXPIRED: no activity for 30 days', () => {
    const ev = run({ snapshot: snap(0.6, 0.5, 0, 0, 0, { last_active_age_ms: 31 * 86_400_000 }) });
    expectOutcome(ev, 'EXPIRED');
  });

  it('REVIEW: the HITL seed (score 0.80, nothing converging)', () => {
    const ev = run({ snapshot: hitlSnapshot() });
    expectOutcome(ev, 'REVIEW');
    expect(ev.goal_score).toBeCloseTo(0.8, 12);
  });

  it('ACTIVE: below the near-finality threshold', () => {
    const ev = run({ snapshot: snap(0.2, 0.1, 0.5, 2, 2) });
    expectOutcome(ev, 'ACTIVE');
    expect(ev.reasons[0]!.code).toBe('below_near');
  });

  it('ESCALATED: a goal declared unreachable that no new target replaced (a rule in finality.yaml)', () => {
    const ev = run({ snapshot: snap(0.9, 0.9, 0, 0, 0, { goals_unreachable_count: 1 }) });
    expectOutcome(ev, 'ESCALATED');
    expect(ev.reasons[0]).toMatchObject({ code: 'rule', message: expect.stringContaining('goals.unreachable_count >= 1') });
  });

  it('not RESOLVED automatically with a contradiction open, even with every other condition met', () => {
    const s = done({ contradictions_total_count: 2, contradictions_unresolved_count: 1, contradiction_mass: 1 });
    expect(run({ snapshot: s, history: rising(s) }).outcome).not.toBe('RESOLVED');
  });

  it('covers all six outcomes', () => {
    expect([...reached].sort()).toEqual([...FINALITY_OUTCOMES].sort());
  });
});

describe('finality gates block RESOLVED', () => {
  it('A: spike then drop is not RESOLVED despite the spike (scenario 3)', () => {
    const snaps = scenarios.spikeDrop();
    const ev = run({ snapshot: snaps.at(-1)!, history: pts(snaps) });
    expect(ev.outcome).not.toBe('RESOLVED');
    expect(ev.convergence.is_monotonic).toBe(false);
    // And with a final score above the threshold, the monotonicity gate alone holds it back.
    const high = done();
    const history = pts([high, snap(0.95, 0.6, 0, 0, 2), high]); // 0.95 → 0.85 → 0.95: a drop inside the window
    const ev2 = run({ snapshot: high, history });
    expect(ev2.goal_score).toBeGreaterThanOrEqual(0.92);
    expect(ev2.gates.A_monotonic).toBe(false);
    expect(ev2.outcome).not.toBe('RESOLVED');
  });

  it('A: fewer than β rounds is not monotonic yet', () => {
    const s = done();
    const ev = run({ snapshot: s, history: pts([s, s]) });
    expect(ev.gates.A_monotonic).toBe(false);
    expect(ev.outcome).toBe('ACTIVE'); // resolvable but for time: wait for the third round, no human needed
    expect(ev.reasons[0]!.code).toBe('settling');
    expect(run({ snapshot: s, history: pts([s, s, s]) }).outcome).toBe('RESOLVED');
  });

  it('B: evidence coverage below the minimum, or contradiction mass above it', () => {
    const s = done({ evidence_coverage: 0.5 });
    const ev = run({ snapshot: s, history: rising(s) });
    expect(ev.gates.B_evidence.ok).toBe(false);
    expect(ev.outcome).not.toBe('RESOLVED');
    const lax = parseFinalityPolicy(fin.text.replace(/ *- contradictions\.unresolved_count: 0\n/, '').replace('max_contradiction_mass: 0', 'max_contradiction_mass: 0.5')).policy;
    const heavy = done({ contradictions_unresolved_count: 1, contradiction_mass: 2, contradictions_total_count: 40 });
    const ev2 = evaluateFinality({ snapshot: heavy, history: rising(heavy), policy: lax, now: NOW, human: null, certified: null });
    expect(ev2.goal_score).toBeGreaterThanOrEqual(0.92);
    expect(ev2.gates.B_evidence).toMatchObject({ ok: false, contradiction_mass: 2 });
    expect(ev2.outcome).not.toBe('RESOLVED');
    const light = done({ contradictions_unresolved_count: 1, contradiction_mass: 0.3, contradictions_total_count: 40 });
    expect(evaluateFinality({ snapshot: light, history: rising(light), policy: lax, now: NOW, human: null, certified: null }).outcome).toBe('RESOLVED');
  });

  it('B: a required node kind is missing', () => {
    const s = done({ evidence_missing_kinds: ['goal'] });
    expect(run({ snapshot: s, history: rising(s) }).gates.B_evidence.ok).toBe(false);
  });

  it('C: trajectory quality below 0.7', () => {
    const s = done();
    // Monotonic over the last 3 rounds but oscillating before: quality < 0.7.
    const zig = pts([snap(0.95, 0.7, 0, 0, 2), snap(0.95, 0.9, 0, 0, 2), snap(0.95, 0.7, 0, 0, 2), snap(0.95, 0.9, 0, 0, 2), snap(0.95, 0.7, 0, 0, 2), snap(0.95, 0.95, 0, 0, 2), snap(0.95, 0.98, 0, 0, 2)]);
    const ev = run({ snapshot: s, history: [...zig, convergencePoint(s, W)] });
    expect(ev.gates.A_monotonic).toBe(true);
    expect(ev.gates.C_trajectory.ok).toBe(false);
    expect(ev.outcome).not.toBe('RESOLVED');
  });

  it('D: not quiescent while the graph changed this round', () => {
    const s = done({ idle_cycles: 0 });
    const ev = run({ snapshot: s, history: rising(s) });
    expect(ev.gates.D_quiescence.ok).toBe(false);
    expect(ev.outcome).toBe('ACTIVE'); // wait for a quiet round rather than ask a human
    expect(ev.reasons[0]!.code).toBe('settling');
  });

  it('D: the quiet window in milliseconds', () => {
    const strict = parseFinalityPolicy(fin.text.replace('window_ms: 0', 'window_ms: 60000')).policy;
    const s = done({ last_delta_age_ms: 10_000 });
    expect(evaluateFinality({ snapshot: s, history: rising(s), policy: strict, now: NOW, human: null, certified: null }).gates.D_quiescence.ok).toBe(false);
    const quiet = done({ last_delta_age_ms: 61_000 });
    expect(evaluateFinality({ snapshot: quiet, history: rising(quiet), policy: strict, now: NOW, human: null, certified: null }).outcome).toBe('RESOLVED');
  });

  it('E: minimum content; an empty scope stays ACTIVE without a review', () => {
    const ev = run({ snapshot: scenarios.empty()[0]! });
    expect(ev.gates.E_minimum_content.ok).toBe(false);
    expect(ev.outcome).toBe('ACTIVE');
    expect(ev.reasons[0]!.code).toBe('minimum_content');
  });
});

describe('routing between review and waiting', () => {
  it('plateau (scenario 2) goes to a human', () => {
    const snaps = scenarios.plateau();
    const ev = run({ snapshot: snaps.at(-1)!, history: pts(snaps) });
    expect(ev.convergence.plateau.is_plateaued).toBe(true);
    expect(ev.outcome).toBe('REVIEW');
  });

  it('steady convergence mid-way waits instead of asking a human', () => {
    const snaps = scenarios.steady().slice(0, 8);
    const ev = run({ snapshot: snaps.at(-1)!, history: pts(snaps) });
    expect(ev.goal_score).toBeGreaterThan(P.goal_gradient.near_finality_threshold);
    expect(ev.outcome).toBe('ACTIVE');
    expect(ev.reasons[0]!.code).toBe('converging');
  });

  it('terminal rules are tried in file order', () => {
    const s = snap(0.9, 0.9, 0, 3, 4, { idle_cycles: 6, last_delta_age_ms: 600_000 });
    expect(run({ snapshot: s, history: pts([s, s, s]) }).outcome).toBe('ESCALATED'); // ESCALATED comes first in the file
    const swapped = parseFinalityPolicy(
      fin.text.replace(/  ESCALATED:\n(    .*\n)+/, '').replace('  EXPIRED:', '  ESCALATED:\n    mode: any\n    conditions:\n      - contradictions.unresolved_count: ">= 3"\n  EXPIRED:'),
    ).policy;
    expect(Object.keys(swapped.finality)).toEqual(['RESOLVED', 'BLOCKED', 'ESCALATED', 'EXPIRED']);
    expect(evaluateFinality({ snapshot: s, history: pts([s, s, s]), policy: swapped, now: NOW, human: null, certified: null }).outcome).toBe('BLOCKED');
  });
});

describe('human decisions and certificates', () => {
  const basis = { evidence_seq: 12, graph_revision: 40 };
  const s = hitlSnapshot();
  const at = { ...s, evidence_seq: 12, graph_revision: 40 };

  it('approve_finality resolves the evidence it was given', () => {
    const ev = run({ snapshot: at, human: { option: 'approve_finality', by: 'alice', at: NOW, defer_until: null, basis } });
    expect(ev.outcome).toBe('RESOLVED');
    expect(ev.decided_by).toBe('human:alice');
  });

  it('approve_finality is not sticky: new evidence makes it stale', () => {
    const newer = { ...at, evidence_seq: 13 };
    const ev = run({ snapshot: newer, human: { option: 'approve_finality', by: 'alice', at: NOW, defer_until: null, basis } });
    expect(ev.outcome).toBe('REVIEW');
    const regraphed = { ...at, graph_revision: 41 };
    expect(run({ snapshot: regraphed, human: { option: 'approve_finality', by: 'alice', at: NOW, defer_until: null, basis } }).outcome).toBe('REVIEW');
  });

  it('escalate → ESCALATED by the human', () => {
    const ev = run({ snapshot: at, human: { option: 'escalate', by: 'bob', at: NOW, defer_until: null, basis } });
    expect(ev).toMatchObject({ outcome: 'ESCALATED', decided_by: 'human:bob' });
  });

  it('defer holds reviews back until the date, then asks again', () => {
    const human = { option: 'defer' as const, by: 'carol', at: NOW, defer_until: NOW + 7 * 86_400_000, basis };
    const ev = run({ snapshot: at, human });
    expect(ev.outcome).toBe('ACTIVE');
    expect(ev.reasons.at(-1)!.code).toBe('review_deferred');
    expect(run({ snapshot: at, human, now: NOW + 8 * 86_400_000 }).outcome).toBe('REVIEW');
  });

  it('provide_resolution holds reviews back until new evidence arrives', () => {
    const human = { option: 'provide_resolution' as const, by: 'dan', at: NOW, defer_until: null, basis };
    expect(run({ snapshot: at, human }).outcome).toBe('ACTIVE');
    expect(run({ snapshot: { ...at, evidence_seq: 14 }, human }).outcome).toBe('REVIEW');
  });

  it('a certified outcome holds while no new evidence arrives, and new evidence re-opens it', () => {
    const certified = { certificate_id: '00000000-0000-4000-8000-000000000001', seq: 1, outcome: 'RESOLVED' as const, basis };
    const sticky = run({ snapshot: at, certified });
    expect(sticky).toMatchObject({ outcome: 'RESOLVED', sticky: true, reopened: false });
    const reopened = run({ snapshot: { ...at, evidence_seq: 20 }, certified });
    expect(reopened).toMatchObject({ outcome: 'REVIEW', sticky: false, reopened: true });
    expect(reopened.reasons[0]!.code).toBe('reopened');
  });
});

describe('review request (reference §6.5)', () => {
  it('carries score, V, α, ETA, bottleneck, blockers with node ids and the four options', () => {
    const s: Snapshot = {
      ...hitlSnapshot(),
      blockers: {
        unresolved_contradictions: [{ edge_id: 'e1', source_id: 'c1', target_id: 'c4' }],
        low_confidence_claim_ids: [],
        open_goal_ids: ['g5'],
        critical_risk_ids: [],
        critical_assessment_ids: [],
      },
      evidence_seq: 3,
      graph_revision: 9,
    };
    const ev = run({ snapshot: s });
    const r = buildReviewRequest('acme', s, ev, P);
    expect(r).toMatchObject({ type: 'finality_review', scope_id: 'acme', goal_score: 0.8, near_threshold: 0.4, auto_threshold: 0.92, gap: 0.12 });
    expect(r.convergence).toMatchObject({ lyapunov_v: expect.closeTo(0.085, 9), rate: 0, estimated_rounds: null, highest_pressure: 'contradiction_resolution', is_monotonic: false });
    expect(r.dimension_breakdown.map((d) => [d.name, d.status])).toEqual([
      ['claim_confidence', 'ok'],
      ['contradiction_resolution', 'blocking'],
      ['goal_completion', 'partial'],
      ['risk_score_inverse', 'ok'],
    ]);
    expect(r.blockers.find((b) => b.type === 'unresolved_contradiction')).toMatchObject({ node_ids: ['c1', 'c4'], edge_ids: ['e1'] });
    expect(r.blockers.find((b) => b.type === 'missing_goal_resolution')).toMatchObject({ node_ids: ['g5'] });
    expect(r.options).toEqual([
      { option: 'approve_finality', label: 'Mark as Resolved now' },
      { option: 'provide_resolution', label: 'Add missing resolutions' },
      { option: 'escalate', label: 'Escalate to authority' },
      { option: 'defer', days: 7, label: 'Defer review (7 days)' },
    ]);
    expect(r.basis).toEqual({ evidence_seq: 3, graph_revision: 9 });
    expect(r.explanation).toContain('bottleneck contradiction_resolution');
    expect(r.suggested_actions.length).toBe(r.blockers.length);
  });
});
