// Notifications across bridge restarts (issue 13, item 4), with the real bridge as a
// child process and a local receiver:
//   - SIGTERM mid-way: what was in flight is finished and acked, the next bridge sends
//     the rest; every delivery id arrives exactly once;
//   - kill -9 mid-way: nothing is lost; a request the dead bridge had sent but not yet
//     recorded may be sent again, with the same delivery id (so a receiver drops it),
//     and only those.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type JetStreamClient, type JetStreamManager, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { dropStreams } from './support/bridge.ts';
import { spawnBridge } from './support/child.ts';
import { bridgeEnv, waitFor } from './support/env.ts';
import { envelope, publishAll } from './support/messages.ts';

const NOTIFIER = 'functions/notifier/index.ts';
const SECRET = 'restart-secret-0123456789abcdef';
const N = 40;
const CONCURRENCY = 4;

describe('notifications across a bridge restart', () => {
  let db: TestDatabase;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const receiver = new WebhookReceiver({ '/hook': SECRET });
  const envFor = (tag: string): Env =>
    bridgeEnv(loadEnv(), {
      DATABASE_URL: db.url,
      BRIDGE_CONCURRENCY: CONCURRENCY,
      BRIDGE_BATCH: 2,
      BRIDGE_ACK_WAIT_MS: 3_000,
      BRIDGE_MAX_DELIVER: 100,
      INBOX_LEASE_MS: 1_500,
      WEBHOOK_ALLOW_NETS: '127.0.0.1/32',
      NOTIFY_MAX_ATTEMPTS: 50,
      WEBHOOKS: JSON.stringify([{ id: `ops-${tag}`, url: receiver.url('/hook'), events: ['review.requested'], secret: SECRET }]),
    });

  beforeAll(async () => {
    db = await freshDatabase();
    await receiver.start();
    // Slow enough that several requests are in flight when the bridge is stopped.
    receiver.delayMs = 150;
    const env = loadEnv();
    nc = await connectBus(env, 'notify-restart-test', 'operator');
    ({ js, jsm } = await jetStream(nc));
  });
  afterAll(async () => {
    await nc?.close();
    await receiver.stop();
    await db?.drop();
  });

  const run = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const env = envFor(signal.toLowerCase());
    try {
      const scope = `restart-${signal.toLowerCase()}`;
      const ids = Array.from({ length: N }, (_, i) => `rq-${signal}-${i}`);
      const mine = () => receiver.received.filter((r) => r.delivery.startsWith(`notify:rq-${signal}-`));
      const first = await spawnBridge(env, [NOTIFIER]);
      await publishAll(js, env.NATS_SUBJECT_PREFIX, ids.map((id, i) => ({ ...envelope('review.requested', id, { review_id: `rev-${i}`, kind: 'governance_review' }, scope), ts: new Date().toISOString() })));
      await waitFor('some deliveries', () => mine().length >= 10, { timeoutMs: 30_000 });
      first.proc.kill(signal);
      const exit = await first.exited;
      if (signal === 'SIGTERM') expect(exit.code).toBe(0);
      const cut = mine().length;
      expect(cut).toBeLessThan(N); // stopped mid-way

      const second = await spawnBridge(env, [NOTIFIER]);
      try {
        await waitFor('every delivery', () => new Set(mine().map((r) => r.delivery)).size === N, { timeoutMs: 60_000 });
        await waitFor('the consumer to be drained', async () => {
          const c = await jsm.consumers.info(env.NATS_STREAM, 'fn-notifier');
          return c.num_pending === 0 && c.num_ack_pending === 0;
        }, { timeoutMs: 30_000 });
      } finally {
        second.proc.kill('SIGTERM');
        await second.exited;
      }
      const got = mine();
      expect(got.every((r) => r.signed && r.status === 200)).toBe(true);
      expect(new Set(got.map((r) => r.delivery))).toEqual(new Set(ids.map((id) => `notify:${id}:global:ops-${signal.toLowerCase()}`)));
      const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE scope_id = $1`, [scope]);
      expect(Number(rows[0]!.n)).toBe(N);
      const dead = await db.pool.query(`SELECT 1 FROM dead_letters WHERE consumer = 'fn-notifier'`);
      expect(dead.rows).toHaveLength(0);
      return { got, cut };
    } finally {
      await dropStreams(env);
    }
  };

  it('SIGTERM: the next bridge sends the rest, and no delivery id arrives twice', async () => {
    const { got } = await run('SIGTERM');
    expect(got).toHaveLength(N);
  }, 120_000);

  it('kill -9: nothing is lost; only requests in flight at the kill are sent again, with their delivery ids', async () => {
    const { got } = await run('SIGKILL');
    const extra = got.length - N;
    expect(extra).toBeGreaterThanOrEqual(0);
    // At most what the dead bridge had in flight (its concurrency) is repeated.
    expect(extra).toBeLessThanOrEqual(CONCURRENCY);
  }, 120_000);
});
