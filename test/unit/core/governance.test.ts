import { describe, expect, it } from 'vitest';
import {
  applyHigherTier,
  effectiveMode,
  evaluateProposal,
  requiredPermissions,
  suggestedActions,
  type AuthzOutcome,
  type GovernanceInput,
  type Proposal,
} from '../../../shared/domain/governance.ts';
import { loadGovernancePolicy, parseGovernancePolicy } from '../../../shared/policy/load.ts';
import type { Mode } from '../../../shared/domain/policy.ts';

const gov = loadGovernancePolicy();
const allowed: AuthzOutcome = {
  allowed: true,
  checks: [
    { relation: 'proposer', object: 'scope:acme', allowed: true, reason: 'allowed' },
    { relation: 'advancer', object: 'state:ContextIngested', allowed: true, reason: 'allowed' },
  ],
};

type Over = Omit<Partial<GovernanceInput>, 'proposal'> & { proposal?: Partial<Proposal> };

function input(over: Over = {}): GovernanceInput {
  const { proposal, ...rest } = over;
  return {
    proposal: { proposal_id: 'p1', scope: 'acme', proposer: 'planner', action: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 5, ...proposal },
    state: { node: 'DriftChecked', epoch: 5 },
    drift: { level: 'low', types: [] },
    mode: 'YOLO',
    authz: allowed,
    policy: gov.policy,
    policy_version: gov.version,
    ...rest,
  };
}

describe('governance tier 1: structural checks reject in every mode', () => {
  it.each<[string, Over, string]>([
    ['an unknown action', { proposal: { action: 'delete_scope' } }, 'unsupported_action'],
    ['a missing scope', { state: null }, 'scope_not_found'],
    ['a stale epoch', { proposal: { expected_epoch: 4 } }, 'stale_epoch'],
    ['a from node that is not current', { proposal: { from: 'FactsExtracted', to: 'DriftChecked' } }, 'wrong_from_node'],
    ['a to node that is not the successor', { proposal: { to: 'FactsExtracted' } }, 'invalid_transition'],
    ['a to node that does not exist', { proposal: { to: 'Finished' } }, 'invalid_transition'],
  ])('%s', (_name, over, code) => {
    for (const mode of ['YOLO', 'MITL', 'MASTER'] as Mode[]) {
      const d = evaluateProposal(input({ ...over, mode }));
      expect(d.decision).toBe('reject');
      expect(d.reasons[0]!.code).toBe(code);
      expect(d.obligations).toEqual([{ type: 'notify', audience: 'proposer', reason_code: code }]);
    }
  });
});

describe('governance tier 1: permissions fail closed', () => {
  it('a denied check rejects as not_authorized', () => {
    const d = evaluateProposal(
      input({ authz: { allowed: false, checks: [{ relation: 'advancer', object: 'state:ContextIngested', allowed: false, reason: 'denied' }] }, mode: 'MASTER' }),
    );
    expect(d).toMatchObject({ decision: 'reject', reasons: [{ code: 'not_authorized' }] });
  });
  it.each(['unavailable', 'unconfigured', 'invalid'])('an %s authorizer rejects (retryable), never approves', (reason) => {
    const d = evaluateProposal(input({ authz: { allowed: false, checks: [{ relation: 'proposer', object: 'scope:acme', allowed: false, reason }] } }));
    expect(d).toMatchObject({ decision: 'reject', reasons: [{ code: 'authz_unavailable', retryable: true }] });
  });
  it('no checks at all is not an approval', () => {
    expect(evaluateProposal(input({ authz: { allowed: false, checks: [] } })).decision).toBe('reject');
  });
  it('asks for proposer on the scope and advancer on the target node', () => {
    expect(requiredPermissions({ proposer: 'planner', scope: 'acme' }, 'ContextIngested')).toEqual([
      { user: 'agent:planner', relation: 'proposer', object: 'scope:acme' },
      { user: 'agent:planner', relation: 'advancer', object: 'state:ContextIngested' },
    ]);
  });
});

describe('governance tier 1: the mode drives the decision', () => {
  it('YOLO approves a passing proposal with the CAS obligation', () => {
    const d = evaluateProposal(input({ mode: 'YOLO' }));
    expect(d).toMatchObject({ decision: 'approve', tier: 1, mode: 'YOLO', governance_path: 'processProposal', policy_version: gov.version });
    expect(d.obligations).toEqual([{ type: 'advance_state', from: 'DriftChecked', to: 'ContextIngested', expected_epoch: 5 }]);
  });
  it('MITL sends a passing proposal to a human', () => {
    const d = evaluateProposal(input({ mode: 'MITL' }));
    expect(d).toMatchObject({ decision: 'review', reasons: [{ code: 'mitl_required' }] });
    expect(d.obligations.map((o) => o.type)).toEqual(['record_review', 'notify']);
  });
  it('MASTER approves a passing proposal by the rules alone', () => {
    expect(evaluateProposal(input({ mode: 'MASTER' }))).toMatchObject({ decision: 'approve', reasons: [{ code: 'master_rules_final' }] });
  });
  it('a blocking rule: YOLO and MITL → review (human override), MASTER → reject', () => {
    const critical = { level: 'critical' as const, types: ['contradiction'] };
    for (const mode of ['YOLO', 'MITL'] as Mode[]) {
      const d = evaluateProposal(input({ mode, drift: critical }));
      expect(d).toMatchObject({ decision: 'review', blocked_by_rule: 0, reasons: [{ code: 'policy_block' }] });
      expect(d.reasons[0]!.message).toContain('critical drift');
      expect(d.obligations).toEqual([
        { type: 'record_review', review_kind: 'governance_review', options: ['approve', 'reject'] },
        { type: 'notify', audience: 'reviewers', reason_code: 'policy_block' },
      ]);
    }
    const m = evaluateProposal(input({ mode: 'MASTER', drift: critical }));
    expect(m).toMatchObject({ decision: 'reject', blocked_by_rule: 0 });
    expect(m.reasons[0]!.message).toContain('MASTER: no human override');
  });
  it('a rule with effect reject rejects in every mode', () => {
    const strict = parseGovernancePolicy(gov.text.replace('reason: critical drift must be confirmed by a human before the next cycle\n    effect: review', 'reason: critical drift must be confirmed by a human before the next cycle\n    effect: reject'));
    expect(strict.version).not.toBe(gov.version);
    for (const mode of ['YOLO', 'MITL', 'MASTER'] as Mode[]) {
      expect(evaluateProposal(input({ mode, policy: strict.policy, drift: { level: 'critical', types: [] } })).decision).toBe('reject');
    }
  });
  it('a rule with drift types blocks only when a type matches', () => {
    expect(evaluateProposal(input({ drift: { level: 'high', types: ['factual'] } })).decision).toBe('approve');
    expect(evaluateProposal(input({ drift: { level: 'high', types: ['factual', 'entropy'] } }))).toMatchObject({ decision: 'review', blocked_by_rule: 1 });
  });
  it('rules only apply to their own transition', () => {
    const d = evaluateProposal(
      input({ state: { node: 'ContextIngested', epoch: 5 }, proposal: { proposer: 'facts', from: 'ContextIngested', to: 'FactsExtracted' }, drift: { level: 'critical', types: [] } }),
    );
    expect(d.decision).toBe('approve');
  });
});

describe('drift rules suggest actions', () => {
  it('every matching rule adds its action once, in file order', () => {
    expect(suggestedActions(gov.policy, { level: 'high', types: ['entropy', 'contradiction', 'factual'] })).toEqual([
      'open_investigation',
      'request_source_refresh',
      'halt_and_review',
    ]);
    expect(suggestedActions(gov.policy, { level: 'low', types: ['contradiction'] })).toEqual([]);
    expect(evaluateProposal(input({ drift: { level: 'medium', types: ['goal'] } })).suggested_actions).toEqual(['request_goal_refresh']);
  });
});

describe('effective mode', () => {
  const p = parseGovernancePolicy('mode: YOLO\nscopes:\n  acme: { mode: MITL }\n').policy;
  it('scope column > governance.yaml scopes > governance.yaml mode', () => {
    expect(effectiveMode(p, 'other')).toBe('YOLO');
    expect(effectiveMode(p, 'acme')).toBe('MITL');
    expect(effectiveMode(p, 'acme', 'MASTER')).toBe('MASTER');
    expect(effectiveMode(p, 'other', null)).toBe('YOLO');
  });
});

describe('higher tiers can only tighten', () => {
  const base = evaluateProposal(input());
  it('a tier may route an approval to a human or reject it', () => {
    const d = applyHigherTier(base, { tier: 2, decision: 'review', governance_path: 'oversight_escalateToHuman', rationale: 'unusual' });
    expect(d).toMatchObject({ decision: 'review', tier: 2, governance_path: 'oversight_escalateToHuman' });
    expect(d.obligations.map((o) => o.type)).toEqual(['record_review', 'notify']);
    expect(d.reasons.at(-1)).toMatchObject({ code: 'higher_tier', message: 'tier 2: unusual' });
  });
  it('a tier cannot approve what tier 1 refused', () => {
    const blocked = evaluateProposal(input({ drift: { level: 'critical', types: [] } }));
    const d = applyHigherTier(blocked, { tier: 3, decision: 'approve', governance_path: 'processProposalWithAgent', rationale: 'looks fine' });
    expect(d.decision).toBe('review');
    expect(d.tier).toBe(1);
  });
  it('no tier runs on MASTER or MITL decisions', () => {
    const master = evaluateProposal(input({ mode: 'MASTER' }));
    expect(applyHigherTier(master, { tier: 2, decision: 'reject', governance_path: 'oversight_escalateToHuman', rationale: 'x' }).decision).toBe('approve');
  });
});
