// The whole swarm in one process: the bridge running every function in-process,
// against the configured services, on one dependency container (the caller's, or one
// built here from `env`; stop() closes it). Used by the demo and the end-to-end tests;
// `npm run bridge` is the same bridge as a long-running service.
import type { Env } from '../../shared/config.ts';
import { BUS_IDENTITY } from '../../shared/contract/bus-identity.ts';
import { connectBus, jetStream, type JetStreamClient, type NatsConnection } from '../../shared/adapters/bus.ts';
import { logger, type Logger } from '../../shared/log.ts';
import { createDeps, type Deps } from '../../shared/runtime/deps.ts';
import type { Step } from '../../shared/runtime/step.ts';
import { SWARM_STEPS } from '../../functions/registry.ts';
import { Bridge } from '../bridge/bridge.ts';

export interface SwarmRuntime {
  env: Env;
  deps: Deps;
  nc: NatsConnection;
  js: JetStreamClient;
  bridge: Bridge;
  steps: Step[];
  stop(): Promise<void>;
}

export async function startSwarm(env: Env, opts: { deps?: Deps; log?: Logger; steps?: Step[] } = {}): Promise<SwarmRuntime> {
  const deps = opts.deps ?? createDeps({ env });
  const log = opts.log ?? logger('swarm');
  const steps = (opts.steps ?? SWARM_STEPS).map((s) => s.withDeps(deps));
  const nc = await connectBus(env, 'swarm', BUS_IDENTITY.bridge);
  const { js } = await jetStream(nc);
  const bridge = await Bridge.start({ nc, connectAs: (identity) => connectBus(env, 'swarm', identity), steps, env, db: deps.db, log });
  return {
    env,
    deps,
    nc,
    js,
    bridge,
    steps,
    async stop() {
      await bridge.stop(env.BRIDGE_SHUTDOWN_GRACE_MS);
      await nc.drain().catch(() => {});
      await deps.close();
    },
  };
}
