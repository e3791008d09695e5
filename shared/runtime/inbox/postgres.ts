// The inbox in Postgres (table `inbox`, migrations/005_runtime.sql). Every
// statement is keyed by (consumer, message_id), the table's primary key.
import { randomUUID } from 'node:crypto';
import type { PoolClient } from '@neondatabase/serverless';
import { TransientError } from '../../contract/errors.ts';
import { rollback, type Db } from '../guarded.ts';
import type { ClaimOutcome, CommitOutcome, CommitRequest, IdempotencyStore, InboxKey, StoredResult } from './store.ts';

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

  async release(key: InboxKey, token: string): Promise<void> {
    await this.db.query(
      `DELETE FROM inbox WHERE consumer = $1 AND message_id = $2 AND claim_token = $3 AND status = 'in_progress'`,
      [key.consumer, key.messageId, token],
    );
  }

  async commit<T>(req: CommitRequest<PoolClient, T>): Promise<CommitOutcome<T>> {
    const { key, token } = req;
    const out = await this.db.transaction<{ value: T | undefined; stored: StoredResult } | typeof LOST>(async (tx) => {
      if (token !== undefined) {
        // Claimed: first make the record ours for good. No row means the claim
        // expired and another run took it over; then nothing of ours may commit.
        // The row lock also holds off any take-over while the writes run.
        const mark = await tx.query(
          `UPDATE inbox SET status = 'completed', claim_token = NULL, in_progress_until = NULL,
                  completed_at = now(), expires_at = now() + $4 * interval '1 millisecond', result = 'null'::jsonb
            WHERE consumer = $1 AND message_id = $2 AND claim_token = $3 AND status = 'in_progress'`,
          [key.consumer, key.messageId, token, req.ttlMs],
        );
        if (mark.rowCount !== 1) return rollback(LOST);
        const value = req.writes ? await req.writes(tx) : undefined;
        const stored = req.toStored(value);
        await tx.query(`UPDATE inbox SET result = $3 WHERE consumer = $1 AND message_id = $2`, [
          key.consumer,
          key.messageId,
          JSON.stringify(stored),
        ]);
        return { value, stored };
      }
      // Optimistic (no claim): the writes, then the completed record. A concurrent
      // run of the same message blocks on the primary key until it commits, and
      // then this insert finds its row: roll back ours.
      const value = req.writes ? await req.writes(tx) : undefined;
      const stored = req.toStored(value);
      const ins = await tx.query(
        `INSERT INTO inbox AS i (consumer, message_id, status, result, scope_id, completed_at, expires_at)
         VALUES ($1, $2, 'completed', $3, $4, now(), now() + $5 * interval '1 millisecond')
         ON CONFLICT (consumer, message_id) DO UPDATE
            SET status = 'completed', claim_token = NULL, in_progress_until = NULL, result = EXCLUDED.result,
                completed_at = EXCLUDED.completed_at, expires_at = EXCLUDED.expires_at
          WHERE i.status = 'in_progress' AND i.in_progress_until < now()
         RETURNING 1`,
        [key.consumer, key.messageId, JSON.stringify(stored), key.scope ?? null, req.ttlMs],
      );
      if (ins.rowCount !== 1) return rollback(LOST);
      return { value, stored };
    });
    if (out !== LOST) return { committed: true, value: out.value as T, stored: out.stored };
    const winner = await this.get(key);
    if (winner) return { committed: false, stored: winner };
    // Our claim was taken over and that run has not finished (or failed): retry later.
    throw new TransientError('claim_lost', `the claim on ${key.messageId} was taken over by another run that has not completed`);
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
