// Governance around the pure tier-1 evaluation: read the scope's state and mode, check
// the proposer's permissions in OpenFGA (fail closed), evaluate, let tiers 2/3 (the LLM
// oversight and agent, YOLO only) tighten the decision. Recording it is SQL in
// shared/store/governance.ts, run by the governance step inside its ctx.commit, so the
// decision commits with the message's inbox record (one idempotency mechanism).
import type { z } from 'zod';
import type { Authorizer } from '../adapters/authz.ts';
import {
  applyHigherTier,
  checkStructure,
  effectiveMode,
  evaluateProposal,
  higherTiersApply,
  requiredPermissions,
  type AuthzOutcome,
  type GovernanceDecision,
  type GovernanceInput,
  type TierVerdict,
} from '../domain/governance.ts';
import type { PolicySource } from '../policy/load.ts';
import { inTransaction, type Db, type Tx } from '../store/db.ts';
import { isRetryableRejection, ProposalInput, recordDecision, storedDecision, type GovernanceResult } from '../store/governance.ts';
import { getScope } from '../store/scopes.ts';
import { readState } from '../store/state.ts';

export { isRetryableRejection, ProposalInput, type GovernanceResult } from '../store/governance.ts';

/** Tier 2/3 hook (functions/governance/tiers.ts). It sees tier 1's decision and may only tighten it. */
export interface GovernanceTier {
  tier: 2 | 3;
  consider(input: GovernanceInput, decision: GovernanceDecision): Promise<TierVerdict | null>;
}

export interface GovernanceDeps {
  db: Db;
  policies: PolicySource;
  authz: Authorizer;
  tiers?: readonly GovernanceTier[];
}

/** A proposal decided but not yet recorded, or the decision already recorded for its message. */
export type Decided =
  | { stored: GovernanceResult }
  | {
      stored?: undefined;
      proposal: z.output<typeof ProposalInput>;
      decision: GovernanceDecision;
      authz: AuthzOutcome;
      gov: ReturnType<PolicySource['governance']>;
      /** Rejected only because OpenFGA could not answer: deliver the proposal again. */
      retryable: boolean;
    };

/** Evaluate a proposal (reads, OpenFGA, the LLM tiers); writes nothing. */
export async function decideProposal(deps: GovernanceDeps, input: ProposalInput): Promise<Decided> {
  const p = ProposalInput.parse(input);
  if (p.message_id) {
    const stored = await storedDecision(deps.db, p.scope, p.message_id);
    if (stored) return { stored };
  }
  const gov = deps.policies.governance();
  const [scope, state] = await Promise.all([getScope(deps.db, p.scope), readState(deps.db, p.scope)]);
  const mode = effectiveMode(gov.policy, p.scope, scope?.mode ?? null);
  const proposal = { proposal_id: p.proposal_id, scope: p.scope, proposer: p.proposer, action: p.action, from: p.from, to: p.to, expected_epoch: p.expected_epoch };

  // Ask OpenFGA only about a proposal that is structurally sound.
  const structure = checkStructure(proposal, state && scope ? { node: state.node, epoch: state.epoch } : null);
  let authz: AuthzOutcome = { allowed: false, checks: [] };
  if (structure.ok) {
    const res = await deps.authz.checkAll(requiredPermissions(proposal, structure.transition.to));
    authz = { allowed: res.allowed, checks: res.results.map((r) => ({ relation: r.relation, object: r.object, allowed: r.allowed, reason: r.reason, detail: r.detail })) };
  }
  const evalInput: GovernanceInput = {
    proposal,
    state: state && scope ? { node: state.node, epoch: state.epoch } : null,
    drift: p.drift,
    mode,
    authz,
    policy: gov.policy,
    policy_version: gov.version,
  };
  let decision = evaluateProposal(evalInput);
  if (higherTiersApply(decision)) {
    for (const tier of deps.tiers ?? []) {
      const verdict = await tier.consider(evalInput, decision);
      if (verdict) decision = applyHigherTier(decision, verdict);
    }
  }
  return { proposal: p, decision, authz, gov, retryable: isRetryableRejection(decision) };
}

/** Record a decided proposal in the caller's transaction (a stored one is returned as is). */
export async function commitDecision(tx: Tx, d: Decided): Promise<GovernanceResult> {
  if (d.stored) return d.stored;
  return recordDecision(tx, d.proposal, d.decision, d.authz, d.gov);
}

/**
 * A rejection only because OpenFGA could not answer is recorded for the audit trail in its
 * own transaction and not under the message id: the step then fails so the message is
 * delivered again and evaluated afresh, not replayed.
 */
export async function recordRetryableRejection(db: Db, d: Extract<Decided, { stored?: undefined }>): Promise<GovernanceResult> {
  const out = await inTransaction(db, (tx) => recordDecision(tx, { ...d.proposal, message_id: undefined }, d.decision, d.authz, d.gov));
  return { ...out, retryable: true };
}

/** Evaluate and record in one call, in a transaction of its own (reads, tests, tools). */
export async function governProposal(deps: GovernanceDeps, input: ProposalInput): Promise<GovernanceResult> {
  const d = await decideProposal(deps, input);
  if (d.stored) return d.stored;
  if (d.retryable) return recordRetryableRejection(deps.db, d);
  return inTransaction(deps.db, (tx) => commitDecision(tx, d));
}
