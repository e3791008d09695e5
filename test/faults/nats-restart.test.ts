// A private NATS server is restarted while the bridge (a child process) works
// through a backlog: the bridge reconnects and finishes, nothing is lost, nothing
// is applied twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { spawnBridge } from './support/child.ts';
import { bridgeEnv, sleep, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { PrivateNats } from './support/servers.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const N = 2_000;

describe('NATS restarted mid-run', () => {
  let db: TestDatabase;
  let nats: PrivateNats;
  let env: Env;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    nats = await PrivateNats.start();
    env = bridgeEnv(loadEnv(), {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      BRIDGE_ACK_WAIT_MS: 3_000,
      BRIDGE_MAX_DELIVER: 20,
      BRIDGE_CONCURRENCY: 16,
    });
  });
  afterAll(async () => {
    await nc?.close().catch(() => {});
    await nats?.stop();
    await db?.drop();
  });

  it('the bridge reconnects and finishes the backlog: each message applied once, none lost', async () => {
    const effects = async () => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects`)).rows[0]!.n);
    const child = await spawnBridge(env, ['test/fixtures/functions/counter/index.ts']);
    nc = await connectBus(env, 'nats-restart-test', 'operator');
    const { js } = await jetStream(nc);
    await publishAll(js, env.NATS_SUBJECT_PREFIX, Array.from({ length: N }, (_, i) => envelope('count.requested', `n-${i}`, { emit: true })));

    await waitFor('a third of the backlog', async () => (await effects()) >= N / 3, { timeoutMs: 60_000 });
    await nats.down('SIGTERM');
    const atStop = await effects();
    await sleep(2_000);
    await nats.up();
    await waitFor(`all ${N} effects`, async () => (await effects()) >= N, { timeoutMs: 90_000, intervalMs: 200 });

    const { jsm } = await jetStream(nc);
    await waitFor('nothing pending', async () => {
      const c = await jsm.consumers.info(env.NATS_STREAM, 'fn-counter');
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, { timeoutMs: 30_000 });
    const reconnected = child.logs.some((l) => l.msg === 'NATS reconnected');
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    expect(atStop).toBeLessThan(N);
    expect(reconnected).toBe(true); // the bridge did see the outage
    const { rows } = await db.pool.query<{ total: string; distinct: string }>(`SELECT count(*) AS total, count(DISTINCT message_id) AS distinct FROM fixture_effects`);
    expect(Number(rows[0]!.total)).toBe(N);
    expect(Number(rows[0]!.distinct)).toBe(N);
    expect((await db.pool.query(`SELECT 1 FROM dead_letters`)).rows).toEqual([]);
    const info = await jsm.streams.info(env.NATS_STREAM, { subjects_filter: `${env.NATS_SUBJECT_PREFIX}.*.count.recorded` });
    expect(Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(N);
  }, 180_000);
});
