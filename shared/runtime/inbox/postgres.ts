// The inbox in Postgres (table `inbox`, migrations/005_runtime.sql). Every
// statement is keyed by (consumer, message_id), the table's primary key.
import { randomUUID } from 'node:crypto';
import { asTx, type Tx } from '../../adapters/db.ts';
import { StepError, TransientError } from '../../contract/errors.ts';
import type { GuardedPool } from '../guarded.ts';
import type {
  BatchIdempotencyStore,
  ClaimOutcome,
  ClaimRequest,
  CommitOutcome,
  CommitRequest,
  InboxKey,
  Settled,
  StatementCommitRequest,
  StoredResult,
} from './store.ts';

const LOST = Symbol('lost');

export class PostgresIdempotencyStore implements BatchIdempotencyStore<Tx> {
  constructor(private readonly db: GuardedPool) {}

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

  /**
   * The claims of a group as ONE statement: a multi-row insert (new records, or
   * take-overs of lapsed leases), joined back to what held the others. Rows are
   * inserted in key order, so two groups racing over the same messages (a
   * redelivery while the first run is still going) lock them in the same order.
   * The final read sees the statement's snapshot: a record committed by someone
   * else just after it began shows as neither ours nor held; that claim is tried
   * again on its own.
   */
  async claimMany(reqs: readonly ClaimRequest[]): Promise<Settled<ClaimOutcome>[]> {
    const tokens = reqs.map(() => randomUUID());
    const { rows } = await this.db.query<{ i: number; claimed: boolean; status: string | null; result: StoredResult | null; in_progress_until: Date | null }>(
      `WITH v AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[], $5::text[]) WITH ORDINALITY AS v(consumer, message_id, token, ms, scope, i)),
       ins AS (
         INSERT INTO inbox AS t (consumer, message_id, status, claim_token, in_progress_until, scope_id)
         SELECT consumer, message_id, 'in_progress', token, now() + ms * interval '1 millisecond', scope FROM v ORDER BY consumer, message_id
         ON CONFLICT (consumer, message_id) DO UPDATE
            SET claim_token = EXCLUDED.claim_token, in_progress_until = EXCLUDED.in_progress_until
          WHERE t.status = 'in_progress' AND t.in_progress_until < now()
         RETURNING t.consumer, t.message_id)
       SELECT v.i::int AS i, ins.message_id IS NOT NULL AS claimed, cur.status, cur.result, cur.in_progress_until
         FROM v LEFT JOIN ins ON ins.consumer = v.consumer AND ins.message_id = v.message_id
                LEFT JOIN inbox cur ON ins.message_id IS NULL AND cur.consumer = v.consumer AND cur.message_id = v.message_id`,
      [
        reqs.map((r) => r.key.consumer),
        reqs.map((r) => r.key.messageId),
        tokens,
        reqs.map((r) => Math.trunc(r.inProgressMs)),
        reqs.map((r) => r.key.scope ?? null),
      ],
    );
    const out: Settled<ClaimOutcome>[] = new Array(reqs.length);
    const again: number[] = [];
    for (const r of rows) {
      const n = r.i - 1;
      if (r.claimed) out[n] = { ok: true, value: { kind: 'claimed', token: tokens[n]! } };
      else if (r.status === 'completed') out[n] = { ok: true, value: { kind: 'completed', stored: r.result! } };
      else if (r.status === 'in_progress') out[n] = { ok: true, value: { kind: 'in_progress', until: r.in_progress_until! } };
      else again.push(n);
    }
    await Promise.all(
      again.map(async (n) => {
        out[n] = await this.claim(reqs[n]!.key, reqs[n]!.inProgressMs).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
      }),
    );
    return out;
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
  async commit<T>(req: CommitRequest<Tx, T>): Promise<CommitOutcome<T>> {
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
          const value = req.writes ? await req.writes(asTx(c)) : undefined;
          const stored = req.toStored(value);
          await c.query(`UPDATE inbox SET result = ${lit(JSON.stringify(stored))} WHERE ${where}; COMMIT`);
          return { value, stored };
        }
        // Optimistic (no claim): the writes, then the completed record. A concurrent
        // run of the same message blocks on the primary key until it commits; then
        // this insert fails as a duplicate, and ours rolls back.
        await c.query('BEGIN');
        const value = req.writes ? await req.writes(asTx(c)) : undefined;
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
   * Claimed commits of a group in ONE transaction, three round trips whatever
   * its size: BEGIN + one UPDATE marking every member's record completed under
   * its token (a member whose claim was lost matches nothing and is left out) ·
   * each remaining member's writes in turn, on this connection · one UPDATE
   * storing their results + COMMIT. Members without writes are completed by the
   * marking UPDATE itself (alone, it needs no transaction). Anything failing
   * rolls the whole group back and is thrown: the caller commits each member on
   * its own then (grouping.ts).
   */
  async commitMany(reqs: readonly CommitRequest<Tx, unknown>[]): Promise<Settled<CommitOutcome<unknown>>[]> {
    const out: Settled<CommitOutcome<unknown>>[] = new Array(reqs.length);
    // A member without writes has its result now; one whose result cannot be made fails alone, as it would ungrouped.
    const early = new Map<number, StoredResult>();
    const members: number[] = [];
    reqs.forEach((r, n) => {
      if (r.token === undefined) throw new Error('commitMany takes claimed commits only');
      if (r.writes) return void members.push(n);
      try {
        early.set(n, r.toStored(undefined));
        members.push(n);
      } catch (error) {
        out[n] = { ok: false, error };
      }
    });
    const done = await this.db.session(async (c) => {
      const lit = (v: string) => c.escapeLiteral(v);
      const rows = members.map((n) => {
        const r = reqs[n]!;
        const result = early.has(n) ? lit(JSON.stringify(early.get(n))) : `'null'`;
        return `(${n}, ${lit(r.key.consumer)}, ${lit(r.key.messageId)}, ${lit(r.token!)}, ${result}, ${Math.trunc(r.ttlMs)})`;
      });
      const mark = `UPDATE inbox AS t SET status = 'completed', claim_token = NULL, in_progress_until = NULL, completed_at = now(),
                           expires_at = now() + v.ttl::int * interval '1 millisecond', result = v.result::jsonb
                      FROM (VALUES ${rows.join(', ')}) AS v(n, consumer, message_id, token, result, ttl)
                     WHERE t.consumer = v.consumer AND t.message_id = v.message_id AND t.claim_token = v.token::uuid AND t.status = 'in_progress'
                 RETURNING v.n::int AS n`;
      const marked = (res: { rows: { n: number }[] }) => new Set(res.rows.map((x) => x.n));
      const stored = new Map<number, { value: unknown; stored: StoredResult }>();
      if (members.every((n) => !reqs[n]!.writes)) {
        for (const n of marked(await c.query(mark))) stored.set(n, { value: undefined, stored: early.get(n)! });
        return stored;
      }
      try {
        const [, res] = (await c.query(`BEGIN; ${mark}`)) as unknown as [unknown, { rows: { n: number }[] }];
        const ours = marked(res);
        for (const n of members) {
          if (!ours.has(n)) continue;
          const r = reqs[n]!;
          if (!r.writes) {
            stored.set(n, { value: undefined, stored: early.get(n)! });
            continue;
          }
          try {
            const value = await r.writes(asTx(c));
            stored.set(n, { value, stored: r.toStored(value) });
          } catch (err) {
            // A step's own error (a StepError it threw) is its verdict, not the database's:
            // no retry of the whole group and no mark on the breaker; its members commit alone.
            throw err instanceof StepError ? new GroupMemberFailed(err) : err;
          }
        }
        const results = members
          .filter((n) => ours.has(n) && reqs[n]!.writes)
          .map((n) => `(${lit(reqs[n]!.key.consumer)}, ${lit(reqs[n]!.key.messageId)}, ${lit(JSON.stringify(stored.get(n)!.stored))})`);
        await c.query(
          results.length === 0
            ? 'COMMIT'
            : `UPDATE inbox AS t SET result = v.result::jsonb FROM (VALUES ${results.join(', ')}) AS v(consumer, message_id, result)
                WHERE t.consumer = v.consumer AND t.message_id = v.message_id; COMMIT`,
        );
        return stored;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
    // Those that were not ours: the winner's result, as commit() gives it.
    await Promise.all(
      members.map(async (n) => {
        const mine = done.get(n);
        if (mine) return void (out[n] = { ok: true, value: { committed: true, ...mine } });
        try {
          const winner = await this.get(reqs[n]!.key);
          if (winner) out[n] = { ok: true, value: { committed: false, stored: winner } };
          else out[n] = { ok: false, error: new TransientError('claim_lost', `the claim on ${reqs[n]!.key.messageId} was taken over by another run that has not completed`) };
        } catch (error) {
          out[n] = { ok: false, error };
        }
      }),
    );
    return out;
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

/** A group member's writes threw a step error: the group is rolled back and redone member by member. */
class GroupMemberFailed extends Error {
  override name = 'GroupMemberFailed';
  constructor(override readonly cause: StepError) {
    super('a member of the commit group threw a step error'); // not its message: classify() reads words like "timeout" in it
  }
}

/** The completed record of an optimistic commit collided with another run's. */
const isInboxConflict = (err: unknown): boolean => {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === 'inbox_pkey';
};
