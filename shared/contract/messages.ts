// The swarm's message catalogue: every envelope type, its payload schema, who
// publishes it and who consumes it. Subjects are <prefix>.<scope>.<type>.
//
//   doc.submitted      API            → facts          a document or a human resolution for a scope
//   facts.extracted    facts          → status         what one document added to the graph
//   proposal.submitted facts/drift/planner → governance  advance the scope's state one step
//   review.requested   governance/finality → status    a human decision is pending
//   action.approved    governance     → executor       the advance governance approved
//   review.responded   API            → executor (governance reviews), finality (finality reviews)
//   state.advanced     executor       → drift (into FactsExtracted), planner (into DriftChecked),
//                                       facts (into ContextIngested: documents that arrived mid-cycle)
//   drift.assessed     drift          → status
//   plan.ready         planner        → status
//   finality.evaluate  executor (cycle complete) → finality
//   finality.decided   finality       → status
//   status.tick        any scheduler  → status
//   notification.deliver notifier     → notifier       one webhook's copy of a review / finality event
//   review.escalated   ticker (a review's deadline passed) → executor (governance reviews), finality (finality reviews), notifier
//   hold.released      API (resume)   → the step named in it (governance, executor, finality, drift,
//                                       planner): act now on a message it held while the scope was paused
//   scope.hold_changed API           → (none: the event stream and the console) an operator paused,
//                                       resumed or closed the scope
import { z } from 'zod';
import { ScopeId } from './envelope.ts';

export const StateNodeName = z.enum(['ContextIngested', 'FactsExtracted', 'DriftChecked']);
export const DriftLevel = z.enum(['none', 'low', 'medium', 'high', 'critical']);
export const DriftType = z.enum(['factual', 'goal', 'contradiction', 'entropy']);
export const Tier = z.enum(['llm', 'fallback']);

/** Largest document text accepted (the envelope cap is 256 KiB). */
export const MAX_DOCUMENT_CHARS = 200_000;

export const DocSubmitted = z.object({
  doc_id: z.string().regex(/^[A-Za-z0-9._-]{1,120}$/, 'doc_id: 1-120 chars of letters, digits, . _ -'),
  title: z.string().trim().min(1).max(300),
  text: z.string().trim().min(1, 'text must not be empty').max(MAX_DOCUMENT_CHARS),
  kind: z.enum(['document', 'resolution']).default('document'),
  submitted_by: z.string().min(1).max(100),
});

export const FactsExtracted = z.object({
  doc_id: z.string(),
  /** The scope's facts version after this document (facts_documents.version; the artifact's sha256 before migration 009). */
  facts_sha: z.string(),
  tier: Tier,
  claims: z.number().int(),
  goals: z.number().int(),
  risks: z.number().int(),
  contradictions_found: z.number().int(),
  contradictions_resolved: z.number().int(),
  /** Earlier goals this document met, made unreachable or superseded. */
  goals_changed: z.number().int().default(0),
  unembedded: z.number().int(),
});

/** An action of a plan: a lower-case word, as the actions of governance.yaml's rules. */
export const PlanAction = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'action: a lower-case word (letters, digits, _)');
/** The actions a proposer means to take once its proposal is approved (the planner's; facts and drift have none). */
export const ProposalPlan = z.strictObject({
  actions: z
    .array(PlanAction)
    .max(20)
    .refine((xs) => new Set(xs).size === xs.length, 'actions: each action once'),
});

export const ProposalSubmitted = z.object({
  proposal_id: z.string().min(1).max(200),
  proposer: z.string().min(1).max(64),
  action: z.literal('advance_state'),
  from: StateNodeName,
  to: StateNodeName,
  expected_epoch: z.number().int().min(0),
  reason: z.string().max(500).optional(),
  plan: ProposalPlan.optional(),
});

/**
 * What a reviewer may change in a proposal before approving it (shared/domain/amend.ts):
 * what it says and what it plans, never what it asks for (its identity and transition).
 */
export const ProposalAmendments = z.strictObject({
  reason: ProposalSubmitted.shape.reason,
  plan: ProposalSubmitted.shape.plan,
});

export const ActionApproved = z.object({
  proposal_id: z.string(),
  /** The decision record that approved it: the executor applies nothing without one. */
  decision_id: z.uuid(),
  from: StateNodeName,
  to: StateNodeName,
  expected_epoch: z.number().int().min(0),
  approved_by: z.string(),
});

export const ReviewRequested = z.object({
  review_id: z.string(),
  kind: z.enum(['governance_review', 'finality_review']),
  reason: z.string().max(500).optional(),
});

export const ReviewResponded = z.object({
  review_id: z.string().min(1).max(200),
  kind: z.enum(['governance_review', 'finality_review']),
  /** governance_review: approve | reject; finality_review: one of the four options. */
  option: z.enum(['approve', 'reject', 'approve_finality', 'provide_resolution', 'escalate', 'defer']),
  days: z.number().int().min(1).max(365).optional(),
  note: z.string().max(2000).optional(),
  responder: z.string().min(1).max(100),
  /** The API's access_log row for this answer: the receiving step checks it names this responder, scope and review. */
  access_id: z.number().int().positive(),
  /** approve of a governance review only: the proposal is approved as amended (checked again by the executor). */
  amendments: ProposalAmendments.optional(),
}).refine((r) => !r.amendments || (r.kind === 'governance_review' && r.option === 'approve'), {
  message: 'amendments go with option approve of a governance review only',
  path: ['amendments'],
});

/** A human rejected a proposal (executor, after recording it): its proposer's side plans again. */
export const ProposalRejected = z.object({
  review_id: z.string().min(1).max(200),
  proposal_id: z.string().min(1).max(200),
  proposer: z.string().min(1).max(64),
  from: StateNodeName,
  to: StateNodeName,
  expected_epoch: z.number().int().min(0),
  responder: z.string().min(1).max(100),
  note: z.string().max(2000).optional(),
});

/** A review's deadline passed (the bridge's tick): what governance.yaml's `deadlines` says happened. */
export const ReviewEscalated = z.object({
  review_id: z.string().min(1).max(200),
  kind: z.enum(['governance_review', 'finality_review']),
  /** escalate: now also answerable by escalated_to; reject / defer: the fail-safe answer was applied. */
  action: z.enum(['escalate', 'reject', 'defer']),
  escalated_to: z.string().max(200).optional(),
  deadline: z.string().max(40),
});

export const StateAdvanced = z.object({
  from: StateNodeName,
  to: StateNodeName,
  epoch: z.number().int().min(0),
  proposal_id: z.string().optional(),
});

export const DriftAssessed = z.object({
  level: DriftLevel,
  types: z.array(DriftType),
  drift_sha: z.string(),
  tier: Tier,
});

export const PlanReady = z.object({
  actions: z.array(z.string()),
  tier: Tier,
});

export const FinalityEvaluate = z.object({
  reason: z.string().max(200),
});

export const FinalityDecided = z.object({
  round: z.number().int(),
  outcome: z.enum(['RESOLVED', 'ESCALATED', 'BLOCKED', 'EXPIRED', 'REVIEW', 'ACTIVE']),
  goal_score: z.number(),
  lyapunov_v: z.number(),
  certificate_id: z.string().nullable(),
  review_id: z.string().nullable(),
});

export const StatusTick = z.object({}).loose();

/**
 * One webhook's copy of an event (functions/notifier). It names the webhook, not its URL
 * or secret: those are read when it is sent, so neither travels on the bus nor sits in a
 * dead letter, and a webhook deleted meanwhile is not called.
 */
export const NotificationDeliver = z.object({
  /** notify:<event message id>:<webhook ref>: X-Swarm-Delivery, the receiver's dedup key. */
  delivery_id: z.string().min(1).max(300),
  /** global:<id> (configuration) or scope:<id> (this scope's, through the API). */
  webhook: z.string().regex(/^(global|scope):[a-z0-9][a-z0-9_-]{0,63}$/),
  event: z.enum(['review.requested', 'review.escalated', 'review.responded', 'certificate.issued', 'scope.blocked', 'scope.expired']),
  occurred_at: z.string().max(40),
  data: z.record(z.string(), z.union([z.string().max(300), z.number(), z.boolean(), z.null()])),
});

/**
 * A resumed scope releases a message its step held while paused (shared/swarm/hold.ts).
 * Only a pointer: the step reads the message it stored itself, so the API never
 * publishes (or could forge) another step's message types.
 */
export const HoldReleased = z.object({
  consumer: z.string().regex(/^[a-z][a-z0-9-]{0,47}$/),
  message_id: z.string().min(1).max(200),
  /** The scope's release counter (scopes.releases) when this was published. */
  release: z.number().int().min(1),
});

/** An operator paused, resumed or closed the scope; said on the bus so that the event stream (and every open console) shows it. */
export const ScopeHoldChanged = z.object({
  action: z.enum(['pause', 'resume', 'close']),
  hold: z.enum(['paused', 'closed']).nullable(),
  by: z.string().min(1).max(200),
  reason: z.string().max(500).optional(),
  /** The context-log entry of the change. */
  seq: z.number().int().positive(),
});

export const MESSAGES = {
  'doc.submitted': DocSubmitted,
  'facts.extracted': FactsExtracted,
  'proposal.submitted': ProposalSubmitted,
  'review.requested': ReviewRequested,
  'action.approved': ActionApproved,
  'review.responded': ReviewResponded,
  'proposal.rejected': ProposalRejected,
  'state.advanced': StateAdvanced,
  'drift.assessed': DriftAssessed,
  'plan.ready': PlanReady,
  'finality.evaluate': FinalityEvaluate,
  'finality.decided': FinalityDecided,
  'status.tick': StatusTick,
  'review.escalated': ReviewEscalated,
  'notification.deliver': NotificationDeliver,
  'hold.released': HoldReleased,
  'scope.hold_changed': ScopeHoldChanged,
} as const;

export type MessageName = keyof typeof MESSAGES;

/**
 * Who may publish what: the table above as data. Each step declares `emits` from its
 * row (the runtime refuses anything else before it commits), and the NATS permissions
 * of each service's credentials are generated from it (infra/nats/permissions.ts), so
 * only the API can publish a document or a human answer and only governance an approval.
 */
export const PUBLISHERS = {
  api: ['doc.submitted', 'review.responded', 'hold.released', 'scope.hold_changed'],
  facts: ['facts.extracted', 'proposal.submitted'],
  drift: ['drift.assessed', 'proposal.submitted'],
  planner: ['plan.ready', 'proposal.submitted'],
  governance: ['action.approved', 'review.requested'],
  executor: ['state.advanced', 'finality.evaluate', 'proposal.rejected'],
  finality: ['finality.decided', 'review.requested'],
  status: [],
  /** Outgoing webhooks: fans events out to one message per webhook, and sends them. */
  notifier: ['notification.deliver'],
  /** The bridge's timer (infra/bridge/ticker.ts). */
  ticker: ['finality.evaluate', 'status.tick', 'review.escalated', 'hold.released'],
} as const satisfies Record<string, readonly MessageName[]>;
export type Publisher = keyof typeof PUBLISHERS;
export type Payload<T extends MessageName> = z.infer<(typeof MESSAGES)[T]>;

/** Parse a payload at the edge of a step; a bad one is a permanent failure. */
export function payloadOf<T extends MessageName>(type: T, payload: unknown): Payload<T> {
  return MESSAGES[type].parse(payload) as Payload<T>;
}

/** A message a step asks the runtime to publish (see Emit in envelope.ts). */
export interface OutMessage {
  type: MessageName;
  payload: Record<string, unknown>;
  scope?: string;
  key?: string;
}

/** An emit of a catalogued message; its payload is checked against the catalogue here, at the source. */
export function message<T extends MessageName>(type: T, payload: z.input<(typeof MESSAGES)[T]>, opts: { scope?: string; key?: string } = {}): OutMessage {
  MESSAGES[type].parse(payload);
  return { type, payload: payload as Record<string, unknown>, ...(opts.scope ? { scope: ScopeId.parse(opts.scope) } : {}), ...(opts.key ? { key: opts.key } : {}) };
}
