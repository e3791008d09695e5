// Review deadlines: the grammar of governance.yaml's `deadlines` and the pure rule that
// says, for a review and a time, what is due.
import { describe, expect, it } from 'vitest';
import { deadlineMessageId, deadlineMessageLevel, dueAt, dueCutoffs, type ReviewClock } from '../../../shared/domain/deadline.ts';
import { loadGovernancePolicy, parseGovernancePolicy, PolicyError } from '../../../shared/policy/load.ts';

const H = 3_600_000;
const policy = (deadlines: string) => parseGovernancePolicy(`mode: YOLO\ndeadlines:\n${deadlines}`).policy.deadlines;
const TWO_LEVELS = policy(`
  governance_review: { respond_within: 24h, escalate_to: group:leads, then: { respond_within: 90s, fail_safe: reject } }
  finality_review: { respond_within: 30m, fail_safe: defer }
`);
const t0 = Date.parse('2026-03-01T09:00:00Z');
const fresh = (kind: ReviewClock['kind'] = 'governance_review'): ReviewClock => ({ kind, createdAt: new Date(t0), escalationLevel: 0, escalatedAt: null });

describe('deadlines grammar', () => {
  it('reads durations and nested levels into a list per kind', () => {
    expect(TWO_LEVELS).toEqual({
      governance_review: [
        { respond_within_ms: 24 * H, escalate_to: 'group:leads' },
        { respond_within_ms: 90_000, fail_safe: 'reject' },
      ],
      finality_review: [{ respond_within_ms: 30 * 60_000, fail_safe: 'defer' }],
    });
    expect(policy('  finality_review: { respond_within: 7d, fail_safe: defer }').finality_review![0]!.respond_within_ms).toBe(7 * 24 * H);
  });

  it('absent means no deadline; the shipped policy sets both kinds', () => {
    expect(parseGovernancePolicy('mode: YOLO').policy.deadlines).toEqual({});
    const shipped = loadGovernancePolicy().policy.deadlines;
    expect(shipped.governance_review?.at(-1)?.fail_safe).toBe('reject');
    expect(shipped.governance_review?.[0]?.escalate_to).toMatch(/^group:/);
    expect(shipped.finality_review?.[0]).toMatchObject({ fail_safe: 'defer' });
  });

  it.each<[string, string, RegExp]>([
    ['a duration without a unit', '  governance_review: { respond_within: 24, fail_safe: reject }', /deadlines\.governance_review\.respond_within: a duration/],
    ['an unknown unit', '  governance_review: { respond_within: 2w, fail_safe: reject }', /a duration/],
    ['more than a year', '  governance_review: { respond_within: 400d, fail_safe: reject }', /at most 365d/],
    ['both escalate_to and fail_safe', '  governance_review: { respond_within: 1h, escalate_to: group:a, fail_safe: reject }', /exactly one of escalate_to and fail_safe/],
    ['neither', '  governance_review: { respond_within: 1h }', /exactly one of escalate_to and fail_safe/],
    ['a level after a fail_safe', '  governance_review: { respond_within: 1h, fail_safe: reject, then: { respond_within: 1h, fail_safe: defer } }', /nothing follows a fail_safe/],
    ['escalation to something not a group', '  governance_review: { respond_within: 1h, escalate_to: user:bob }', /group:<id>/],
    ['an unknown fail_safe', '  governance_review: { respond_within: 1h, fail_safe: approve }', /fail_safe/],
    ['an unknown key', '  governance_review: { respond_within: 1h, fail_safe: reject, remind: true }', /remind/],
    ['an unknown review kind', '  other_review: { respond_within: 1h, fail_safe: reject }', /other_review/],
    ['a finality review rejected by the clock', '  finality_review: { respond_within: 1h, fail_safe: reject }', /cannot fail safe to reject/],
    [
      'more levels than the grammar allows',
      '  governance_review: { respond_within: 1h, escalate_to: group:a, then: { respond_within: 1h, escalate_to: group:b, then: { respond_within: 1h, escalate_to: group:c, then: { respond_within: 1h, escalate_to: group:d, then: { respond_within: 1h, fail_safe: reject } } } } }',
      /then/,
    ],
  ])('refuses %s, naming the key', (_, text, re) => {
    expect(() => policy(text)).toThrow(PolicyError);
    expect(() => policy(text)).toThrow(re);
  });
});

describe('what is due', () => {
  it('waits until respond_within has passed since creation, then escalates at level 0', () => {
    const r = fresh();
    const deadline = new Date(t0 + 24 * H);
    expect(dueAt(r, TWO_LEVELS, t0 + 24 * H - 1)).toEqual({ action: 'wait', deadline, level: 0, then: 'escalate', escalate_to: 'group:leads' });
    expect(dueAt(r, TWO_LEVELS, t0 + 24 * H)).toEqual({ action: 'escalate', deadline, level: 0, escalate_to: 'group:leads' });
  });

  it("an escalated review's next level runs from the escalation, not the creation", () => {
    const escalatedAt = new Date(t0 + 30 * H);
    const r: ReviewClock = { ...fresh(), escalationLevel: 1, escalatedAt };
    expect(dueAt(r, TWO_LEVELS, t0 + 30 * H + 89_999)).toMatchObject({ action: 'wait', then: 'reject', level: 1 });
    expect(dueAt(r, TWO_LEVELS, t0 + 30 * H + 90_000)).toEqual({ action: 'reject', deadline: new Date(t0 + 30 * H + 90_000), level: 1 });
  });

  it('nothing is due past the last level, for a kind without deadlines, or with no policy', () => {
    expect(dueAt({ ...fresh(), escalationLevel: 2, escalatedAt: new Date(t0) }, TWO_LEVELS, t0 + 1000 * H)).toEqual({ action: 'none', deadline: null });
    expect(dueAt(fresh('finality_review'), { governance_review: TWO_LEVELS.governance_review! }, t0 + 1000 * H)).toEqual({ action: 'none', deadline: null });
    expect(dueAt(fresh(), {}, t0 + 1000 * H).action).toBe('none');
  });

  it('a finality review fails safe to defer', () => {
    expect(dueAt(fresh('finality_review'), TWO_LEVELS, t0 + 31 * 60_000)).toMatchObject({ action: 'defer', level: 0 });
  });

  it('the cutoffs of the tick query are each level\'s start time that is due now', () => {
    const now = t0 + 100 * H;
    expect(dueCutoffs(TWO_LEVELS, now)).toEqual([
      { kind: 'governance_review', level: 0, cutoff: new Date(now - 24 * H) },
      { kind: 'governance_review', level: 1, cutoff: new Date(now - 90_000) },
      { kind: 'finality_review', level: 0, cutoff: new Date(now - 30 * 60_000) },
    ]);
    // A review is due exactly when its clock started at or before its level's cutoff.
    for (const { kind, level, cutoff } of dueCutoffs(TWO_LEVELS, now)) {
      const at = (ms: number): ReviewClock => (level === 0 ? { kind, createdAt: new Date(ms), escalationLevel: 0, escalatedAt: null } : { kind, createdAt: new Date(0), escalationLevel: level, escalatedAt: new Date(ms) });
      expect(['escalate', 'reject', 'defer']).toContain(dueAt(at(cutoff.getTime()), TWO_LEVELS, now).action);
      expect(dueAt(at(cutoff.getTime() + 1), TWO_LEVELS, now).action).toBe('wait');
    }
  });

  it('a deadline message id names the review and the level, and only that', () => {
    expect(deadlineMessageId('gov-1', 2)).toBe('deadline:gov-1:2');
    expect(deadlineMessageLevel('deadline:gov-1:2', 'gov-1')).toBe(2);
    expect(deadlineMessageLevel('deadline:gov-1:2', 'gov-2')).toBeNull();
    expect(deadlineMessageLevel('deadline:gov-1:x', 'gov-1')).toBeNull();
    expect(deadlineMessageLevel('deadline:gov-1:01', 'gov-1')).toBeNull();
    expect(deadlineMessageLevel('tick:gov-1:2', 'gov-1')).toBeNull();
  });
});
