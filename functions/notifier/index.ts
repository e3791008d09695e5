// notifier: outgoing webhooks. Two halves on one consumer (fn-notifier):
//   fan-out   review.requested / review.escalated / review.responded / finality.decided
//             → one notification.deliver per webhook whose filter accepts the event
//             (global ones from WEBHOOKS, the scope's own from Postgres); their ids are
//             derived (the event's id, the webhook), so a redelivered event adds nothing;
//   delivery  notification.deliver → one signed POST. 2xx: recorded with the inbox
//             record, never sent again. A network error, timeout, 408, 429 or 5xx is
//             transient: the bridge retries with backoff; on delivery NOTIFY_MAX_ATTEMPTS
//             (JetStream's count, which survives a bridge restart) it becomes permanent
//             and is dead-lettered, replayable with `npm run dlq -- replay <id>` (a replay
//             starts the count again). Any other status is permanent at once.
// Effectively once up to the receiver: a crash between its 2xx and the commit sends
// the same delivery id again, which the receiver drops (X-Swarm-Delivery).
import type { BlockList } from 'node:net';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { PermanentError, TransientError, classify } from '../../shared/contract/errors.ts';
import { message, payloadOf, type OutMessage } from '../../shared/contract/messages.ts';
import { parseAllowNets } from '../../shared/notify/address.ts';
import { renderBody } from '../../shared/notify/body.ts';
import { SOURCE_TYPES, deliveryId, eventFor, notificationOf, type SourceType } from '../../shared/notify/events.ts';
import { postWebhook, statusOutcome } from '../../shared/notify/send.ts';
import { signatureHeader } from '../../shared/notify/sign.ts';
import { parseGlobalWebhooks, type Webhook } from '../../shared/notify/webhook.ts';
import { STEP_BUDGETS } from '../budgets.ts';
import type { StepContext } from '../../shared/runtime/step.ts';
import { defineAgentStep } from '../../shared/swarm/agent-step.ts';
import { recordDelivery, scopeWebhooksForSending } from '../../shared/store/webhooks.ts';

export const step = defineAgentStep('notifier', STEP_BUDGETS.notifier, {
  consumes: [...SOURCE_TYPES, 'notification.deliver'],
  handle: (msg, ctx) => (msg.type === 'notification.deliver' ? deliver(msg, ctx) : fanOut(msg, ctx)),
});
export const { app, handler } = step;

/** Parsed once per value (the configuration is validated at start already). */
const memo = <T>(f: (s: string) => T) => {
  let key: string | undefined;
  let value: T;
  return (s: string): T => (key === s ? value : ((key = s), (value = f(s))));
};
const globalWebhooks = memo((s) =>
  parseGlobalWebhooks(s).map((w): Webhook => ({ ref: `global:${w.id}`, url: w.url, events: w.events, format: w.format, secret: w.secret })),
);
const allowNets = memo<BlockList>(parseAllowNets);

async function fanOut(msg: Envelope, ctx: StepContext) {
  // Checked before the payload: a notifier deployed into a running swarm reads the stream's
  // history, whose old events (in older message shapes too) must not reach anyone now.
  const age = Date.now() - Date.parse(msg.ts ?? '');
  if (age > ctx.deps.env.NOTIFY_MAX_AGE_MS) return { result: { notifications: 0, skipped: `event ${Math.round(age / 60_000)} min old (NOTIFY_MAX_AGE_MS)` } };
  const type = msg.type as SourceType;
  const n = notificationOf(type, payloadOf(type, msg.payload));
  if (!n) return { result: { notifications: 0 } };
  const hooks = [...globalWebhooks(ctx.deps.env.WEBHOOKS), ...(await scopeWebhooksForSending(ctx.deps.db, msg.scope))];
  const emit: OutMessage[] = [];
  for (const w of hooks) {
    const event = eventFor(n, w.events);
    if (!event) continue;
    const delivery_id = deliveryId(msg.id, w.ref);
    emit.push(message('notification.deliver', { delivery_id, webhook: w.ref, event, occurred_at: msg.ts ?? new Date().toISOString(), data: n.data }, { key: w.ref }));
  }
  return { emit, result: { notifications: emit.length } };
}

async function findWebhook(ctx: StepContext, scope: string, ref: string): Promise<Webhook | undefined> {
  if (ref.startsWith('global:')) return globalWebhooks(ctx.deps.env.WEBHOOKS).find((w) => w.ref === ref);
  return (await scopeWebhooksForSending(ctx.deps.db, scope)).find((w) => w.ref === ref);
}

async function deliver(msg: Envelope, ctx: StepContext) {
  const p = payloadOf('notification.deliver', msg.payload);
  const env = ctx.deps.env;
  // Read now, not at fan-out: a webhook deleted (or no longer interested) meanwhile is not called.
  const w = await findWebhook(ctx, msg.scope, p.webhook);
  if (!w || !w.events.includes(p.event)) return { result: { skipped: w ? 'event no longer in the filter' : 'webhook deleted' } };
  const body = renderBody(w.format, { id: p.delivery_id, event: p.event, scope: msg.scope, occurred_at: p.occurred_at, data: p.data }, env.API_PUBLIC_URL);
  const origin = new URL(w.url).origin;
  let outcome: 'delivered' | TransientError | PermanentError;
  let status = 0;
  try {
    const res = await postWebhook({
      url: w.url,
      body,
      headers: {
        'x-swarm-signature': signatureHeader(w.secret, body),
        'x-swarm-event': p.event,
        'x-swarm-delivery': p.delivery_id,
        'x-swarm-attempt': String(ctx.attempt),
      },
      timeoutMs: env.NOTIFY_TIMEOUT_MS,
      allow: allowNets(env.WEBHOOK_ALLOW_NETS),
      signal: ctx.signal,
    });
    status = res.status;
    outcome = statusOutcome(res.status, origin, res.retryAfter);
  } catch (err) {
    outcome = classify(err) as TransientError | PermanentError;
  }
  if (outcome === 'delivered') {
    return ctx.commit(async (tx) => {
      await recordDelivery(tx, { deliveryId: p.delivery_id, scope: msg.scope, webhook: p.webhook, event: p.event, status, attempt: ctx.attempt });
      return { result: { delivered: p.delivery_id, status } };
    });
  }
  // Bounded in deliveries, not only in the bridge's time budgets: a receiver that keeps
  // failing ends in the dead-letter stream after NOTIFY_MAX_ATTEMPTS, where it can be replayed.
  if (outcome instanceof TransientError && outcome.retryKind !== 'contention' && ctx.attempt >= env.NOTIFY_MAX_ATTEMPTS) {
    throw new PermanentError('webhook_undeliverable', `${origin}: gave up after ${ctx.attempt} attempts (NOTIFY_MAX_ATTEMPTS); last ${outcome.code}: ${outcome.message}`);
  }
  ctx.log.info({ webhook: p.webhook, delivery: p.delivery_id, code: outcome.code, attempt: ctx.attempt }, 'webhook delivery failed');
  throw outcome;
}
