// The dead-letter stream is the record of dead letters: messages dead-lettered
// while a private Postgres is down reach the stream but not the `dead_letters`
// table; once Postgres is back, `dlq list` (listDeadLetters with the stream)
// writes the missing rows from the stream, once, and lists every dead letter,
// and a backfilled one can be replayed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../shared/adapters/db.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { createDeps, type Deps } from '../../shared/runtime/deps.ts';
import { guardPool } from '../../shared/runtime/guarded.ts';
import { migrate } from '../../infra/migrate.ts';
import { listDeadLetters, replayDeadLetter } from '../../infra/bridge/dlq.ts';
import { dropStreams, startBridge, type RunningBridge } from './support/bridge.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { PrivatePostgres } from './support/servers.ts';
import { step as refuse } from '../fixtures/functions/refuse/index.ts';

const DOWN = 12;

describe('dead letters recorded while Postgres is down', () => {
  let pg: PrivatePostgres;
  let env: Env;
  let deps: Deps;
  let b: RunningBridge;

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
    const base = { ...loadEnv(), ...pg.env, PG_CONNECT_TIMEOUT_MS: 1_000, PG_POOL_MAX: 4 };
    await migrate(base);
    env = bridgeEnv(base);
    deps = createDeps({ env, db: guardPool(createPool(env)) });
  }, 120_000);
  afterAll(async () => {
    await b?.stop();
    await deps?.db.pool.end().catch(() => {});
    await dropStreams(env);
    await pg?.stop();
  });

  const rowCount = async () => Number((await deps.db.query<{ n: string }>(`SELECT count(*) AS n FROM dead_letters`)).rows[0]!.n);

  it('are listed from the dead-letter stream, their rows written once, and can be replayed', async () => {
    b = await startBridge(env, undefined, [refuse], { deps });
    const dlqMessages = async () => (await b.jsm.streams.info(env.NATS_DLQ_STREAM)).state.messages;
    // One while Postgres is up: the usual path writes its row.
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [envelope('refuse.this', 'up-0')]);
    await waitFor('the first row', async () => (await rowCount()) === 1);

    await pg.down('fast');
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, Array.from({ length: DOWN }, (_, i) => envelope('refuse.this', `down-${i}`)));
    await waitFor(`${DOWN + 1} dead letters in the stream`, async () => (await dlqMessages()) === DOWN + 1, { timeoutMs: 120_000, intervalMs: 200 });
    await waitFor('every message settled', () => b.settled.filter((s) => s.outcome === 'dead-lettered').length === DOWN + 1, { timeoutMs: 60_000 });
    await pg.up();

    // The rows of the outage are missing: the table alone would list one dead letter.
    await waitFor('Postgres to answer again', async () => (await rowCount()) >= 0, { timeoutMs: 30_000, intervalMs: 250 });
    expect(await rowCount()).toBe(1);

    const stream = { jsm: b.jsm, stream: env.NATS_DLQ_STREAM, prefix: env.NATS_SUBJECT_PREFIX };
    const listed = await listDeadLetters(deps.db, { stream, limit: 100 });
    expect(listed.map((r) => r.message_id).sort()).toEqual(['up-0', ...Array.from({ length: DOWN }, (_, i) => `down-${i}`)].sort());
    for (const r of listed) expect(r).toMatchObject({ consumer: 'fn-refuse', error_class: 'permanent', error_code: 'refused', deliveries: 1, scope_id: 'acme' });
    expect(new Set(listed.map((r) => r.dlq_seq)).size).toBe(DOWN + 1);
    // Again: nothing more is written.
    await listDeadLetters(deps.db, { stream });
    expect(await rowCount()).toBe(DOWN + 1);

    // A backfilled dead letter carries the original message: replayed, it reaches the step again (and is refused again).
    const down0 = listed.find((r) => r.message_id === 'down-0')!;
    const { rows } = await deps.db.query<{ data: Buffer; headers: Record<string, string[]> }>(`SELECT data, headers FROM dead_letters WHERE id = $1`, [down0.id]);
    expect(JSON.parse(rows[0]!.data.toString())).toMatchObject({ id: 'down-0', type: 'refuse.this' });
    expect(rows[0]!.headers['Nats-Msg-Id']).toEqual(['down-0']);
    await replayDeadLetter(b.js, deps.db, env.NATS_SUBJECT_PREFIX, down0.id);
    await waitFor('the replay to be dead-lettered in turn', async () => (await rowCount()) === DOWN + 2);
  }, 240_000);
});
