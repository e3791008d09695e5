// Retry budgets in time, per retry kind (infra/bridge/retry-budget.ts): a lost
// race (contention) is retried for as long as it takes and never dead-letters;
// a dependency outage spends only the outage budget; a failure of the message
// itself is dead-lettered with `retry_budget_exhausted` once the retry budget is
// spent, however few deliveries that took. The deliveries cap is the schema's
// default here (a safety net far above these counts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSchema, loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from './support/bridge.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as poison } from '../fixtures/functions/poison/index.ts';

/** More than the 5 deliveries that used to dead-letter any transient failure. */
const ROUNDS = 8;

describe('retry budget in time, by retry kind', () => {
  let db: TestDatabase;
  let b: RunningBridge;
  let env: Env;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), {
      DATABASE_URL: db.url,
      BRIDGE_MAX_DELIVER: envSchema.shape.BRIDGE_MAX_DELIVER.parse(undefined),
      BRIDGE_NAK_BASE_MS: 50,
      BRIDGE_NAK_MAX_MS: 200,
      // Failures get half a second; contention and outages must not spend it.
      BRIDGE_RETRY_BUDGET_MS: 500,
    });
    b = await startBridge(env, db, [poison]);
  });
  afterAll(async () => {
    await b?.stop();
    await dropStreams(env);
    await db?.drop();
  });

  const effects = async (id: string) =>
    Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects WHERE message_id = $1`, [id])).rows[0]!.n);
  const deliveries = (code: string) => b.settled.filter((s) => s.error?.code === code).map((s) => s.outcome);

  it('processes a message that loses a compare-and-swap more times than the old delivery cap, or meets an outage', async () => {
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [
      envelope('poison.maybe', 'contended', { conflicts: ROUNDS }),
      envelope('poison.maybe', 'outaged', { outages: ROUNDS }),
    ]);
    await waitFor('both to take effect', async () => (await effects('contended')) === 1 && (await effects('outaged')) === 1, { timeoutMs: 60_000 });
    expect(deliveries('fixture_conflict')).toEqual(Array(ROUNDS).fill('nakked'));
    expect(deliveries('fixture_unavailable')).toEqual(Array(ROUNDS).fill('nakked'));
    expect((await db.pool.query(`SELECT 1 FROM dead_letters`)).rows).toHaveLength(0);
  });

  it('dead-letters a failing message once its time budget is spent, naming the last error', async () => {
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [envelope('poison.maybe', 'failing', { poison: 'transient' })]);
    const row = await waitFor('the dead letter', async () => {
      const { rows } = await db.pool.query<{ error_class: string; error_code: string; reason: string; deliveries: number }>(
        `SELECT error_class, error_code, reason, deliveries FROM dead_letters WHERE message_id = 'failing'`,
      );
      return rows[0];
    }, { timeoutMs: 60_000 });
    expect(row).toMatchObject({ error_class: 'transient', error_code: 'retry_budget_exhausted' });
    expect(row.reason).toMatch(/BRIDGE_RETRY_BUDGET_MS=500/);
    expect(row.reason).toMatch(/last error poisoned: message failing fails transiently/);
    expect(row.deliveries).toBeGreaterThan(1);
    expect(row.deliveries).toBeLessThan(env.BRIDGE_MAX_DELIVER);
    expect(await effects('failing')).toBe(0);
  });
});
