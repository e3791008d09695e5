// The bridge as a process (`node --import tsx infra/bridge/main.ts`):
//   - SIGTERM / SIGINT (V3): no new fetches, in-flight steps finish and are acked,
//     connections close, exit 0; past the grace period exit 1 and the unfinished
//     messages come back to the next bridge;
//   - its health endpoints answer over HTTP;
//   - two bridges on the same consumers share the work, no message handled twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type JetStreamClient, type JetStreamManager, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams } from '../faults/support/bridge.ts';
import { spawnBridge } from '../faults/support/child.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { envelope, publishAll } from '../faults/support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const SLOW = 'test/fixtures/functions/slow/index.ts';
const COUNTER = 'test/fixtures/functions/counter/index.ts';

describe('bridge process', () => {
  let db: TestDatabase;
  let env: Env;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const n = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql)).rows[0]!.n);

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, BRIDGE_CONCURRENCY: 4, BRIDGE_BATCH: 2, BRIDGE_ACK_WAIT_MS: 3_000 });
    nc = await connectBus(env, 'bridge-process-test', 'operator');
    ({ js, jsm } = await jetStream(nc));
  });
  afterAll(async () => {
    await nc?.close();
    await dropStreams(env);
    await db?.drop();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('on %s stops fetching, finishes and acks what is in flight, and exits 0', async (signal) => {
    const runsBefore = await n(`SELECT count(*) AS n FROM fixture_runs`);
    const effectsBefore = await n(`SELECT count(*) AS n FROM fixture_effects`);
    const child = await spawnBridge(env, [SLOW]);
    const port = await child.healthPort();
    // Loopback unless BRIDGE_HEALTH_HOST says otherwise: readiness details are not for other hosts.
    expect(child.logs.find((l) => l.msg === 'health endpoints listening')).toMatchObject({ address: '127.0.0.1', port });
    const ready = await waitFor('readiness', async () => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return r.status === 200 ? ((await r.json()) as { checks: Record<string, { ok: boolean }> }) : undefined;
    });
    expect(Object.keys(ready.checks).sort()).toEqual(['breakers', 'nats', 'postgres', 's3']);

    await publishAll(js, env.NATS_SUBJECT_PREFIX, Array.from({ length: 10 }, (_, i) => envelope('slow.requested', `${signal}-${i}`, { ms: 1_500 })));
    // Four steps running (the concurrency), six waiting in the stream.
    await waitFor('4 steps in flight', async () => (await n(`SELECT count(*) AS n FROM fixture_runs`)) - runsBefore === 4);
    child.proc.kill(signal);
    const exit = await child.exited;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.logs.find((l) => l.msg === 'stopped')).toMatchObject({ clean: true });
    expect((await n(`SELECT count(*) AS n FROM fixture_runs`)) - runsBefore).toBe(4); // nothing new fetched
    expect((await n(`SELECT count(*) AS n FROM fixture_effects`)) - effectsBefore).toBe(4); // in-flight finished
    const c = await jsm.consumers.info(env.NATS_STREAM, 'fn-slow');
    expect(c.num_ack_pending).toBe(0); // and acked, not left to time out
    expect(c.num_redelivered).toBe(0);
    expect(c.num_pending).toBe(6);
    // Let the next test start from an empty consumer.
    const next = await spawnBridge(env, [SLOW]);
    await waitFor('the rest', async () => (await jsm.consumers.info(env.NATS_STREAM, 'fn-slow')).num_pending === 0 && (await n(`SELECT count(*) AS n FROM fixture_effects`)) - effectsBefore === 10);
    next.proc.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  }, 60_000);

  it('past the grace period exits 1; the unfinished messages are redelivered to the next bridge', async () => {
    const child = await spawnBridge({ ...env, BRIDGE_SHUTDOWN_GRACE_MS: 200 }, [SLOW]);
    await publishAll(js, env.NATS_SUBJECT_PREFIX, [envelope('slow.requested', 'grace-1', { ms: 4_000 })]);
    await waitFor('the step to start', async () => (await n(`SELECT count(*) AS n FROM fixture_runs WHERE message_id = 'grace-1'`)) === 1);
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(1);
    expect(await n(`SELECT count(*) AS n FROM fixture_effects WHERE message_id = 'grace-1'`)).toBe(0);
    // The cancelled step gave its claim back: the next bridge need not wait for it to expire.
    expect(await n(`SELECT count(*) AS n FROM inbox WHERE message_id = 'grace-1'`)).toBe(0);
    const next = await spawnBridge(env, [SLOW]);
    await waitFor('the redelivered step to finish', async () => (await n(`SELECT count(*) AS n FROM fixture_effects WHERE message_id = 'grace-1'`)) === 1, { timeoutMs: 30_000 });
    next.proc.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  }, 60_000);

  it('two bridges on the same consumer share the work and handle no message twice', async () => {
    const N = 3_000;
    const scaleEnv = { ...env, BRIDGE_CONCURRENCY: 16, BRIDGE_BATCH: 10 };
    const a = await spawnBridge(scaleEnv, [COUNTER], { BRIDGE_INSTANCE_ID: 'bridge-a' });
    const b = await spawnBridge(scaleEnv, [COUNTER], { BRIDGE_INSTANCE_ID: 'bridge-b' });
    await publishAll(js, env.NATS_SUBJECT_PREFIX, Array.from({ length: N }, (_, i) => envelope('count.requested', `x-${i}`, { trackRuns: true })));
    await waitFor(`${N} effects`, async () => (await n(`SELECT count(*) AS n FROM fixture_effects WHERE fn = 'counter'`)) >= N, { timeoutMs: 90_000, intervalMs: 200 });
    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    expect([(await a.exited).code, (await b.exited).code]).toEqual([0, 0]);

    const { rows } = await db.pool.query<{ handled_by: string; effects: string; distinct: string }>(
      `SELECT handled_by, count(*) AS effects, count(DISTINCT message_id) AS distinct FROM fixture_effects WHERE fn = 'counter' GROUP BY handled_by ORDER BY handled_by`,
    );
    expect(rows.map((r) => r.handled_by)).toEqual(['bridge-a', 'bridge-b']); // both did work
    expect(await n(`SELECT count(*) AS n FROM fixture_effects WHERE fn = 'counter'`)).toBe(N);
    expect(await n(`SELECT count(DISTINCT message_id) AS n FROM fixture_effects WHERE fn = 'counter'`)).toBe(N);
    // The handler itself ran once per message: no message was handed to both bridges.
    // (A failure names the runs: seen once in CI, a step's first run timing out while
    // it opened its pool connection, before the bridge warmed the pool at start.)
    const twice = await db.pool.query(
      `SELECT message_id, attempt, handled_by, at FROM fixture_runs WHERE fn = 'counter'
          AND message_id IN (SELECT message_id FROM fixture_runs WHERE fn = 'counter' GROUP BY 1 HAVING count(*) > 1) ORDER BY 1, 4`,
    );
    expect(twice.rows).toEqual([]);
    expect(await n(`SELECT count(*) AS n FROM fixture_runs WHERE fn = 'counter'`)).toBe(N);
    console.info(`scale-out: ${rows.map((r) => `${r.handled_by}=${r.effects}`).join(', ')}`);
  }, 120_000);
});
