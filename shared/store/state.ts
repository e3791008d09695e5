// Scope state: read it, and advance it by epoch compare-and-swap in one transaction with
// the `state_transition` context-log entry. Two concurrent advances from the same epoch:
// the row lock serialises them and the loser's WHERE no longer matches, so exactly one wins.
import { z } from 'zod';
import { ScopeId } from '../contract/envelope.ts';
import { parseTransition, StateNodeSchema, type AdvanceResult, type ScopeState, type StateNode, type Transition } from '../domain/state-machine.ts';
import { PermanentError } from '../contract/errors.ts';
import { appendEvent } from './context-log.ts';
import { inTransaction, num, type Db, type Queryable } from './db.ts';

type Row = { scope_id: string; node: StateNode; epoch: string; run_id: string | null; updated_at: Date };
const toState = (r: Row): ScopeState => ({ scope: r.scope_id, node: r.node, epoch: num(r.epoch), runId: r.run_id, updatedAt: r.updated_at });

export async function readState(q: Queryable, scope: string): Promise<ScopeState | null> {
  const { rows } = await q.query<Row>('SELECT scope_id, node, epoch, run_id, updated_at FROM scope_state WHERE scope_id = $1', [scope]);
  return rows[0] ? toState(rows[0]) : null;
}

export const AdvanceInput = z.object({
  scope: ScopeId,
  from: StateNodeSchema,
  to: StateNodeSchema,
  expectedEpoch: z.number().int().min(0),
  /** Who advances (the executor), recorded as the log entry's source. */
  source: z.string().min(1).max(64),
  runId: z.string().max(200).optional(),
  /** The approved action's message id: a redelivery returns the stored transition. */
  messageId: z.string().min(1).max(200).optional(),
  traceId: z.string().max(64).optional(),
  /** Why (decision id, proposal id): copied into the log entry. */
  cause: z.record(z.string(), z.unknown()).optional(),
});
export type AdvanceInput = Omit<z.input<typeof AdvanceInput>, 'from' | 'to'> & Transition;

export async function advanceState(db: Db, input: AdvanceInput): Promise<AdvanceResult> {
  const a = AdvanceInput.parse(input);
  const t = parseTransition(a.from, a.to);
  if (!t) throw new PermanentError('invalid_transition', `${a.from} → ${a.to} is not an edge of the state machine`);
  return inTransaction(db, async (tx) => {
    if (a.messageId) {
      // Redelivered action: it already advanced; report that instead of a lost race.
      const prior = await tx.query<{ seq: string }>(
        `SELECT seq FROM context_log WHERE scope_id = $1 AND kind = 'state_transition' AND message_id = $2`,
        [a.scope, a.messageId],
      );
      if (prior.rows[0]) {
        const cur = await readState(tx, a.scope);
        if (cur) return { ok: true, state: cur, seq: num(prior.rows[0].seq), replayed: true };
      }
    }
    const { rows } = await tx.query<Row>(
      `UPDATE scope_state
          SET node = $4, epoch = epoch + 1, run_id = COALESCE($5, run_id), updated_at = now()
        WHERE scope_id = $1 AND epoch = $2 AND node = $3
        RETURNING scope_id, node, epoch, run_id, updated_at`,
      [a.scope, a.expectedEpoch, t.from, t.to, a.runId ?? null],
    );
    if (!rows[0]) {
      const cur = await readState(tx, a.scope);
      if (!cur) return { ok: false, reason: 'no_scope' };
      return cur.epoch !== a.expectedEpoch ? { ok: false, reason: 'lost_race', current: cur } : { ok: false, reason: 'wrong_node', current: cur };
    }
    const state = toState(rows[0]);
    const { seq } = await appendEvent(tx, {
      scope: a.scope,
      kind: 'state_transition',
      source: a.source,
      payload: { from: t.from, to: t.to, epoch: state.epoch, run_id: state.runId, ...(a.cause ? { cause: a.cause } : {}) },
      ...(a.messageId ? { messageId: a.messageId } : {}),
      ...(a.traceId ? { traceId: a.traceId } : {}),
    });
    return { ok: true, state, seq, replayed: false };
  });
}
