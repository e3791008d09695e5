// Request and response schemas of the console's read API (routes/read.ts). Every list
// takes a bounded `limit` (its default and maximum below; more is 400).
import { z } from '@hono/zod-openapi';
import { LogKind } from '../../shared/store/context-log.ts';
import { MODES } from '../../shared/domain/policy.ts';
import { HoldFields, REVIEW_STATUSES, Review } from './schemas.ts';

const iso = z.string().openapi({ format: 'date-time', example: '2025-01-01T12:00:00.000000Z' });

/** An integer query parameter `limit` with this default and maximum. */
const limit = (def: number, max: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max, `must be at most ${max}`)
    .default(def)
    .openapi({ description: `page size, at most ${max}`, example: def });

/** An instant: ISO 8601 with an offset or Z, any fraction of a second (microseconds kept). */
const instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone (2025-01-01T12:00:00Z)' });

// ------------------------------------------------------------------ scopes

export const ScopesQuery = z.object({
  limit: limit(50, 200),
  after: z
    .string()
    .max(1000)
    .optional()
    .openapi({ description: 'next_after of the previous page (or a scope id: the page starts after it)' }),
});

export const ScopeLine = z
  .object({
    scope: z.string(),
    status: z.string(),
    mode: z.enum(MODES).nullable(),
    ...HoldFields,
    state: z.object({ node: z.string(), epoch: z.number().int() }),
    goal_score: z.number().nullable().openapi({ description: 'of the latest stored evaluation round; null before the first' }),
    lyapunov_v: z.number().nullable(),
    rounds: z.number().int(),
    outcome: z.string().nullable().openapi({ description: 'outcome of the latest finality decision' }),
    open_contradictions: z.number().int(),
    pending_reviews: z.number().int(),
    certificates: z.number().int(),
    last_activity_at: iso,
    created_at: iso,
  })
  .openapi('ScopeLine');

export const ScopeListing = z
  .object({
    scopes: z.array(ScopeLine),
    next_after: z.string().nullable().openapi({ description: 'pass as `after` for the next page; null at the end' }),
  })
  .openapi('ScopeListing');

export const Me = z
  .object({ principal: z.string(), swarm: z.object({ ingester: z.boolean(), reviewer: z.boolean() }) })
  .openapi('Me');

export const ScopePermissions = z
  .object({ scope: z.string(), reader: z.boolean(), ingester: z.boolean(), reviewer: z.boolean(), operator: z.boolean().openapi({ description: 'may pause, resume and close the scope and set its webhooks' }) })
  .openapi('ScopePermissions');

// ------------------------------------------------------------------ facts

export const FactsQuery = z.object({ limit: limit(200, 1000).openapi({ description: 'per list (claims, goals, risks, contradictions), at most 1000' }) });

const Json = z.unknown().openapi({ description: 'JSON as stored' });

export const ClaimFact = z.object({
  node_id: z.string(),
  content: z.string(),
  subject: z.string().nullable(),
  metric: z.string().nullable(),
  value: Json,
  confidence: z.number(),
  status: z.string(),
  source_doc: z.string().nullable(),
  source_ref: z.record(z.string(), z.unknown()),
  sentence: z.string().nullable().openapi({ description: 'the sentence of the document that states the figure, when the figures index has it' }),
});

export const GoalFact = z.object({
  node_id: z.string(),
  content: z.string(),
  status: z.string(),
  confidence: z.number(),
  source_doc: z.string().nullable(),
  state: z.string().nullable().openapi({ description: 'open | met | unreachable | superseded, when the facts step judged it' }),
  deadline: z.string().nullable(),
});

export const RiskFact = z.object({
  node_id: z.string(),
  content: z.string(),
  severity: z.string().nullable(),
  status: z.string(),
  confidence: z.number(),
  source_doc: z.string().nullable(),
});

const Side = z.object({
  node_id: z.string(),
  content: z.string().nullable(),
  value: Json,
  display: z.string().nullable(),
  source_doc: z.string().nullable(),
  sentence: z.string().nullable(),
});

export const Resolution = z
  .object({
    by: z.string().nullable().openapi({ description: 'the agent or person that recorded the resolution' }),
    doc: z.string().nullable().openapi({ description: 'the document that settled it' }),
    how: z.string().nullable().openapi({ description: 'restated | accepted | withdrawn' }),
    accepted_node: z.string().nullable(),
    accepted: z.string().nullable().openapi({ description: 'the value accepted' }),
    text: z.string().nullable().openapi({ description: 'the sentence (or note) that settled it' }),
    resolving_nodes: z.array(z.string()).openapi({ description: 'nodes with a resolves edge to this contradiction' }),
  })
  .openapi('Resolution');

export const ContradictionFact = z.object({
  edge_id: z.string(),
  status: z.enum(['open', 'resolved']),
  subject: z.string().nullable(),
  metric: z.string().nullable(),
  found_in: z.string().nullable(),
  a: Side.openapi({ description: 'the value stated first (when recorded)' }),
  b: Side,
  resolved_by: Resolution.nullable(),
});

export const Facts = z
  .object({
    scope: z.string(),
    claims: z.array(ClaimFact),
    goals: z.array(GoalFact),
    risks: z.array(RiskFact),
    contradictions: z.array(ContradictionFact),
    documents: z
      .array(z.object({ doc_id: z.string(), title: z.string() }))
      .openapi({ description: 'the titles of the documents named in source_doc above, as submitted' }),
    truncated: z.boolean().openapi({ description: 'some list reached the limit' }),
  })
  .openapi('Facts');

// ------------------------------------------------------------------ timeline

export const TimelineQuery = z.object({
  before: z.coerce.number().int().min(1).optional().openapi({ description: 'entries with a smaller seq (next_before of the previous page)' }),
  limit: limit(50, 200),
  kinds: z
    .string()
    .max(2000)
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return undefined;
      const kinds = [...new Set(s.split(',').map((k) => k.trim()).filter(Boolean))];
      if (kinds.length > 30) ctx.addIssue({ code: 'custom', message: 'at most 30 kinds' });
      for (const k of kinds) if (!LogKind.safeParse(k).success) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(k)} is not a log kind` });
      return kinds;
    })
    .openapi({ type: 'string', description: 'comma-separated kinds (context_doc,state_transition,...); default all' }),
});

export const TimelineEntry = z.object({
  seq: z.number().int(),
  kind: z.string(),
  at: iso,
  source: z.string(),
  message_id: z.string().nullable(),
  summary: z.string().openapi({ description: 'one line for a person' }),
  payload: z.record(z.string(), z.unknown()).openapi({ description: 'as stored, trimmed: a document text to 400 characters (text_truncated, text_chars), long strings and lists cut' }),
  payload_truncated: z.boolean(),
});

export const Timeline = z
  .object({ scope: z.string(), entries: z.array(TimelineEntry), next_before: z.number().int().nullable() })
  .openapi('Timeline');

// ------------------------------------------------------------------ decisions

export const DecisionsQuery = z.object({
  before: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: 'next_before of the previous page, or an ISO instant (records created before it)' }),
  limit: limit(50, 200),
});

export const DecisionRecord = z.object({
  decision_id: z.string(),
  proposal_id: z.string(),
  proposer: z.string(),
  action: z.string(),
  from_node: z.string().nullable(),
  to_node: z.string().nullable(),
  decision: z.string(),
  governance_path: z.string(),
  tier: z.number().int().nullable().openapi({ description: "1-3: the governance tier that decided; null: a human's answer to a review (decided_by)" }),
  mode: z.string(),
  policy_version: z.string(),
  reasons: z.array(z.unknown()),
  obligations: z.array(z.unknown()),
  rationale: z.string().nullable(),
  decided_by: z.string().nullable().openapi({ description: 'human:<principal> for a reviewer\'s answer (governance_path human_review); null for a tier' }),
  review_id: z.string().nullable(),
  amended_from: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'approved with amendments: the proposal as proposed' }),
  amended_to: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'approved with amendments: the proposal as approved (amended by decided_by, at created_at)' }),
  created_at: iso,
});

export const Decisions = z
  .object({ scope: z.string(), decisions: z.array(DecisionRecord), next_before: z.string().nullable() })
  .openapi('Decisions');

// ------------------------------------------------------------------ briefings

export const BriefingsQuery = z.object({
  before: z.coerce.number().int().min(1).optional().openapi({ description: 'briefings with a smaller seq (next_before of the previous page)' }),
  limit: limit(20, 100),
});

export const Briefing = z.object({
  seq: z.number().int(),
  at: iso,
  trigger: z.string().nullable(),
  node: z.string().nullable(),
  epoch: z.number().int().nullable(),
  status: z.string().nullable(),
  briefing: z.string().nullable(),
  tier: z.string().nullable(),
});

export const Briefings = z
  .object({ scope: z.string(), briefings: z.array(Briefing), next_before: z.number().int().nullable() })
  .openapi('Briefings');

// ------------------------------------------------------------------ review inbox

export const InboxQuery = z.object({
  status: z.enum([...REVIEW_STATUSES, 'all']).default('pending'),
  scope: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'not a scope id').optional().openapi({ description: 'only this scope' }),
  kind: z.enum(['governance_review', 'finality_review']).optional(),
  limit: limit(50, 200),
  after: z.string().max(1000).optional().openapi({ description: 'next_after of the previous page' }),
});

export const InboxReview = Review.extend({
  can_answer: z.boolean().openapi({ description: 'the principal is a reviewer of the scope and the review is pending' }),
}).openapi('InboxReview');

export const Inbox = z
  .object({ reviews: z.array(InboxReview), next_after: z.string().nullable().openapi({ description: 'opaque; pass as `after`' }) })
  .openapi('ReviewInbox');

// ------------------------------------------------------------------ as of

export const AsOfQuery = z
  .object({
    at: instant.optional().openapi({ description: 'an instant (exactly one of at, epoch)' }),
    epoch: z.coerce.number().int().min(0).optional().openapi({ description: 'the instant the scope entered this epoch (exactly one of at, epoch)' }),
    limit: limit(1000, 1000).openapi({ description: 'nodes, at most 1000 (edges: twice as many)' }),
  })
  .refine((q) => (q.at === undefined) !== (q.epoch === undefined), { message: 'give exactly one of at and epoch', path: ['at'] });

export const AsOf = z
  .object({
    scope: z.string(),
    at: iso,
    epoch: z.number().int(),
    state: z.object({ node: z.string(), epoch: z.number().int(), since: iso }),
    graph: z.object({
      nodes: z.array(
        z.object({
          node_id: z.string(),
          kind: z.string(),
          content: z.string(),
          subject: z.string().nullable(),
          value: Json,
          confidence: z.number(),
          status: z.string(),
          severity: z.string().nullable(),
          source_doc: z.string().nullable(),
        }),
      ),
      edges: z.array(z.object({ edge_id: z.string(), kind: z.string(), source_id: z.string(), target_id: z.string(), status: z.string() })),
      truncated: z.boolean(),
    }),
  })
  .openapi('AsOf');
