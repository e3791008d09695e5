// The message path end to end against the real NATS server and Postgres: the
// bridge pulls, invokes the function (in-process and over HTTP), the function
// writes with its inbox record in one transaction, emitted messages flow on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv, type Env } from '../../shared/config.ts';
import { serveStep, type Served } from '../../shared/runtime/serve.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from '../faults/support/bridge.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { envelope, publishAll } from '../faults/support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as counter } from '../fixtures/functions/counter/index.ts';
import { step as counterFast } from '../fixtures/functions/counter-fast/index.ts';
import { step as emitter } from '../fixtures/functions/emitter/index.ts';

const count = async (db: TestDatabase, sql: string, params: unknown[] = []) =>
  Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]!.n);

describe.each([
  ['in-process', false],
  ['over HTTP', true],
])('bridge %s', (_label, overHttp) => {
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;
  const served: Served[] = [];

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, BRIDGE_CONCURRENCY: 8 });
    const deps = createDeps({ env, db: guardPool(db.pool) });
    const urls: Record<string, string> = {};
    if (overHttp) {
      for (const s of [counter, counterFast, emitter]) {
        const srv = await serveStep(s.withDeps(deps), 0);
        served.push(srv);
        urls[s.name] = srv.url;
      }
    }
    b = await startBridge(env, db, [counter, counterFast, emitter], { urls, deps });
  });
  afterAll(async () => {
    await b?.stop();
    for (const s of served) await s.close();
    await dropStreams(env);
    await db?.drop();
  });

  it('applies each message once, in one transaction with its inbox record', async () => {
    const msgs = Array.from({ length: 300 }, (_, i) => envelope('count.requested', `c-${i}`, { n: i }, i % 2 ? 'acme' : 'beta'));
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, msgs);
    // The same ids again: inside the duplicate window JetStream drops them.
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, msgs.slice(0, 50));
    await waitFor('300 effects', async () => (await count(db, `SELECT count(*) AS n FROM fixture_effects WHERE fn = 'counter'`)) === 300);
    expect(await count(db, `SELECT count(DISTINCT message_id) AS n FROM fixture_effects WHERE fn = 'counter'`)).toBe(300);
    expect(await count(db, `SELECT count(*) AS n FROM inbox WHERE consumer = 'counter' AND status = 'completed'`)).toBe(300);
    const { rows } = await db.pool.query<{ scope_id: string; n: string }>(
      `SELECT scope_id, count(*) AS n FROM inbox WHERE consumer = 'counter' GROUP BY scope_id ORDER BY scope_id`,
    );
    expect(rows.map((r) => [r.scope_id, Number(r.n)])).toEqual([['acme', 150], ['beta', 150]]);
  });

  it('optimistic inbox: same guarantee without a claim', async () => {
    const msgs = Array.from({ length: 200 }, (_, i) => envelope('count.fast', `f-${i}`));
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, msgs);
    await waitFor('200 fast effects', async () => (await count(db, `SELECT count(*) AS n FROM fixture_effects WHERE fn = 'counter-fast'`)) === 200);
    expect(await count(db, `SELECT count(*) AS n FROM inbox WHERE consumer = 'counter-fast' AND status = 'completed' AND claim_token IS NULL`)).toBe(200);
  });

  it('a message delivered again after its duplicate window replays the stored result: no second effect, same emitted ids', async () => {
    const original = envelope('emit.requested', 'e-1', { count: 3 });
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [original]);
    await waitFor('3 counted emits', async () => (await count(db, `SELECT count(*) AS n FROM fixture_effects WHERE fn = 'counter' AND message_id LIKE 'emitter:%'`)) === 3);
    // Same envelope, new Nats-Msg-Id: what a publisher retrying after the window looks like.
    await b.js.publish(`${env.NATS_SUBJECT_PREFIX}.acme.emit.requested`, JSON.stringify(original), { msgID: 'e-1-again' });
    await waitFor('the replay to be settled', () => b.settled.some((s) => s.consumer === 'fn-emitter' && s.outcome === 'replayed'));
    // Give a (wrong) second round of emits every chance to arrive.
    await new Promise((r) => setTimeout(r, 500));
    expect(await count(db, `SELECT count(*) AS n FROM fixture_effects WHERE fn = 'emitter'`)).toBe(1);
    expect(await count(db, `SELECT count(*) AS n FROM fixture_effects WHERE fn = 'counter' AND message_id LIKE 'emitter:%'`)).toBe(3);
    const info = await b.jsm.streams.info(env.NATS_STREAM);
    // 300 + 200 + the emitter message twice + 3 emits: the replayed emits were dropped as duplicates.
    expect(info.state.messages).toBe(300 + 200 + 2 + 3);
  });
});
