// Request and response schemas of the API. The validators and the OpenAPI document
// (GET /openapi.json) are both generated from these, so they cannot disagree.
import { z } from '@hono/zod-openapi';
import { ScopeId } from '../../shared/contract/envelope.ts';
import { MAX_DOCUMENT_CHARS } from '../../shared/contract/messages.ts';
import { FINALITY_OUTCOMES, HUMAN_OPTIONS } from '../../shared/domain/finality.ts';
import { MODES } from '../../shared/domain/policy.ts';
import { NOTIFY_EVENTS, type NotifyEvent } from '../../shared/notify/events.ts';
import { MAX_URL_CHARS, WebhookId, WebhookSecret, WebhookUrl } from '../../shared/notify/webhook.ts';

/** Postgres text cannot hold NUL; refuse it here rather than fail in a step later. */
const noNul = (s: string) => !s.includes('\u0000');
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine(noNul, 'must not contain NUL characters');

const iso = z.string().openapi({ format: 'date-time', example: '2025-01-01T12:00:00.000Z' });

// ------------------------------------------------------------------ parameters

/**
 * A scope id, checked by the envelope's own ScopeId (one definition of what a scope id
 * is). Wrapped in this module's zod: under vitest, shared/ and @hono/zod-openapi can
 * load different copies of zod, and only this one carries .openapi().
 */
const scopeId = z
  .string()
  .superRefine((v, ctx) => {
    const r = ScopeId.safeParse(v);
    if (!r.success) ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'invalid scope id' });
  })
  .openapi({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', example: 'acme' });

export const ScopeParam = z.object({
  scope: scopeId.openapi({ param: { name: 'scope', in: 'path' } }),
});

export const ReviewParam = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._:-]+$/, 'review id: letters, digits and . _ : -')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'fin-acme-1a2b3c4d' }),
});

export const CertificateParam = z.object({
  id: z.uuid('certificate id must be a UUID').openapi({ param: { name: 'id', in: 'path' }, example: '3f2a9c4e-6b1d-4c1e-9a57-0d6f3e2b8c11' }),
});

export const IdempotencyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, '1-255 printable ASCII characters without spaces')
    .optional()
    .openapi({
      param: { in: 'header' },
      description: 'Retries with the same key (by the same principal, in the same scope) publish nothing new.',
    }),
});

// ------------------------------------------------------------------ scopes

/** An operator's hold on the scope (pause, resume, close), shown with every scope. */
export const HoldFields = {
  hold: z.enum(['paused', 'closed']).nullable().openapi({ description: 'paused: documents accepted, steps hold; closed: no more documents, steps do nothing; null: neither' }),
  held_since: iso.nullable(),
  held_by: z.string().nullable(),
};

export const HoldBody = z.strictObject({ reason: text(500).optional().openapi({ description: 'Why; kept in the decision record and the context log' }) }).openapi('HoldRequest');

export const HoldState = z
  .object({
    scope: z.string(),
    ...HoldFields,
    changed: z.boolean().openapi({ description: 'false when the scope was already so (the request is idempotent)' }),
    released: z.number().int().openapi({ description: 'resume: held messages released to their steps' }),
    superseded_reviews: z.array(z.string()).openapi({ description: 'close: the pending reviews it superseded' }),
  })
  .openapi('ScopeHold');

export const PutScopeBody = z.strictObject({ mode: z.enum(MODES).optional().openapi({ description: 'Governance mode override; omitted: governance.yaml decides' }) }).openapi('PutScope');

export const ScopeInfo = z
  .object({
    scope: z.string(),
    status: z.string(),
    mode: z.enum(MODES).nullable(),
    created_at: iso,
    created: z.boolean().openapi({ description: 'true when this request created it' }),
  })
  .openapi('Scope');

// ------------------------------------------------------------------ documents

export const DocumentBody = z
  .strictObject({
    title: text(300),
    text: text(MAX_DOCUMENT_CHARS),
    doc_id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,120}$/, '1-120 characters of letters, digits, . _ -')
      .optional()
      .openapi({ description: 'Default: derived from title and text' }),
    kind: z.enum(['document', 'resolution']).default('document'),
  })
  .openapi('Document');

export const Published = z.object({
  message_id: z.string(),
  stream_seq: z.number().int().openapi({ description: 'JetStream sequence; for a duplicate, that of the first publish' }),
  duplicate: z.boolean().openapi({ description: 'true when an identical submission was already published' }),
});

export const DocumentAccepted = Published.extend({ scope: z.string(), doc_id: z.string() }).openapi('DocumentAccepted');

// ------------------------------------------------------------------ summary

const Dimensions = z.record(z.string(), z.number());
const Reason = z.object({ code: z.string(), message: z.string() });

export const LatestDecision = z
  .object({ outcome: z.string(), decided_by: z.string(), option: z.string().nullable(), round: z.number().int().nullable(), at: iso })
  .openapi('FinalityDecision');

const NodeRef = z.object({ node_id: z.string(), content: z.string().nullable(), confidence: z.number().nullable() });

export const Contradiction = z.object({ edge_id: z.string(), a: NodeRef, b: NodeRef }).openapi('Contradiction');

export const ReviewBrief = z.object({ review_id: z.string(), kind: z.string(), created_at: iso });

export const Summary = z
  .object({
    scope: z.string(),
    status: z.string(),
    mode: z.enum(MODES).nullable(),
    ...HoldFields,
    created_at: iso,
    last_activity_at: iso,
    state: z.object({ node: z.string(), epoch: z.number().int(), updated_at: iso }),
    finality: z.object({
      goal_score: z.number(),
      lyapunov_v: z.number(),
      alpha: z.number().openapi({ description: 'convergence rate: mean −ln(V_t/V_{t−1}); > 0 converging' }),
      eta_rounds: z.number().nullable(),
      rounds: z.number().int().openapi({ description: 'stored evaluation rounds' }),
      bottleneck: z.string().nullable(),
      is_monotonic: z.boolean(),
      is_plateaued: z.boolean(),
      dimensions: Dimensions,
      outcome: z.enum(FINALITY_OUTCOMES).nullable().openapi({ description: 'outcome of the latest recorded finality decision' }),
      latest_decision: LatestDecision.nullable(),
      preview: z
        .object({ outcome: z.enum(FINALITY_OUTCOMES), reasons: z.array(Reason) })
        .openapi({ description: 'what an evaluation would decide now; computed for this read, nothing stored' }),
    }),
    open_contradictions: z.array(Contradiction).openapi({ description: 'at most 50' }),
    open_contradictions_total: z.number().int(),
    pending_reviews: z.array(ReviewBrief),
    certificates: z.number().int(),
  })
  .openapi('Summary');

// ------------------------------------------------------------------ convergence

export const ConvergenceQuery = z.object({
  depth: z.coerce.number().int().min(1).max(1000).optional().openapi({ description: 'rounds to return, newest; default finality.yaml history_depth' }),
});

export const Round = z.object({
  round: z.number().int(),
  epoch: z.number().int(),
  goal_score: z.number(),
  lyapunov_v: z.number(),
  dimensions: Dimensions,
  pressure: Dimensions,
  at: iso,
});

export const Convergence = z
  .object({
    scope: z.string(),
    rounds: z.array(Round),
    analysis: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'convergence analysis of the stored rounds (rate α, ETA, monotonicity, plateau, oscillation, bottleneck)' }),
    now: z
      .object({ goal_score: z.number(), lyapunov_v: z.number(), dimensions: Dimensions, pressure: Dimensions })
      .openapi({ description: 'the point the current snapshot would add; not stored' }),
    thresholds: z
      .object({ near: z.number(), auto: z.number() })
      .openapi({ description: 'finality.yaml goal_gradient: near_finality_threshold (a review is possible) and auto_finality_threshold (resolved without one)' }),
  })
  .openapi('Convergence');

// ------------------------------------------------------------------ reviews

export const REVIEW_STATUSES = ['pending', 'approved', 'rejected', 'responded', 'deferred', 'superseded'] as const;

export const ReviewsQuery = z.object({
  status: z.enum([...REVIEW_STATUSES, 'all']).default('pending'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const GOVERNANCE_OPTIONS = ['approve', 'reject'] as const;
export const FINALITY_OPTIONS = HUMAN_OPTIONS;

export const Review = z
  .object({
    review_id: z.string(),
    scope: z.string(),
    kind: z.enum(['governance_review', 'finality_review']),
    status: z.enum(REVIEW_STATUSES),
    options: z.array(z.string()).openapi({ description: 'what POST /v1/reviews/{id}/respond accepts for this review' }),
    proposal_id: z.string().nullable(),
    decision_id: z.string().nullable(),
    request: z.record(z.string(), z.unknown()),
    response: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'governance: {approve, note?, amendment?: {by, changed, original, amended}} — an approval with amendments keeps the proposal as proposed (original) and as approved (amended)' }),
    responded_by: z.string().nullable(),
    defer_until: iso.nullable(),
    created_at: iso,
    resolved_at: iso.nullable(),
    escalation_level: z.number().int().min(0).openapi({ description: 'escalations by deadline so far (governance.yaml `deadlines`)' }),
    escalated_to: z.string().nullable().openapi({ description: 'the group whose members may answer it too since its last escalation' }),
    escalated_at: iso.nullable(),
    deadline: iso.nullable().openapi({ description: "a pending review's current deadline (null: it waits forever)" }),
    deadline_action: z.enum(['escalate', 'reject', 'defer']).nullable().openapi({ description: 'what happens when the deadline passes' }),
    deadline_escalate_to: z.string().optional().openapi({ description: 'with deadline_action escalate: to whom' }),
  })
  .openapi('Review');

export const ReviewList = z.object({ scope: z.string(), status: z.string(), reviews: z.array(Review) }).openapi('ReviewList');

export const RespondBody = z
  .strictObject({
    option: z.enum([...GOVERNANCE_OPTIONS, ...FINALITY_OPTIONS]),
    days: z.number().int().min(1).max(365).optional().openapi({ description: 'defer only; default finality.yaml review.defer_days' }),
    note: z.string().max(2000).refine(noNul, 'must not contain NUL characters').optional(),
    text: text(MAX_DOCUMENT_CHARS).optional().openapi({ description: 'provide_resolution only (required there): the resolution, submitted as a document of kind resolution' }),
    // Any object here: which fields may change, and how, is answered with a 400 naming the field (shared/domain/amend.ts).
    amendments: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({
        description:
          'approve of a governance review only: approve the proposal as amended. Fields: reason (string, ≤ 500) and plan ({actions: [lower-case words], ≤ 20, each once}); the proposal\'s identity and transition (proposal_id, proposer, action, from, to, expected_epoch) may not change (400 amendment_not_allowed, naming the field). The amended proposal must still parse as a proposal (400 invalid_amendment).',
        example: { plan: { actions: ['open_investigation', 'request_source_refresh'] } },
      }),
  })
  .openapi('ReviewResponse');

export const RespondAccepted = Published.extend({
  review_id: z.string(),
  kind: z.string(),
  option: z.string(),
  resolution: DocumentAccepted.nullable(),
}).openapi('ReviewResponseAccepted');

// ------------------------------------------------------------------ certificates

export const Certificate = z
  .object({
    certificate_id: z.string(),
    scope: z.string(),
    seq: z.number().int(),
    previous_id: z.string().nullable(),
    outcome: z.string(),
    key_id: z.string(),
    created_at: iso,
    jws: z.string().openapi({ description: 'compact JWS (EdDSA); verify with GET /.well-known/jwks.json' }),
    payload: z.record(z.string(), z.unknown()),
  })
  .openapi('Certificate');

export const CertificateList = z.object({ scope: z.string(), certificates: z.array(Certificate) }).openapi('CertificateList');

export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi('JWKS');

// ------------------------------------------------------------------ events

export const EventsQuery = z.object({
  since: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: 'resume after this stream sequence (Last-Event-ID wins when both are given); default: only new events' }),
});

export const LastEventHeader = z.object({
  'Last-Event-ID': z
    .string()
    .regex(/^\d{1,16}$/, 'must be a stream sequence number')
    .optional()
    .openapi({ param: { in: 'header' } }),
});

// ------------------------------------------------------------------ health

export const Health = z.object({ ok: z.literal(true) });
export const Check = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
export const Ready = z.object({ ready: z.boolean(), checks: z.record(z.string(), Check) }).openapi('Readiness');

// ------------------------------------------------------------------ webhooks

/** Delegates to a shared zod schema (its messages), in this module's zod (see scopeId). */
const checkedBy =
  (schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }) =>
  (v: unknown, ctx: { addIssue(i: { code: 'custom'; message: string }): void }) => {
    const r = schema.safeParse(v);
    if (!r.success) for (const i of r.error!.issues) ctx.addIssue({ code: 'custom', message: i.message });
  };

export const WebhookParam = z.object({
  scope: scopeId.openapi({ param: { name: 'scope', in: 'path' } }),
  id: z.string().superRefine(checkedBy(WebhookId)).openapi({ param: { name: 'id', in: 'path' }, example: 'ops-slack' }),
});

export const WebhookBody = z
  .strictObject({
    url: z.string().max(MAX_URL_CHARS, `at most ${MAX_URL_CHARS} characters`).superRefine(checkedBy(WebhookUrl)).openapi({ example: 'https://hooks.example.com/swarm' }),
    events: z
      .array(z.enum(NOTIFY_EVENTS as [NotifyEvent, ...NotifyEvent[]]))
      .min(1)
      .max(NOTIFY_EVENTS.length)
      .refine((a) => new Set(a).size === a.length, 'an event is listed twice')
      .optional()
      .openapi({ description: 'default: every event' }),
    format: z.enum(['json', 'slack']).optional().openapi({ description: 'json (default) or slack ({text}, for a Slack incoming webhook); both signed' }),
    secret: z.string().superRefine(checkedBy(WebhookSecret)).optional().openapi({ description: 'the HMAC key (24-200 printable characters); omitted: generated and returned once (on a replace: kept)' }),
  })
  .openapi('WebhookInput');

export const WebhookJson = z
  .object({
    id: z.string(),
    scope: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    format: z.string(),
    created_by: z.string(),
    created_at: iso,
    updated_at: iso,
  })
  .openapi('Webhook');

export const WebhookSaved = z
  .object({ webhook: WebhookJson, secret: z.string().optional().openapi({ description: 'only when generated: shown this once, never again' }) })
  .openapi('WebhookSaved');
export const WebhookList = z.object({ scope: z.string(), webhooks: z.array(WebhookJson) }).openapi('WebhookList');
