// The per-scope context log (WAL): append-only events with a gap-free, commit-ordered
// sequence. An append takes the scope row lock (`UPDATE scopes SET last_seq = last_seq + 1`),
// so a reader that has seen seq n has seen everything before n. An append with a message
// id is idempotent: the same (scope, message id, kind) returns the stored seq.
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { inTransaction, num, ScopeNotFoundError, type Db, type Queryable } from './db.ts';

export const LogKind = z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/, 'kind: lower-case word(s) with _ or .');

export const AppendInput = z.object({
  scope: ScopeId,
  kind: LogKind,
  payload: z.record(z.string(), z.unknown()).default({}),
  source: z.string().min(1).max(64),
  messageId: z.string().min(1).max(200).optional(),
  traceId: z.string().max(64).optional(),
  /** Maintenance entries (compaction summaries) do not count as scope activity. */
  touchActivity: z.boolean().default(true),
});
export type AppendInput = z.input<typeof AppendInput>;

export interface LogEntry {
  scope: string;
  seq: number;
  kind: string;
  payload: Record<string, unknown>;
  source: string;
  messageId: string | null;
  traceId: string | null;
  createdAt: Date;
}

const APPEND_SQL = `
WITH existing AS (
  SELECT seq FROM context_log WHERE scope_id = $1 AND kind = $2 AND message_id = $5
), head AS (
  UPDATE scopes
     SET last_seq = last_seq + 1,
         last_activity_at = CASE WHEN $7::boolean THEN now() ELSE last_activity_at END,
         updated_at = now()
   WHERE scope_id = $1 AND NOT EXISTS (SELECT 1 FROM existing)
  RETURNING last_seq
), ins AS (
  INSERT INTO context_log (scope_id, seq, kind, payload, source, message_id, trace_id)
  SELECT $1, last_seq, $2, $3, $4, $5, $6 FROM head
  RETURNING seq
)
SELECT seq, false AS duplicate FROM ins
UNION ALL
SELECT seq, true AS duplicate FROM existing`;

/** Append one event; returns its seq (or the stored seq of an earlier append of the same message). */
export async function appendEvent(db: Db, input: AppendInput): Promise<{ seq: number; duplicate: boolean }> {
  const e = AppendInput.parse(input);
  const params = [e.scope, e.kind, JSON.stringify(e.payload), e.source, e.messageId ?? null, e.traceId ?? null, e.touchActivity];
  const run = async (q: Queryable) => {
    const { rows } = await q.query<{ seq: string; duplicate: boolean }>(APPEND_SQL, params);
    if (rows.length === 0) throw new ScopeNotFoundError(e.scope);
    return { seq: num(rows[0]!.seq), duplicate: rows[0]!.duplicate };
  };
  if (!e.messageId) return run(db); // one statement: the UPDATE takes the lock
  // With a message id, take the lock first so the duplicate check sees every committed append.
  return inTransaction(db, async (tx) => {
    const { rowCount } = await tx.query('SELECT 1 FROM scopes WHERE scope_id = $1 FOR UPDATE', [e.scope]);
    if (!rowCount) throw new ScopeNotFoundError(e.scope);
    return run(tx);
  });
}

type Row = {
  scope_id: string;
  seq: string;
  kind: string;
  payload: Record<string, unknown>;
  source: string;
  message_id: string | null;
  trace_id: string | null;
  created_at: Date;
};

const toEntry = (r: Row): LogEntry => ({
  scope: r.scope_id,
  seq: num(r.seq),
  kind: r.kind,
  payload: r.payload,
  source: r.source,
  messageId: r.message_id,
  traceId: r.trace_id,
  createdAt: r.created_at,
});

const COLS = 'scope_id, seq, kind, payload, source, message_id, trace_id, created_at';

/** Entries after `afterSeq`, oldest first; optionally only some kinds. */
export async function readSince(
  q: Queryable,
  scope: string,
  afterSeq: number,
  opts: { limit?: number; kinds?: readonly string[] } = {},
): Promise<LogEntry[]> {
  const limit = Math.min(Math.max(opts.limit ?? 1000, 1), 10_000);
  const { rows } = opts.kinds
    ? await q.query<Row>(
        `SELECT ${COLS} FROM context_log WHERE scope_id = $1 AND seq > $2 AND kind = ANY($4) ORDER BY seq LIMIT $3`,
        [scope, afterSeq, limit, opts.kinds],
      )
    : await q.query<Row>(`SELECT ${COLS} FROM context_log WHERE scope_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [scope, afterSeq, limit]);
  return rows.map(toEntry);
}

/** The last n entries, oldest first. */
export async function tail(q: Queryable, scope: string, n = 200): Promise<LogEntry[]> {
  const { rows } = await q.query<Row>(
    `SELECT * FROM (SELECT ${COLS} FROM context_log WHERE scope_id = $1 ORDER BY seq DESC LIMIT $2) t ORDER BY seq`,
    [scope, Math.min(Math.max(n, 1), 10_000)],
  );
  return rows.map(toEntry);
}

/** Highest seq of the scope (of the given kinds), 0 when none. */
export async function latestSeq(q: Queryable, scope: string, kinds?: readonly string[]): Promise<number> {
  const { rows } = kinds
    ? await q.query<{ s: string | null }>('SELECT max(seq) AS s FROM context_log WHERE scope_id = $1 AND kind = ANY($2)', [scope, kinds])
    : await q.query<{ s: string | null }>('SELECT last_seq AS s FROM scopes WHERE scope_id = $1', [scope]);
  return num(rows[0]?.s);
}
