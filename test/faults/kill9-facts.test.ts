// kill -9 of the bridge (every swarm function) twice while a burst of documents into
// one scope is being digested in batches (functions/facts: staged, then merged by
// whoever holds the scope's lock). Nothing is lost and nothing is merged twice: one
// context-log entry and one facts_documents row per document, the queue empty, every
// message's facts inbox record completed, no dead letter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthzAdmin } from '../../shared/adapters/authz.ts';
import { connectBus, jetStream, type NatsConnection } from '../../shared/adapters/bus.ts';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { ensureScope } from '../../shared/usecases/scopes.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';
import { documents, publishTimed } from '../bench/suites/scopes.ts';
import { dropStreams } from './support/bridge.ts';
import { spawnBridge } from './support/child.ts';
import { bridgeEnv, waitFor } from './support/env.ts';

const N = 48;

describe('kill -9 of the bridge while a burst into one scope is digested', () => {
  let db: TestDatabase;
  let env: Env;
  let nc: NatsConnection;

  beforeAll(async () => {
    db = await freshDatabase();
    env = bridgeEnv(loadEnv(), {
      DATABASE_URL: db.url,
      S3_BUCKET: uniq('k9f-'),
      BRIDGE_ACK_WAIT_MS: 5_000,
      BRIDGE_MAX_DELIVER: 100,
      // The swarm's own bus identities, as in production.
      BRIDGE_NATS_IDENTITY: 'bridge',
      BRIDGE_STEP_IDENTITIES: true,
      BRIDGE_TICK_MS: 0,
      INBOX_LEASE_MS: 3_000,
      FACTS_DIGEST_BATCH: 8,
    });
    await ensureBucket(createS3(env), env.S3_BUCKET);
    nc = await connectBus(env, 'kill9-facts-test', 'operator');
  });
  afterAll(async () => {
    await nc?.close();
    await dropStreams(env);
    await db?.drop();
  });

  it('loses no document and merges none twice across two SIGKILLs mid-batch', async () => {
    const scope = uniq('k9f-');
    await ensureScope(guardPool(db.pool, undefined, uniq('k9f-pg-')), createAuthzAdmin(env), { scope });
    const n = async (sql: string) => Number((await db.pool.query<{ n: string }>(sql, [scope])).rows[0]!.n);
    const merged = () => n(`SELECT count(*) AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`);

    let child = await spawnBridge(env, [], { BRIDGE_INSTANCE_ID: 'k9f-0' });
    const { js, jsm } = await jetStream(nc);
    const envs = documents([scope], uniq(''), N);
    await publishTimed(js, env.NATS_SUBJECT_PREFIX, envs, new Map());

    const kills: number[] = [];
    for (const [k, at] of [0.25, 0.6].entries()) {
      await waitFor(`${at * N} documents merged`, async () => (await merged()) >= at * N, { timeoutMs: 120_000, intervalMs: 20 });
      child.proc.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      kills.push(await merged());
      child = await spawnBridge(env, [], { BRIDGE_INSTANCE_ID: `k9f-${k + 1}` });
    }
    await waitFor(`${N} documents merged`, async () => (await merged()) >= N, { timeoutMs: 180_000, intervalMs: 250 });
    await waitFor(
      'every facts message settled',
      async () => {
        const c = await jsm.consumers.info(env.NATS_STREAM, 'fn-facts');
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    child.proc.kill('SIGTERM');
    await child.exited;

    for (const k of kills) expect(k).toBeLessThan(N);
    expect(await merged()).toBe(N);
    expect(await n(`SELECT count(DISTINCT message_id) AS n FROM context_log WHERE scope_id = $1 AND kind = 'context_doc'`)).toBe(N);
    expect(await n(`SELECT count(*) AS n FROM facts_documents WHERE scope_id = $1`)).toBe(N);
    expect(await n(`SELECT count(*) AS n FROM facts_queue WHERE scope_id = $1`)).toBe(0);
    const ids = envs.map((e) => e.id);
    const done = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM inbox WHERE consumer = 'facts' AND status = 'completed' AND message_id = ANY($1)`, [ids]);
    expect(Number(done.rows[0]!.n)).toBe(N);
    expect(await n(`SELECT count(*) AS n FROM dead_letters WHERE $1::text IS NOT NULL`)).toBe(0);
    // The kills hit batched merges: some run merged documents other messages had staged.
    expect(await n(`SELECT count(*) AS n FROM inbox WHERE scope_id = $1 AND consumer = 'facts' AND (result->'result'->>'digested')::int > 1`)).toBeGreaterThan(0);
    console.info(`kill -9 facts test: merged at the kills ${JSON.stringify(kills)}`);
  }, 420_000);
});
