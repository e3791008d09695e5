// Governance tier 1: a deterministic decision on a proposal, from the scope's state,
// the current drift, the effective mode, the permission check and governance.yaml.
// No I/O: shared/usecases/governance.ts gathers the inputs, shared/store/governance.ts
// persists the record and carries out the obligations. Tiers 2/3 (LLM) plug in through
// `applyHigherTier`, which can only make a decision stricter.
//
// Mode semantics (decided deliberately; the earlier implementation ignored the YAML
// mode and let MASTER approve everything):
//   YOLO   pass → approve; rule block → its effect (review by default); tiers 2/3 may run.
//   MITL   pass → review (a human confirms every step); rule block → its effect.
//   MASTER the rules decide alone and finally: pass → approve; any rule block → reject;
//          no LLM tier, no human queue.
// Structural failures (unknown action, no state, stale epoch, wrong node, not an edge)
// and authorization failures are rejections in every mode: a human cannot fix them by
// approving, the proposer must re-read the state and propose again.
import type { DriftLevel, GovernancePolicy, Mode, TransitionRule } from './policy.ts';
import { assertNever, isStateNode, SUCCESSOR, type StateNode } from './state-machine.ts';

export type Decision = 'approve' | 'reject' | 'review';

export const PROPOSAL_ACTIONS = ['advance_state'] as const;
export type ProposalAction = (typeof PROPOSAL_ACTIONS)[number];

export interface Proposal {
  proposal_id: string;
  scope: string;
  /** Agent id, checked as `agent:<proposer>` in OpenFGA. */
  proposer: string;
  action: string;
  from: string;
  to: string;
  expected_epoch: number;
}

export interface Drift {
  level: DriftLevel;
  types: readonly string[];
}

export const NO_DRIFT: Drift = { level: 'none', types: [] };

export interface AuthzCheckOutcome {
  relation: string;
  object: string;
  allowed: boolean;
  /** allowed | denied | unconfigured | unavailable | invalid | disabled */
  reason: string;
  detail?: string | undefined;
}

export interface AuthzOutcome {
  allowed: boolean;
  checks: AuthzCheckOutcome[];
}

export type ReasonCode =
  | 'unsupported_action'
  | 'scope_not_found'
  | 'stale_epoch'
  | 'wrong_from_node'
  | 'invalid_transition'
  | 'not_authorized'
  | 'authz_unavailable'
  | 'policy_block'
  | 'policy_passed'
  | 'mitl_required'
  | 'master_rules_final'
  | 'higher_tier';

export interface Reason {
  code: ReasonCode;
  message: string;
  /** True when the same proposal may succeed later without anyone changing anything. */
  retryable?: boolean;
}

/** What must happen because of the decision; shared/store/governance.ts enforces each type. */
export type Obligation =
  /** The executor must advance with exactly this compare-and-swap (no re-evaluation). */
  | { type: 'advance_state'; from: StateNode; to: StateNode; expected_epoch: number }
  /** A human review item must exist before the decision counts as delivered. */
  | { type: 'record_review'; review_kind: 'governance_review'; options: readonly ['approve', 'reject'] }
  /** The audience must be told, through the scope's context log. */
  | { type: 'notify'; audience: 'reviewers' | 'proposer'; reason_code: ReasonCode };

export type GovernancePath = 'processProposal' | 'oversight_acceptDeterministic' | 'oversight_escalateToHuman' | 'processProposalWithAgent';

export interface GovernanceDecision {
  decision: Decision;
  reasons: Reason[];
  suggested_actions: string[];
  obligations: Obligation[];
  policy_version: string;
  governance_path: GovernancePath;
  tier: 1 | 2 | 3;
  mode: Mode;
  /** Index into transition_rules of the rule that blocked, if any. */
  blocked_by_rule: number | null;
}

export interface GovernanceInput {
  proposal: Proposal;
  /** The scope's current state; null when the scope does not exist. */
  state: { node: StateNode; epoch: number } | null;
  drift: Drift;
  mode: Mode;
  authz: AuthzOutcome;
  policy: GovernancePolicy;
  policy_version: string;
}

/** Scope column (set at run time) > governance.yaml `scopes.<id>.mode` > governance.yaml `mode`. */
export function effectiveMode(policy: GovernancePolicy, scope: string, scopeColumnMode?: Mode | null): Mode {
  return scopeColumnMode ?? policy.scopes[scope]?.mode ?? policy.mode;
}

/** Actions of every drift rule matching the drift, in file order, without repeats. */
export function suggestedActions(policy: GovernancePolicy, drift: Drift): string[] {
  const out: string[] = [];
  for (const r of policy.rules) {
    if (r.when.drift_level.includes(drift.level) && r.when.drift_type.some((t) => drift.types.includes(t)) && !out.includes(r.action)) {
      out.push(r.action);
    }
  }
  return out;
}

/** The first transition rule for (from, to) whose condition matches the drift. */
export function blockingRule(policy: GovernancePolicy, from: StateNode, to: StateNode, drift: Drift): { index: number; rule: TransitionRule } | null {
  const rules = policy.transition_rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.from !== from || r.to !== to) continue;
    if (!r.block_when.drift_level.includes(drift.level)) continue;
    if (r.block_when.drift_type && !r.block_when.drift_type.some((t) => drift.types.includes(t))) continue;
    return { index: i, rule: r };
  }
  return null;
}

const REVIEW_OPTIONS = ['approve', 'reject'] as const;

/** The obligations a decision carries; exhaustive over Decision. */
export function obligationsFor(decision: Decision, p: { from: StateNode; to: StateNode; expected_epoch: number } | null, reason: ReasonCode): Obligation[] {
  switch (decision) {
    case 'approve':
      if (!p) throw new Error('approve needs a transition');
      return [{ type: 'advance_state', from: p.from, to: p.to, expected_epoch: p.expected_epoch }];
    case 'review':
      return [
        { type: 'record_review', review_kind: 'governance_review', options: REVIEW_OPTIONS },
        { type: 'notify', audience: 'reviewers', reason_code: reason },
      ];
    case 'reject':
      return [{ type: 'notify', audience: 'proposer', reason_code: reason }];
    default:
      return assertNever(decision, 'decision');
  }
}

/**
 * The structural checks, in order: a known action, an existing scope, the epoch the
 * proposer read, its `from` being the current node and `to` that node's successor.
 * Returns the transition when all hold (then, and only then, is a permission check worth making).
 */
export function checkStructure(
  p: Proposal,
  state: { node: StateNode; epoch: number } | null,
): { ok: true; transition: { from: StateNode; to: StateNode; expected_epoch: number } } | { ok: false; reason: Reason } {
  const fail = (code: ReasonCode, message: string) => ({ ok: false as const, reason: { code, message } });
  if (!(PROPOSAL_ACTIONS as readonly string[]).includes(p.action)) {
    return fail('unsupported_action', `action "${p.action}" is not one of ${PROPOSAL_ACTIONS.join(', ')}`);
  }
  if (!state) return fail('scope_not_found', `scope "${p.scope}" has no state`);
  if (p.expected_epoch !== state.epoch) return fail('stale_epoch', `proposal read epoch ${p.expected_epoch}, the scope is at epoch ${state.epoch}`);
  if (p.from !== state.node) return fail('wrong_from_node', `proposal starts at ${String(p.from)}, the scope is at ${state.node}`);
  if (!isStateNode(p.to) || SUCCESSOR[state.node] !== p.to) {
    return fail('invalid_transition', `${state.node} → ${String(p.to)} is not an edge; the successor of ${state.node} is ${SUCCESSOR[state.node]}`);
  }
  return { ok: true, transition: { from: state.node, to: p.to, expected_epoch: p.expected_epoch } };
}

/** The OpenFGA checks for a proposal: proposer on the scope, advancer on the target node. */
export function requiredPermissions(p: Pick<Proposal, 'proposer' | 'scope'>, to: StateNode): { user: string; relation: string; object: string }[] {
  return [
    { user: `agent:${p.proposer}`, relation: 'proposer', object: `scope:${p.scope}` },
    { user: `agent:${p.proposer}`, relation: 'advancer', object: `state:${to}` },
  ];
}

/** Tier 1. Checks run in a fixed order; the first failing one decides. */
export function evaluateProposal(input: GovernanceInput): GovernanceDecision {
  const { proposal: p, state, drift, mode, authz, policy } = input;
  const suggested = suggestedActions(policy, drift);
  const base = { suggested_actions: suggested, policy_version: input.policy_version, governance_path: 'processProposal' as const, tier: 1 as const, mode };
  const reject = (code: ReasonCode, message: string, extra: Partial<Reason> = {}, blocked: number | null = null): GovernanceDecision => ({
    ...base,
    decision: 'reject',
    reasons: [{ code, message, ...extra }],
    obligations: obligationsFor('reject', null, code),
    blocked_by_rule: blocked,
  });

  const structure = checkStructure(p, state);
  if (!structure.ok) return reject(structure.reason.code, structure.reason.message);
  const transition = structure.transition;

  // Fail closed: an unreachable or unconfigured authorizer is a rejection, never an approval.
  if (!authz.allowed) {
    const failed = authz.checks.filter((c) => !c.allowed);
    const unavailable = failed.length === 0 || failed.some((c) => c.reason !== 'denied');
    const what = failed.map((c) => `${c.relation} on ${c.object}: ${c.reason}${c.detail ? ` (${c.detail})` : ''}`).join('; ');
    return unavailable
      ? reject('authz_unavailable', `permission could not be established: ${what || 'no checks ran'}`, { retryable: true })
      : reject('not_authorized', `agent:${p.proposer} lacks ${what}`);
  }

  const block = blockingRule(policy, transition.from, transition.to, drift);
  if (block) {
    const message = `${block.rule.reason} (transition_rules[${block.index}], drift ${drift.level}${drift.types.length ? ` ${drift.types.join(',')}` : ''})`;
    const effect = mode === 'MASTER' ? 'reject' : block.rule.effect;
    if (effect === 'reject') {
      const extra = mode === 'MASTER' && block.rule.effect === 'review' ? ' (MASTER: no human override)' : '';
      return reject('policy_block', message + extra, {}, block.index);
    }
    return {
      ...base,
      decision: 'review',
      reasons: [{ code: 'policy_block', message: `${message}; a human may override` }],
      obligations: obligationsFor('review', transition, 'policy_block'),
      blocked_by_rule: block.index,
    };
  }

  switch (mode) {
    case 'MITL':
      return {
        ...base,
        decision: 'review',
        reasons: [{ code: 'mitl_required', message: 'rules pass; MITL mode: a human confirms every transition' }],
        obligations: obligationsFor('review', transition, 'mitl_required'),
        blocked_by_rule: null,
      };
    case 'MASTER':
      return {
        ...base,
        decision: 'approve',
        reasons: [{ code: 'master_rules_final', message: 'rules pass; MASTER mode: deterministic rules are final' }],
        obligations: obligationsFor('approve', transition, 'master_rules_final'),
        blocked_by_rule: null,
      };
    case 'YOLO':
      return {
        ...base,
        decision: 'approve',
        reasons: [{ code: 'policy_passed', message: 'rules pass' }],
        obligations: obligationsFor('approve', transition, 'policy_passed'),
        blocked_by_rule: null,
      };
    default:
      return assertNever(mode, 'mode');
  }
}

/** A later tier's view of a tier-1 decision (tiers 2/3 are LLM agents: functions/governance/tiers.ts). */
export interface TierVerdict {
  tier: 2 | 3;
  decision: Decision;
  governance_path: GovernancePath;
  rationale: string;
}

const STRICTNESS: Record<Decision, number> = { approve: 0, review: 1, reject: 2 };

/** Whether tiers 2/3 may look at this decision at all: only YOLO, never MASTER or MITL. */
export const higherTiersApply = (d: GovernanceDecision): boolean => d.mode === 'YOLO' && d.tier === 1;

/**
 * Combine a higher tier's verdict with tier 1. A higher tier may route a decision to a
 * human or reject it, never loosen it: an LLM cannot approve what the rules refused.
 */
export function applyHigherTier(base: GovernanceDecision, v: TierVerdict): GovernanceDecision {
  if (!higherTiersApply(base)) return base;
  if (STRICTNESS[v.decision] < STRICTNESS[base.decision]) {
    // Asked to loosen: refused; the rules' decision stands, with the tier's view on record.
    return { ...base, governance_path: 'oversight_acceptDeterministic', reasons: [...base.reasons, { code: 'higher_tier', message: `tier ${v.tier} would ${v.decision} (not allowed to loosen): ${v.rationale}` }] };
  }
  if (STRICTNESS[v.decision] === STRICTNESS[base.decision]) {
    // Agreement: tier 2 accepting keeps tier 1 as the decider; tier 3 deciding the same is tier 3's decision.
    return v.tier === 3
      ? { ...base, tier: 3, governance_path: v.governance_path, reasons: [...base.reasons, { code: 'higher_tier', message: `tier 3: ${v.rationale}` }] }
      : { ...base, governance_path: 'oversight_acceptDeterministic' };
  }
  const adv = base.obligations.find((o): o is Extract<Obligation, { type: 'advance_state' }> => o.type === 'advance_state');
  const transition = adv ? { from: adv.from, to: adv.to, expected_epoch: adv.expected_epoch } : null;
  return {
    ...base,
    decision: v.decision,
    tier: v.tier,
    governance_path: v.governance_path,
    reasons: [...base.reasons, { code: 'higher_tier', message: `tier ${v.tier}: ${v.rationale}` }],
    obligations: obligationsFor(v.decision, transition, 'higher_tier'),
  };
}
