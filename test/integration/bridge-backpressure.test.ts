// Backpressure (V10): however long the backlog, no more messages are in flight
// than configured, per consumer and per bridge. "In flight" as JetStream counts
// it (delivered, not yet acked: num_ack_pending), sampled while a backlog drains.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv, type Env } from '../../shared/config.ts';
import { defineStep } from '../../shared/runtime/step.ts';
import { freshDatabase, type TestDatabase } from '../support/db.ts';
import { dropStreams, startBridge, type RunningBridge } from '../faults/support/bridge.ts';
import { bridgeEnv, waitFor } from '../faults/support/env.ts';
import { envelope, publishAll } from '../faults/support/messages.ts';

// Exact counts of handlers running at once, per function and in total.
const running: Record<string, number> = {};
const maxRunning: Record<string, number> = { total: 0 };
let total = 0;
const busy = (name: string, type: string) =>
  defineStep({
    name,
    consumes: [type], emits: [],
    idempotency: 'none',
    async handle() {
      running[name] = (running[name] ?? 0) + 1;
      maxRunning[name] = Math.max(maxRunning[name] ?? 0, running[name]!);
      maxRunning.total = Math.max(maxRunning.total!, ++total);
      await new Promise((r) => setTimeout(r, 60));
      running[name]!--;
      total--;
      return {};
    },
  });

describe('backpressure', () => {
  let db: TestDatabase;
  let env: Env;
  let b: RunningBridge;

  beforeAll(async () => {
    db = await freshDatabase();
    // Batch 10 but room for 3 per consumer, 4 in the whole bridge.
    env = bridgeEnv(loadEnv(), { DATABASE_URL: db.url, BRIDGE_BATCH: 10, BRIDGE_CONCURRENCY: 3, BRIDGE_MAX_IN_FLIGHT: 4 });
    b = await startBridge(env, db, [busy('busy-a', 'busy.a'), busy('busy-b', 'busy.b')]);
  });
  afterAll(async () => {
    await b?.stop();
    await dropStreams(env);
    await db?.drop();
  });

  it('never has more in flight than the consumer and bridge limits, whatever the backlog', async () => {
    const N = 150;
    await publishAll(b.js, env.NATS_SUBJECT_PREFIX, [
      ...Array.from({ length: N }, (_, i) => envelope('busy.a', `a-${i}`)),
      ...Array.from({ length: N }, (_, i) => envelope('busy.b', `b-${i}`)),
    ]);
    const server = { a: 0, b: 0, samples: 0 };
    let bridgeMax = 0;
    let done = false;
    const sampler = (async () => {
      while (!done) {
        const [a, bb] = await Promise.all([
          b.jsm.consumers.info(env.NATS_STREAM, 'fn-busy-a'),
          b.jsm.consumers.info(env.NATS_STREAM, 'fn-busy-b'),
        ]);
        server.a = Math.max(server.a, a.num_ack_pending);
        server.b = Math.max(server.b, bb.num_ack_pending);
        bridgeMax = Math.max(bridgeMax, b.bridge.inFlight);
        server.samples++;
      }
    })();
    await waitFor('the backlog to drain', () => b.settled.length === 2 * N, { timeoutMs: 60_000 });
    done = true;
    await sampler;

    // Exact: at most 3 per function and 4 in the bridge, and the limits were reached.
    expect(maxRunning['busy-a']).toBeLessThanOrEqual(3);
    expect(maxRunning['busy-b']).toBeLessThanOrEqual(3);
    expect(Math.max(maxRunning['busy-a']!, maxRunning['busy-b']!)).toBe(3);
    expect(maxRunning.total).toBe(4);
    expect(bridgeMax).toBeLessThanOrEqual(4);
    // JetStream's view never reached one batch of 10 per consumer (it also counts
    // acks still on their way, hence not exactly 3): nothing was fetched ahead.
    expect(server.samples).toBeGreaterThan(20);
    expect(server.a).toBeLessThan(10);
    expect(server.b).toBeLessThan(10);
    expect(b.settled.every((s) => s.outcome === 'acked' && s.deliveryCount === 1)).toBe(true);
  }, 90_000);
});
