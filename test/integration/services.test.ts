// Each real service, through the same clients the functions use.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { connectBus } from '../../shared/adapters/bus.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../shared/adapters/authz.ts';
import { withTransaction } from '../../shared/adapters/db.ts';
import { createS3, ensureBucket } from '../../shared/adapters/s3.ts';
import { loadEnv } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { uniq } from '../support/ids.ts';

const env = loadEnv();

describe('Postgres through the Neon driver and the WebSocket proxy', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => db?.drop());

  it('runs a query', async () => {
    const { rows } = await db.pool.query<{ v: string; one: number }>('SELECT version() AS v, 1 AS one');
    expect(rows[0]!.one).toBe(1);
    expect(rows[0]!.v).toMatch(/^PostgreSQL 15\./);
  });

  it('commits and rolls back an interactive transaction', async () => {
    await db.pool.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
    await withTransaction(db.pool, async (tx) => {
      await tx.query("INSERT INTO t VALUES (1, 'kept')");
      const { rows } = await tx.query<{ n: string }>('SELECT count(*) AS n FROM t');
      expect(Number(rows[0]!.n)).toBe(1); // read-your-writes inside the transaction
    });
    await expect(
      withTransaction(db.pool, async (tx) => {
        await tx.query("INSERT INTO t VALUES (2, 'lost')");
        await tx.query("INSERT INTO t VALUES (1, 'duplicate')"); // unique violation
      }),
    ).rejects.toThrow(/duplicate key/);
    const { rows } = await db.pool.query<{ id: number }>('SELECT id FROM t ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([1]);
  });

  it('answers a pgvector nearest-neighbour query', async () => {
    await db.pool.query('CREATE TABLE v (id text PRIMARY KEY, e vector(3))');
    await db.pool.query(`INSERT INTO v VALUES ('x', '[1,0,0]'), ('y', '[0,1,0]'), ('xy', '[0.7,0.7,0]')`);
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id FROM v ORDER BY e <=> '[0.9,0.1,0]' LIMIT 2`,
    );
    expect(rows.map((r) => r.id)).toEqual(['x', 'xy']);
  });
});

describe('S3 (MinIO)', () => {
  const s3 = createS3(env);
  const bucket = uniq('test-');

  beforeAll(async () => {
    expect(await ensureBucket(s3, bucket)).toBe(true);
    expect(await ensureBucket(s3, bucket)).toBe(false);
  });

  it('puts, gets, lists and deletes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/1.json', Body: '{"n":1}', ContentType: 'application/json' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/2.json', Body: '{"n":2}' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/1.json' }));
    expect(await got.Body!.transformToString()).toBe('{"n":1}');
    const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/' }));
    expect(list.Contents?.map((c) => c.Key)).toEqual(['a/1.json', 'a/2.json']);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a/1.json' }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/' }));
    expect(after.Contents?.map((c) => c.Key)).toEqual(['a/2.json']);
  });

  it('refuses a conditional put on an existing key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
    const err = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' }))
      .catch((e: unknown) => e as { $metadata?: { httpStatusCode?: number } });
    expect(err && (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(412);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }));
    expect(await got.Body!.transformToString()).toBe('first');
  });
});

describe('NATS JetStream', () => {
  it('refuses a connection without credentials', async () => {
    await expect(connect({ servers: env.NATS_URL })).rejects.toThrow(/Authorization Violation/);
  });

  it('publishes and consumes through a durable pull consumer with explicit ack', async () => {
    const nc = await connectBus(env, 'services-test', 'operator');
    try {
      const jsm = await jetstreamManager(nc);
      const stream = uniq('T_');
      const subject = `${stream}.>`;
      await jsm.streams.add({ name: stream, subjects: [subject] });
      await jsm.consumers.add(stream, { durable_name: 'worker', ack_policy: AckPolicy.Explicit, ack_wait: 5e9 });
      const js = jetstream(nc);
      for (let i = 0; i < 3; i++) {
        const ack = await js.publish(`${stream}.scope-a.ping`, JSON.stringify({ i }), { msgID: `m-${i}` });
        expect(ack.duplicate).toBe(false);
      }
      // Same message id again: dropped by the duplicate window.
      expect((await js.publish(`${stream}.scope-a.ping`, '{}', { msgID: 'm-0' })).duplicate).toBe(true);

      const consumer = await js.consumers.get(stream, 'worker');
      const seen: number[] = [];
      const batch = await consumer.fetch({ max_messages: 3, expires: 2000 });
      for await (const m of batch) {
        seen.push(m.json<{ i: number }>().i);
        await m.ackAck();
      }
      expect(seen).toEqual([0, 1, 2]);
      const info = await jsm.consumers.info(stream, 'worker');
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
      await jsm.streams.delete(stream);
    } finally {
      await nc.close();
    }
  });
});

describe('OpenFGA', () => {
  const authz = createAuthorizer(env);
  it('allows an agent its standing role', async () => {
    expect(env.OPENFGA_STORE_ID).not.toBe('');
    await expect(authz.check({ user: 'agent:facts', relation: 'advancer', object: 'state:FactsExtracted' })).resolves.toEqual({
      allowed: true,
      reason: 'allowed',
    });
  });
  it('denies what was not granted', async () => {
    await expect(authz.check({ user: 'agent:facts', relation: 'advancer', object: 'state:DriftChecked' })).resolves.toEqual({
      allowed: false,
      reason: 'denied',
    });
  });
});
