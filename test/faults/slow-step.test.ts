// A step that runs longer than the ack wait is not redelivered while it runs:
// the bridge sends in-progress acks every ack_wait/3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from './support/bridge.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as slow } from '../fixtures/functions/slow/index.ts';

const ACK_WAIT_MS = 1_500;

describe('a step longer than the ack wait', () => {
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, BRIDGE_ACK_WAIT_MS: ACK_WAIT_MS, BRIDGE_NAK_BASE_MS: 50 });
    b = await startBridge(env, db, [slow]);
  });
  afterAll(async () => {
    await b?.stop();
    await dropStreams(env);
    await db?.drop();
  });

  it('is delivered once and runs once, though it takes four ack waits', async () => {
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [envelope('slow.requested', 'slow-1', { ms: 4 * ACK_WAIT_MS })]);
    await waitFor('the slow step to finish', async () => (await db.pool.query(`SELECT 1 FROM fixture_effects WHERE message_id = 'slow-1'`)).rows.length === 1, {
      timeoutMs: 30_000,
    });
    await waitFor('its settlement', () => b.settled.length === 1 || undefined);
    // Any redelivery would have been settled too (as "in progress elsewhere"): there was none.
    await new Promise((r) => setTimeout(r, ACK_WAIT_MS));
    expect(b.settled.map((s) => [s.deliveryCount, s.outcome])).toEqual([[1, 'acked']]);
    const c = await b.jsm.consumers.info(env.NATS_STREAM, 'fn-slow');
    expect(c.num_redelivered).toBe(0);
    expect(c.num_ack_pending).toBe(0);
    const runs = await db.pool.query(`SELECT attempt FROM fixture_runs WHERE message_id = 'slow-1'`);
    expect(runs.rows).toEqual([{ attempt: 1 }]);
  }, 40_000);
});
