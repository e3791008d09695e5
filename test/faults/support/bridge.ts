// A bridge inside the test process, on a test's own streams and database.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connectBus, jetStream, type NatsConnection } from '../../../shared/adapters/bus.ts';
import type { Env } from '../../../shared/config.ts';
import { logger } from '../../../shared/log.ts';
import { createDeps, type Deps } from '../../../shared/runtime/deps.ts';
import { guardPool } from '../../../shared/runtime/guarded.ts';
import type { Step } from '../../../shared/runtime/step.ts';
import { Bridge } from '../../../infra/bridge/bridge.ts';
import type { Settled } from '../../../infra/bridge/dispatch.ts';
import type { TestDatabase } from '../../support/db.ts';

export interface RunningBridge {
  bridge: Bridge;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  deps: Deps;
  settled: Settled[];
  stop(): Promise<boolean>;
}

export async function startBridge(
  env: Env,
  db: TestDatabase | undefined,
  steps: readonly Step[],
  opts: { urls?: Record<string, string>; deps?: Deps; onSettled?: (s: Settled) => void } = {},
): Promise<RunningBridge> {
  if (!opts.deps && !db) throw new Error('startBridge needs a database or deps');
  const deps = opts.deps ?? createDeps({ env, db: guardPool(db!.pool) });
  const nc = await connectBus(env, 'test-bridge', 'operator');
  const { js, jsm } = await jetStream(nc);
  const settled: Settled[] = [];
  const bridge = await Bridge.start({
    nc,
    env,
    db: deps.db,
    steps: steps.map((s) => s.withDeps(deps)),
    urls: opts.urls,
    log: logger('test-bridge'),
    onSettled: (s) => {
      settled.push(s);
      opts.onSettled?.(s);
    },
  });
  let stopped: Promise<boolean> | undefined;
  return {
    bridge,
    nc,
    js,
    jsm,
    deps,
    settled,
    stop: () =>
      (stopped ??= (async () => {
        const clean = await bridge.stop(env.BRIDGE_SHUTDOWN_GRACE_MS);
        await nc.drain().catch(() => {});
        return clean;
      })()),
  };
}

/** Remove a test's streams (best effort). */
export async function dropStreams(env: Env): Promise<void> {
  const nc = await connectBus(env, 'test-cleanup', 'operator');
  try {
    const { jsm } = await jetStream(nc);
    for (const s of [env.NATS_STREAM, env.NATS_DLQ_STREAM]) await jsm.streams.delete(s).catch(() => {});
  } finally {
    await nc.close();
  }
}
