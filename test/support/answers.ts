// What the API records when a human answers a review (an allowed review.respond in
// access_log, naming the review): the review store applies no answer without it.
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../shared/store/db.ts';

export async function recordAnswer(q: Queryable, a: { scope: string; reviewId: string; by: string }): Promise<number> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO access_log (request_id, principal, action, scope_id, object, relation, allowed, reason, target)
     VALUES ($1, $2, 'review.respond', $3, $4, 'reviewer', true, 'allowed', $5) RETURNING id`,
    [`req-${randomBytes(5).toString('hex')}`, a.by, a.scope, `scope:${a.scope}`, a.reviewId],
  );
  return Number(rows[0]!.id);
}

/** The answer fields of a store call, recorded as the API would. */
export async function answeredBy(q: Queryable, scope: string, reviewId: string, by: string) {
  return { scope, by, accessId: await recordAnswer(q, { scope, reviewId, by }) };
}
