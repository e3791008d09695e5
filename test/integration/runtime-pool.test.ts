// Bounded Postgres pool with connect and statement timeouts (V8), through the
// Neon driver: never more server connections than PG_POOL_MAX however many
// queries wait; a statement past PG_STATEMENT_TIMEOUT_MS is cancelled by the
// server (a transient error); a proxy that never answers fails the connect.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, warmPool } from '../../shared/adapters/db.ts';
import { startWsProxy } from '../../infra/wsproxy/wsproxy.ts';
import { classify } from '../../shared/contract/errors.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';

describe('Postgres pool limits', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => db?.drop());

  it('opens at most PG_POOL_MAX connections, however many queries are waiting', async () => {
    const pool = createPool({ ...db.env, PG_POOL_MAX: 3 });
    try {
      const pids = await Promise.all(
        Array.from({ length: 12 }, () => pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.1)').then((r) => r.rows[0]!.pid)),
      );
      expect(new Set(pids).size).toBe(3);
      const { rows } = await db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid = ANY($2::int[])`,
        [db.name, [...new Set(pids)]],
      );
      expect(Number(rows[0]!.n)).toBe(3);
    } finally {
      await pool.end();
    }
  });

  it('a lost connection reported by any pooled client, checked out or not, does not crash the process', async () => {
    const pool = createPool(db.env);
    try {
      // Checked out by code that did not listen (a migration, a future caller): the server's
      // "terminating connection" on a restart would be an uncaught 'error' event.
      const client = await pool.connect();
      const lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      expect(() => client.emit('error', lost)).not.toThrow();
      client.release(true);
    } finally {
      await pool.end();
    }
  });

  it('cancels a statement that runs past PG_STATEMENT_TIMEOUT_MS, as a transient error', async () => {
    const pool = createPool({ ...db.env, PG_STATEMENT_TIMEOUT_MS: 200, PG_POOL_MAX: 1 });
    try {
      const err = await pool.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('57014'); // query_canceled: statement timeout
      expect(classify(err).errorClass).toBe('transient');
      // The connection is still good for the next statement.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('keeps each pool on its own proxy: a second proxy in the process does not redirect the first pool', async () => {
    const target = new URL(db.url);
    const own = await startWsProxy({ port: 0, allow: [`${target.hostname}:${target.port}`] });
    const ownPort = (own.address() as { port: number }).port;
    const a = createPool({ ...db.env, PG_POOL_MAX: 1 });
    const b = createPool({ ...db.env, PG_WS_PROXY: `127.0.0.1:${ownPort}`, PG_POOL_MAX: 1, PG_CONNECT_TIMEOUT_MS: 1_000 });
    try {
      expect((await b.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
      // Close the second proxy: the second pool loses its way in, the first does not.
      await b.end();
      await new Promise<void>((r) => own.close(() => r()));
      const c = createPool({ ...db.env, PG_WS_PROXY: `127.0.0.1:${ownPort}`, PG_POOL_MAX: 1, PG_CONNECT_TIMEOUT_MS: 1_000 });
      expect(await c.query('SELECT 1').then(() => 'connected', () => 'refused')).toBe('refused');
      await c.end().catch(() => {});
      expect((await a.query<{ two: number }>('SELECT 2 AS two')).rows[0]!.two).toBe(2);
    } finally {
      await a.end();
    }
  });

  it('gives up connecting after PG_CONNECT_TIMEOUT_MS when the other end never answers', async () => {
    // Accepts TCP connections and never says a word.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const pool = createPool({ ...db.env, PG_WS_PROXY: `127.0.0.1:${port}`, PG_CONNECT_TIMEOUT_MS: 300, PG_POOL_MAX: 1 });
    try {
      const err = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/timeout/i);
      expect(classify(err).errorClass).toBe('transient');
    } finally {
      await pool.end().catch(() => {});
      silent.close();
    }
  });

  it('warmPool opens the connections before any step needs them, and reports an unreachable database instead of throwing', async () => {
    const pool = createPool({ ...db.env, PG_POOL_MAX: 4 });
    try {
      expect(await warmPool(pool, 4)).toEqual({ opened: 4 });
      expect([pool.totalCount, pool.idleCount]).toEqual([4, 4]);
      // The next four queries find a connection waiting: no new server connection is made.
      const pids = await Promise.all(Array.from({ length: 4 }, () => pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)').then((r) => r.rows[0]!.pid)));
      expect(new Set(pids).size).toBe(4);
      expect(pool.totalCount).toBe(4);
    } finally {
      await pool.end();
    }
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const down = createPool({ ...db.env, PG_WS_PROXY: `127.0.0.1:${(silent.address() as { port: number }).port}`, PG_CONNECT_TIMEOUT_MS: 300, PG_POOL_MAX: 2 });
    try {
      const r = await warmPool(down, 2);
      expect(r.opened).toBe(0);
      expect((r.error as Error).message).toMatch(/timeout/i);
    } finally {
      await down.end().catch(() => {});
      silent.close();
    }
  });
});
