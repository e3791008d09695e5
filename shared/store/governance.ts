// Governance records (SQL only): the decision with its policy text and its obligations
// carried out (review queued, context-log events), the decision stored under a message
// id, and the executor's check that an approval is on record. Evaluating a proposal
// (OpenFGA, the LLM tiers) is shared/usecases/governance.ts.
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { ProposalPlan } from '../contract/messages.ts';
import type { AuthzOutcome, GovernanceDecision, Obligation } from '../domain/governance.ts';
import { assertNever } from '../domain/state-machine.ts';
import type { PolicySource } from '../policy/load.ts';
import { DriftLevelSchema, DriftTypeSchema } from '../domain/policy.ts';
import { appendEvent } from './context-log.ts';
import type { Tx, Queryable } from './db.ts';
import { ensurePolicyVersion } from './policies.ts';
import { enqueueGovernanceReview } from './reviews.ts';

const AgentId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'agent id: letters, digits, _ . -');

export const ProposalInput = z.object({
  proposal_id: z.string().min(1).max(200),
  scope: ScopeId,
  proposer: AgentId,
  action: z.string().min(1).max(64),
  from: z.string().min(1).max(64),
  to: z.string().min(1).max(64),
  expected_epoch: z.number().int().min(0),
  /** What the proposer says (shown to a reviewer, never used to decide). */
  reason: z.string().max(500).optional(),
  /** What the proposer will do once approved (shown to a reviewer, who may amend it; never used to decide). */
  plan: ProposalPlan.optional(),
  /** The current drift, as read by the governance step (never taken from the proposer). */
  drift: z.object({ level: DriftLevelSchema, types: z.array(DriftTypeSchema).default([]) }),
  message_id: z.string().min(1).max(200).optional(),
  trace_id: z.string().max(64).optional(),
});
export type ProposalInput = z.input<typeof ProposalInput>;

export interface GovernanceResult {
  /** Null only for a proposal on a scope that does not exist (nothing to attach a record to). */
  decisionId: string | null;
  decision: GovernanceDecision;
  reviewId: string | null;
  /** Context-log seq of the decision event. */
  seq: number;
  replayed: boolean;
  /** The rejection is retryable (permission could not be established): deliver the proposal again. */
  retryable?: boolean;
}

export const isRetryableRejection = (d: GovernanceDecision): boolean =>
  d.decision === 'reject' && d.reasons.length > 0 && d.reasons.every((r) => r.retryable === true);

const EVENT_KIND = { approve: 'proposal_approved', reject: 'proposal_rejected', review: 'proposal_pending_approval' } as const;

type DecisionRow = {
  decision_id: string;
  decision: GovernanceDecision['decision'];
  reasons: GovernanceDecision['reasons'];
  obligations: Obligation[];
  suggested_actions: string[];
  policy_version: string;
  governance_path: GovernanceDecision['governance_path'];
  tier: 1 | 2 | 3;
  mode: GovernanceDecision['mode'];
  blocked_by_rule: number | null;
};

/** The decision recorded for this proposal message (its final tier), or null. */
export async function storedDecision(q: Queryable, scope: string, messageId: string): Promise<GovernanceResult | null> {
  const { rows } = await q.query<DecisionRow & { review_id: string | null; seq: string | null }>(
    `SELECT d.decision_id, d.decision, d.reasons, d.obligations, d.suggested_actions, d.policy_version, d.governance_path, d.tier, d.mode,
            (d.authz->>'blocked_by_rule')::int AS blocked_by_rule,
            (SELECT review_id FROM review_queue r WHERE r.decision_id = d.decision_id) AS review_id,
            (SELECT seq FROM context_log c WHERE c.scope_id = d.scope_id AND c.message_id = d.message_id AND c.kind LIKE 'proposal_%' ORDER BY seq LIMIT 1) AS seq
       FROM decision_records d WHERE d.scope_id = $1 AND d.message_id = $2 ORDER BY d.tier DESC LIMIT 1`,
    [scope, messageId],
  );
  const r = rows[0];
  if (!r) return null;
  const { decision_id, review_id, seq, ...d } = r;
  return { decisionId: decision_id, decision: d, reviewId: review_id, seq: Number(seq ?? 0), replayed: true };
}

/**
 * Record a decision and carry out its obligations, in the caller's transaction (the
 * governance step's ctx.commit). A concurrent delivery of the same message that recorded
 * first wins: its decision is returned (replayed) and nothing more is written.
 */
export async function recordDecision(
  tx: Tx,
  p: z.output<typeof ProposalInput>,
  d: GovernanceDecision,
  authz: AuthzOutcome,
  gov: ReturnType<PolicySource['governance']>,
): Promise<GovernanceResult> {
  const out = await record(tx, p, d, authz, gov);
  if (out !== DUPLICATE) return out;
  // The conflicting insert waited for the other transaction's commit, so its row is visible now.
  const stored = p.message_id ? await storedDecision(tx, p.scope, p.message_id) : null;
  if (!stored) throw new Error(`decision for message ${p.message_id ?? '?'} on ${p.scope} conflicted but is not on record`);
  return stored;
}

const DUPLICATE = Symbol('duplicate decision');

async function record(
  tx: Tx,
  p: z.output<typeof ProposalInput>,
  d: GovernanceDecision,
  authz: AuthzOutcome,
  gov: ReturnType<PolicySource['governance']>,
): Promise<GovernanceResult | typeof DUPLICATE> {
  await ensurePolicyVersion(tx, gov);
  const { rows } = await tx.query<{ decision_id: string }>(
    `INSERT INTO decision_records (scope_id, proposal_id, message_id, proposer, action, from_node, to_node, decision, reasons, obligations,
       suggested_actions, policy_version, governance_path, tier, mode, authz, trace_id)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17
      WHERE EXISTS (SELECT 1 FROM scopes WHERE scope_id = $1)
     ON CONFLICT (scope_id, message_id, tier) WHERE message_id IS NOT NULL DO NOTHING
     RETURNING decision_id`,
    [
      p.scope, p.proposal_id, p.message_id ?? null, p.proposer, p.action, p.from, p.to, d.decision, JSON.stringify(d.reasons),
      JSON.stringify(d.obligations), JSON.stringify(d.suggested_actions), d.policy_version, d.governance_path, d.tier, d.mode,
      JSON.stringify({ ...authz, blocked_by_rule: d.blocked_by_rule }), p.trace_id ?? null,
    ],
  );
  const decisionId = rows[0]?.decision_id;
  if (!decisionId) {
    const { rowCount } = await tx.query('SELECT 1 FROM scopes WHERE scope_id = $1', [p.scope]);
    // An unknown scope has nowhere to keep a record (the rejection is still returned).
    if (!rowCount) return { decisionId: null, decision: d, reviewId: null, seq: 0, replayed: false };
    return DUPLICATE;
  }

  let reviewId: string | null = null;
  let seq = 0;
  const logDecision = async (kind: string, extra: Record<string, unknown>) =>
    (
      await appendEvent(tx, {
        scope: p.scope,
        kind,
        source: 'governance',
        ...(p.message_id ? { messageId: p.message_id } : {}),
        ...(p.trace_id ? { traceId: p.trace_id } : {}),
        payload: {
          proposal_id: p.proposal_id,
          decision_id: decisionId,
          reason: d.reasons.map((r) => r.message).join('; '),
          governance_path: d.governance_path,
          mode: d.mode,
          ...extra,
        },
      })
    ).seq;
  // Every obligation type has a handler; a new type fails to compile until it gets one.
  for (const o of d.obligations) {
    switch (o.type) {
      case 'record_review':
        reviewId = await enqueueGovernanceReview(tx, {
          scope: p.scope,
          proposalId: p.proposal_id,
          decisionId,
          request: {
            type: o.review_kind,
            // The reason carries what the proposer says, e.g. the note of a rejection it answers.
            proposal: { proposal_id: p.proposal_id, proposer: p.proposer, action: p.action, from: p.from, to: p.to, expected_epoch: p.expected_epoch, ...(p.reason ? { reason: p.reason } : {}), ...(p.plan ? { plan: p.plan } : {}) },
            drift: p.drift,
            mode: d.mode,
            reasons: d.reasons,
            suggested_actions: d.suggested_actions,
            options: o.options,
            // What an approval will oblige the executor to do.
            obligations: [{ type: 'advance_state', from: p.from, to: p.to, expected_epoch: p.expected_epoch }],
          },
        });
        break;
      case 'notify':
        // The context log is the channel: agents, the status briefing and the API read it.
        seq = await logDecision(EVENT_KIND[d.decision], { audience: o.audience, reason_code: o.reason_code, ...(reviewId ? { review_id: reviewId } : {}) });
        break;
      case 'advance_state':
        // The approval event is the executor's instruction: exactly this compare-and-swap.
        seq = await logDecision(EVENT_KIND.approve, { approved_by: 'auto', obligations: [o] });
        break;
      default:
        assertNever(o, 'obligation');
    }
  }
  return { decisionId, decision: d, reviewId, seq, replayed: false };
}

/**
 * Is there a recorded approval for exactly this advance? The executor applies an
 * action.approved only then: the message says what was approved, the record proves it
 * (same scope, proposal, transition and epoch; the final tier of its proposal's decision).
 */
export async function approvalOnRecord(
  q: Queryable,
  a: { decisionId: string; scope: string; proposalId: string; from: string; to: string; expectedEpoch: number },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `SELECT 1 FROM decision_records d
      WHERE d.decision_id = $1 AND d.scope_id = $2 AND d.proposal_id = $3 AND d.decision = 'approve'
        AND d.from_node = $4 AND d.to_node = $5
        AND d.obligations @> jsonb_build_array(jsonb_build_object('type', 'advance_state', 'from', $4::text, 'to', $5::text, 'expected_epoch', $6::int))
        AND NOT EXISTS (SELECT 1 FROM decision_records h WHERE h.scope_id = d.scope_id AND h.message_id = d.message_id AND h.tier > d.tier)`,
    [a.decisionId, a.scope, a.proposalId, a.from, a.to, a.expectedEpoch],
  );
  return rowCount === 1;
}
