// Poison messages (V5, V9): a permanent failure is dead-lettered at once, a
// transient one after exactly BRIDGE_MAX_DELIVER deliveries; each lands in the
// dead-letter stream with its original data and the reason, and in the
// dead_letters table; the messages around it are processed normally. Then the
// dead-letter tooling replays one after the cause was fixed, and the JetStream
// max-deliveries advisory catches a message that ran out of deliveries without
// the bridge settling it.
import { AckPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nanos } from '@nats-io/transport-node';
import { HDR, dlqSubject } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from './support/bridge.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';
import { step as poison } from '../fixtures/functions/poison/index.ts';
import { listDeadLetters, replayDeadLetter } from '../../infra/bridge/dlq.ts';

const MAX_DELIVER = 4;

describe('poison messages', () => {
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, BRIDGE_MAX_DELIVER: MAX_DELIVER, BRIDGE_NAK_BASE_MS: 50, BRIDGE_NAK_MAX_MS: 200 });
    b = await startBridge(env, db, [poison]);
  });
  afterAll(async () => {
    await b?.stop();
    await dropStreams(env);
    await db?.drop();
  });

  const effects = async (id: string) =>
    Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects WHERE message_id = $1`, [id])).rows[0]!.n);

  it('dead-letters them with the reason after the configured deliveries; the others go through', async () => {
    const msgs = Array.from({ length: 10 }, (_, i) =>
      envelope('poison.maybe', `p-${i}`, i === 4 ? { poison: 'permanent' } : i === 7 ? { poison: 'transient' } : {}),
    );
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, msgs);
    await waitFor('8 normal effects and 2 dead letters', async () => {
      const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM dead_letters`);
      return Number(rows[0]!.n) === 2 && (await db.pool.query(`SELECT 1 FROM fixture_effects`)).rows.length === 8;
    });
    for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) expect(await effects(`p-${i}`)).toBe(1);

    const dl = await db.pool.query<{ message_id: string; error_class: string; error_code: string; reason: string; deliveries: number; data: Buffer; dlq_seq: string }>(
      `SELECT message_id, error_class, error_code, reason, deliveries, data, dlq_seq FROM dead_letters ORDER BY message_id`,
    );
    const [perm, trans] = dl.rows;
    expect(perm).toMatchObject({ message_id: 'p-4', error_class: 'permanent', error_code: 'poisoned', deliveries: 1 });
    expect(perm!.reason).toMatch(/p-4 is poison/);
    expect(trans).toMatchObject({ message_id: 'p-7', error_class: 'transient', error_code: 'poisoned', deliveries: MAX_DELIVER });
    expect(JSON.parse(perm!.data.toString()).id).toBe('p-4');

    // The dead-letter stream holds the original message and why it failed.
    const stored = await b.jsm.streams.getMessage(env.NATS_DLQ_STREAM, { seq: Number(perm!.dlq_seq) });
    expect(stored!.subject).toBe(dlqSubject(env.NATS_SUBJECT_PREFIX, 'fn-poison', 'acme'));
    expect(JSON.parse(new TextDecoder().decode(stored!.data))).toMatchObject({ id: 'p-4', payload: { poison: 'permanent' } });
    expect(stored!.header.get(HDR.dlqErrorClass)).toBe('permanent');
    expect(stored!.header.get(HDR.dlqReason)).toMatch(/p-4 is poison/);
    expect(stored!.header.get(HDR.dlqDeliveries)).toBe('1');
    expect(stored!.header.get(HDR.dlqSubject)).toBe(`${env.NATS_SUBJECT_PREFIX}.acme.poison.maybe`);

    // Deliveries: one for the permanent failure, exactly MAX_DELIVER for the transient one.
    const seqOf = (id: string) => b.settled.find((s) => s.outcome === 'dead-lettered' && s.error?.message.includes(id))!.streamSeq;
    const p7 = seqOf('p-7');
    expect(b.settled.filter((s) => s.streamSeq === p7).map((s) => s.deliveryCount)).toEqual([1, 2, 3, 4]);
    const p4 = seqOf('p-4');
    expect(b.settled.filter((s) => s.streamSeq === p4).map((s) => s.outcome)).toEqual(['dead-lettered']);
    await waitFor('nothing pending', async () => {
      const c = await b.jsm.consumers.info(env.NATS_STREAM, 'fn-poison');
      return c.num_ack_pending === 0 && c.num_pending === 0;
    });
  });

  it('replays a dead letter to its consumer once the cause is fixed', async () => {
    const [row] = (await listDeadLetters(b.deps.db, { consumer: 'fn-poison' })).filter((r) => r.message_id === 'p-4');
    expect(row).toBeDefined();
    await db.pool.query(`INSERT INTO fixture_cures VALUES ('p-4')`);
    const r = await replayDeadLetter(b.js, b.deps.db, env.NATS_SUBJECT_PREFIX, row!.id);
    expect(r.subject).toBe(`${env.NATS_SUBJECT_PREFIX}-replay.fn-poison.acme.poison.maybe`);
    await waitFor('the replayed message to take effect', async () => (await effects('p-4')) === 1);
    const after = (await listDeadLetters(b.deps.db)).find((x) => x.id === row!.id)!;
    expect(after.replay_count).toBe(1);
    expect(after.replayed_at).not.toBeNull();
  });

  it('dead-letters a message that ran out of deliveries without the bridge settling it (max-deliveries advisory)', async () => {
    // A consumer whose deliveries nobody settles: what a bridge killed during each
    // attempt looks like to JetStream.
    await b.jsm.consumers.add(env.NATS_STREAM, {
      durable_name: 'fn-ghost',
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${env.NATS_SUBJECT_PREFIX}.*.ghost.work`,
      max_deliver: 2,
      ack_wait: nanos(1_000),
    });
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [envelope('ghost.work', 'g-1')]);
    const ghost = await b.js.consumers.get(env.NATS_STREAM, 'fn-ghost');
    for (let i = 0; i < 2; i++) {
      const m = await ghost.next({ expires: 5_000 });
      expect(m?.info.deliveryCount).toBe(i + 1);
      m!.nak();
    }
    // The next pull finds the message out of deliveries: the server skips it and
    // publishes the advisory (as it would for the bridge that keeps pulling).
    expect(await ghost.next({ expires: 2_000 })).toBeNull();
    const row = await waitFor('the advisory dead letter', async () => {
      const { rows } = await db.pool.query<{ error_code: string; deliveries: number; reason: string }>(
        `SELECT error_code, deliveries, reason FROM dead_letters WHERE consumer = 'fn-ghost'`,
      );
      return rows[0];
    });
    expect(row).toMatchObject({ error_code: 'max_deliveries', deliveries: 2 });
    expect(row.reason).toMatch(/advisory/);
  });
});
