// The inbox in Postgres (table `inbox`, migrations/005_runtime.sql). Every
// statement is keyed by (consumer, message_id), the table's primary key.
import { randomUUID } from 'node:crypto';
import type { PoolClient } from '@neondatabase/serverless';
import { TransientError } from '../../contract/errors.ts';
import type { Db } from '../guarded.ts';
import type { ClaimOutcome, CommitOutcome, CommitRequest, IdempotencyStore, InboxKey, StatementCommitRequest, StoredResult } from './store.ts';

const LOST = Symbol('lost');

export class PostgresIdempotencyStore implements IdempotencyStore<PoolClient> {
  constructor(private readonly db: Db) {}

  async get(key: InboxKey): Promise<StoredResult | undefined> {
    const { rows } = await this.db.query<{ result: StoredResult }>(
      `SELECT result FROM inbox WHERE consumer = $1 AND message_id = $2 AND status = 'completed'`,
      [key.consumer, key.messageId],
    );
    return rows[0]?.result;
  }

  async claim(key: InboxKey, inProgressMs: number): Promise<ClaimOutcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = randomUUID();
      // One statement: a new record, or the take-over of a claim whose time ran out.
      const { rows } = await this.db.query(
        `INSERT INTO inbox AS i (consumer, message_id, status, claim_token, in_progress_until, scope_id)
         VALUES ($1, $2, 'in_progress', $3, now() + $4 * interval '1 millisecond', $5)
         ON CONFLICT (consumer, message_id) DO UPDATE
            SET claim_token = EXCLUDED.claim_token, in_progress_until = EXCLUDED.in_progress_until
          WHERE i.status = 'in_progress' AND i.in_progress_until < now()
         RETURNING 1`,
        [key.consumer, key.messageId, token, inProgressMs, key.scope ?? null],
      );
      if (rows.length === 1) return { kind: 'claimed', token };
      const { rows: held } = await this.db.query<{ status: string; result: StoredResult; in_progress_until: Date }>(
        `SELECT status, result, in_progress_until FROM inbox WHERE consumer = $1 AND message_id = $2`,
        [key.consumer, key.messageId],
      );
      const r = held[0];
      if (r?.status === 'completed') return { kind: 'completed', stored: r.result };
      if (r) return { kind: 'in_progress', until: r.in_progress_until };
      // Released between our two statements: try again.
    }
    throw new TransientError('inbox_contention', `could not claim ${key.messageId}: the record keeps changing`);
  }

  async renew(key: InboxKey, token: string, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE inbox SET in_progress_until = now() + $4 * interval '1 millisecond'
        WHERE consumer = $1 AND message_id = $2 AND claim_token = $3 AND status = 'in_progress'`,
      [key.consumer, key.messageId, token, leaseMs],
    );
    return rowCount === 1;
  }

  async release(key: InboxKey, token: string): Promise<void> {
    await this.db.query(
      `DELETE FROM inbox WHERE consumer = $1 AND message_id = $2 AND claim_token = $3 AND status = 'in_progress'`,
      [key.consumer, key.messageId, token],
    );
  }

  /**
   * Round trips are what a commit costs (each 0.3-1.5 ms through the WebSocket
   * proxy), so the statements the runtime adds to the step's writes travel with
   * BEGIN or COMMIT as one simple-protocol string (escaped literals, no
   * parameters): claimed, BEGIN+mark · writes · result+COMMIT; optimistic,
   * BEGIN · writes · insert+COMMIT.
   */
  async commit<T>(req: CommitRequest<PoolClient, T>): Promise<CommitOutcome<T>> {
    const { key, token } = req;
    const out = await this.db.session<{ value: T | undefined; stored: StoredResult } | typeof LOST>(async (c) => {
      const lit = (v: string) => c.escapeLiteral(v);
      const where = `consumer = ${lit(key.consumer)} AND message_id = ${lit(key.messageId)}`;
      const ttl = `now() + ${Math.trunc(req.ttlMs)} * interval '1 millisecond'`;
      try {
        if (!req.writes) {
          // Nothing to write but the record: one statement, no transaction.
          const stored = req.toStored(undefined);
          const done =
            token !== undefined
              ? await c.query(
                  `UPDATE inbox SET status = 'completed', claim_token = NULL, in_progress_until = NULL, completed_at = now(),
                          expires_at = ${ttl}, result = ${lit(JSON.stringify(stored))}
                    WHERE ${where} AND claim_token = ${lit(token)} AND status = 'in_progress'`,
                )
              : await c.query(
                  `INSERT INTO inbox (consumer, message_id, status, result, scope_id, completed_at, expires_at)
                   VALUES (${lit(key.consumer)}, ${lit(key.messageId)}, 'completed', ${lit(JSON.stringify(stored))}, ${key.scope ? lit(key.scope) : 'NULL'}, now(), ${ttl})
                   ON CONFLICT (consumer, message_id) DO NOTHING`,
                );
          return done.rowCount === 1 ? { value: undefined, stored } : LOST;
        }
        if (token !== undefined) {
          // Claimed: first make the record ours for good. No row means the claim
          // expired and another run took it over; then nothing of ours may commit.
          // The row lock also holds off any take-over while the writes run.
          const [, mark] = (await c.query(
            `BEGIN; UPDATE inbox SET status = 'completed', claim_token = NULL, in_progress_until = NULL,
                    completed_at = now(), expires_at = ${ttl}, result = 'null'::jsonb
              WHERE ${where} AND claim_token = ${lit(token)} AND status = 'in_progress'`,
          )) as unknown as { rowCount: number }[];
          if (mark!.rowCount !== 1) {
            await c.query('ROLLBACK');
            return LOST;
          }
          const value = req.writes ? await req.writes(c) : undefined;
          const stored = req.toStored(value);
          await c.query(`UPDATE inbox SET result = ${lit(JSON.stringify(stored))} WHERE ${where}; COMMIT`);
          return { value, stored };
        }
        // Optimistic (no claim): the writes, then the completed record. A concurrent
        // run of the same message blocks on the primary key until it commits; then
        // this insert fails as a duplicate, and ours rolls back.
        await c.query('BEGIN');
        const value = req.writes ? await req.writes(c) : undefined;
        const stored = req.toStored(value);
        await c.query(
          `INSERT INTO inbox (consumer, message_id, status, result, scope_id, completed_at, expires_at)
           VALUES (${lit(key.consumer)}, ${lit(key.messageId)}, 'completed', ${lit(JSON.stringify(stored))}, ${key.scope ? lit(key.scope) : 'NULL'}, now(), ${ttl});
           COMMIT`,
        );
        return { value, stored };
      } catch (err) {
        if (req.writes) await c.query('ROLLBACK').catch(() => {});
        if (isInboxConflict(err)) return LOST;
        throw err;
      }
    });
    if (out !== LOST) return { committed: true, value: out.value as T, stored: out.stored };
    const winner = await this.get(key);
    if (winner) return { committed: false, stored: winner };
    // Our claim was taken over and that run has not finished (or failed): retry later.
    throw new TransientError('claim_lost', `the claim on ${key.messageId} was taken over by another run that has not completed`);
  }

  /**
   * The step's one write statement and the completed record as ONE statement: the
   * record goes in a data-modifying CTE, which Postgres runs whether or not the
   * statement refers to it, atomically with it and without BEGIN/COMMIT. A
   * concurrent run of the same message makes the CTE's insert fail as a duplicate,
   * and with it the whole statement.
   */
  async commitStatement(req: StatementCommitRequest): Promise<CommitOutcome<undefined>> {
    const { key, statement, stored, ttlMs } = req;
    const values = statement.values ?? [];
    const n = values.length;
    const record = `gswarm_inbox AS (
      INSERT INTO inbox (consumer, message_id, status, result, scope_id, completed_at, expires_at)
      VALUES ($${n + 1}, $${n + 2}, 'completed', $${n + 3}, $${n + 4}, now(), now() + $${n + 5} * interval '1 millisecond'))`;
    const text = statement.text.trimStart();
    const sql = /^with\s/i.test(text) ? `WITH ${record}, ${text.slice(5)}` : `WITH ${record} ${text}`;
    try {
      await this.db.query(sql, [...values, key.consumer, key.messageId, JSON.stringify(stored), key.scope ?? null, ttlMs]);
      return { committed: true, value: undefined, stored };
    } catch (err) {
      if (!isInboxConflict(err)) throw err;
    }
    const winner = await this.get(key);
    if (winner) return { committed: false, stored: winner };
    throw new TransientError('claim_lost', `${key.messageId} is held by a claim that has not completed`);
  }

  /** Completed records past their expiry, and claims abandoned for a day, in batches. */
  async cleanup(batch = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.db.query(
        `DELETE FROM inbox WHERE ctid IN (
           SELECT ctid FROM inbox
            WHERE (status = 'completed' AND expires_at < now())
               OR (status = 'in_progress' AND in_progress_until < now() - interval '1 day')
            LIMIT $1)`,
        [batch],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }
}

/** The completed record of an optimistic commit collided with another run's. */
const isInboxConflict = (err: unknown): boolean => {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === 'inbox_pkey';
};
