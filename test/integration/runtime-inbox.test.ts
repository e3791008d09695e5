// The Postgres inbox and the step runtime on a real database (V2, V6): claims,
// take-over of expired claims, commits conditioned on the claim token, release on
// failure, replay of stored results, optimistic commits racing, expiry cleanup.
import { randomUUID } from 'node:crypto';
import type { Tx } from '../../shared/adapters/db.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../shared/config.ts';
import { TransientError } from '../../shared/contract/errors.ts';
import { createDeps, type Deps } from '../../shared/runtime/deps.ts';
import { guardPool, type GuardedPool } from '../../shared/runtime/guarded.ts';
import { PostgresIdempotencyStore } from '../../shared/runtime/inbox/postgres.ts';
import type { StoredResult } from '../../shared/runtime/inbox/store.ts';
import { defineStep, type Idempotency } from '../../shared/runtime/step.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const stored = (tag: string): StoredResult => ({ emit: [], result: { tag } });
const json = (v: unknown) => JSON.stringify(v);

describe('Postgres inbox', () => {
  let tdb: TestDatabase;
  let db: GuardedPool;
  let store: PostgresIdempotencyStore;
  const key = (id: string) => ({ consumer: 'fn', messageId: id, scope: 'acme' });

  beforeAll(async () => {
    tdb = await freshDatabase();
    await createFixtureTables(tdb.pool);
    db = guardPool(tdb.pool);
    store = new PostgresIdempotencyStore(db);
  });
  afterAll(async () => tdb?.drop());

  const write = (id: string) => async (tx: Tx) => {
    await tx.query(`INSERT INTO fixture_effects (message_id, fn, scope, attempt, handled_by) VALUES ($1, 'inbox-test', 'acme', 1, 'test')`, [id]);
    return id;
  };
  const effects = async (id: string) => (await tdb.pool.query(`SELECT 1 FROM fixture_effects WHERE message_id = $1`, [id])).rows.length;

  it('claims once; a live claim is reported in progress; completion stores the result with the writes', async () => {
    const c1 = await store.claim(key('a'), 60_000);
    expect(c1.kind).toBe('claimed');
    const c2 = await store.claim(key('a'), 60_000);
    expect(c2.kind).toBe('in_progress');
    const out = await store.commit({ key: key('a'), token: c1.kind === 'claimed' ? c1.token : '', writes: write('a'), toStored: () => stored('a'), ttlMs: 60_000 });
    expect(out).toEqual({ committed: true, value: 'a', stored: stored('a') });
    expect(await effects('a')).toBe(1);
    expect(await store.claim(key('a'), 60_000)).toEqual({ kind: 'completed', stored: stored('a') });
    expect(await store.get(key('a'))).toEqual(stored('a'));
  });

  it('lets an expired claim be taken over; the old holder can then commit nothing', async () => {
    const old = await store.claim(key('b'), 50);
    await new Promise((r) => setTimeout(r, 100));
    const taken = await store.claim(key('b'), 60_000);
    expect(taken.kind).toBe('claimed');
    // The new holder finishes first; the old one's commit rolls back its writes and gets the winner's result.
    await store.commit({ key: key('b'), token: taken.kind === 'claimed' ? taken.token : '', writes: write('b'), toStored: () => stored('winner'), ttlMs: 60_000 });
    const late = await store.commit({ key: key('b'), token: old.kind === 'claimed' ? old.token : '', writes: write('b'), toStored: () => stored('loser'), ttlMs: 60_000 });
    expect(late).toEqual({ committed: false, stored: stored('winner') });
    expect(await effects('b')).toBe(1);
  });

  it('a lost claim whose new holder has not finished is a transient error, and nothing is written', async () => {
    const old = await store.claim(key('c'), 50);
    await new Promise((r) => setTimeout(r, 100));
    await store.claim(key('c'), 60_000);
    await expect(
      store.commit({ key: key('c'), token: old.kind === 'claimed' ? old.token : '', writes: write('c'), toStored: () => stored('x'), ttlMs: 60_000 }),
    ).rejects.toThrow(TransientError);
    expect(await effects('c')).toBe(0);
  });

  it("renews a held claim's lease; a renewal under a lost claim or after completion reports false", async () => {
    const c = await store.claim(key('r'), 50);
    const token = c.kind === 'claimed' ? c.token : '';
    const until = async () => Number((await tdb.pool.query<{ ms: string }>(`SELECT extract(epoch FROM in_progress_until - now()) * 1000 AS ms FROM inbox WHERE message_id = 'r'`)).rows[0]!.ms);
    expect(await store.renew(key('r'), token, 60_000)).toBe(true);
    expect(await until()).toBeGreaterThan(50_000);
    expect((await store.claim(key('r'), 60_000)).kind).toBe('in_progress');
    expect(await store.renew(key('r'), randomUUID(), 60_000)).toBe(false);
    await store.commit({ key: key('r'), token, writes: undefined, toStored: () => stored('r'), ttlMs: 60_000 });
    expect(await store.renew(key('r'), token, 60_000)).toBe(false);
  });

  it('release gives the claim back at once', async () => {
    const c = await store.claim(key('d'), 60_000);
    await store.release(key('d'), c.kind === 'claimed' ? c.token : '');
    expect((await store.claim(key('d'), 60_000)).kind).toBe('claimed');
  });

  it('optimistic commits of the same message race: one commits, the other rolls back its writes and gets that result', async () => {
    const slowWrite = (id: string, ms: number) => async (tx: Tx) => {
      await write(id)(tx);
      await new Promise((r) => setTimeout(r, ms));
      return id;
    };
    const [x, y] = await Promise.all([
      store.commit({ key: key('e'), token: undefined, writes: slowWrite('e', 200), toStored: () => stored('first'), ttlMs: 60_000 }),
      new Promise((r) => setTimeout(r, 50)).then(() =>
        store.commit({ key: key('e'), token: undefined, writes: slowWrite('e', 0), toStored: () => stored('second'), ttlMs: 60_000 }),
      ),
    ]);
    expect([x.committed, y.committed].sort()).toEqual([false, true]);
    const winner = x.committed ? x.stored : y.stored;
    expect((x.committed ? y : x).stored).toEqual(winner);
    expect(await effects('e')).toBe(1);
  });

  it('one-statement commit: the write and the record in one statement; a racing duplicate writes nothing', async () => {
    const insert = (id: string) => ({ text: `INSERT INTO fixture_effects (message_id, fn, scope, attempt, handled_by) VALUES ($1, 'inbox-test', 'acme', 1, 'test')`, values: [id] });
    const [x, y] = await Promise.all([
      store.commitStatement({ key: key('g'), statement: insert('g'), stored: stored('one'), ttlMs: 60_000 }),
      store.commitStatement({ key: key('g'), statement: insert('g'), stored: stored('two'), ttlMs: 60_000 }),
    ]);
    expect([x.committed, y.committed].sort()).toEqual([false, true]);
    expect((x.committed ? y : x).stored).toEqual((x.committed ? x : y).stored);
    expect(await effects('g')).toBe(1);
    // A statement with its own WITH clause keeps it, after the record's.
    const withClause = {
      text: `WITH v(id) AS (VALUES ($1::text)) INSERT INTO fixture_effects (message_id, fn, scope, attempt, handled_by) SELECT id, 'inbox-test', 'acme', 1, 'test' FROM v`,
      values: ['h'],
    };
    expect(await store.commitStatement({ key: key('h'), statement: withClause, stored: stored('h'), ttlMs: 60_000 })).toMatchObject({ committed: true });
    expect(await effects('h')).toBe(1);
    expect(await store.get(key('h'))).toEqual(stored('h'));
    // A failing statement leaves no record either.
    await expect(store.commitStatement({ key: key('i'), statement: { text: 'INSERT INTO no_such_table VALUES (1)' }, stored: stored('i'), ttlMs: 60_000 })).rejects.toThrow(/no_such_table/);
    expect(await store.get(key('i'))).toBeUndefined();
  });

  it('cleanup deletes expired records only', async () => {
    await store.commit({ key: key('f'), token: undefined, writes: undefined, toStored: () => stored('f'), ttlMs: 60_000 });
    await tdb.pool.query(`UPDATE inbox SET expires_at = now() - interval '1 second' WHERE message_id = 'a'`);
    expect(await store.cleanup()).toBe(1);
    expect(await store.get(key('a'))).toBeUndefined();
    expect(await store.get(key('f'))).toEqual(stored('f'));
  });
});

describe('step runtime on Postgres', () => {
  let tdb: TestDatabase;
  let deps: Deps;
  const runs: Record<string, number> = {};

  beforeAll(async () => {
    tdb = await freshDatabase();
    await createFixtureTables(tdb.pool);
    deps = createDeps({ env: loadEnv(), db: guardPool(tdb.pool) });
  });
  afterAll(async () => tdb?.drop());

  const counting = (name: string, idempotency: Idempotency, opts: { failFirst?: boolean; delayMs?: number; timeoutMs?: number; gate?: Promise<void> } = {}) =>
    defineStep(
      {
        name,
        consumes: ['t.run'], emits: ['t.done'],
        idempotency,
        timeoutMs: opts.timeoutMs ?? 5_000,
        async handle(msg, ctx) {
          runs[`${name}/${msg.id}`] = (runs[`${name}/${msg.id}`] ?? 0) + 1;
          if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
          await opts.gate;
          if (opts.failFirst && runs[`${name}/${msg.id}`] === 1) throw new TransientError('flaky', 'first attempt fails');
          return ctx.commit(async (tx) => {
            await tx.query(`INSERT INTO fixture_effects (message_id, fn, scope, attempt, handled_by) VALUES ($1, $2, $3, $4, 'test')`, [msg.id, name, msg.scope, msg.attempt]);
            return { emit: [{ type: 't.done', payload: { of: msg.id } }], result: { n: runs[`${name}/${msg.id}`] } };
          });
        },
      },
      deps,
    );
  const body = (id: string, attempt = 1) => json({ id, scope: 'acme', type: 't.run', payload: {}, attempt });
  const effects = async (fn: string, id: string) =>
    (await tdb.pool.query(`SELECT 1 FROM fixture_effects WHERE fn = $1 AND message_id = $2`, [fn, id])).rows.length;

  it('a redelivery returns the stored result, with the same emitted ids, without running the handler', async () => {
    const step = counting('once', 'claim');
    const first = await step.invoke(body('m1'));
    const again = await step.invoke(body('m1', 2));
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(again).toMatchObject({ ok: true, replayed: true });
    expect(again.ok && first.ok && again.emit.map((e) => e.id)).toEqual(first.ok && first.emit.map((e) => e.id));
    expect(runs['once/m1']).toBe(1);
    expect(await effects('once', 'm1')).toBe(1);
  });

  it('a transient failure releases the claim, so the retry runs at once', async () => {
    const step = counting('flaky', 'claim', { failFirst: true });
    expect(await step.invoke(body('m2'))).toMatchObject({ ok: false, error: { class: 'transient', code: 'flaky' } });
    expect((await tdb.pool.query(`SELECT 1 FROM inbox WHERE consumer = 'flaky'`)).rows).toEqual([]);
    expect(await step.invoke(body('m2', 2))).toMatchObject({ ok: true, replayed: false });
    expect(await effects('flaky', 'm2')).toBe(1);
  });

  const gate = () => {
    let open!: () => void;
    const p = new Promise<void>((r) => (open = r));
    return { p, open };
  };
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 5));
  };

  it('two concurrent runs of one message (claim): one runs, the other is told to come back when the claim expires', async () => {
    const g = gate();
    const step = counting('racer', 'claim', { gate: g.p });
    const a = step.invoke(body('m3'));
    await until(() => runs['racer/m3'] === 1); // the first run holds the claim
    const b = await step.invoke(body('m3'));
    expect(b).toMatchObject({ ok: false, error: { class: 'transient', code: 'in_progress' } });
    expect(!b.ok && b.error.retryAfterMs).toBeGreaterThan(0);
    g.open();
    expect(await a).toMatchObject({ ok: true, replayed: false });
    expect(runs['racer/m3']).toBe(1);
  });

  it('two concurrent runs of one message (optimistic): both run, one commits, the other returns its result', async () => {
    const g = gate();
    const step = counting('opt', 'optimistic', { gate: g.p });
    const a = step.invoke(body('m4'));
    const b = step.invoke(body('m4'));
    await until(() => runs['opt/m4'] === 2); // both handlers are running
    g.open();
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra, rb].map((r) => r.ok && r.replayed).sort()).toEqual([false, true]);
    expect(ra.ok && rb.ok && ra.emit[0]!.id === rb.emit[0]!.id).toBe(true);
    expect(await effects('opt', 'm4')).toBe(1);
  });

  it('a step past its time is a transient timeout; its late commit is refused and the claim released', async () => {
    const step = counting('late', 'claim', { delayMs: 300, timeoutMs: 100 });
    expect(await step.invoke(body('m5'))).toMatchObject({ ok: false, error: { class: 'transient', code: 'timeout' } });
    await new Promise((r) => setTimeout(r, 400));
    expect(await effects('late', 'm5')).toBe(0);
    expect((await tdb.pool.query(`SELECT 1 FROM inbox WHERE consumer = 'late'`)).rows).toEqual([]);
  });
});
