// NATS JetStream: the connection, the subject scheme, idempotent provisioning of
// the swarm's streams and of one durable pull consumer per function, and
// publishing with deterministic message ids.
//
// Subjects carry the scope, so one scope's traffic can be filtered and ordered:
//   <prefix>.<scope>.<type...>                 every message (stream NATS_STREAM)
//   <prefix>-replay.<consumer>.<scope>.<type>  a dead letter replayed to one consumer only
//   <prefix>-dlq.<consumer>.<scope>            dead letters (stream NATS_DLQ_STREAM)
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator, headers as natsHeaders, nanos, nkeyAuthenticator, type Authenticator, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefix } from '../contract/bus-identity.ts';
import type { Env } from '../config.ts';
import type { Envelope } from '../contract/envelope.ts';
import { injectContext, type Context } from './telemetry.ts';

export type { JetStreamClient, JetStreamManager, MsgHdrs, NatsConnection };

export type BusConfig = Pick<
  Env,
  | 'NATS_URL'
  | 'NATS_STREAM'
  | 'NATS_DLQ_STREAM'
  | 'NATS_SUBJECT_PREFIX'
  | 'NATS_DUPLICATE_WINDOW_MS'
  | 'NATS_STREAM_MAX_AGE_MS'
  | 'NATS_DLQ_MAX_AGE_MS'
  | 'NATS_STREAM_REPLICAS'
  | 'BRIDGE_ACK_WAIT_MS'
  | 'BRIDGE_MAX_DELIVER'
  | 'BRIDGE_MAX_ACK_PENDING'
  | 'BRIDGE_NAK_BASE_MS'
  | 'BRIDGE_NAK_MAX_MS'
>;

/** Headers the runtime reads or writes besides W3C trace context. */
export const HDR = {
  msgId: 'Nats-Msg-Id',
  dlqConsumer: 'Gswarm-Dlq-Consumer',
  dlqSubject: 'Gswarm-Dlq-Subject',
  dlqStreamSeq: 'Gswarm-Dlq-Stream-Seq',
  dlqDeliveries: 'Gswarm-Dlq-Deliveries',
  dlqErrorClass: 'Gswarm-Dlq-Error-Class',
  dlqErrorCode: 'Gswarm-Dlq-Error-Code',
  dlqReason: 'Gswarm-Dlq-Reason',
  replayOf: 'Gswarm-Replay-Of',
} as const;

/** Metadata keys on consumers this code provisions (V13: only these are ever deleted). */
export const META = { managed: 'gswarm.managed', deployment: 'gswarm.deployment', fn: 'gswarm.function' } as const;

// ------------------------------------------------------------------ connection

/**
 * Connect as one identity of infra/nats/permissions.ts: its credentials from
 * NATS_CREDS_DIR, replies on its own inbox prefix. The server refuses a connection
 * without valid credentials and any publish outside the identity's permissions.
 */
export async function connectBus(cfg: Pick<Env, 'NATS_URL' | 'NATS_CREDS_DIR'>, name: string, identity: string): Promise<NatsConnection> {
  return connect({
    servers: cfg.NATS_URL.split(',').map((s) => s.trim()),
    name: `${name} (${identity})`,
    inboxPrefix: inboxPrefix(identity),
    ...busAuthenticator(cfg.NATS_CREDS_DIR, identity),
    // A bridge outlives NATS restarts: reconnect forever, quickly, and keep
    // buffering what is published meanwhile.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 10_000,
    maxPingOut: 3,
    timeout: 5_000,
  });
}

function busAuthenticator(dir: string, identity: string): { authenticator?: Authenticator } {
  if (!dir) return {};
  const creds = join(dir, `${identity}.creds`);
  if (existsSync(creds)) return { authenticator: credsAuthenticator(readFileSync(creds)) };
  const seed = join(dir, `${identity}.nk`);
  if (existsSync(seed)) return { authenticator: nkeyAuthenticator(new TextEncoder().encode(readFileSync(seed, 'utf8').trim())) };
  throw new Error(`no bus credentials for ${identity} in NATS_CREDS_DIR=${dir} (expected ${identity}.creds or ${identity}.nk)`);
}

export async function jetStream(nc: NatsConnection): Promise<{ js: JetStreamClient; jsm: JetStreamManager }>;
export async function jetStream(nc: NatsConnection, opts: { manager: false }): Promise<{ js: JetStreamClient }>;
/** The JetStream client, and the manager unless asked not to (a step's identity may not manage). */
export async function jetStream(nc: NatsConnection, opts: { manager?: boolean } = {}): Promise<{ js: JetStreamClient; jsm?: JetStreamManager }> {
  const js = jetstream(nc, { timeout: 5_000 });
  return opts.manager === false ? { js } : { js, jsm: await jetstreamManager(nc, { timeout: 5_000 }) };
}

// ------------------------------------------------------------------ subjects

export const consumerName = (fn: string): string => `fn-${fn}`;
export const subjectFor = (prefix: string, scope: string, type: string): string => `${prefix}.${scope}.${type}`;
/** Every scope's messages of one type: what a function's consumer filters on. */
export const filterFor = (prefix: string, type: string): string => `${prefix}.*.${type}`;
export const replayFilter = (prefix: string, consumer: string): string => `${prefix}-replay.${consumer}.>`;
export const replaySubject = (prefix: string, consumer: string, originalSubject: string): string =>
  `${prefix}-replay.${consumer}.${originalSubject.slice(originalSubject.indexOf('.') + 1)}`;
export const dlqSubject = (prefix: string, consumer: string, scope: string): string => `${prefix}-dlq.${consumer}.${scope}`;

/** Scope and type of a message subject (either the normal or the replay form). */
export function parseSubject(prefix: string, subject: string): { scope: string; type: string } | undefined {
  const parts = subject.split('.');
  if (parts[0] === prefix && parts.length >= 3) return { scope: parts[1]!, type: parts.slice(2).join('.') };
  if (parts[0] === `${prefix}-replay` && parts.length >= 4) return { scope: parts[2]!, type: parts.slice(3).join('.') };
  return undefined;
}

// ------------------------------------------------------------------ redelivery policy

export type RedeliveryConfig = Pick<BusConfig, 'BRIDGE_ACK_WAIT_MS' | 'BRIDGE_MAX_DELIVER' | 'BRIDGE_NAK_BASE_MS' | 'BRIDGE_NAK_MAX_MS'>;

/**
 * Nak delay after a transient failure on delivery `n` (1-based): exponential from
 * BRIDGE_NAK_BASE_MS, capped at BRIDGE_NAK_MAX_MS, with "equal jitter" (half fixed,
 * half random) so a burst of failures does not come back as a burst.
 */
export function nakDelayMs(cfg: RedeliveryConfig, deliveryCount: number, random: () => number = Math.random): number {
  const ceiling = Math.min(cfg.BRIDGE_NAK_MAX_MS, cfg.BRIDGE_NAK_BASE_MS * 2 ** Math.max(0, deliveryCount - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Deliveries the duplicate window covers. Emitted messages are published only
 * after the step completed, and the delivery that follows a completed run (after a
 * lost ack or a failed publish) replays and acks it: republishes come from the next
 * few deliveries, not from the whole retry budget (BRIDGE_MAX_DELIVER is a safety
 * net in the thousands, and a window that long would cost JetStream memory).
 */
export const REPUBLISH_DELIVERIES = 5;

/**
 * The time over which a completed message's emitted messages may be republished:
 * each of up to REPUBLISH_DELIVERIES deliveries may run until its ack wait (or,
 * with in-progress acks, the step timeout) expires, followed by the nak delay. The
 * stream's duplicate window must cover it, so that JetStream still drops them.
 */
export function redeliverySpanMs(cfg: RedeliveryConfig, longestStepMs = 0): number {
  const perDelivery = Math.max(cfg.BRIDGE_ACK_WAIT_MS, longestStepMs);
  const deliveries = Math.min(cfg.BRIDGE_MAX_DELIVER, REPUBLISH_DELIVERIES);
  let backoff = 0;
  for (let n = 1; n < deliveries; n++) backoff += nakDelayMs(cfg, n, () => 1);
  return deliveries * perDelivery + backoff;
}

export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
}

/** The duplicate window to use: configured (validated) or computed, never below the NATS default of 2 min. */
export function duplicateWindowMs(cfg: BusConfig, longestStepMs = 0): number {
  const required = redeliverySpanMs(cfg, longestStepMs);
  if (cfg.NATS_DUPLICATE_WINDOW_MS > 0) {
    if (cfg.NATS_DUPLICATE_WINDOW_MS < required) {
      throw new ProvisioningError(
        `NATS_DUPLICATE_WINDOW_MS=${cfg.NATS_DUPLICATE_WINDOW_MS} is shorter than one message's redelivery span ` +
          `(${required} ms = min(BRIDGE_MAX_DELIVER, ${REPUBLISH_DELIVERIES}) × max(BRIDGE_ACK_WAIT_MS, longest step timeout) + total nak backoff)`,
      );
    }
    return cfg.NATS_DUPLICATE_WINDOW_MS;
  }
  return Math.max(120_000, Math.ceil(required / 1000) * 1000);
}

// ------------------------------------------------------------------ provisioning

export interface FunctionSpec {
  name: string;
  consumes: readonly string[];
  timeoutMs: number;
}

const isNotFound = (err: unknown) => err instanceof JetStreamApiError && err.status === 404;

/** A stream whose replica count differs from NATS_STREAM_REPLICAS (left as it is). */
export interface ReplicaMismatch {
  stream: string;
  replicas: number;
  configured: number;
}

/**
 * Create or update the message stream and the dead-letter stream. Never shrinks the
 * duplicate window. Both get NATS_STREAM_REPLICAS copies when created (consumers,
 * created with num_replicas 0, inherit the stream's); an existing stream's count is
 * reported, not changed (see ensureStream).
 */
export async function provisionStreams(jsm: JetStreamManager, cfg: BusConfig, longestStepMs = 0): Promise<ReplicaMismatch[]> {
  const prefix = cfg.NATS_SUBJECT_PREFIX;
  const windowMs = duplicateWindowMs(cfg, longestStepMs);
  const replicas = cfg.NATS_STREAM_REPLICAS;
  const mismatches: ReplicaMismatch[] = [];
  for (const [name, subjects, maxAgeMs, window] of [
    [cfg.NATS_STREAM, [`${prefix}.>`, `${prefix}-replay.>`], cfg.NATS_STREAM_MAX_AGE_MS, windowMs],
    [cfg.NATS_DLQ_STREAM, [`${prefix}-dlq.>`], cfg.NATS_DLQ_MAX_AGE_MS, 120_000],
  ] as const) {
    const have = await ensureStream(jsm, name, [...subjects], maxAgeMs, window, replicas);
    if (have !== replicas) mismatches.push({ stream: name, replicas: have, configured: replicas });
  }
  return mismatches;
}

/** Returns the stream's replica count. */
async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[], maxAgeMs: number, windowMs: number, replicas: number): Promise<number> {
  const info = await jsm.streams.info(name).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (!info) {
    try {
      await jsm.streams.add({ name, subjects, max_age: nanos(maxAgeMs), duplicate_window: nanos(Math.min(windowMs, maxAgeMs)), num_replicas: replicas });
      return replicas;
    } catch (err) {
      // Another process created it between our info and add: fall through to update.
      if (!(err instanceof JetStreamApiError) || (await jsm.streams.info(name).catch(() => undefined)) === undefined) throw err;
    }
  }
  const current = (await jsm.streams.info(name)).config;
  const missing = subjects.filter((s) => !current.subjects?.includes(s));
  const window = Math.max(current.duplicate_window ?? 0, nanos(Math.min(windowMs, maxAgeMs)));
  // The replica count of an existing stream is left as it is (the update keeps
  // `current.num_replicas`): changing it moves the stream's data between servers, a
  // server refuses more replicas than the cluster has peers, and during a rolling
  // deploy bridges with different settings would scale the stream back and forth.
  // Scaling is an operator's step (`nats stream edit --replicas`); the bridge warns.
  if (missing.length > 0 || window !== current.duplicate_window) {
    await jsm.streams.update(name, { ...current, subjects: [...(current.subjects ?? []), ...missing], duplicate_window: window });
  }
  return current.num_replicas;
}

export interface ConsumerPlan {
  created: string[];
  updated: string[];
  deleted: string[];
}

export function consumerConfig(cfg: BusConfig, fn: FunctionSpec, deployment: string): Partial<ConsumerConfig> & { durable_name: string } {
  const name = consumerName(fn.name);
  return {
    durable_name: name,
    description: `governed-swarm function ${fn.name}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [...fn.consumes.map((t) => filterFor(cfg.NATS_SUBJECT_PREFIX, t)), replayFilter(cfg.NATS_SUBJECT_PREFIX, name)],
    ack_wait: nanos(cfg.BRIDGE_ACK_WAIT_MS),
    max_deliver: cfg.BRIDGE_MAX_DELIVER,
    max_ack_pending: cfg.BRIDGE_MAX_ACK_PENDING,
    metadata: { [META.managed]: 'true', [META.deployment]: deployment, [META.fn]: fn.name },
  };
}

/**
 * One durable pull consumer per function, created or brought up to date; then
 * (V13) managed consumers that belong to another deployment and to no function
 * of this one are deleted. Consumers without our metadata are never touched, and
 * bridges of the same deployment that run different functions keep each other's.
 */
export async function provisionConsumers(
  jsm: JetStreamManager,
  cfg: BusConfig,
  functions: readonly FunctionSpec[],
  deployment: string,
): Promise<ConsumerPlan> {
  const plan: ConsumerPlan = { created: [], updated: [], deleted: [] };
  const wanted = new Set<string>();
  for (const fn of functions) {
    const want = consumerConfig(cfg, fn, deployment);
    wanted.add(want.durable_name);
    const have = await jsm.consumers.info(cfg.NATS_STREAM, want.durable_name).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!have) {
      try {
        await jsm.consumers.add(cfg.NATS_STREAM, want);
        plan.created.push(want.durable_name);
        continue;
      } catch (err) {
        if (!(err instanceof JetStreamApiError)) throw err; // a concurrent create: update below
      }
    }
    const { durable_name: _d, ack_policy: _a, deliver_policy: _p, ...mutable } = want;
    await jsm.consumers.update(cfg.NATS_STREAM, want.durable_name, mutable);
    plan.updated.push(want.durable_name);
  }
  for await (const c of await jsm.consumers.list(cfg.NATS_STREAM)) {
    const meta = c.config.metadata ?? {};
    if (meta[META.managed] !== 'true' || wanted.has(c.name) || meta[META.deployment] === deployment) continue;
    await jsm.consumers.delete(cfg.NATS_STREAM, c.name).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    plan.deleted.push(c.name);
  }
  return plan;
}

// ------------------------------------------------------------------ publishing

/**
 * Publish an envelope on <prefix>.<scope>.<type> with Nats-Msg-Id = its id, so a
 * second publish of the same message within the duplicate window is dropped, and
 * with the trace context (`ctx`, else the active one) in the headers.
 */
export async function publishEnvelope(js: JetStreamClient, prefix: string, env: Envelope, ctx?: Context): Promise<PubAck> {
  const h = natsHeaders();
  injectContext(h, ctx);
  return js.publish(subjectFor(prefix, env.scope, env.type), JSON.stringify(env), { msgID: env.id, headers: h });
}

export { natsHeaders };
