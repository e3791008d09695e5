// Grouped claims and group commit (shared/runtime/inbox/grouping.ts) on a real
// database: round trips per group, a member whose writes throw, a member whose
// claim was lost, two groups taking per-scope locks, and the step runtime on top.
import type { Queryable, Tx } from '../../shared/adapters/db.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../shared/config.ts';
import { TransientError } from '../../shared/contract/errors.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { guardPool, type GuardedPool } from '../../shared/runtime/guarded.ts';
import { GroupingIdempotencyStore } from '../../shared/runtime/inbox/grouping.ts';
import { PostgresIdempotencyStore } from '../../shared/runtime/inbox/postgres.ts';
import type { ClaimOutcome, CommitRequest, StoredResult } from '../../shared/runtime/inbox/store.ts';
import { defineStep } from '../../shared/runtime/step.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';

const stored = (tag: string): StoredResult => ({ emit: [], result: { tag } });

/** A GuardedPool that counts round trips: pool queries, and every query on a session's connection (the step's writes included). */
function countingDb(db: GuardedPool) {
  const n = { queries: 0, sessions: 0 };
  const counted = <C extends Queryable>(c: C): C =>
    new Proxy(c, {
      get: (t, p, r) => (p === 'query' ? (...a: unknown[]) => (n.queries++, (t.query as (...x: unknown[]) => unknown)(...a)) : Reflect.get(t, p, r)),
    });
  const wrapped: GuardedPool = {
    pool: db.pool,
    query: (sql, params) => (n.queries++, db.query(sql, params)),
    session: (fn) => (n.sessions++, db.session((c) => fn(counted(c)))),
    transaction: (fn) => (n.sessions++, db.transaction((c) => fn(counted(c)))),
  };
  return { db: wrapped, n, reset: () => Object.assign(n, { queries: 0, sessions: 0 }) };
}

describe('grouped Postgres inbox', () => {
  let tdb: TestDatabase;
  let counting: ReturnType<typeof countingDb>;
  let store: GroupingIdempotencyStore<Tx>;
  let plain: PostgresIdempotencyStore;
  const key = (id: string, scope = 'acme', consumer = 'fn') => ({ consumer, messageId: id, scope });

  beforeAll(async () => {
    tdb = await freshDatabase();
    await createFixtureTables(tdb.pool);
    counting = countingDb(guardPool(tdb.pool));
    plain = new PostgresIdempotencyStore(counting.db);
    store = new GroupingIdempotencyStore(plain, 64);
  });
  afterAll(async () => tdb?.drop());

  const effects = async (id: string) => (await tdb.pool.query(`SELECT 1 FROM fixture_effects WHERE message_id = $1`, [id])).rows.length;
  const write = (id: string) => async (tx: Tx) => {
    await tx.query(`INSERT INTO fixture_effects (message_id, fn, scope, attempt, handled_by) VALUES ($1, 'grouped', 'acme', 1, 'test')`, [id]);
    return id;
  };
  const tokenOf = (c: ClaimOutcome) => (c.kind === 'claimed' ? c.token : '');
  const commitReq = (id: string, token: string, writes = write(id)): CommitRequest<Tx, string> => ({
    key: key(id),
    token,
    writes,
    toStored: (v) => stored(String(v)),
    ttlMs: 60_000,
  });

  it('ten claims of one turn are one statement; ten commits are one transaction of 2 + 10 round trips', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `rt-${i}`);
    counting.reset();
    const claims = await Promise.all(ids.map((id) => store.claim(key(id), 60_000)));
    expect(claims.every((c) => c.kind === 'claimed')).toBe(true);
    expect(counting.n).toEqual({ queries: 1, sessions: 0 });

    counting.reset();
    const outs = await Promise.all(ids.map((id, i) => store.commit(commitReq(id, tokenOf(claims[i]!)))));
    expect(outs).toEqual(ids.map((id) => ({ committed: true, value: id, stored: stored(id) })));
    // BEGIN+mark · ten inserts · results+COMMIT, on one connection.
    expect(counting.n).toEqual({ queries: 12, sessions: 1 });
    for (const id of ids) expect(await effects(id)).toBe(1);
    for (const id of ids) expect(await plain.get(key(id))).toEqual(stored(id));

    // Without grouping, the same is one round trip per claim (and three per commit).
    counting.reset();
    await Promise.all(ids.map((id) => plain.claim(key(`${id}-plain`), 60_000)));
    expect(counting.n.queries).toBe(10);
  });

  it('a grouped claim gives each caller its own outcome: claimed, completed with the stored result, in progress, taken over', async () => {
    const held = await plain.claim(key('g-held'), 60_000);
    const lapsed = await plain.claim(key('g-lapsed'), 50);
    await plain.commit(commitReq('g-done', tokenOf(await plain.claim(key('g-done'), 60_000))));
    await new Promise((r) => setTimeout(r, 100));
    counting.reset();
    const [fresh, done, busy, over] = await Promise.all(['g-new', 'g-done', 'g-held', 'g-lapsed'].map((id) => store.claim(key(id), 60_000)));
    expect(counting.n.queries).toBe(1);
    expect(fresh!.kind).toBe('claimed');
    expect(done).toEqual({ kind: 'completed', stored: stored('g-done') });
    expect(busy!.kind).toBe('in_progress');
    expect(over!.kind).toBe('claimed');
    // The take-over's token is the one that counts now: the lapsed holder's renewal fails.
    expect(await plain.renew(key('g-lapsed'), tokenOf(lapsed), 60_000)).toBe(false);
    expect(await plain.renew(key('g-lapsed'), tokenOf(over!), 60_000)).toBe(true);
    expect(await plain.renew(key('g-held'), tokenOf(held), 60_000)).toBe(true);
  });

  it("one member's writes throw: the group rolls back, the others commit once each, the failing one fails alone", async () => {
    const ids = ['f-0', 'f-1', 'f-2', 'f-3', 'f-4'];
    const claims = await Promise.all(ids.map((id) => store.claim(key(id), 60_000)));
    const ran: Record<string, number> = {};
    const fallbacks = store.stats.fallbacks;
    const results = await Promise.allSettled(
      ids.map((id, i) =>
        store.commit(
          commitReq(id, tokenOf(claims[i]!), async (tx) => {
            ran[id] = (ran[id] ?? 0) + 1;
            await write(id)(tx);
            if (id === 'f-2') await tx.query('INSERT INTO no_such_table VALUES (1)');
            return id;
          }),
        ),
      ),
    );
    expect(store.stats.fallbacks).toBe(fallbacks + 1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/no_such_table/);
    for (const id of ids) expect(await effects(id)).toBe(id === 'f-2' ? 0 : 1);
    // The failing member ran in the group and alone; its claim is still held (the runtime releases it).
    expect(ran['f-2']).toBe(2);
    expect((await tdb.pool.query(`SELECT status FROM inbox WHERE message_id = 'f-2'`)).rows).toEqual([{ status: 'in_progress' }]);
    for (const id of ['f-0', 'f-1', 'f-3', 'f-4']) expect(await plain.get(key(id))).toEqual(stored(id));
  });

  it("a member throwing a step error (a TransientError) makes the group fall back at once, without the pool's retries of the whole group", async () => {
    const ids = ['t-0', 't-1', 't-2'];
    const claims = await Promise.all(ids.map((id) => store.claim(key(id), 60_000)));
    const ran: Record<string, number> = {};
    const results = await Promise.allSettled(
      ids.map((id, i) =>
        store.commit(
          commitReq(id, tokenOf(claims[i]!), async (tx) => {
            ran[id] = (ran[id] ?? 0) + 1;
            await write(id)(tx);
            if (id === 't-1') throw new TransientError('flaky', 'the step says: later');
            return id;
          }),
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // t-0 once in the group and once alone (t-2, after t-1 in scope order, only alone):
    // the group itself was not run again.
    expect([ran['t-0'], ran['t-2']]).toEqual([2, 1]);
    expect([await effects('t-0'), await effects('t-1'), await effects('t-2')]).toEqual([1, 0, 1]);
  });

  it('a member whose claim was lost is left out: its writes never run, it gets the winner\'s result; the others commit', async () => {
    const old = await plain.claim(key('l-lost'), 50);
    const other = await plain.claim(key('l-ok'), 60_000);
    const pending = await plain.claim(key('l-pending'), 50);
    await new Promise((r) => setTimeout(r, 100));
    const winner = await plain.claim(key('l-lost'), 60_000);
    await plain.commit({ ...commitReq('l-lost', tokenOf(winner)), toStored: () => stored('winner') });
    await plain.claim(key('l-pending'), 60_000); // taken over, not completed yet
    let lostRan = false;
    const [lost, ok, stillHeld] = await Promise.allSettled([
      store.commit(commitReq('l-lost', tokenOf(old), async () => ((lostRan = true), 'x'))),
      store.commit(commitReq('l-ok', tokenOf(other))),
      store.commit(commitReq('l-pending', tokenOf(pending), async () => ((lostRan = true), 'x'))),
    ]);
    expect(lost).toEqual({ status: 'fulfilled', value: { committed: false, stored: stored('winner') } });
    expect(ok).toEqual({ status: 'fulfilled', value: { committed: true, value: 'l-ok', stored: stored('l-ok') } });
    expect(stillHeld.status === 'rejected' && stillHeld.reason).toBeInstanceOf(TransientError);
    expect(lostRan).toBe(false);
    expect(await effects('l-lost')).toBe(1); // the winner's
    expect(await effects('l-ok')).toBe(1);
  });

  it('completions without writes group too: one statement for the group', async () => {
    const ids = ['n-0', 'n-1', 'n-2'];
    const claims = await Promise.all(ids.map((id) => store.claim(key(id), 60_000)));
    counting.reset();
    const outs = await Promise.all(
      ids.map((id, i) => store.commit({ key: key(id), token: tokenOf(claims[i]!), writes: undefined, toStored: () => stored(id), ttlMs: 60_000 })),
    );
    expect(outs.map((o) => o.committed)).toEqual([true, true, true]);
    expect(counting.n).toEqual({ queries: 1, sessions: 1 });
    for (const id of ids) expect(await plain.get(key(id))).toEqual(stored(id));
  });

  it('two groups whose members lock their scopes do not deadlock: members run in scope order', async () => {
    // Group A (consumer a) and group B (consumer b) each have a member in scope s1 and
    // one in s2, submitted in opposite orders. Unsorted, A would lock s2 then wait for
    // s1 while B holds s1 and waits for s2: a deadlock, one group rolled back (after
    // deadlock_timeout) and run again.
    const locking = (scope: string) => async (tx: Tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`grouped-test:${scope}`]);
      await new Promise((r) => setTimeout(r, 150));
      return scope;
    };
    const members = [
      { consumer: 'a', id: 'd-a2', scope: 's2' },
      { consumer: 'a', id: 'd-a1', scope: 's1' },
      { consumer: 'b', id: 'd-b1', scope: 's1' },
      { consumer: 'b', id: 'd-b2', scope: 's2' },
    ];
    const claims = await Promise.all(members.map((m) => plain.claim(key(m.id, m.scope, m.consumer), 60_000)));
    const before = { ...store.stats };
    counting.reset();
    const outs = await Promise.all(
      members.map((m, i) =>
        store.commit({ key: key(m.id, m.scope, m.consumer), token: tokenOf(claims[i]!), writes: locking(m.scope), toStored: () => stored(m.id), ttlMs: 60_000 }),
      ),
    );
    expect(outs.every((o) => o.committed)).toBe(true);
    expect(store.stats.commitGroups - before.commitGroups).toBe(2);
    expect(store.stats.fallbacks).toBe(before.fallbacks);
    // Each group once: BEGIN+mark · two lock-taking writes · results+COMMIT. A
    // deadlock would show as a group run again (the pool's retry) or redone alone.
    expect(counting.n).toEqual({ queries: 8, sessions: 2 });
  });
});

describe('step runtime on the grouped inbox', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await freshDatabase();
    await createFixtureTables(tdb.pool);
  });
  afterAll(async () => tdb?.drop());

  it('a batch of invocations groups (the default), one bad message fails alone, redeliveries replay; groupCommit: false opts out', async () => {
    const deps = createDeps({ env: loadEnv(), db: guardPool(tdb.pool) });
    const inbox = deps.inbox;
    expect(inbox).toBeInstanceOf(GroupingIdempotencyStore);
    const stats = (inbox as GroupingIdempotencyStore<Tx>).stats;
    const step = (name: string, groupCommit?: boolean) =>
      defineStep(
        {
          name,
          consumes: ['t.run'],
          emits: [],
          ...(groupCommit === undefined ? {} : { groupCommit }),
          async handle(msg, ctx) {
            return ctx.commit(async (tx) => {
              await tx.query(`INSERT INTO fixture_effects (message_id, fn, scope, attempt, handled_by) VALUES ($1, $2, $3, $4, 'test')`, [msg.id, name, msg.scope, msg.attempt]);
              if (msg.payload.bad) throw new Error('bad message');
              return { result: { id: msg.id } };
            });
          },
        },
        deps,
      );
    const body = (id: string, payload: Record<string, unknown> = {}, attempt = 1) => JSON.stringify({ id, scope: `s${id.length % 3}`, type: 't.run', payload, attempt });
    const grouped = step('grouped');
    const ids = Array.from({ length: 8 }, (_, i) => `m${i}`);
    const res = await Promise.all(ids.map((id) => grouped.invoke(body(id, id === 'm5' ? { bad: true } : {}))));
    expect(res.map((r) => r.ok)).toEqual(ids.map((id) => id !== 'm5'));
    expect(stats.claimsGrouped).toBeGreaterThanOrEqual(8);
    expect(stats.commitsGrouped).toBeGreaterThanOrEqual(8);
    const count = async (fn: string) =>
      (await tdb.pool.query<{ message_id: string; n: number }>(`SELECT message_id, count(*)::int AS n FROM fixture_effects WHERE fn = $1 GROUP BY 1 ORDER BY 1`, [fn])).rows;
    expect(await count('grouped')).toEqual(ids.filter((id) => id !== 'm5').map((id) => ({ message_id: id, n: 1 })));
    // The bad message's claim was given back: its retry runs (and fails) again at once.
    expect((await tdb.pool.query(`SELECT 1 FROM inbox WHERE consumer = 'grouped' AND message_id = 'm5'`)).rows).toEqual([]);
    const again = await Promise.all(ids.map((id) => grouped.invoke(body(id, id === 'm5' ? { bad: true } : {}, 2))));
    expect(again.map((r) => r.ok && r.replayed)).toEqual(ids.map((id) => id !== 'm5'));
    expect((await count('grouped')).reduce((a, r) => a + r.n, 0)).toBe(7);

    const alone = step('alone', false);
    const groupsBefore = stats.commitGroups;
    expect((await Promise.all(ids.map((id) => alone.invoke(body(id))))).every((r) => r.ok)).toBe(true);
    expect(stats.commitGroups).toBe(groupsBefore);
    expect((await count('alone')).map((r) => r.n)).toEqual(ids.map(() => 1));
    await deps.close();
  });
});
