// Scopes: the case rows every other table hangs off. Creating a scope also creates its
// state-machine row (ContextIngested, epoch 0); linking it to the swarm in OpenFGA is
// shared/usecases/scopes.ts (ensureScope).
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import type { Hold } from '../domain/hold.ts';
import { INITIAL_NODE } from '../domain/state-machine.ts';
import { ModeSchema, type Mode } from '../domain/policy.ts';
import { inTransaction, num, ScopeNotFoundError, type Db, type Queryable } from './db.ts';

export const SCOPE_STATUSES = ['open', 'resolved', 'escalated', 'blocked', 'expired'] as const;
export type ScopeStatus = (typeof SCOPE_STATUSES)[number];

export interface Scope {
  scope: string;
  status: ScopeStatus;
  mode: Mode | null;
  /** An operator's hold (shared/store/hold.ts); null: neither paused nor closed. */
  hold: Hold | null;
  heldSince: Date | null;
  heldBy: string | null;
  lastSeq: number;
  lastActivityAt: Date;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export const EnsureScopeInput = z.object({
  scope: ScopeId,
  mode: ModeSchema.nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  runId: z.string().max(200).optional(),
});
export type EnsureScopeInput = z.input<typeof EnsureScopeInput>;

/** Create the scope and its state row unless they exist (SQL only); whether it was new. */
export async function createScope(db: Db, input: EnsureScopeInput): Promise<{ created: boolean }> {
  const s = EnsureScopeInput.parse(input);
  const created = await inTransaction(db, async (tx) => {
    const { rowCount } = await tx.query(
      `INSERT INTO scopes (scope_id, mode, metadata) VALUES ($1, $2, $3) ON CONFLICT (scope_id) DO NOTHING`,
      [s.scope, s.mode ?? null, JSON.stringify(s.metadata ?? {})],
    );
    await tx.query(
      `INSERT INTO scope_state (scope_id, node, epoch, run_id) VALUES ($1, $2, 0, $3) ON CONFLICT (scope_id) DO NOTHING`,
      [s.scope, INITIAL_NODE, s.runId ?? null],
    );
    return (rowCount ?? 0) > 0;
  });
  return { created };
}

type Row = {
  scope_id: string;
  status: ScopeStatus;
  mode: Mode | null;
  hold: Hold | null;
  held_since: Date | null;
  held_by: string | null;
  last_seq: string;
  last_activity_at: Date;
  metadata: Record<string, unknown>;
  created_at: Date;
};

export async function getScope(q: Queryable, scope: string): Promise<Scope | null> {
  const { rows } = await q.query<Row>(
    'SELECT scope_id, status, mode, hold, held_since, held_by, last_seq, last_activity_at, metadata, created_at FROM scopes WHERE scope_id = $1',
    [scope],
  );
  const r = rows[0];
  return r
    ? { scope: r.scope_id, status: r.status, mode: r.mode, hold: r.hold, heldSince: r.held_since, heldBy: r.held_by, lastSeq: num(r.last_seq), lastActivityAt: r.last_activity_at, metadata: r.metadata, createdAt: r.created_at }
    : null;
}

/** Run-time mode override (null: governance.yaml decides). */
export async function setScopeMode(q: Queryable, scope: string, mode: Mode | null): Promise<void> {
  const { rowCount } = await q.query('UPDATE scopes SET mode = $2, updated_at = now() WHERE scope_id = $1', [scope, ModeSchema.nullable().parse(mode)]);
  if (!rowCount) throw new ScopeNotFoundError(scope);
}

export async function setScopeStatus(q: Queryable, scope: string, status: ScopeStatus): Promise<void> {
  const { rowCount } = await q.query('UPDATE scopes SET status = $2, updated_at = now() WHERE scope_id = $1', [scope, status]);
  if (!rowCount) throw new ScopeNotFoundError(scope);
}
