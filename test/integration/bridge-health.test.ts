// Health and readiness (V7): /healthz answers while the process lives; /readyz is
// 200 only with NATS connected, Postgres answering, the S3 bucket reachable and no
// breaker open, and otherwise 503 naming what is down. Each failure is real: a
// stopped NATS server, a Postgres proxy nobody listens on, an S3 endpoint that is
// not there, a bucket that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../shared/adapters/db.ts';
import { isTransient, namedBreaker, registerBreaker } from '../../shared/adapters/resilience.ts';
import { createS3 } from '../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { healthApp } from '../../infra/bridge/health.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { startBridge, type RunningBridge } from '../faults/support/bridge.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { PrivateNats, freePort } from '../faults/support/servers.ts';
import { step as noop } from '../fixtures/functions/noop/index.ts';

interface Ready {
  ready: boolean;
  down: string[];
  checks: Record<string, { ok: boolean; detail?: string }>;
}

describe('health endpoints', () => {
  let db: TestDatabase;
  let nats: PrivateNats;
  let env: Env;
  let b: RunningBridge;
  const s3 = createS3(loadEnv());

  beforeAll(async () => {
    db = await freshDatabase();
    nats = await PrivateNats.start();
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, NATS_URL: nats.url });
    b = await startBridge(env, db, [noop]);
  });
  afterAll(async () => {
    await b?.stop();
    await nats?.stop();
    await db?.drop();
    s3.destroy();
  });

  const readyz = async (app: ReturnType<typeof healthApp>) => {
    const res = await app.request('/readyz');
    return { status: res.status, body: (await res.json()) as Ready };
  };

  it('is ready when everything answers', async () => {
    const app = healthApp({ bridge: () => b.bridge, pool: db.pool, s3, bucket: env.S3_BUCKET });
    expect((await app.request('/healthz')).status).toBe(200);
    const r = await readyz(app);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ready: true, down: [], checks: { nats: { ok: true }, postgres: { ok: true }, s3: { ok: true }, breakers: { ok: true } } });
  });

  it('is not ready while NATS is down, and ready again after it comes back', async () => {
    const app = healthApp({ bridge: () => b.bridge, pool: db.pool, s3, bucket: env.S3_BUCKET });
    await nats.down();
    const down = await waitFor('nats to be reported down', async () => {
      const r = await readyz(app);
      return r.status === 503 ? r.body : undefined;
    });
    expect(down.down).toEqual(['nats']);
    expect(down.checks.nats!.detail).toMatch(/disconnected/);
    expect((await app.request('/healthz')).status).toBe(200); // alive all the same
    await nats.up();
    await waitFor('ready again', async () => (await readyz(app)).status === 200);
  });

  it('names Postgres when it cannot be reached', async () => {
    const deadProxy = createPool({ ...env, PG_WS_PROXY: `127.0.0.1:${await freePort()}`, PG_CONNECT_TIMEOUT_MS: 500, PG_POOL_MAX: 1 });
    const r = await readyz(healthApp({ bridge: () => b.bridge, pool: deadProxy, s3, bucket: env.S3_BUCKET, timeoutMs: 1_500 }));
    expect(r.status).toBe(503);
    expect(r.body.down).toEqual(['postgres']);
    await deadProxy.end().catch(() => {});
  });

  it('names S3 when the endpoint is not there, or the bucket does not exist', async () => {
    const nowhere = createS3({ ...env, S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    const r1 = await readyz(healthApp({ bridge: () => b.bridge, pool: db.pool, s3: nowhere, bucket: env.S3_BUCKET, timeoutMs: 1_500 }));
    expect(r1.status).toBe(503);
    expect(r1.body.down).toEqual(['s3']);
    nowhere.destroy();
    const r2 = await readyz(healthApp({ bridge: () => b.bridge, pool: db.pool, s3, bucket: 'no-such-bucket-here' }));
    expect(r2.body.down).toEqual(['s3']);
    expect(r2.body.checks.s3!.detail).toMatch(/404/);
  });

  it('is not ready while the Postgres breaker is open; other open breakers are only listed', async () => {
    const app = healthApp({ bridge: () => b.bridge, pool: db.pool, s3, bucket: env.S3_BUCKET });
    const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const other = registerBreaker('some-api', { threshold: 1, halfOpenAfterMs: 10_000, handles: isTransient, maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 });
    await other.execute(refused).catch(() => {});
    let r = await readyz(app);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ breakers: { 'some-api': 'open' } });
    const pg = namedBreaker('postgres'); // the bridge's own, created by its deps
    for (let i = 0; i < 5; i++) await pg.execute(refused).catch(() => {});
    r = await readyz(app);
    expect(r.status).toBe(503);
    expect(r.body.down).toEqual(['breakers']);
    expect(r.body.checks.breakers!.detail).toBe('open: postgres');
  });

  it('is not ready while draining', async () => {
    const app = healthApp({ bridge: () => b.bridge, pool: db.pool, s3, bucket: env.S3_BUCKET });
    await b.stop();
    const r = await readyz(app);
    expect(r.status).toBe(503);
    expect(r.body.checks.nats).toEqual({ ok: false, detail: 'draining' });
  });
});
