// Dead letters (V5): a message that failed permanently, or on its last allowed
// delivery, is published to the dead-letter stream with its original data and
// headers plus why it failed, indexed in the `dead_letters` table, and only then
// terminated. The stream is the record; the row makes it easy to list and replay.
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { HDR, dlqSubject, natsHeaders, parseSubject } from '../../shared/adapters/bus.ts';
import type { StepFailure } from '../../shared/contract/result.ts';
import type { Logger } from '../../shared/log.ts';
import type { Db } from '../../shared/runtime/guarded.ts';

export type FailureInfo = StepFailure['error'];

/** What is known about the failed message, whether it came from a delivery or from the stream. */
export interface FailedMessage {
  stream: string;
  streamSeq: number;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  deliveries: number;
}

export const fromDelivery = (m: JsMsg): FailedMessage => ({
  stream: m.info.stream,
  streamSeq: m.seq,
  subject: m.subject,
  data: m.data,
  headers: m.headers,
  deliveries: m.info.deliveryCount,
});

export interface DeadLetterConfig {
  prefix: string;
}

export class DeadLetters {
  constructor(
    private readonly js: JetStreamClient,
    private readonly db: Db,
    private readonly cfg: DeadLetterConfig,
    private readonly log: Logger,
  ) {}

  /** Publish to the DLQ stream (must succeed) and insert the row (best effort: the stream has it). */
  async record(msg: FailedMessage, consumer: string, error: FailureInfo): Promise<void> {
    const scope = parseSubject(this.cfg.prefix, msg.subject)?.scope ?? '_';
    const messageId = msg.headers?.get(HDR.msgId) || null;
    const h = natsHeaders();
    // Keep the publisher's headers (trace context included) but not JetStream's own.
    for (const [k, v] of msg.headers ?? []) if (!k.startsWith('Nats-')) for (const x of v) h.append(k, x);
    if (messageId) h.set('Gswarm-Dlq-Msg-Id', messageId);
    h.set(HDR.dlqConsumer, consumer);
    h.set(HDR.dlqSubject, msg.subject);
    h.set(HDR.dlqStreamSeq, String(msg.streamSeq));
    h.set(HDR.dlqDeliveries, String(msg.deliveries));
    h.set(HDR.dlqErrorClass, error.class);
    h.set(HDR.dlqErrorCode, error.code);
    h.set(HDR.dlqReason, oneLine(error.message));
    // One dead letter per (stream message, consumer), however often this runs.
    const ack = await this.js.publish(dlqSubject(this.cfg.prefix, consumer, scope), msg.data, {
      msgID: `dlq:${msg.stream}:${consumer}:${msg.streamSeq}`,
      headers: h,
    });
    const headers: Record<string, string[]> = {};
    for (const [k, v] of msg.headers ?? []) headers[k] = v;
    try {
      await this.db.query(
        `INSERT INTO dead_letters (consumer, subject, message_id, scope_id, error_class, error_code, reason, deliveries, stream_seq, dlq_seq, data, headers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (consumer, stream_seq) DO NOTHING`,
        [consumer, msg.subject, messageId, scope, error.class, error.code, error.message, msg.deliveries, msg.streamSeq, ack.seq, Buffer.from(msg.data), JSON.stringify(headers)],
      );
    } catch (err) {
      this.log.error({ err, consumer, streamSeq: msg.streamSeq, dlqSeq: ack.seq }, 'dead letter published but its row was not written');
    }
    this.log.warn({ consumer, subject: msg.subject, streamSeq: msg.streamSeq, deliveries: msg.deliveries, error }, 'dead-lettered');
  }
}

/**
 * The backstop: when a message runs out of deliveries without the bridge having
 * settled it (the bridge was killed during its last attempt, or the message
 * crashes the process every time), JetStream publishes a max-deliveries advisory.
 * One bridge (queue group) fetches the message from the stream and dead-letters
 * it, so nothing exceeds max_deliver silently.
 */
export function watchMaxDeliveries(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  deadLetters: DeadLetters,
  log: Logger,
): Subscription {
  return nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`, {
    queue: 'gswarm-max-deliveries',
    callback: (err, m) => {
      if (err) return log.error({ err }, 'max-deliveries advisory subscription failed');
      void (async () => {
        const a = m.json<{ stream: string; consumer: string; stream_seq: number; deliveries: number }>();
        if (!a.consumer.startsWith('fn-')) return;
        const stored = await jsm.streams.getMessage(a.stream, { seq: a.stream_seq });
        if (!stored) return log.error({ advisory: a }, 'message of a max-deliveries advisory is gone from the stream');
        await deadLetters.record(
          { stream: a.stream, streamSeq: a.stream_seq, subject: stored.subject, data: stored.data, headers: stored.header, deliveries: a.deliveries },
          a.consumer,
          { class: 'transient', code: 'max_deliveries', message: `delivered ${a.deliveries} times without being settled (JetStream max-deliveries advisory)` },
        );
      })().catch((e: unknown) => log.error({ err: e }, 'could not dead-letter after a max-deliveries advisory'));
    },
  });
}

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 1024);
