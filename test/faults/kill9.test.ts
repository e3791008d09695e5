// kill -9 of the bridge process at random moments while 5,000 messages flow,
// three times: every message's effect is applied exactly once and none is lost.
// The counter's effect is a plain INSERT with no unique key, so a message applied
// twice would show as two rows; only the inbox prevents it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams } from './support/bridge.ts';
import { spawnBridge } from './support/child.ts';
import { bridgeEnv, sleep, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const N = 5_000;
const COUNTER = 'test/fixtures/functions/counter/index.ts';

describe('kill -9 of the bridge while 5,000 messages flow', () => {
  let db: TestDatabase;
  let env: Env;
  let nc: NatsConnection;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), {
      DATABASE_URL: db.url,
      BRIDGE_ACK_WAIT_MS: 2_000,
      BRIDGE_MAX_DELIVER: 20,
      BRIDGE_NAK_BASE_MS: 100,
      BRIDGE_NAK_MAX_MS: 1_000,
      BRIDGE_CONCURRENCY: 32,
      BRIDGE_MAX_IN_FLIGHT: 64,
    });
    nc = await connectBus(env, 'kill9-test', 'operator');
  });
  afterAll(async () => {
    await nc?.close();
    await dropStreams(env);
    await db?.drop();
  });

  it('applies every message exactly once across three SIGKILLs, and emits each follow-up once', async () => {
    const effects = async () => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects`)).rows[0]!.n);
    let child = await spawnBridge(env, [COUNTER], { BRIDGE_INSTANCE_ID: 'run-0' });
    const { js, jsm } = await jetStream(nc);
    // Messages keep arriving while the bridge is killed and restarted; each one
    // also emits a follow-up, published before the ack.
    const publishing = publishAll(
      js,
      env.NATS_SUBJECT_PREFIX,
      Array.from({ length: N }, (_, i) => envelope('count.requested', `k-${i}`, { emit: true }, `s${i % 7}`)),
      64,
    );

    // Kill k lands at a random point of the k-th fifth of the run, plus a random
    // few milliseconds so it can hit any stage of a message (claim, commit, publish, ack).
    const kills: { target: number; effectsBefore: number }[] = [];
    for (let k = 1; k <= 3; k++) {
      const target = Math.floor(((k - 1 + Math.random()) * N) / 5);
      await waitFor(`${target} effects`, async () => (await effects()) >= target, { timeoutMs: 60_000, intervalMs: 20 });
      await sleep(Math.floor(Math.random() * 50));
      child.proc.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal).toBe('SIGKILL');
      kills.push({ target, effectsBefore: await effects() });
      child = await spawnBridge(env, [COUNTER], { BRIDGE_INSTANCE_ID: `run-${k}` });
    }
    await publishing;
    await waitFor(`${N} effects`, async () => (await effects()) >= N, { timeoutMs: 120_000, intervalMs: 250 });
    // Let redeliveries of anything that was in flight at a kill come and go.
    await waitFor(
      'the consumer to have nothing pending',
      async () => {
        const c = await jsm.consumers.info(env.NATS_STREAM, 'fn-counter');
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    // The kills must land mid-flow for the test to mean anything.
    for (const k of kills) expect(k.effectsBefore).toBeLessThan(N);
    const { rows } = await db.pool.query<{ total: string; distinct: string; runs: string }>(
      `SELECT count(*) AS total, count(DISTINCT message_id) AS distinct, count(DISTINCT handled_by) AS runs FROM fixture_effects`,
    );
    expect(Number(rows[0]!.total)).toBe(N);
    expect(Number(rows[0]!.distinct)).toBe(N);
    expect(Number(rows[0]!.runs)).toBeGreaterThanOrEqual(2);
    expect(Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM dead_letters`)).rows[0]!.n)).toBe(0);
    // Every follow-up exactly once in the stream: replays after a kill republished
    // them with the same Nats-Msg-Id and JetStream dropped the copies.
    const info = await jsm.streams.info(env.NATS_STREAM, { subjects_filter: `${env.NATS_SUBJECT_PREFIX}.*.count.recorded` });
    const followUps = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    expect(followUps).toBe(N);
    console.info(`kill -9 test: kills ${JSON.stringify(kills)}`);
  }, 240_000);
});
