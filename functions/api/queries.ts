// Reads the API needs that shared/store does not offer, and the one table the API
// writes itself (access_log). Every read runs inside readOnly(): a REPEATABLE READ,
// READ ONLY transaction, so a summary is one consistent picture and Postgres itself
// refuses any write a read path might attempt.
import type { PoolClient } from '@neondatabase/serverless';
import type { Db } from '../../shared/runtime/guarded.ts';
import type { Queryable } from '../../shared/store/db.ts';
import type { StoredCertificate } from '../../shared/store/certificates.ts';
import type { Review, ReviewStatus } from '../../shared/store/reviews.ts';

/** fn on one connection inside BEGIN READ ONLY ... COMMIT (rolled back on error). */
export function readOnly<T>(db: Db, fn: (q: PoolClient) => Promise<T>): Promise<T> {
  return db.session(async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

export interface LatestDecision {
  outcome: string;
  decided_by: string;
  option: string | null;
  round: number | null;
  at: string;
}

export async function latestFinalityDecision(q: Queryable, scope: string): Promise<LatestDecision | null> {
  const { rows } = await q.query<{ outcome: string; decided_by: string; option: string | null; round: number | null; created_at: Date }>(
    'SELECT outcome, decided_by, option, round, created_at FROM finality_decisions WHERE scope_id = $1 ORDER BY id DESC LIMIT 1',
    [scope],
  );
  const r = rows[0];
  return r ? { outcome: r.outcome, decided_by: r.decided_by, option: r.option, round: r.round, at: r.created_at.toISOString() } : null;
}

/** Current content of graph nodes by id (for naming the two sides of a contradiction). */
export async function nodeContents(q: Queryable, ids: readonly string[]): Promise<Map<string, { kind: string; content: string; confidence: number }>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{ node_id: string; kind: string; content: string; confidence: number }>(
    'SELECT node_id, kind, content, confidence FROM graph_nodes WHERE node_id = ANY($1::uuid[]) AND superseded_at IS NULL',
    [ids],
  );
  return new Map(rows.map((r) => [r.node_id, { kind: r.kind, content: r.content, confidence: r.confidence }]));
}

/** A scope's reviews, optionally of one status, oldest first. */
export async function listReviews(q: Queryable, scope: string, status: ReviewStatus | null, limit: number): Promise<Review[]> {
  const { rows } = await q.query<ReviewRow>(
    `SELECT * FROM review_queue WHERE scope_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at, review_id LIMIT $3`,
    [scope, status, limit],
  );
  return rows.map(toReview);
}

type ReviewRow = {
  review_id: string;
  scope_id: string;
  kind: Review['kind'];
  status: ReviewStatus;
  proposal_id: string | null;
  decision_id: string | null;
  request: Record<string, unknown>;
  response: Record<string, unknown> | null;
  responded_by: string | null;
  defer_until: Date | null;
  created_at: Date;
  resolved_at: Date | null;
};

// The same mapping as shared/store/reviews.ts (not exported there).
const toReview = (r: ReviewRow): Review => ({
  reviewId: r.review_id,
  scope: r.scope_id,
  kind: r.kind,
  status: r.status,
  proposalId: r.proposal_id,
  decisionId: r.decision_id,
  request: r.request,
  response: r.response,
  respondedBy: r.responded_by,
  deferUntil: r.defer_until,
  createdAt: r.created_at,
  resolvedAt: r.resolved_at,
});

export async function getCertificate(q: Queryable, id: string): Promise<StoredCertificate | null> {
  const { rows } = await q.query<{
    certificate_id: string;
    scope_id: string;
    seq: number;
    previous_id: string | null;
    outcome: StoredCertificate['outcome'];
    key_id: string;
    jws: string;
    payload: StoredCertificate['payload'];
    created_at: Date;
  }>('SELECT * FROM certificates WHERE certificate_id = $1', [id]);
  const r = rows[0];
  return r
    ? { certificateId: r.certificate_id, scope: r.scope_id, seq: r.seq, previousId: r.previous_id, outcome: r.outcome, keyId: r.key_id, jws: r.jws, payload: r.payload, createdAt: r.created_at }
    : null;
}

export interface AccessRecord {
  requestId: string;
  principal: string;
  action: string;
  scope: string | null;
  object: string;
  relation: string;
  allowed: boolean;
  reason: string;
  detail?: string | undefined;
}

export async function recordAccess(db: Db, r: AccessRecord): Promise<void> {
  await db.query(
    `INSERT INTO access_log (request_id, principal, action, scope_id, object, relation, allowed, reason, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [r.requestId, r.principal, r.action, r.scope, r.object, r.relation, r.allowed, r.reason, r.detail?.slice(0, 1000) ?? null],
  );
}
