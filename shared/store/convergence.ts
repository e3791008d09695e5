// Convergence history: one row per real evaluation round, keyed by the message that
// asked for the evaluation, so a redelivered message adds no round. Reads never append.
import type { ConvergencePoint } from '../domain/convergence.ts';
import type { Dimensions, Snapshot } from '../domain/snapshot.ts';
import { num, type Tx, type Queryable } from './db.ts';

export interface StoredRound extends ConvergencePoint {
  round: number;
  epoch: number;
  messageId: string | null;
  createdAt: Date;
}

/** What a round keeps of its snapshot: the numbers, not the blocker lists. */
export function roundSnapshot(s: Snapshot): Record<string, unknown> {
  const { blockers: _b, ...rest } = s;
  return rest;
}

/**
 * Append a round (the caller holds the scope row lock, so rounds are gap-free).
 * Returns the stored round of an earlier append of the same message instead of adding one.
 */
export async function appendRound(
  tx: Tx,
  r: { scope: string; messageId: string | null; epoch: number; point: ConvergencePoint; snapshot: Snapshot },
): Promise<{ round: number; duplicate: boolean }> {
  if (r.messageId) {
    const { rows } = await tx.query<{ round: number }>('SELECT round FROM convergence_history WHERE scope_id = $1 AND message_id = $2', [r.scope, r.messageId]);
    if (rows[0]) return { round: rows[0].round, duplicate: true };
  }
  const { rows } = await tx.query<{ round: number }>(
    `INSERT INTO convergence_history (scope_id, round, epoch, goal_score, lyapunov_v, dimensions, pressure, snapshot, message_id)
     SELECT $1, COALESCE(max(round), 0) + 1, $2, $3, $4, $5, $6, $7, $8 FROM convergence_history WHERE scope_id = $1
     RETURNING round`,
    [r.scope, r.epoch, r.point.goal_score, r.point.lyapunov_v, JSON.stringify(r.point.dimensions), JSON.stringify(r.point.pressure), JSON.stringify(roundSnapshot(r.snapshot)), r.messageId],
  );
  return { round: rows[0]!.round, duplicate: false };
}

type Row = {
  round: number;
  epoch: string;
  goal_score: number;
  lyapunov_v: number;
  dimensions: Dimensions;
  pressure: Dimensions;
  message_id: string | null;
  created_at: Date;
};

/** The newest `depth` rounds, oldest first (up to and including `uptoRound` when given). */
export async function loadHistory(q: Queryable, scope: string, depth = 20, uptoRound?: number): Promise<StoredRound[]> {
  const { rows } = await q.query<Row>(
    `SELECT * FROM (
       SELECT round, epoch, goal_score, lyapunov_v, dimensions, pressure, message_id, created_at
         FROM convergence_history WHERE scope_id = $1 AND ($3::int IS NULL OR round <= $3)
        ORDER BY round DESC LIMIT $2) t
     ORDER BY round`,
    [scope, Math.min(Math.max(depth, 1), 1000), uptoRound ?? null],
  );
  return rows.map((r) => ({
    round: r.round,
    epoch: num(r.epoch),
    goal_score: r.goal_score,
    lyapunov_v: r.lyapunov_v,
    dimensions: r.dimensions,
    pressure: r.pressure,
    messageId: r.message_id,
    createdAt: r.created_at,
  }));
}

export async function countRounds(q: Queryable, scope: string): Promise<number> {
  const { rows } = await q.query<{ n: string }>('SELECT count(*) AS n FROM convergence_history WHERE scope_id = $1', [scope]);
  return num(rows[0]!.n);
}
