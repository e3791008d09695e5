// kill -9 of a bridge whose steps are mid-run: their inbox claims are leases
// (INBOX_LEASE_MS, renewed while a step runs), so the next bridge takes the
// redelivered messages over one lease after the crash, not when the step's
// ten-minute timeout would have run out. Each message still takes effect once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams } from './support/bridge.ts';
import { spawnBridge, type ChildBridge } from './support/child.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const K = 6;
const LENGTHY = 'test/fixtures/functions/lengthy/index.ts';
const LEASE_MS = 1_000;

describe('kill -9 with steps mid-run', () => {
  let db: TestDatabase;
  let env: Env;
  let nc: NatsConnection;
  let child: ChildBridge | undefined;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, INBOX_LEASE_MS: LEASE_MS, BRIDGE_ACK_WAIT_MS: 2_000, BRIDGE_NAK_BASE_MS: 100, BRIDGE_NAK_MAX_MS: 500 });
    nc = await connectBus(env, 'kill9-lease-test', 'operator');
  });
  afterAll(async () => {
    // A failed assertion must not leave a bridge process behind.
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await nc?.close();
    await dropStreams(env);
    await db?.drop();
  });

  it("takes over the dead bridge's claims after one lease; every message takes effect once", async () => {
    const q = async <T extends Record<string, unknown>>(sql: string) => (await db.pool.query<T>(sql)).rows;
    child = await spawnBridge(env, [LENGTHY], { BRIDGE_INSTANCE_ID: 'run-0' });
    const { js } = await jetStream(nc);
    // Each run works for 4 leases: only the heartbeat keeps its claim.
    await publishAll(js, env.NATS_SUBJECT_PREFIX, Array.from({ length: K }, (_, i) => envelope('lengthy.requested', `l-${i}`, { ms: 4 * LEASE_MS })));
    await waitFor(`${K} runs to start`, async () => Number((await q<{ n: string }>(`SELECT count(*) AS n FROM fixture_runs`))[0]!.n) === K, { timeoutMs: 30_000 });

    // The claims are leases, not the step's 10 min (+ margin) timeout.
    const claims = await q<{ status: string; lease_ok: boolean }>(
      `SELECT status, in_progress_until <= now() + interval '${2 * LEASE_MS} milliseconds' AS lease_ok FROM inbox WHERE consumer = 'lengthy'`,
    );
    expect(claims).toHaveLength(K);
    for (const c of claims) expect(c).toEqual({ status: 'in_progress', lease_ok: true });

    child.proc.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    child = await spawnBridge(env, [LENGTHY], { BRIDGE_INSTANCE_ID: 'run-1' });
    // Well inside the dead runs' ten minutes: only lapsed leases let run-1 in.
    await waitFor(`${K} effects`, async () => Number((await q<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects`))[0]!.n) === K, { timeoutMs: 90_000, intervalMs: 250 });
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    const effects = await q<{ message_id: string; handled_by: string }>(`SELECT message_id, handled_by FROM fixture_effects ORDER BY message_id`);
    expect(effects.map((e) => e.message_id)).toEqual(Array.from({ length: K }, (_, i) => `l-${i}`).sort());
    expect(new Set(effects.map((e) => e.handled_by))).toEqual(new Set(['run-1']));
    // Every message ran once in the dead bridge and once in its successor: the take-over, not a second run alongside.
    const runs = await q<{ message_id: string; by: string[] }>(`SELECT message_id, array_agg(handled_by ORDER BY at) AS by FROM fixture_runs GROUP BY message_id`);
    for (const r of runs) expect(r.by).toEqual(['run-0', 'run-1']);
    expect(await q(`SELECT 1 FROM inbox WHERE consumer = 'lengthy' AND status <> 'completed'`)).toHaveLength(0);
    expect(await q(`SELECT 1 FROM dead_letters`)).toHaveLength(0);
  }, 180_000);
});
