// Circuit breakers (V4) around S3 and Postgres, with the real servers behind a
// TCP forwarder the test can cut: consecutive connection failures open the
// breaker, calls then fail fast without touching the network, and after the
// half-open delay one probe closes it again. The LLM wrapper is checked against a
// scripted model (the LLM is the one thing tests replace). OpenFGA's breaker is in
// shared/adapters/authz.ts, with its own tests.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../shared/adapters/db.ts';
import { BrokenCircuitError, breakerStates, dependencyFailure, namedBreaker, registerBreaker } from '../../shared/adapters/resilience.ts';
import { createS3 } from '../../shared/adapters/s3.ts';
import { loadEnv } from '../../shared/config.ts';
import { classify } from '../../shared/contract/errors.ts';
import { guardMethods, guardPool, guardS3 } from '../../shared/runtime/guarded.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';

/** Forwards 127.0.0.1:<port> to a target; cut() refuses connections and drops open ones. */
class Forwarder {
  #server: Server | undefined;
  #sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}
  static async start(target: { host: string; port: number }): Promise<Forwarder> {
    const probe = createServer();
    const port = await new Promise<number>((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as { port: number }).port)));
    await new Promise((r) => probe.close(r));
    const f = new Forwarder(port, target);
    await f.open();
    return f;
  }
  async open(): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(this.target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.#server!.listen(this.port, '127.0.0.1', () => r()));
  }
  async cut(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server!.close(r));
  }
}

const events = (name: string) => {
  const seen: string[] = [];
  const b = namedBreaker(name);
  b.onBreak(() => seen.push('open'));
  b.onHalfOpen(() => seen.push('half-open'));
  b.onReset(() => seen.push('closed'));
  return seen;
};

describe('circuit breakers', () => {
  const env = loadEnv();

  it('S3: opens after consecutive failures, fails fast while open, closes after a good probe', async () => {
    const minio = new URL(env.S3_ENDPOINT);
    const fwd = await Forwarder.start({ host: minio.hostname, port: Number(minio.port) });
    const raw = createS3({ ...env, S3_ENDPOINT: `http://127.0.0.1:${fwd.port}` });
    let sent = 0;
    raw.middlewareStack.add((next) => (args) => (sent++, next(args)), { step: 'initialize' });
    const s3 = guardS3(raw, { threshold: 3, halfOpenAfterMs: 300, maxAttempts: 1 }, 's3-test');
    const seen = events('s3-test');
    const list = () => s3.send(new ListObjectsV2Command({ Bucket: env.S3_BUCKET, MaxKeys: 1 }));

    await list(); // healthy
    await fwd.cut();
    for (let i = 0; i < 3; i++) expect(classify(await list().catch((e: unknown) => e)).errorClass).toBe('transient');
    expect(seen).toEqual(['open']);
    expect(breakerStates()['s3-test']).toBe('open');
    const before = sent;
    const fast = await list().catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(BrokenCircuitError);
    expect(classify(fast)).toMatchObject({ errorClass: 'transient', code: 'breaker_open' });
    expect(sent).toBe(before); // the call never reached the client

    await fwd.open();
    await new Promise((r) => setTimeout(r, 350));
    await list(); // the half-open probe succeeds
    expect(seen).toEqual(['open', 'half-open', 'closed']);
    expect(breakerStates()['s3-test']).toBe('closed');
    await fwd.cut();
    raw.destroy();
  });

  describe('Postgres', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await freshDatabase();
    });
    afterAll(async () => db?.drop());

    it('opens when the database cannot be reached and closes once it can', async () => {
      const proxy = new URL(`ws://${env.PG_WS_PROXY}`);
      const fwd = await Forwarder.start({ host: proxy.hostname, port: Number(proxy.port) });
      const pool = createPool({ ...db.env, PG_WS_PROXY: `127.0.0.1:${fwd.port}`, PG_CONNECT_TIMEOUT_MS: 1_000, PG_POOL_MAX: 2 });
      const pg = guardPool(pool, { threshold: 3, halfOpenAfterMs: 300, maxAttempts: 1 }, 'pg-test');
      const seen = events('pg-test');
      try {
        expect((await pg.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
        await fwd.cut();
        for (let i = 0; i < 3; i++) expect(classify(await pg.query('SELECT 1').catch((e: unknown) => e)).errorClass).toBe('transient');
        expect(seen).toEqual(['open']);
        expect(await pg.transaction(async () => 1).catch((e: unknown) => e)).toBeInstanceOf(BrokenCircuitError);
        await fwd.open();
        await new Promise((r) => setTimeout(r, 350));
        expect(await pg.transaction(async (tx) => (await tx.query<{ two: number }>('SELECT 2 AS two')).rows[0]!.two)).toBe(2);
        expect(seen).toEqual(['open', 'half-open', 'closed']);
      } finally {
        await fwd.cut();
        await pool.end().catch(() => {});
      }
    });

    it('a constraint violation neither retries nor counts against the breaker', async () => {
      const pg = guardPool(db.pool, { threshold: 1, maxAttempts: 3 }, 'pg-constraint');
      await pg.query('CREATE TABLE once (id int PRIMARY KEY)');
      await pg.query('INSERT INTO once VALUES (1)');
      for (let i = 0; i < 3; i++) expect(classify(await pg.query('INSERT INTO once VALUES (1)').catch((e: unknown) => e)).errorClass).toBe('permanent');
      expect(breakerStates()['pg-constraint']).toBe('closed');
    });
  });

  it('LLM: the wrapper a model adapter uses opens on provider failures and stops calling it', async () => {
    let calls = 0;
    let up = false;
    const model = {
      provider: 'scripted',
      async doGenerate(prompt: string) {
        calls++;
        if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:11434'), { code: 'ECONNREFUSED' });
        return `echo ${prompt}`;
      },
    };
    registerBreaker('llm-test', { threshold: 2, halfOpenAfterMs: 200, handles: dependencyFailure, maxAttempts: 1, initialDelayMs: 50, maxDelayMs: 1_000 });
    const llm = guardMethods('llm-test', model, ['doGenerate']);
    const seen = events('llm-test');
    for (let i = 0; i < 2; i++) await expect(llm.doGenerate('x')).rejects.toThrow(/ECONNREFUSED/);
    await expect(llm.doGenerate('x')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(2);
    expect(llm.provider).toBe('scripted'); // everything else passes through
    up = true;
    await new Promise((r) => setTimeout(r, 250));
    expect(await llm.doGenerate('y')).toBe('echo y');
    expect(seen).toEqual(['open', 'half-open', 'closed']);
  });
});
