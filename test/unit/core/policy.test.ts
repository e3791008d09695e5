import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conditionHolds, parseCondition } from '../../../shared/domain/conditions.ts';
import { emptySnapshot } from '../../../shared/domain/snapshot.ts';
import {
  DEFAULT_POLICY_PATHS,
  filePolicySource,
  loadFinalityPolicy,
  loadGovernancePolicy,
  parseFinalityPolicy,
  parseGovernancePolicy,
  PolicyError,
  policySourceFromEnv,
  policyVersion,
} from '../../../shared/policy/load.ts';

const finText = loadFinalityPolicy().text;

describe('policy files', () => {
  it('the shipped governance.yaml and finality.yaml load', () => {
    const g = loadGovernancePolicy();
    expect(g.policy.mode).toBe('YOLO');
    expect(g.policy.transition_rules[0]).toMatchObject({ from: 'DriftChecked', to: 'ContextIngested', effect: 'review' });
    const f = loadFinalityPolicy();
    expect(f.policy.goal_gradient.weights).toEqual({ claim_confidence: 0.3, contradiction_resolution: 0.3, goal_completion: 0.25, risk_score_inverse: 0.15 });
    expect(f.policy.convergence).toMatchObject({ beta: 3, tau: 3, ema_alpha: 0.3, plateau_threshold: 0.01, history_depth: 20, divergence_rate: -0.05 });
    expect(f.policy.finality.RESOLVED!.conditions).toContainEqual({ key: 'contradictions.unresolved_count', op: '==', value: 0 });
  });

  it('the policy version is the sha256 of the file text', () => {
    const g = loadGovernancePolicy();
    expect(g.version).toMatch(/^[0-9a-f]{64}$/);
    expect(g.version).toBe(policyVersion(g.text));
    expect(parseGovernancePolicy(g.text + '\n# comment').version).not.toBe(g.version);
  });

  it.each<[string, string, RegExp]>([
    ['invalid YAML', 'mode: [YOLO', /not valid YAML/],
    ['an unknown mode', 'mode: SOMETIMES', /mode/],
    ['an unknown key', 'mode: YOLO\nrulez: []', /rulez|Unrecognized/i],
    ['a transition that is not an edge', 'mode: YOLO\ntransition_rules:\n  - { from: DriftChecked, to: FactsExtracted, block_when: { drift_level: [high] }, reason: x }', /edge of the cycle/],
    ['an unknown drift level', 'mode: YOLO\nrules:\n  - { when: { drift_level: [extreme], drift_type: goal }, action: x }', /drift_level/],
    ['duplicate keys', 'mode: YOLO\nmode: MITL', /not valid YAML/],
  ])('governance.yaml with %s is an error naming the problem', (_n, text, re) => {
    expect(() => parseGovernancePolicy(text, 'gov.yaml')).toThrow(PolicyError);
    expect(() => parseGovernancePolicy(text, 'gov.yaml')).toThrow(re);
  });

  it.each<[string, string, RegExp]>([
    ['an unknown condition key', finText.replace('scope.risk_score: "< 0.20"', 'scope.riskiness: "< 0.20"'), /unknown condition key "scope.riskiness"/],
    ['a malformed operator', finText.replace('"< 0.20"', '"about 0.2"'), /expected a number or "<op> <number>"/],
    ['weights that do not sum to 1', finText.replace('risk_score_inverse: 0.15', 'risk_score_inverse: 0.25'), /sum to 1/],
    ['near ≥ auto', finText.replace('near_finality_threshold: 0.40', 'near_finality_threshold: 0.95'), /below auto/],
    ['no RESOLVED rule', finText.replace('  RESOLVED:', '  RESOLVEDX:'), /RESOLVED/],
  ])('finality.yaml with %s is an error', (_n, text, re) => {
    expect(() => parseFinalityPolicy(text)).toThrow(re);
  });

  it('GOVERNANCE_PATH / FINALITY_PATH choose the files; unset means the shipped ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pol-'));
    writeFileSync(join(dir, 'g.yaml'), 'mode: MITL\n');
    expect(policySourceFromEnv({ GOVERNANCE_PATH: join(dir, 'g.yaml') }).governance().policy.mode).toBe('MITL');
    expect(policySourceFromEnv({}).finality().source).toBe(DEFAULT_POLICY_PATHS.finality);
    expect(() => policySourceFromEnv({ FINALITY_PATH: join(dir, 'missing.yaml') }).finality()).toThrow(/cannot read/);
  });

  it('a missing file is an error, not an empty policy', () => {
    expect(() => loadGovernancePolicy('/nonexistent/governance.yaml')).toThrow(/cannot read/);
  });

  it('a file source re-reads a changed file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pol-'));
    const g = join(dir, 'g.yaml');
    writeFileSync(g, 'mode: YOLO\n');
    const src = filePolicySource({ governance: g, finality: DEFAULT_POLICY_PATHS.finality });
    const v1 = src.governance();
    expect(src.governance()).toBe(v1); // unchanged: same object, no re-parse
    writeFileSync(g, 'mode: MASTER\n');
    utimesSync(g, new Date(), new Date(Date.now() + 5000));
    expect(src.governance().policy.mode).toBe('MASTER');
    expect(src.governance().version).not.toBe(v1.version);
  });
});

describe('condition grammar', () => {
  const s = emptySnapshot({ contradictions_unresolved_count: 0, goals_completion_ratio: 0.9, scope_risk_score: 0.2 });
  it('a bare 0 on a count means == 0; other bare numbers mean >=', () => {
    expect(parseCondition('contradictions.unresolved_count', 0)).toEqual({ key: 'contradictions.unresolved_count', op: '==', value: 0 });
    expect(parseCondition('claims.active.min_confidence', 0.85)).toEqual({ key: 'claims.active.min_confidence', op: '>=', value: 0.85 });
    expect(parseCondition('scope.idle_cycles', 0)).toEqual({ key: 'scope.idle_cycles', op: '>=', value: 0 });
  });
  it('parses "<op> <number>" and evaluates with a small tolerance', () => {
    expect(parseCondition('scope.risk_score', '< 0.20')).toEqual({ key: 'scope.risk_score', op: '<', value: 0.2 });
    expect(parseCondition('scope.risk_score', '>=1e-3')).toEqual({ key: 'scope.risk_score', op: '>=', value: 0.001 });
    expect(parseCondition('scope.risk_score', '=> 1')).toBeNull();
    expect(conditionHolds({ key: 'goals.completion_ratio', op: '>=', value: 0.9 }, s)).toBe(true);
    expect(conditionHolds({ key: 'scope.risk_score', op: '<', value: 0.2 }, s)).toBe(false);
    expect(conditionHolds({ key: 'contradictions.unresolved_count', op: '==', value: 0 }, s)).toBe(true);
  });
});
