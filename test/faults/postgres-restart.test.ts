// A private Postgres is restarted while the bridge works: steps fail, the bridge
// naks them with backoff, the "postgres" breaker opens (calls fail fast,
// readiness reports it) and closes again once Postgres is back; every message is
// applied exactly once and none is dead-lettered.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../shared/adapters/db.ts';
import { namedBreaker } from '../../shared/adapters/resilience.ts';
import { createS3 } from '../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { createDeps, type Deps } from '../../shared/runtime/deps.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { migrate } from '../../infra/migrate.ts';
import { healthApp } from '../../infra/bridge/health.ts';
import { dropStreams, startBridge, type RunningBridge } from './support/bridge.ts';
import { bridgeEnv, sleep, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { PrivatePostgres } from './support/servers.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as counter } from '../fixtures/functions/counter/index.ts';

const N = 1_500;

describe('Postgres restarted mid-run', () => {
  let pg: PrivatePostgres;
  let env: Env;
  let deps: Deps;
  let b: RunningBridge;
  const assertPool = () => deps.db.pool;

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
    const base = { ...loadEnv(), ...pg.env, PG_CONNECT_TIMEOUT_MS: 2_000, PG_POOL_MAX: 6 };
    await migrate(base);
    env = bridgeEnv(base, { BRIDGE_MAX_DELIVER: 30, BRIDGE_NAK_BASE_MS: 200, BRIDGE_NAK_MAX_MS: 2_000, BRIDGE_CONCURRENCY: 8 });
    deps = createDeps({ env, db: guardPool(createPool(env)) });
    await createFixtureTables(deps.db.pool);
  }, 120_000);
  afterAll(async () => {
    await b?.stop();
    await deps?.db.pool.end().catch(() => {});
    await dropStreams(env);
    await pg?.stop();
  });

  it('retries with backoff, opens and closes the breaker, loses nothing, applies nothing twice', async () => {
    const events: string[] = [];
    const breaker = namedBreaker('postgres');
    breaker.onBreak(() => events.push('open'));
    breaker.onReset(() => events.push('closed'));
    const s3 = createS3(env);
    await s3.send(new HeadBucketCommand({ Bucket: env.S3_BUCKET }));
    const health = healthApp({ bridge: () => b?.bridge, pool: assertPool(), s3, bucket: env.S3_BUCKET, timeoutMs: 1_000 });
    const effects = async () => Number((await assertPool().query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects`)).rows[0]!.n);

    b = await startBridge(env, undefined, [counter], { deps });
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, Array.from({ length: N }, (_, i) => envelope('count.requested', `pg-${i}`)));
    await waitFor('a fifth of the backlog', async () => (await effects()) >= N / 5, { timeoutMs: 60_000 });

    await pg.down('fast');
    const ready = await waitFor('/readyz to report postgres down', async () => {
      const res = await health.request('/readyz');
      const body = (await res.json()) as { down: string[] };
      return res.status === 503 && body.down.includes('postgres') ? body : undefined;
    });
    await waitFor('the postgres breaker to open', () => events.includes('open'));
    expect((await (await health.request('/readyz')).json()) as object).toMatchObject({ breakers: { postgres: 'open' } });
    await sleep(1_000);
    await pg.up();

    await waitFor(`all ${N} effects`, async () => (await effects()) >= N, { timeoutMs: 120_000, intervalMs: 250 });
    await waitFor('the breaker to close again', () => events.lastIndexOf('closed') > events.indexOf('open'));
    await waitFor('/readyz to be 200 again', async () => (await health.request('/readyz')).status === 200);

    expect(ready.down).toContain('postgres');
    const retried = b.settled.filter((s) => s.outcome === 'nakked');
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.some((s) => s.error?.code === 'breaker_open')).toBe(true); // failing fast while open
    const { rows } = await assertPool().query<{ total: string; distinct: string; retried: string }>(
      `SELECT count(*) AS total, count(DISTINCT message_id) AS distinct, count(*) FILTER (WHERE attempt > 1) AS retried FROM fixture_effects`,
    );
    expect(Number(rows[0]!.total)).toBe(N);
    expect(Number(rows[0]!.distinct)).toBe(N);
    expect(Number(rows[0]!.retried)).toBeGreaterThan(0);
    expect((await assertPool().query(`SELECT 1 FROM dead_letters`)).rows).toEqual([]);
    s3.destroy();
  }, 240_000);
});
