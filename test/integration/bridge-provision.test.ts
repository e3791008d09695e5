// Provisioning against the real NATS server: idempotent create-or-update of the
// streams and of one durable pull consumer per function, the duplicate window
// computed (and validated) from the redelivery span, and (V13) removal of managed
// consumers left behind by old deployments, never of unmanaged ones.
import { AckPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  META,
  ProvisioningError,
  connectBus,
  jetStream,
  provisionConsumers,
  provisionStreams,
  redeliverySpanMs,
  type JetStreamManager,
  type NatsConnection,
} from '../../shared/adapters/bus.ts';
import { loadEnv, type Env } from '../../shared/config.ts';
import { dropStreams } from '../faults/support/bridge.ts';
import { bridgeEnv } from '../faults/support/env.ts';

const fn = (name: string, ...consumes: string[]) => ({ name, consumes, timeoutMs: 10_000 });

describe('stream and consumer provisioning', () => {
  let env: Env;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const names = async () => {
    const out: string[] = [];
    for await (const c of await jsm.consumers.list(env.NATS_STREAM)) out.push(c.name);
    return out.sort();
  };

  beforeAll(async () => {
    env = bridgeEnv(loadEnv(), { BRIDGE_ACK_WAIT_MS: 30_000, BRIDGE_MAX_DELIVER: 5, BRIDGE_NAK_BASE_MS: 1_000, BRIDGE_NAK_MAX_MS: 60_000 });
    nc = await connectBus(env, 'provision-test', 'operator');
    ({ jsm } = await jetStream(nc));
  });
  afterAll(async () => {
    await nc?.close();
    await dropStreams(env);
  });

  it('creates the streams with a duplicate window covering every redelivery, and is idempotent', async () => {
    await provisionStreams(jsm, env, 60_000);
    await provisionStreams(jsm, env, 60_000);
    const s = (await jsm.streams.info(env.NATS_STREAM)).config;
    const p = env.NATS_SUBJECT_PREFIX;
    expect(s.subjects).toEqual([`${p}.>`, `${p}-replay.>`]);
    // 5 deliveries × max(30 s ack wait, 60 s step) + (1 + 2 + 4 + 8) s of backoff = 315 s.
    expect(redeliverySpanMs(env, 60_000)).toBe(315_000);
    expect(s.duplicate_window).toBe(nanos(315_000));
    expect((await jsm.streams.info(env.NATS_DLQ_STREAM)).config.subjects).toEqual([`${p}-dlq.>`]);
    // A bridge with shorter steps never shrinks the window another one needs.
    await provisionStreams(jsm, env, 1_000);
    expect((await jsm.streams.info(env.NATS_STREAM)).config.duplicate_window).toBe(nanos(315_000));
  });

  it('leaves the replica count of an existing stream as it is, and reports it', async () => {
    // The streams exist with one replica (the first test). A bridge configured for 3
    // neither crashes nor rescales them: that is an operator's step.
    const mismatches = await provisionStreams(jsm, { ...env, NATS_STREAM_REPLICAS: 3 }, 60_000);
    expect(mismatches).toEqual([
      { stream: env.NATS_STREAM, replicas: 1, configured: 3 },
      { stream: env.NATS_DLQ_STREAM, replicas: 1, configured: 3 },
    ]);
    expect((await jsm.streams.info(env.NATS_STREAM)).config.num_replicas).toBe(1);
    expect(await provisionStreams(jsm, env, 60_000)).toEqual([]);
  });

  it('refuses a configured duplicate window shorter than the redelivery span', async () => {
    await expect(provisionStreams(jsm, { ...env, NATS_DUPLICATE_WINDOW_MS: 60_000 }, 60_000)).rejects.toThrow(ProvisioningError);
    await expect(provisionStreams(jsm, { ...env, NATS_DUPLICATE_WINDOW_MS: 60_000 }, 60_000)).rejects.toThrow(/shorter than one message's redelivery span \(315000 ms/);
  });

  it('creates one durable pull consumer per function with the configured limits, then updates in place', async () => {
    const plan = await provisionConsumers(jsm, env, [fn('facts', 'doc.submitted', 'doc.resolved'), fn('drift', 'facts.extracted')], 'd1');
    expect(plan).toEqual({ created: ['fn-facts', 'fn-drift'], updated: [], deleted: [] });
    const c = (await jsm.consumers.info(env.NATS_STREAM, 'fn-facts')).config;
    const p = env.NATS_SUBJECT_PREFIX;
    expect(c).toMatchObject({
      durable_name: 'fn-facts',
      ack_policy: AckPolicy.Explicit,
      filter_subjects: [`${p}.*.doc.submitted`, `${p}.*.doc.resolved`, `${p}-replay.fn-facts.>`],
      ack_wait: nanos(30_000),
      max_deliver: 5,
      max_ack_pending: env.BRIDGE_MAX_ACK_PENDING,
      metadata: { [META.managed]: 'true', [META.deployment]: 'd1', [META.fn]: 'facts' },
    });
    // Same again: no error, nothing new; changed limits are applied to the existing consumer.
    const again = await provisionConsumers(jsm, { ...env, BRIDGE_MAX_DELIVER: 7 }, [fn('facts', 'doc.submitted', 'doc.resolved'), fn('drift', 'facts.extracted')], 'd1');
    expect(again).toEqual({ created: [], updated: ['fn-facts', 'fn-drift'], deleted: [] });
    expect((await jsm.consumers.info(env.NATS_STREAM, 'fn-facts')).config.max_deliver).toBe(7);
  });

  it('removes managed consumers of old deployments that the new one no longer has, and nothing else (V13)', async () => {
    // A consumer someone made by hand, and one an even older deployment left.
    await jsm.consumers.add(env.NATS_STREAM, { durable_name: 'manual', ack_policy: AckPolicy.Explicit });
    await jsm.consumers.add(env.NATS_STREAM, {
      durable_name: 'fn-planner',
      ack_policy: AckPolicy.Explicit,
      metadata: { [META.managed]: 'true', [META.deployment]: 'd0', [META.fn]: 'planner' },
    });
    expect(await names()).toEqual(['fn-drift', 'fn-facts', 'fn-planner', 'manual']);

    // Deployment d2 drops drift.
    const plan = await provisionConsumers(jsm, env, [fn('facts', 'doc.submitted', 'doc.resolved')], 'd2');
    expect(plan.deleted.sort()).toEqual(['fn-drift', 'fn-planner']);
    expect(await names()).toEqual(['fn-facts', 'manual']);
    expect((await jsm.consumers.info(env.NATS_STREAM, 'fn-facts')).config.metadata?.[META.deployment]).toBe('d2');

    // A second bridge of the same deployment running other functions keeps facts.
    const sharded = await provisionConsumers(jsm, env, [fn('status', 'state.changed')], 'd2');
    expect(sharded.deleted).toEqual([]);
    expect(await names()).toEqual(['fn-facts', 'fn-status', 'manual']);
  });
});
