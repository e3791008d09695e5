// The bridge: provisions the streams and one consumer per function, then runs a
// pull loop per consumer that hands each message to its function (dispatch.ts).
// It holds no state of its own: two bridges on the same consumers share the work,
// and JetStream gives each message to one of them at a time.
import { hostname } from 'node:os';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { consumerName, jetStream, provisionConsumers, provisionStreams, type BusConfig, type ConsumerPlan } from '../../shared/adapters/bus.ts';
import type { Env } from '../../shared/config.ts';
import { stepIdentity } from '../../shared/contract/bus-identity.ts';
import { logger, type Logger } from '../../shared/log.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';
import type { Step } from '../../shared/runtime/step.ts';
import { Slots } from './capacity.ts';
import { DeadLetters, syncDeadLetters, watchMaxDeliveries } from './dead-letter.ts';
import type { DispatchContext, Route, Settled } from './dispatch.ts';
import { direct, overHttp, viaAppFetch } from './invoker.ts';
import { PullLoop } from './pull.ts';
import { RetryBudgets } from './retry-budget.ts';

/** The bus settings (streams, redelivery) plus the bridge's own. */
export type BridgeEnv = BusConfig &
  /** Production: functions over HTTP need STEP_INVOKE_TOKEN. */
  Partial<Pick<Env, 'SWARM_ENV'>> &
  Pick<
    Env,
    | 'BRIDGE_DEPLOYMENT_ID'
    | 'STEP_INVOKE_TOKEN'
    | 'BRIDGE_INSTANCE_ID'
    | 'BRIDGE_BATCH'
    | 'BRIDGE_FETCH_EXPIRES_MS'
    | 'BRIDGE_CONCURRENCY'
    | 'BRIDGE_MAX_IN_FLIGHT'
    | 'BRIDGE_SHUTDOWN_GRACE_MS'
    | 'BRIDGE_IN_PROCESS'
    | 'BRIDGE_RETRY_BUDGET_MS'
    | 'BRIDGE_OUTAGE_BUDGET_MS'
  >;

export interface BridgeOptions {
  /** The bridge's own connection: provisioning, advisories. */
  nc: NatsConnection;
  /**
   * Open a connection as a step's own bus identity (stepIdentity(name)): its loop pulls,
   * acks, publishes what the step emits and dead-letters through it, so the server holds
   * each step to its row of the catalogue. Without it every loop shares `nc`.
   */
  connectAs?: (identity: string) => Promise<NatsConnection>;
  steps: readonly Step[];
  /** Function name → base URL: invoke over HTTP instead of in-process. */
  urls?: Readonly<Record<string, string>>;
  env: BridgeEnv;
  /** For the dead_letters table. */
  db: GuardedPool;
  log?: Logger;
  /** Called after every message is settled (benchmarks, tests, metrics). */
  onSettled?: (s: Settled) => void;
}

/** HTTP invocations may take the step's time plus this, for the network and the function's own edge. */
const HTTP_MARGIN_MS = 5_000;

export class Bridge {
  readonly instance: string;
  readonly plan: ConsumerPlan;
  readonly loops: readonly PullLoop[];
  #connected = true;
  #draining = false;
  #advisories: Subscription;
  readonly #stepConnections: NatsConnection[];

  private constructor(o: { instance: string; plan: ConsumerPlan; loops: PullLoop[]; advisories: Subscription; nc: NatsConnection; stepConnections: NatsConnection[]; log: Logger }) {
    this.instance = o.instance;
    this.plan = o.plan;
    this.loops = o.loops;
    this.#advisories = o.advisories;
    this.#stepConnections = o.stepConnections;
    void (async () => {
      for await (const s of o.nc.status()) {
        if (s.type === 'disconnect') {
          this.#connected = false;
          o.log.warn({ server: s.server }, 'NATS disconnected; reconnecting');
        } else if (s.type === 'reconnect') {
          this.#connected = true;
          o.log.info({ server: s.server }, 'NATS reconnected');
        }
      }
    })();
  }

  static async start(o: BridgeOptions): Promise<Bridge> {
    const env = o.env;
    const instance = env.BRIDGE_INSTANCE_ID || `${hostname()}-${process.pid}`;
    const log = (o.log ?? logger('bridge')).child({ instance });
    if (o.steps.length === 0) throw new Error('the bridge has no functions to run (BRIDGE_FUNCTIONS, or the steps of functions/registry.ts)');
    for (const name of Object.keys(o.urls ?? {})) {
      if (!o.steps.some((s) => s.name === name)) throw new Error(`BRIDGE_FUNCTION_URLS names ${name}, which is not among the functions`);
    }

    const { js, jsm } = await jetStream(o.nc);
    const longestStepMs = Math.max(...o.steps.map((s) => s.timeoutMs));
    for (const m of await provisionStreams(jsm, env, longestStepMs)) {
      log.warn(m, 'stream has a replica count other than NATS_STREAM_REPLICAS; left as it is (scale it with `nats stream edit --replicas`)');
    }
    const plan = await provisionConsumers(jsm, env, o.steps, env.BRIDGE_DEPLOYMENT_ID);
    log.info({ plan }, 'consumers provisioned');

    const deadLetters = new DeadLetters(js, o.db, { prefix: env.NATS_SUBJECT_PREFIX }, log);
    const budgets = new RetryBudgets(env);
    const shared: DispatchContext = { js, prefix: env.NATS_SUBJECT_PREFIX, redelivery: env, deadLetters, budgets, log, onSettled: o.onSettled };
    const bridgeSlots = new Slots(env.BRIDGE_MAX_IN_FLIGHT);
    const loops: PullLoop[] = [];
    const stepConnections: NatsConnection[] = [];
    for (const step of o.steps) {
      const url = o.urls?.[step.name];
      const route: Route = {
        name: step.name,
        consumer: consumerName(step.name),
        emits: step.emits,
        invoke: url ? overHttp(url, step.timeoutMs + HTTP_MARGIN_MS, env.STEP_INVOKE_TOKEN, env) : env.BRIDGE_IN_PROCESS === 'fetch' ? viaAppFetch(step, env.STEP_INVOKE_TOKEN) : direct(step),
      };
      let dc = shared;
      let stepJs = js;
      if (o.connectAs) {
        const snc = await o.connectAs(stepIdentity(step.name));
        stepConnections.push(snc);
        stepJs = (await jetStream(snc, { manager: false })).js;
        dc = { ...shared, js: stepJs, deadLetters: new DeadLetters(stepJs, o.db, { prefix: env.NATS_SUBJECT_PREFIX }, log) };
      }
      const consumer = await stepJs.consumers.get(env.NATS_STREAM, route.consumer);
      loops.push(
        new PullLoop(consumer, route, dc, bridgeSlots, { concurrency: env.BRIDGE_CONCURRENCY, batch: env.BRIDGE_BATCH, expiresMs: env.BRIDGE_FETCH_EXPIRES_MS, ackWaitMs: env.BRIDGE_ACK_WAIT_MS }, log),
      );
    }
    const advisories = watchMaxDeliveries(o.nc, jsm, env.NATS_STREAM, deadLetters, log);
    // Rows a bridge could not write while Postgres was down, from the dead-letter stream.
    void syncDeadLetters(o.db, { jsm, stream: env.NATS_DLQ_STREAM, prefix: env.NATS_SUBJECT_PREFIX })
      .then((n) => n > 0 && log.info({ written: n }, 'dead_letters rows written from the dead-letter stream'))
      .catch((err: unknown) => log.warn({ err }, 'could not sync dead_letters with the dead-letter stream'));
    const bridge = new Bridge({ instance, plan, loops, advisories, nc: o.nc, stepConnections, log });
    for (const l of loops) l.start();
    log.info({ functions: o.steps.map((s) => s.name), http: Object.keys(o.urls ?? {}) }, 'bridge running');
    return bridge;
  }

  get natsConnected(): boolean {
    return this.#connected;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get inFlight(): number {
    return this.loops.reduce((n, l) => n + l.inFlight, 0);
  }

  consumers(): { consumer: string; inFlight: number; lastError?: string }[] {
    return this.loops.map((l) => ({ consumer: l.route.consumer, inFlight: l.inFlight, ...(l.lastError ? { lastError: l.lastError } : {}) }));
  }

  /** Stop fetching and wait (up to graceMs) for what is in flight to be settled. True if everything was. */
  async stop(graceMs: number): Promise<boolean> {
    this.#draining = true;
    this.#advisories.unsubscribe();
    const done = await Promise.all(this.loops.map((l) => l.stop(graceMs)));
    await Promise.all(this.#stepConnections.map((c) => c.drain().catch(() => {})));
    return done.every(Boolean);
  }
}
