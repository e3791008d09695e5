// One message, from JetStream to a function and back:
//
//   invoke the function (the pull loop keeps the message alive meanwhile)
//   ├─ success   → publish what it emitted (deterministic Nats-Msg-Id), then ack
//   ├─ transient → nak with exponential backoff, while its kind's time budget
//   │              lasts (retry-budget.ts: contention never runs out)
//   └─ permanent, a transient failure past its budget (`retry_budget_exhausted`),
//      or any failure on delivery BRIDGE_MAX_DELIVER (the safety net)
//                → dead-letter stream + dead_letters row, then term
//
// A crash anywhere before the ack means a redelivery; the function's inbox then
// returns the stored result and the republish is dropped as a duplicate.
import type { JsMsg, JetStreamClient } from '@nats-io/jetstream';
import { nakDelayMs, publishEnvelope, type RedeliveryConfig } from '../../shared/adapters/bus.ts';
import { recordProcessed, type ProcessOutcome } from '../../shared/adapters/metrics.ts';
import { ROOT_CONTEXT, SpanKind, extractContext, inSpan, trace, type Context } from '../../shared/adapters/telemetry.ts';
import { classify, retryKindOf } from '../../shared/contract/errors.ts';
import type { StepFailure, StepResponse } from '../../shared/contract/result.ts';
import type { Logger } from '../../shared/log.ts';
import { fromDelivery, type DeadLetters } from './dead-letter.ts';
import type { Invoke } from './invoker.ts';
import type { RetryBudgets } from './retry-budget.ts';

export type Outcome = 'acked' | 'replayed' | 'nakked' | 'dead-lettered' | 'abandoned';

export interface Route {
  /** The function's name; its consumer is fn-<name>. */
  name: string;
  consumer: string;
  /** The types the function may emit (its declaration); a response with any other is refused. */
  emits: readonly string[];
  invoke: Invoke;
}

export interface Settled {
  consumer: string;
  streamSeq: number;
  deliveryCount: number;
  outcome: Outcome;
  /** When the bridge received the message and when it settled it (performance.now()). */
  receivedAt: number;
  settledAt: number;
  error?: { class: string; code: string; message: string };
}

export interface DispatchContext {
  js: JetStreamClient;
  prefix: string;
  redelivery: RedeliveryConfig;
  deadLetters: DeadLetters;
  budgets: RetryBudgets;
  log: Logger;
  onSettled?: (s: Settled) => void;
}

export async function dispatch(m: JsMsg, route: Route, dc: DispatchContext, cancel: AbortSignal): Promise<Outcome> {
  const receivedAt = performance.now();
  const deliveryCount = m.info.deliveryCount;
  let res: StepResponse | undefined;
  // The publisher's trace context comes in the message headers; it is handed on
  // explicitly (not only as the active context), so that it passes through even a
  // bridge that records no spans.
  const parent = extractContext(m.headers, ROOT_CONTEXT);
  const span = { kind: SpanKind.CONSUMER, attributes: spanAttributes(m, route) };
  const outcome = await inSpan(`process ${route.consumer}`, span, parent, async (s) => {
    const here = trace.setSpan(parent, s);
    res = await invoke(m, route, here, cancel);
    if (res.ok) res = declaredOnly(res, route);
    if (res.ok) res = await publishEmitted(res, here, dc);
    const o = await settle(m, res, route, dc);
    s.setAttribute('gswarm.outcome', o);
    return o;
  }).catch((err: unknown): Outcome => {
    // Only settling itself can get here (a dead letter that could not be
    // published): leave the message to its ack wait; redelivery or, after the last
    // delivery, the max-deliveries backstop takes it from there.
    dc.log.error({ err, consumer: route.consumer, seq: m.seq }, 'could not settle message');
    return 'abandoned';
  });
  const settledAt = performance.now();
  recordProcessed(route.consumer, processOutcome(outcome, res), (settledAt - receivedAt) / 1000);
  dc.onSettled?.({
    consumer: route.consumer,
    streamSeq: m.seq,
    deliveryCount,
    outcome,
    receivedAt,
    settledAt,
    ...(res && !res.ok ? { error: res.error } : {}),
  });
  return outcome;
}

/** The metrics' outcome: a dead letter is `permanent` when the step said so, `dead_lettered` when retries ran out. */
function processOutcome(o: Outcome, res: StepResponse | undefined): ProcessOutcome {
  switch (o) {
    case 'acked':
      return 'ok';
    case 'nakked':
      return 'transient';
    case 'dead-lettered':
      return res && !res.ok && res.error.class === 'permanent' ? 'permanent' : 'dead_lettered';
    default:
      return o;
  }
}

/** Call the function; anything thrown on the way (a network error) becomes a classified failure. */
async function invoke(m: JsMsg, route: Route, here: Context, cancel: AbortSignal): Promise<StepResponse> {
  try {
    return await route.invoke(m.data, { attempt: m.info.deliveryCount, trace: here }, cancel);
  } catch (err) {
    const e = classify(err);
    return { ok: false, error: { class: e.errorClass, code: e.code, message: e.message } };
  }
}

/**
 * A function over HTTP answers for itself: what it returns is checked against what it
 * declared (in-process steps already refuse it before committing), so a compromised or
 * misconfigured function cannot make the bridge publish, say, an approval.
 */
function declaredOnly(res: StepResponse & { ok: true }, route: Route): StepResponse {
  const foreign = res.emit.find((e) => !route.emits.includes(e.type));
  if (!foreign) return res;
  return { ok: false, error: { class: 'permanent', code: 'emit_not_allowed', message: `${route.name} may not emit ${foreign.type} (it emits ${route.emits.join(', ') || 'nothing'})` } };
}

/**
 * Publish the messages the function emitted, each with its deterministic id as
 * Nats-Msg-Id and the trace context in its headers, before the input is acked.
 * A failure to publish is transient: the message comes back, the function's inbox
 * returns the same messages, and whatever did get published is dropped as a duplicate.
 */
async function publishEmitted(res: StepResponse & { ok: true }, here: Context, dc: DispatchContext): Promise<StepResponse> {
  try {
    await Promise.all(
      res.emit.map((env) =>
        inSpan(`publish ${env.type}`, { kind: SpanKind.PRODUCER }, here, (s) => publishEnvelope(dc.js, dc.prefix, env, trace.setSpan(here, s))),
      ),
    );
    return res;
  } catch (err) {
    const e = classify(err);
    // NATS would not take them: an outage, whatever the underlying code.
    return { ok: false, error: { class: 'transient', kind: 'outage', code: `publish_${e.code}`, message: `publishing emitted messages failed: ${e.message}` } };
  }
}

async function settle(m: JsMsg, res: StepResponse, route: Route, dc: DispatchContext): Promise<Outcome> {
  const key = `${route.consumer}:${m.seq}`;
  if (res.ok) {
    dc.budgets.forget(key);
    ackSoon(m);
    return res.replayed ? 'replayed' : 'acked';
  }
  const err = res.error;
  let deadLetter: StepFailure['error'] | undefined;
  if (err.class === 'permanent' || m.info.deliveryCount >= dc.redelivery.BRIDGE_MAX_DELIVER) {
    deadLetter = err;
  } else {
    const kind = err.kind ?? retryKindOf(err.code);
    const { account, exhausted } = dc.budgets.charge(key, kind);
    if (exhausted) {
      deadLetter = {
        class: 'transient',
        code: 'retry_budget_exhausted',
        message:
          `${exhausted.kind === 'outage' ? 'outage' : 'retry'} budget spent: ${Math.round(exhausted.spentMs / 1000)} s of ${exhausted.kind} ` +
          `(${exhausted.variable}=${exhausted.budgetMs}) over ${account.failures} failed deliveries; last error ${err.code}: ${err.message}`,
      };
    } else {
      // Contention resolves as soon as the other run is done: short, jittered delays
      // rather than ones that keep doubling with the delivery count.
      const n = kind === 'contention' ? Math.min(m.info.deliveryCount, CONTENTION_BACKOFF_STEPS) : m.info.deliveryCount;
      m.nak(Math.max(nakDelayMs(dc.redelivery, n), err.retryAfterMs ?? 0));
      return 'nakked';
    }
  }
  await dc.deadLetters.record(fromDelivery(m), route.consumer, deadLetter);
  dc.budgets.forget(key);
  m.term(`${deadLetter.code}: ${deadLetter.message}`.slice(0, 256));
  return 'dead-lettered';
}

/** Contention naks wait at most BRIDGE_NAK_BASE_MS × 2^(this − 1). */
const CONTENTION_BACKOFF_STEPS = 3;

/**
 * Acks wait for the end of the current turn of the event loop and go out together:
 * the NATS client writes whatever was queued in one microtask as one socket write,
 * and acks settled one by one would otherwise cost a write each.
 */
let acks: JsMsg[] = [];
function ackSoon(m: JsMsg): void {
  acks.push(m);
  if (acks.length === 1) {
    setImmediate(() => {
      const batch = acks;
      acks = [];
      for (const a of batch) a.ack();
    });
  }
}

const spanAttributes = (m: JsMsg, route: Route) => ({
  'messaging.system': 'nats',
  'messaging.destination.name': m.subject,
  'gswarm.consumer': route.consumer,
  'gswarm.stream_seq': m.seq,
  'gswarm.delivery': m.info.deliveryCount,
});
