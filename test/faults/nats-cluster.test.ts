// A three-node JetStream cluster with the streams replicated ×3. The node that
// leads the stream and the bridge's consumer, and that the bridge (a child
// process) is connected to, is killed (-9) in the middle of a burst: the stream and
// the consumer elect new leaders, the bridge reconnects to another node and carries
// on; every message is applied exactly once, nothing is dead-lettered, and the
// killed node, restarted, catches up with the others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, jetStream, type JetStreamManager, provisionStreams, publishEnvelope, type JetStreamClient, type NatsConnection } from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { spawnBridge, type ChildBridge } from './support/child.ts';
import { bridgeEnv, sleep, waitFor } from './support/env.ts';
import { envelope } from './support/messages.ts';
import { PrivateNatsCluster } from './support/servers.ts';
import { createFixtureTables } from '../fixtures/functions/schema.ts';

const N = 3_000;
const COUNTER = 'test/fixtures/functions/counter/index.ts';
const BRIDGE = 'bridge cluster-0 (operator)'; // the child bridge's connection name (infra/bridge/main.ts)

/** Hand the stream's and a consumer's leadership to one server (nats-server 2.11+ preferred stepdown). */
async function moveLeaders(nc: NatsConnection, jsm: JetStreamManager, stream: string, consumer: string, to: string): Promise<void> {
  const placement = JSON.stringify({ placement: { preferred: to } });
  await waitFor(
    `${to} to lead ${stream} and ${consumer}`,
    async () => {
      if ((await jsm.streams.info(stream)).cluster?.leader !== to) await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, placement, { timeout: 5_000 });
      if ((await jsm.consumers.info(stream, consumer)).cluster?.leader !== to) await nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${stream}.${consumer}`, placement, { timeout: 5_000 });
      return (await jsm.streams.info(stream)).cluster?.leader === to && (await jsm.consumers.info(stream, consumer)).cluster?.leader === to;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/**
 * Publish in windows of `window` outstanding acks, retrying a publish that failed
 * (no stream leader for a moment, a timed-out ack) with the same Nats-Msg-Id: what
 * any publisher to a cluster does. A retry of a message that was in fact stored is
 * dropped by the stream's duplicate window.
 */
async function publishRetrying(
  js: JetStreamClient,
  prefix: string,
  envs: readonly Envelope[],
  onAck: () => void,
  gate: { at: number; open: Promise<unknown> },
  window = 64,
): Promise<{ retries: number }> {
  let retries = 0;
  const one = async (e: Envelope) => {
    for (;;) {
      try {
        await publishEnvelope(js, prefix, e);
        onAck();
        return;
      } catch {
        retries++;
        await sleep(250);
      }
    }
  };
  const pending = new Set<Promise<unknown>>();
  for (const [i, e] of envs.entries()) {
    if (i === gate.at) await gate.open;
    const p: Promise<unknown> = one(e).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
  return { retries };
}

describe('a three-node NATS cluster loses its stream leader mid-burst', () => {
  let db: TestDatabase;
  let cluster: PrivateNatsCluster;
  let env: Env;
  let nc: NatsConnection | undefined;
  let child: ChildBridge | undefined;

  beforeAll(async () => {
    db = await freshDatabase();
    await createFixtureTables(db.pool);
    cluster = await PrivateNatsCluster.start(3);
    env = bridgeEnv(loadEnv(), {
      DATABASE_URL: db.url,
      NATS_URL: cluster.url,
      NATS_CREDS_DIR: '', // the private cluster has no authentication
      NATS_STREAM_REPLICAS: 3,
      BRIDGE_ACK_WAIT_MS: 3_000,
      // Deliveries that fail while the cluster elects a new leader are retried, not dead-lettered.
      BRIDGE_MAX_DELIVER: 100,
      BRIDGE_CONCURRENCY: 16,
    });
  }, 120_000);
  afterAll(async () => {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await nc?.close().catch(() => {});
    await cluster?.stop();
    await db?.drop();
  });

  it('applies every message exactly once across the kill, and the node rejoins', async () => {
    const started = Date.now();
    const effects = async () => Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM fixture_effects`)).rows[0]!.n);
    nc = await connectBus(env, 'nats-cluster-test', 'operator');
    const { js, jsm } = await jetStream(nc);
    await provisionStreams(jsm, env, 10_000);
    // A new raft group lists its followers once they have answered the leader: wait for that.
    const peersOf = (what: string, info: () => Promise<{ cluster?: { replicas?: unknown[] } }>) =>
      waitFor(
        `${what} to list its followers`,
        async () => {
          const n = (await info()).cluster?.replicas?.length ?? 0;
          return n >= 2 ? n : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    for (const s of [env.NATS_STREAM, env.NATS_DLQ_STREAM]) {
      expect((await jsm.streams.info(s)).config.num_replicas).toBe(3);
      expect(await peersOf(s, () => jsm.streams.info(s))).toBe(2);
    }
    child = await spawnBridge(env, [COUNTER], { BRIDGE_INSTANCE_ID: 'cluster-0' });
    const consumer = await jsm.consumers.info(env.NATS_STREAM, 'fn-counter');
    expect(consumer.config.num_replicas ?? 0).toBe(0); // inherits the stream's three
    expect(await peersOf('fn-counter', () => jsm.consumers.info(env.NATS_STREAM, 'fn-counter'))).toBe(2);

    // Progress samples, to measure (not assert) how long the bridge stalled around the kill.
    const samples: { t: number; n: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ t: Date.now(), n: await effects().catch(() => -1) });
        await sleep(100);
      }
    })();

    // The harder case: the node to be killed leads the stream and the consumer and carries the bridge's connection.
    const victim = await waitFor('the bridge connection', () => cluster.nodeOf(BRIDGE));
    const leader = cluster.nodes[victim]!.name;
    await moveLeaders(nc, jsm, env.NATS_STREAM, 'fn-counter', leader);

    // The last third is published only after the kill, so the kill lands mid-burst
    // (for the publisher and for the bridge) however fast either is.
    let acked = 0;
    let killed!: () => void;
    const publishing = publishRetrying(
      js,
      env.NATS_SUBJECT_PREFIX,
      Array.from({ length: N }, (_, i) => envelope('count.requested', `c-${i}`, { emit: true }, `s${i % 5}`)),
      () => acked++,
      { at: (2 * N) / 3, open: new Promise<void>((r) => (killed = r)) },
    );
    await waitFor('a third published and a sixth applied', async () => acked >= N / 3 && (await effects()) >= N / 6, { timeoutMs: 60_000, intervalMs: 20 });
    const killedAt = Date.now();
    await cluster.kill(victim, 'SIGKILL');
    const at = { acked, effects: await effects() };
    killed();

    const { retries } = await publishing;
    await waitFor(`all ${N} effects`, async () => (await effects()) >= N, { timeoutMs: 120_000, intervalMs: 200 });
    await waitFor(
      'the consumer to have nothing pending',
      async () => {
        const c = await jsm.consumers.info(env.NATS_STREAM, 'fn-counter');
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    sampling = false;
    await sampler;
    const newLeader = (await jsm.streams.info(env.NATS_STREAM)).cluster?.leader;
    const bridgeUp = child.proc.exitCode === null && child.proc.signalCode === null;
    const reconnected = child.logs.some((l) => l.msg === 'NATS reconnected');
    const bridgeNow = await cluster.nodeOf(BRIDGE);
    const logAt = (msg: string) => Date.parse(String(child!.logs.find((l) => l.msg === msg)?.time ?? NaN));
    const reconnectMs = logAt('NATS reconnected') - logAt('NATS disconnected; reconnecting');
    child.proc.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    // The kill landed mid-burst, on the leader; the bridge stayed up throughout.
    expect(at.acked).toBeLessThan(N);
    expect(at.effects).toBeGreaterThanOrEqual(N / 6);
    expect(newLeader).toBeDefined();
    expect(newLeader).not.toBe(leader);
    expect(bridgeUp).toBe(true);
    expect(reconnected).toBe(true); // it did lose its server
    // Exactly once: the counter's effect is a plain INSERT; only the inbox prevents a second row.
    const { rows } = await db.pool.query<{ total: string; distinct: string }>(`SELECT count(*) AS total, count(DISTINCT message_id) AS distinct FROM fixture_effects`);
    expect(Number(rows[0]!.total)).toBe(N);
    expect(Number(rows[0]!.distinct)).toBe(N);
    expect(Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM dead_letters`)).rows[0]!.n)).toBe(0);
    expect((await jsm.streams.info(env.NATS_DLQ_STREAM)).state.messages).toBe(0);
    // Every message and every follow-up exactly once in the stream, whatever was retried.
    const requested = await jsm.streams.info(env.NATS_STREAM, { subjects_filter: `${env.NATS_SUBJECT_PREFIX}.*.count.requested` });
    expect(Object.values(requested.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(N);
    const recorded = await jsm.streams.info(env.NATS_STREAM, { subjects_filter: `${env.NATS_SUBJECT_PREFIX}.*.count.recorded` });
    expect(Object.values(recorded.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(N);

    // The killed node comes back and catches up: three copies, all current.
    await cluster.start(victim);
    const caughtUp = await waitFor(
      'the restarted node to be a current replica',
      async () => {
        const s = await jsm.streams.info(env.NATS_STREAM);
        const peers = s.cluster?.replicas ?? [];
        return peers.length === 2 && peers.every((p) => p.current && !p.offline && (p.lag ?? 0) === 0) ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const names = [caughtUp.cluster!.leader!, ...caughtUp.cluster!.replicas!.map((p) => p.name)].sort();
    expect(names).toEqual(cluster.nodes.map((n) => n.name));
    expect(caughtUp.state.messages).toBe(2 * N);

    // Longest gap without a new effect after the kill (the bridge's stall), from the samples.
    let stall = 0;
    let last = samples.find((s) => s.t >= killedAt);
    for (const s of samples.filter((s) => s.t >= killedAt)) {
      if (last && s.n > last.n) {
        stall = Math.max(stall, s.t - last.t);
        last = s;
      }
    }
    console.info(
      `nats-cluster test: ${N} messages, ${rows[0]!.total} effects, killed leader ${leader} (node ${victim}) at ${at.acked} published / ${at.effects} applied; ` +
        `new leader ${newLeader}; ${retries} publish retries; bridge on ${bridgeNow === undefined ? '?' : cluster.nodes[bridgeNow]!.name} after, reconnected in ${reconnectMs} ms; longest stall after the kill ~${stall} ms; ` +
        `${Date.now() - started} ms in all`,
    );
  }, 300_000);
});
