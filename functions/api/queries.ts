// Reads the API needs that shared/store does not offer, and the one table the API
// writes itself (access_log). Every read runs inside readOnly(): a REPEATABLE READ,
// READ ONLY transaction, so a summary is one consistent picture and Postgres itself
// refuses any write a read path might attempt.
import { transactionOn, type Tx } from '../../shared/adapters/db.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';
import type { Queryable } from '../../shared/store/db.ts';

/** fn on one connection inside BEGIN READ ONLY ... COMMIT (rolled back on error). */
export function readOnly<T>(db: GuardedPool, fn: (q: Tx) => Promise<T>): Promise<T> {
  return db.session((client) => transactionOn(client, fn, { begin: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' }));
}

// The latest finality decision is shared with the status step.
export { latestFinalityDecision, type LatestDecision } from '../../shared/store/finality.ts';

/** Current content of graph nodes by id (for naming the two sides of a contradiction). */
export async function nodeContents(q: Queryable, ids: readonly string[]): Promise<Map<string, { kind: string; content: string; confidence: number }>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{ node_id: string; kind: string; content: string; confidence: number }>(
    'SELECT node_id, kind, content, confidence FROM graph_nodes WHERE node_id = ANY($1::uuid[]) AND superseded_at IS NULL',
    [ids],
  );
  return new Map(rows.map((r) => [r.node_id, { kind: r.kind, content: r.content, confidence: r.confidence }]));
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
  /** What an allowed write acts on (a review id): the step receiving it checks this row. */
  target?: string | undefined;
}

/** Append one access record; its id. */
export async function recordAccess(db: GuardedPool, r: AccessRecord): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO access_log (request_id, principal, action, scope_id, object, relation, allowed, reason, detail, target)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [r.requestId, r.principal, r.action, r.scope, r.object, r.relation, r.allowed, r.reason, r.detail?.slice(0, 1000) ?? null, r.target ?? null],
  );
  return Number(rows[0]!.id);
}
