// An operator's hold on a scope (migration 019): the hold itself on the scope row, and
// the messages its steps held while it was paused.
//
// Locking, so that a pause and a step's commit cannot both win: a step reads the hold
// again inside the transaction that would act, taking FOR KEY SHARE on the scope row;
// a change of hold takes FOR UPDATE on that row first. The two conflict, so whichever
// commits first is seen by the other (KEY SHARE, not SHARE: the steps' own updates of
// the row — the context log's head — keep running side by side).
import { z } from 'zod';
import type { Envelope } from '../contract/envelope.ts';
import { Envelope as EnvelopeSchema } from '../contract/envelope.ts';
import { effectiveMode } from '../domain/governance.ts';
import { HOLD_DECISION, HOLD_EVENT, nextHold, type Hold, type HoldAction, type HoldChange } from '../domain/hold.ts';
import type { PolicySource } from '../policy/load.ts';
import { appendEvent } from './context-log.ts';
import { ScopeNotFoundError, type Tx, type Queryable } from './db.ts';
import { ensurePolicyVersion } from './policies.ts';

/** The scope's hold (null: neither paused nor closed, or no such scope). `lock`: inside the acting transaction. */
export async function readHold(q: Queryable, scope: string, opts: { lock?: boolean } = {}): Promise<Hold | null> {
  const { rows } = await q.query<{ hold: Hold | null }>(`SELECT hold FROM scopes WHERE scope_id = $1${opts.lock ? ' FOR KEY SHARE' : ''}`, [scope]);
  return rows[0]?.hold ?? null;
}

/** Keep a message the step received while paused; idempotent per (step, message id). */
export async function recordHeld(tx: Tx, consumer: string, msg: Envelope): Promise<void> {
  await tx.query(
    `INSERT INTO held_messages (scope_id, consumer, message_id, type, envelope) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (scope_id, consumer, message_id) DO NOTHING`,
    [msg.scope, consumer, msg.id, msg.type, JSON.stringify(msg)],
  );
}

/** The held message a release names, or null when it is no longer held (acted on already). */
export async function heldEnvelope(q: Queryable, scope: string, consumer: string, messageId: string): Promise<Envelope | null> {
  const { rows } = await q.query<{ envelope: unknown }>(
    'SELECT envelope FROM held_messages WHERE scope_id = $1 AND consumer = $2 AND message_id = $3',
    [scope, consumer, messageId],
  );
  return rows[0] ? EnvelopeSchema.parse(rows[0].envelope) : null;
}

/** Held messages of a scope released at most this many at a time by one tick. */
export const STRANDED_BATCH = 200;

/**
 * Messages still held in scopes that are no longer paused, held longer than `minAgeMs`
 * ago, oldest first: a resume commits before it publishes its releases, so a crash in
 * between leaves them here. `release` is the scope's current release number, so a
 * release sent again has the id the resume gave it (JetStream drops the duplicate).
 */
export async function strandedHeld(q: Queryable, minAgeMs: number, limit = STRANDED_BATCH): Promise<{ scope: string; consumer: string; messageId: string; release: number }[]> {
  const { rows } = await q.query<{ scope_id: string; consumer: string; message_id: string; releases: number }>(
    `SELECT h.scope_id, h.consumer, h.message_id, s.releases
       FROM held_messages h JOIN scopes s USING (scope_id)
      WHERE s.hold IS NULL AND s.releases > 0 AND h.held_at < now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY h.held_at LIMIT $2`,
    [minAgeMs, limit],
  );
  return rows.map((r) => ({ scope: r.scope_id, consumer: r.consumer, messageId: r.message_id, release: r.releases }));
}

/** Take the held message for acting on it: false when another release took it first. */
export async function takeHeld(q: Queryable, scope: string, consumer: string, messageId: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM held_messages WHERE scope_id = $1 AND consumer = $2 AND message_id = $3', [scope, consumer, messageId]);
  return (rowCount ?? 0) > 0;
}

export interface ScopeHold {
  hold: Hold | null;
  heldSince: Date | null;
  heldBy: string | null;
}

export const HoldRequest = z.object({
  scope: z.string().min(1),
  action: z.enum(['pause', 'resume', 'close']),
  by: z.string().min(1).max(200),
  reason: z.string().max(500).optional(),
  /** The API's access_log row of this request. */
  accessId: z.number().int().positive().nullable(),
});

export type HoldOutcome =
  | { ok: false; refused: Extract<HoldChange, { ok: false }> }
  | {
      ok: true;
      changed: boolean;
      /** The context-log entry of the change (null when nothing changed). */
      seq: number | null;
      state: ScopeHold;
      /** Held messages to release (resume only): each to its step, under release number `release`. */
      release: { n: number; messages: { consumer: string; messageId: string }[] } | null;
      /** Reviews a close superseded. */
      superseded: string[];
    };

/**
 * Pause, resume or close, in one transaction: the hold, its context-log event and its
 * decision record; a close supersedes the scope's pending reviews. A resume (also a
 * repeated one) returns every message still held, under a new release number.
 */
export async function changeHold(tx: Tx, policies: PolicySource, input: z.input<typeof HoldRequest>): Promise<HoldOutcome> {
  const r = HoldRequest.parse(input);
  const { rows } = await tx.query<{ hold: Hold | null; held_since: Date | null; held_by: string | null; mode: 'YOLO' | 'MITL' | 'MASTER' | null }>(
    'SELECT hold, held_since, held_by, mode FROM scopes WHERE scope_id = $1 FOR UPDATE',
    [r.scope],
  );
  const row = rows[0];
  if (!row) throw new ScopeNotFoundError(r.scope);
  const change = nextHold(row.hold, r.action);
  if (!change.ok) return { ok: false, refused: change };
  let state: ScopeHold = { hold: row.hold, heldSince: row.held_since, heldBy: row.held_by };
  let superseded: string[] = [];
  let seq: number | null = null;
  if (change.changed) {
    const set = await tx.query<{ held_since: Date | null }>(
      `UPDATE scopes SET hold = $2, held_since = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END, held_by = $3, updated_at = now()
        WHERE scope_id = $1 RETURNING held_since`,
      [r.scope, change.hold, change.hold ? r.by : null],
    );
    state = { hold: change.hold, heldSince: set.rows[0]!.held_since, heldBy: change.hold ? r.by : null };
    if (r.action === 'close') {
      const s = await tx.query<{ review_id: string }>(
        `UPDATE review_queue SET status = 'superseded', resolved_at = now(), response = $2
          WHERE scope_id = $1 AND status = 'pending' RETURNING review_id`,
        [r.scope, JSON.stringify({ superseded: 'scope closed', by: r.by })],
      );
      superseded = s.rows.map((x) => x.review_id).sort();
    }
    ({ seq } = await appendEvent(tx, {
      scope: r.scope,
      kind: HOLD_EVENT[r.action],
      source: 'operator',
      payload: { by: r.by, ...(r.reason ? { reason: r.reason } : {}), from: row.hold ?? 'active', to: change.hold ?? 'active', ...(superseded.length ? { superseded_reviews: superseded } : {}) },
    }));
    await recordDecision(tx, policies, r, row.mode, seq);
  }
  let release: { n: number; messages: { consumer: string; messageId: string }[] } | null = null;
  if (r.action === 'resume') {
    const held = await tx.query<{ consumer: string; message_id: string }>(
      'SELECT consumer, message_id FROM held_messages WHERE scope_id = $1 ORDER BY held_at, consumer, message_id',
      [r.scope],
    );
    if (held.rows.length) {
      const n = await tx.query<{ releases: number }>('UPDATE scopes SET releases = releases + 1 WHERE scope_id = $1 RETURNING releases', [r.scope]);
      release = { n: n.rows[0]!.releases, messages: held.rows.map((h) => ({ consumer: h.consumer, messageId: h.message_id })) };
    }
  }
  return { ok: true, changed: change.changed, seq, state, release, superseded };
}

/** The operator's change as a decision record, next to the swarm's: who, what, why, under which policy. */
async function recordDecision(tx: Tx, policies: PolicySource, r: z.output<typeof HoldRequest>, mode: 'YOLO' | 'MITL' | 'MASTER' | null, seq: number): Promise<void> {
  const gov = policies.governance();
  await ensurePolicyVersion(tx, gov);
  const reason = r.reason ?? 'no reason given';
  await tx.query(
    `INSERT INTO decision_records (scope_id, proposal_id, proposer, action, decision, reasons, policy_version, governance_path, tier, mode, authz, rationale)
     VALUES ($1, $2, $3, $4, 'approve', $5, $6, 'operator', 1, $7, $8, $9)`,
    [
      r.scope,
      // One per change: the context-log entry it made.
      `${HOLD_DECISION[r.action]}:${r.scope}:${seq}`,
      r.by,
      HOLD_DECISION[r.action],
      JSON.stringify([{ code: `operator_${r.action}`, message: reason }]),
      gov.version,
      effectiveMode(gov.policy, r.scope, mode),
      JSON.stringify({ allowed: true, checks: [{ relation: 'operator', object: `scope:${r.scope}`, allowed: true, reason: 'allowed' }], access_id: r.accessId }),
      r.reason ?? null,
    ],
  );
}

export type { HoldAction };
