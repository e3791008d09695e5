// The bridge's timer: finality evaluations and status ticks for open scopes, once per
// window however many bridges tick.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, provisionStreams, type NatsConnection } from '../../shared/adapters/bus.ts';
import { tick } from '../../infra/bridge/ticker.ts';
import { dueCutoffs } from '../../shared/domain/deadline.ts';
import { releaseId } from '../../shared/domain/hold.ts';
import { DEADLINE_BATCH, DUE_REVIEWS_SQL } from '../../shared/store/review-deadlines.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';

let db: TestDatabase;
let nc: NatsConnection;
const id = uniq('');
const prefix = `tick${id}`;

beforeAll(async () => {
  db = await freshDatabase();
  nc = await connectBus(db.env, 'ticker-test', 'operator');
  const { jsm } = await jetStream(nc);
  await provisionStreams(jsm, { ...db.env, NATS_STREAM: `TICK_${id}`, NATS_DLQ_STREAM: `TICK_${id}_DLQ`, NATS_SUBJECT_PREFIX: prefix });
  await db.pool.query(`INSERT INTO scopes (scope_id, status) VALUES ('open-a', 'open'), ('blocked-b', 'blocked'), ('done-c', 'resolved')`);
  // An operator's hold (issue 13, item 5): neither a paused nor a closed scope is ticked.
  await db.pool.query(
    `INSERT INTO scopes (scope_id, status, hold, held_since, held_by) VALUES ('paused-d', 'open', 'paused', now(), 'user:operator'), ('closed-e', 'blocked', 'closed', now(), 'user:operator')`,
  );
});
afterAll(async () => {
  const { jsm } = await jetStream(nc);
  await jsm.streams.delete(`TICK_${id}`).catch(() => {});
  await jsm.streams.delete(`TICK_${id}_DLQ`).catch(() => {});
  await nc.close();
  await db.drop();
});

describe('bridge ticker', () => {
  it('publishes a finality evaluation and a status tick per open scope, once per window', async () => {
    const { js, jsm } = await jetStream(nc);
    const t0 = 1_800_000_000_000;
    expect(await tick(db.pool, js, prefix, 60_000, t0)).toBe(4);
    // A second bridge ticking in the same window publishes nothing new.
    expect(await tick(db.pool, js, prefix, 60_000, t0 + 30_000)).toBe(0);
    const info = await jsm.streams.info(`TICK_${id}`, { subjects_filter: `${prefix}.>` });
    expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual([
      `${prefix}.blocked-b.finality.evaluate`,
      `${prefix}.blocked-b.status.tick`,
      `${prefix}.open-a.finality.evaluate`,
      `${prefix}.open-a.status.tick`,
    ]);
    // The next window ticks again; the resolved, paused and closed scopes are never ticked.
    expect(await tick(db.pool, js, prefix, 60_000, t0 + 60_000)).toBe(4);
    expect((await jsm.streams.info(`TICK_${id}`)).state.messages).toBe(8);
  });

  it('publishes one review.escalated per overdue review, at most DEADLINE_BATCH per level a tick, once however many bridges tick; the query is a range scan of its index', async () => {
    const { js, jsm } = await jetStream(nc);
    const H = 3_600_000;
    const now = 1_900_000_000_000;
    const deadlines = { governance_review: [{ respond_within_ms: 24 * H, fail_safe: 'reject' as const }] };
    // A queue mostly of answered reviews (what the index leaves out), some overdue, some not yet due.
    await db.pool.query(
      `INSERT INTO review_queue (review_id, scope_id, kind, status, request, created_at)
       SELECT 'old-' || i, 'open-a', 'governance_review', 'approved', '{}'::jsonb, to_timestamp($1 / 1000.0) - interval '30 days' FROM generate_series(1, 20000) i
       UNION ALL SELECT 'due-' || lpad(i::text, 3, '0'), 'open-a', 'governance_review', 'pending', '{}'::jsonb, to_timestamp($1 / 1000.0) - interval '25 hours' - i * interval '1 second' FROM generate_series(1, $2::int + 50) i
       UNION ALL SELECT 'later-' || i, 'open-a', 'governance_review', 'pending', '{}'::jsonb, to_timestamp($1 / 1000.0) - interval '23 hours' FROM generate_series(1, 10) i`,
      [now, DEADLINE_BATCH],
    );
    await db.pool.query('ANALYZE review_queue');
    const ticks = await Promise.all([1, 2].map(() => tick(db.pool, js, prefix, 60_000, now, { deadlines: () => deadlines })));
    // 4 timer messages and DEADLINE_BATCH deadlines, published once between the two bridges.
    expect(ticks[0]! + ticks[1]!).toBe(4 + DEADLINE_BATCH);
    const info = await jsm.streams.info(`TICK_${id}`, { subjects_filter: `${prefix}.open-a.review.escalated` });
    expect(info.state.subjects).toEqual({ [`${prefix}.open-a.review.escalated`]: DEADLINE_BATCH });

    const c = dueCutoffs(deadlines, now);
    const { rows } = await db.pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${DUE_REVIEWS_SQL}`, [c.map((x) => x.kind), c.map((x) => x.level), c.map((x) => x.cutoff), DEADLINE_BATCH]);
    const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
    expect(plan).toContain('"Index Name":"review_queue_deadline"');
    expect(plan).not.toContain('Seq Scan');
  });

  it('releases again what a resume left held (its publishes did not all go out), under the resume\'s own ids; nothing of a paused scope, nothing just held', async () => {
    const { js, jsm } = await jetStream(nc);
    // Resumed (releases = 2) with one message held an hour ago and one held just now; a paused scope's stays held.
    await db.pool.query(`INSERT INTO scopes (scope_id, status, releases) VALUES ('resumed-f', 'open', 2)`);
    await db.pool.query(`UPDATE scopes SET releases = 1 WHERE scope_id = 'paused-d'`);
    const envelope = (mid: string) => JSON.stringify({ id: mid, scope: 'resumed-f', type: 'action.approved', payload: {}, attempt: 1, source: 'test' });
    await db.pool.query(
      `INSERT INTO held_messages (scope_id, consumer, message_id, type, envelope, held_at) VALUES
         ('resumed-f', 'executor', 'm-old', 'action.approved', $1, now() - interval '1 hour'),
         ('resumed-f', 'finality', 'm-new', 'finality.evaluate', $2, now()),
         ('paused-d', 'executor', 'm-paused', 'action.approved', $1, now() - interval '1 hour')`,
      [envelope('m-old'), envelope('m-new')],
    );
    const sub = `${prefix}.resumed-f.hold.released`;
    const t = 2_000_000_000_000;
    await tick(db.pool, js, prefix, 60_000, t);
    const info = await jsm.streams.info(`TICK_${id}`, { subjects_filter: `${prefix}.*.hold.released` });
    expect(info.state.subjects).toEqual({ [sub]: 1 });
    const m = await jsm.streams.getMessage(`TICK_${id}`, { last_by_subj: sub });
    expect(m?.json<{ id: string }>().id).toBe(releaseId('resumed-f', 'executor', 'm-old', 2));
    expect(m?.json<{ payload: unknown; source: string }>()).toMatchObject({ payload: { consumer: 'executor', message_id: 'm-old', release: 2 }, source: 'ticker' });
    // Another bridge's tick, or the resume's own publish, is the same message: dropped as a duplicate.
    await tick(db.pool, js, prefix, 60_000, t + 1);
    expect((await jsm.streams.info(`TICK_${id}`, { subjects_filter: `${prefix}.*.hold.released` })).state.subjects).toEqual({ [sub]: 1 });
  });
});
