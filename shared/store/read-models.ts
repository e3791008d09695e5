// Reads behind the web console (functions/api/routes/read.ts): scope overviews, a
// scope's current facts, its context log and decision records page by page, the
// cross-scope review queue, and the state and graph as of a past instant. Every read is
// bounded by its caller's limit; nothing here writes.
//
// Instants are passed to Postgres as ISO text and returned with microseconds
// (`to_char(... US)`), never through a JS Date: a cursor or an as-of time that lost its
// microseconds would skip or repeat rows recorded within the same millisecond.
import { num, type Queryable } from './db.ts';

/** Postgres timestamptz → ISO 8601 UTC with microseconds. */
const isoUs = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// ------------------------------------------------------------------ scopes

/** Scope ids after `after` in id order: the candidates of a page, before permissions. */
export async function scopeIdsAfter(q: Queryable, after: string | null, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ scope_id: string }>(
    'SELECT scope_id FROM scopes WHERE ($1::text IS NULL OR scope_id > $1) ORDER BY scope_id LIMIT $2',
    [after, limit],
  );
  return rows.map((r) => r.scope_id);
}

export interface ScopeOverview {
  scope: string;
  status: string;
  mode: string | null;
  hold: 'paused' | 'closed' | null;
  heldSince: Date | null;
  heldBy: string | null;
  node: string;
  epoch: number;
  goalScore: number | null;
  lyapunovV: number | null;
  rounds: number;
  outcome: string | null;
  openContradictions: number;
  pendingReviews: number;
  certificates: number;
  lastActivityAt: Date;
  createdAt: Date;
}

/**
 * One line per scope: state, the latest stored convergence round (no preview is
 * computed), the latest finality outcome and three counts. In scope id order.
 */
export async function scopeOverviews(q: Queryable, ids: readonly string[]): Promise<ScopeOverview[]> {
  if (!ids.length) return [];
  const { rows } = await q.query<{
    scope_id: string;
    status: string;
    mode: string | null;
    hold: 'paused' | 'closed' | null;
    held_since: Date | null;
    held_by: string | null;
    node: string | null;
    epoch: string | null;
    goal_score: number | null;
    lyapunov_v: number | null;
    round: number | null;
    outcome: string | null;
    open_contradictions: string;
    pending_reviews: string;
    certificates: string;
    last_activity_at: Date;
    created_at: Date;
  }>(
    `SELECT s.scope_id, s.status, s.mode, s.hold, s.held_since, s.held_by, st.node, st.epoch, ch.goal_score, ch.lyapunov_v, ch.round, fd.outcome,
            (SELECT count(*) FROM graph_edges e WHERE e.scope_id = s.scope_id AND e.kind = 'contradicts' AND e.status = 'active' AND e.superseded_at IS NULL) AS open_contradictions,
            (SELECT count(*) FROM review_queue r WHERE r.scope_id = s.scope_id AND r.status = 'pending') AS pending_reviews,
            (SELECT count(*) FROM certificates c WHERE c.scope_id = s.scope_id) AS certificates,
            s.last_activity_at, s.created_at
       FROM scopes s
       LEFT JOIN scope_state st ON st.scope_id = s.scope_id
       LEFT JOIN LATERAL (SELECT goal_score, lyapunov_v, round FROM convergence_history h WHERE h.scope_id = s.scope_id ORDER BY round DESC LIMIT 1) ch ON true
       LEFT JOIN LATERAL (SELECT outcome FROM finality_decisions f WHERE f.scope_id = s.scope_id ORDER BY id DESC LIMIT 1) fd ON true
      WHERE s.scope_id = ANY($1::text[])
      ORDER BY s.scope_id`,
    [ids],
  );
  return rows.map((r) => ({
    scope: r.scope_id,
    status: r.status,
    mode: r.mode,
    hold: r.hold,
    heldSince: r.held_since,
    heldBy: r.held_by,
    node: r.node ?? 'ContextIngested',
    epoch: num(r.epoch),
    goalScore: r.goal_score,
    lyapunovV: r.lyapunov_v,
    // Rounds are gap-free from 1: the latest round is the count.
    rounds: r.round ?? 0,
    outcome: r.outcome,
    openContradictions: num(r.open_contradictions),
    pendingReviews: num(r.pending_reviews),
    certificates: num(r.certificates),
    lastActivityAt: r.last_activity_at,
    createdAt: r.created_at,
  }));
}

// ------------------------------------------------------------------ facts

/**
 * The sentence that states each node's figure (the figures index, migration 008): the
 * one from the node's own source document when there is one, else the first recorded.
 */
export async function statingSentences(q: Queryable, scope: string, nodes: readonly { nodeId: string; sourceDoc: string | null }[]): Promise<Map<string, { doc: string; sentence: string }>> {
  if (!nodes.length) return new Map();
  const { rows } = await q.query<{ node_id: string; doc_id: string; sentence: string }>(
    `SELECT DISTINCT ON (f.node_id) f.node_id, f.doc_id, f.sentence
       FROM figures f JOIN unnest($2::uuid[], $3::text[]) AS n(node_id, doc) ON n.node_id = f.node_id
      WHERE f.scope_id = $1
      ORDER BY f.node_id, (f.doc_id IS NOT DISTINCT FROM n.doc) DESC, f.figure_id`,
    [scope, nodes.map((n) => n.nodeId), nodes.map((n) => n.sourceDoc)],
  );
  return new Map(rows.map((r) => [r.node_id, { doc: r.doc_id, sentence: r.sentence }]));
}

export interface ContradictionEdge {
  edgeId: string;
  status: string;
  sourceId: string;
  targetId: string;
  metadata: Record<string, unknown>;
  createdBy: string;
  /** Source nodes of current `resolves` edges aimed at this contradiction. */
  resolvingNodes: string[];
}

/** Current contradictions that still count (open or resolved, not irrelevant), oldest first. */
export async function currentContradictions(q: Queryable, scope: string, limit: number): Promise<ContradictionEdge[]> {
  const { rows } = await q.query<{ edge_id: string; status: string; source_id: string; target_id: string; metadata: Record<string, unknown>; created_by: string; resolving: string[] | null }>(
    `SELECT e.edge_id, e.status, e.source_id, e.target_id, e.metadata, e.created_by,
            (SELECT array_agg(r.source_id::text ORDER BY r.version_id) FROM graph_edges r
              WHERE r.scope_id = e.scope_id AND r.kind = 'resolves' AND r.target_id = e.edge_id AND r.superseded_at IS NULL) AS resolving
       FROM graph_edges e
      WHERE e.scope_id = $1 AND e.kind = 'contradicts' AND e.superseded_at IS NULL AND e.status <> 'irrelevant'
      ORDER BY e.recorded_at, e.edge_id LIMIT $2`,
    [scope, limit],
  );
  return rows.map((r) => ({
    edgeId: r.edge_id,
    status: r.status,
    sourceId: r.source_id,
    targetId: r.target_id,
    metadata: r.metadata,
    createdBy: r.created_by,
    resolvingNodes: r.resolving ?? [],
  }));
}

// ------------------------------------------------------------------ context log

export interface TimelineRow {
  seq: number;
  kind: string;
  payload: Record<string, unknown>;
  source: string;
  messageId: string | null;
  at: string;
  /** Tier of the decision record the entry names (decision_id), if any. */
  tier: number | null;
}

/** Characters of a document's text a timeline entry keeps. */
export const TIMELINE_TEXT_CHARS = 400;
/** A payload larger than this (as JSON text) is not read whole: only its keys are. */
export const TIMELINE_MAX_PAYLOAD_BYTES = 32_768;

/**
 * Entries before `before` (all when null), newest first, optionally of some kinds only.
 * A document's text is cut in SQL (it may be hundreds of KB): `text` keeps the first
 * TIMELINE_TEXT_CHARS characters and `text_chars` says how long it was. Any other
 * payload over TIMELINE_MAX_PAYLOAD_BYTES arrives as its keys only.
 */
export async function contextLogPage(
  q: Queryable,
  scope: string,
  opts: { before: number | null; limit: number; kinds: readonly string[] | null },
): Promise<TimelineRow[]> {
  const { rows } = await q.query<{ seq: string; kind: string; payload: Record<string, unknown>; source: string; message_id: string | null; at: string; tier: number | null }>(
    `SELECT l.seq, l.kind, l.source, l.message_id, ${isoUs('l.created_at')} AS at,
            CASE
              WHEN jsonb_typeof(l.payload->'text') = 'string' AND length(l.payload->>'text') > $5
                THEN (l.payload - 'text') || jsonb_build_object('text', left(l.payload->>'text', $5), 'text_chars', length(l.payload->>'text'))
              WHEN octet_length(l.payload::text) > $6
                THEN jsonb_build_object('payload_omitted', true, 'keys', (SELECT coalesce(jsonb_agg(k), '[]') FROM jsonb_object_keys(l.payload) k))
              ELSE l.payload
            END AS payload,
            (SELECT d.tier FROM decision_records d
              WHERE d.decision_id = CASE WHEN l.payload->>'decision_id' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                                         THEN (l.payload->>'decision_id')::uuid END) AS tier
       FROM context_log l
      WHERE l.scope_id = $1 AND ($2::bigint IS NULL OR l.seq < $2) AND ($3::text[] IS NULL OR l.kind = ANY($3))
      ORDER BY l.seq DESC LIMIT $4`,
    [scope, opts.before, opts.kinds, opts.limit, TIMELINE_TEXT_CHARS, TIMELINE_MAX_PAYLOAD_BYTES],
  );
  return rows.map((r) => ({ seq: num(r.seq), kind: r.kind, payload: r.payload, source: r.source, messageId: r.message_id, at: r.at, tier: r.tier }));
}

// ------------------------------------------------------------------ decision records

export interface DecisionRow {
  decisionId: string;
  proposalId: string;
  proposer: string;
  action: string;
  fromNode: string | null;
  toNode: string | null;
  decision: string;
  governancePath: string;
  /** Null for a human's decision (decidedBy). */
  tier: number | null;
  mode: string;
  policyVersion: string;
  reasons: unknown[];
  obligations: unknown[];
  rationale: string | null;
  decidedBy: string | null;
  reviewId: string | null;
  /** An approval with amendments: the proposal as proposed and as approved. */
  amendedFrom: Record<string, unknown> | null;
  amendedTo: Record<string, unknown> | null;
  /** ISO with microseconds: the page cursor. */
  createdAt: string;
}

/** Decision records before (createdAt, decisionId) — or before an instant alone — newest first. */
export async function decisionPage(q: Queryable, scope: string, opts: { beforeAt: string | null; beforeId: string | null; limit: number }): Promise<DecisionRow[]> {
  const { rows } = await q.query<{
    decision_id: string;
    proposal_id: string;
    proposer: string;
    action: string;
    from_node: string | null;
    to_node: string | null;
    decision: string;
    governance_path: string;
    tier: number | null;
    mode: string;
    policy_version: string;
    reasons: unknown[];
    obligations: unknown[];
    rationale: string | null;
    decided_by: string | null;
    review_id: string | null;
    amended_from: Record<string, unknown> | null;
    amended_to: Record<string, unknown> | null;
    at: string;
  }>(
    `SELECT decision_id, proposal_id, proposer, action, from_node, to_node, decision, governance_path, tier, mode,
            policy_version, reasons, obligations, rationale, decided_by, review_id, amended_from, amended_to, ${isoUs('created_at')} AS at
       FROM decision_records
      WHERE scope_id = $1
        AND ($2::timestamptz IS NULL OR created_at < $2 OR ($3::uuid IS NOT NULL AND created_at = $2 AND decision_id < $3))
      ORDER BY created_at DESC, decision_id DESC LIMIT $4`,
    [scope, opts.beforeAt, opts.beforeId, opts.limit],
  );
  return rows.map((r) => ({
    decisionId: r.decision_id,
    proposalId: r.proposal_id,
    proposer: r.proposer,
    action: r.action,
    fromNode: r.from_node,
    toNode: r.to_node,
    decision: r.decision,
    governancePath: r.governance_path,
    tier: r.tier,
    mode: r.mode,
    policyVersion: r.policy_version,
    reasons: r.reasons,
    obligations: r.obligations,
    rationale: r.rationale,
    decidedBy: r.decided_by,
    reviewId: r.review_id,
    amendedFrom: r.amended_from,
    amendedTo: r.amended_to,
    createdAt: r.at,
  }));
}

// ------------------------------------------------------------------ review queue

export interface ReviewCandidate {
  reviewId: string;
  scope: string;
  /** ISO with microseconds: the page cursor. */
  cursorAt: string;
  /** The group a deadline escalated it to (its members see it too). */
  escalatedTo: string | null;
}

/** Reviews across scopes after (createdAt, reviewId), oldest first: the candidates of an inbox page, before permissions. */
export async function reviewCandidates(
  q: Queryable,
  opts: { status: string | null; scope: string | null; kind: string | null; afterAt: string | null; afterId: string | null; limit: number },
): Promise<ReviewCandidate[]> {
  const { rows } = await q.query<{ review_id: string; scope_id: string; at: string; escalated_to: string | null }>(
    `SELECT review_id, scope_id, ${isoUs('created_at')} AS at, escalated_to FROM review_queue
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR scope_id = $2) AND ($3::text IS NULL OR kind = $3)
        AND ($4::timestamptz IS NULL OR created_at > $4 OR (created_at = $4 AND review_id > $5))
      ORDER BY created_at, review_id LIMIT $6`,
    [opts.status, opts.scope, opts.kind, opts.afterAt, opts.afterId ?? '', opts.limit],
  );
  return rows.map((r) => ({ reviewId: r.review_id, scope: r.scope_id, cursorAt: r.at, escalatedTo: r.escalated_to }));
}

// ------------------------------------------------------------------ as of a past instant

export interface PastState {
  node: string;
  epoch: number;
  /** When the scope entered this state (ISO, microseconds). */
  since: string;
}

/**
 * The state at `at` from the state_transition entries of the context log (each names the
 * node it entered and the epoch it made). Before any transition: the initial state since
 * the scope was created; null when `at` is before the scope existed.
 */
export async function stateAt(q: Queryable, scope: string, at: string): Promise<PastState | null> {
  const { rows } = await q.query<{ node: string | null; epoch: string | null; since: string | null; created: string; existed: boolean }>(
    `SELECT t.node, t.epoch, t.since, ${isoUs('s.created_at')} AS created, s.created_at <= $2::timestamptz AS existed
       FROM scopes s
       LEFT JOIN LATERAL (
         SELECT payload->>'to' AS node, payload->>'epoch' AS epoch, ${isoUs('created_at')} AS since FROM context_log
          WHERE scope_id = s.scope_id AND kind = 'state_transition' AND created_at <= $2::timestamptz
          ORDER BY seq DESC LIMIT 1) t ON true
      WHERE s.scope_id = $1`,
    [scope, at],
  );
  const r = rows[0];
  if (!r || !r.existed) return null;
  return r.node ? { node: r.node, epoch: num(r.epoch), since: r.since! } : { node: 'ContextIngested', epoch: 0, since: r.created };
}

/** When the scope entered `epoch` (epoch 0: its creation), and the node it entered; null when it never did (or the entry is gone). */
export async function epochStart(q: Queryable, scope: string, epoch: number): Promise<PastState | null> {
  if (epoch === 0) {
    const { rows } = await q.query<{ at: string }>(`SELECT ${isoUs('created_at')} AS at FROM scopes WHERE scope_id = $1`, [scope]);
    return rows[0] ? { node: 'ContextIngested', epoch: 0, since: rows[0].at } : null;
  }
  const { rows } = await q.query<{ node: string; at: string }>(
    `SELECT payload->>'to' AS node, ${isoUs('created_at')} AS at FROM context_log
      WHERE scope_id = $1 AND kind = 'state_transition' AND payload->>'epoch' = $2 ORDER BY seq LIMIT 1`,
    [scope, String(epoch)],
  );
  return rows[0] ? { node: rows[0].node, epoch, since: rows[0].at } : null;
}

export interface PastNode {
  nodeId: string;
  kind: string;
  content: string;
  subject: string | null;
  value: unknown;
  confidence: number;
  status: string;
  severity: string | null;
  sourceDoc: string | null;
}

export interface PastEdge {
  edgeId: string;
  kind: string;
  sourceId: string;
  targetId: string;
  status: string;
}

/**
 * The graph as the database knew it at `at` (transaction time: recorded by then and not
 * yet superseded), at most `limit` nodes and `edgeLimit` edges, oldest versions first.
 */
export async function graphKnownAt(q: Queryable, scope: string, at: string, limit: number, edgeLimit: number): Promise<{ nodes: PastNode[]; edges: PastEdge[] }> {
  const known = (t: string) => `${t}.scope_id = $1 AND ${t}.recorded_at <= $2::timestamptz AND (${t}.superseded_at IS NULL OR ${t}.superseded_at > $2::timestamptz)`;
  const nodes = await q.query<{ node_id: string; kind: string; content: string; subject: string | null; value: unknown; confidence: number; status: string; severity: string | null; source_doc: string | null }>(
    `SELECT n.node_id, n.kind, n.content, n.subject, n.value, n.confidence, n.status, n.severity, n.source_doc
       FROM graph_nodes n WHERE ${known('n')} ORDER BY n.version_id LIMIT $3`,
    [scope, at, limit],
  );
  const edges = await q.query<{ edge_id: string; kind: string; source_id: string; target_id: string; status: string }>(
    `SELECT e.edge_id, e.kind, e.source_id, e.target_id, e.status FROM graph_edges e WHERE ${known('e')} ORDER BY e.version_id LIMIT $3`,
    [scope, at, edgeLimit],
  );
  return {
    nodes: nodes.rows.map((r) => ({
      nodeId: r.node_id,
      kind: r.kind,
      content: r.content,
      subject: r.subject,
      value: r.value,
      confidence: r.confidence,
      status: r.status,
      severity: r.severity,
      sourceDoc: r.source_doc,
    })),
    edges: edges.rows.map((r) => ({ edgeId: r.edge_id, kind: r.kind, sourceId: r.source_id, targetId: r.target_id, status: r.status })),
  };
}

/** The titles documents were submitted with (their context_doc entries), by doc id. */
export async function documentTitles(q: Queryable, scope: string, docIds: readonly string[]): Promise<Map<string, string>> {
  if (docIds.length === 0) return new Map();
  const { rows } = await q.query<{ doc_id: string; title: string | null }>(
    `SELECT DISTINCT ON (payload->>'doc_id') payload->>'doc_id' AS doc_id, payload->>'title' AS title
       FROM context_log
      WHERE scope_id = $1 AND kind = 'context_doc' AND payload->>'doc_id' = ANY($2::text[])
      ORDER BY payload->>'doc_id', seq`,
    [scope, [...new Set(docIds)]],
  );
  return new Map(rows.filter((r) => r.title).map((r) => [r.doc_id, r.title!]));
}
