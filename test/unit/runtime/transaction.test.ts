// The one transaction helper (shared/adapters/db.ts withTransaction), which the guarded
// pool and the stores' inTransaction both run: what it sends, and when the connection
// goes back to the pool broken instead of being reused.
import type { Pool, PoolClient } from '@neondatabase/serverless';
import { describe, expect, it } from 'vitest';
import { withTransaction, type Tx } from '../../../shared/adapters/db.ts';
import { guardPool } from '../../../shared/runtime/guarded.ts';

function fakePool(failOn: (sql: string) => unknown = () => undefined) {
  const sent: string[] = [];
  const released: boolean[] = [];
  const client = {
    query: async (sql: string) => {
      sent.push(sql);
      const err = failOn(sql);
      if (err) throw err;
      return { rows: [], rowCount: 0 };
    },
    on: () => client,
    off: () => client,
    release: (broken?: boolean) => void released.push(Boolean(broken)),
  };
  const pool = { connect: async () => client as unknown as PoolClient } as unknown as Pool;
  return { pool, sent, released };
}

const pgError = (code: string) => Object.assign(new Error(code), { code });

describe('withTransaction', () => {
  it('BEGIN, the body, COMMIT; the connection is reused', async () => {
    const f = fakePool();
    expect(await withTransaction(f.pool, async (tx) => (await tx.query('INSERT 1'), 'done'))).toBe('done');
    expect(f.sent).toEqual(['BEGIN', 'INSERT 1', 'COMMIT']);
    expect(f.released).toEqual([false]);
  });

  it("a constraint violation rolls back and reports the body's error; the connection is still good", async () => {
    const f = fakePool((sql) => (sql === 'INSERT dup' ? pgError('23505') : undefined));
    await expect(withTransaction(f.pool, (tx) => tx.query('INSERT dup'))).rejects.toMatchObject({ code: '23505' });
    expect(f.sent).toEqual(['BEGIN', 'INSERT dup', 'ROLLBACK']);
    expect(f.released).toEqual([false]);
  });

  it('a lost connection, or one that cannot roll back, is released broken', async () => {
    const lost = fakePool((sql) => (sql === 'INSERT 1' ? pgError('ECONNRESET') : undefined));
    await expect(withTransaction(lost.pool, (tx) => tx.query('INSERT 1'))).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(lost.released).toEqual([true]);

    const stuck = fakePool((sql) => (sql === 'INSERT dup' ? pgError('23505') : sql === 'ROLLBACK' ? new Error('socket closed') : undefined));
    await expect(withTransaction(stuck.pool, (tx) => tx.query('INSERT dup'))).rejects.toMatchObject({ code: '23505' });
    expect(stuck.released).toEqual([true]);
  });

  it('the guarded pool runs the same helper behind its breaker', async () => {
    const f = fakePool();
    const db = guardPool(f.pool, { maxAttempts: 1 }, 'unit-transaction');
    await db.transaction((tx) => tx.query('UPDATE 1'));
    expect(f.sent).toEqual(['BEGIN', 'UPDATE 1', 'COMMIT']);
    expect(f.released).toEqual([false]);
  });
});

describe('Tx, the transaction handle', () => {
  it('is what the helper hands its body, and a pool is not one (the last line is checked by tsc --noEmit)', async () => {
    const f = fakePool();
    const takesTx = (tx: Tx) => tx.query('SELECT 1');
    await withTransaction(f.pool, takesTx);
    expect(f.sent).toEqual(['BEGIN', 'SELECT 1', 'COMMIT']);
    // A store function given a pool would run each statement in a transaction of its own.
    // @ts-expect-error a Pool is not a Tx
    const misuse = () => takesTx(f.pool);
    expect(misuse).toBeTypeOf('function');
  });
});
