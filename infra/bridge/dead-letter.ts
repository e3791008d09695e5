// Dead letters (V5): a message that failed permanently, or ran out of its retry
// budget, is published to the dead-letter stream with its original data and
// headers plus why it failed, indexed in the `dead_letters` table, and only then
// terminated. The stream is the record and the source of truth; the row makes it
// easy to list and replay. A row that could not be written (Postgres down) is
// written later from the stream by syncDeadLetters, which `npm run dlq` runs
// before every command and the bridge at start.
import { JetStreamApiError, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { HDR, dlqSubject, natsHeaders, parseSubject } from '../../shared/adapters/bus.ts';
import type { StepFailure } from '../../shared/contract/result.ts';
import type { Logger } from '../../shared/log.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';

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
    private readonly db: GuardedPool,
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
    if (messageId) h.set(DLQ_MSG_ID, messageId);
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
      await insertDeadLetter(this.db, {
        consumer,
        subject: msg.subject,
        messageId,
        scope,
        error,
        deliveries: msg.deliveries,
        streamSeq: msg.streamSeq,
        dlqSeq: ack.seq,
        data: msg.data,
        headers,
      });
    } catch (err) {
      this.log.error({ err, consumer, streamSeq: msg.streamSeq, dlqSeq: ack.seq }, 'dead letter published but its row was not written (npm run dlq writes it from the stream)');
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

interface DeadLetterRecord {
  consumer: string;
  subject: string;
  messageId: string | null;
  scope: string;
  error: Pick<FailureInfo, 'class' | 'code' | 'message'>;
  deliveries: number;
  streamSeq: number;
  dlqSeq: number;
  data: Uint8Array;
  headers: Record<string, string[]>;
  createdAt?: Date;
}

/** One row per (consumer, stream message): writing it again, from the bridge or from the stream, changes nothing. */
async function insertDeadLetter(db: GuardedPool, r: DeadLetterRecord): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO dead_letters (consumer, subject, message_id, scope_id, error_class, error_code, reason, deliveries, stream_seq, dlq_seq, data, headers, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($13, now()))
     ON CONFLICT (consumer, stream_seq) DO NOTHING`,
    [r.consumer, r.subject, r.messageId, r.scope, r.error.class, r.error.code, r.error.message, r.deliveries, r.streamSeq, r.dlqSeq, Buffer.from(r.data), JSON.stringify(r.headers), r.createdAt ?? null],
  );
  return rowCount === 1;
}

export interface DeadLetterStream {
  jsm: JetStreamManager;
  /** NATS_DLQ_STREAM */
  stream: string;
  /** NATS_SUBJECT_PREFIX */
  prefix: string;
}

/**
 * Write the `dead_letters` rows the dead-letter stream has and the table lacks
 * (the bridge could not write them: Postgres was down). Idempotent, keyed like
 * the rows themselves by consumer and original stream sequence. Reads only the
 * stream messages whose sequence no row names. Returns how many rows it wrote.
 */
export async function syncDeadLetters(db: GuardedPool, bus: DeadLetterStream): Promise<number> {
  const info = await bus.jsm.streams.info(bus.stream).catch((err: unknown) => {
    if (err instanceof JetStreamApiError && err.status === 404) return undefined; // no bridge has run yet
    throw err;
  });
  if (!info) return 0;
  const { first_seq: first, last_seq: last, messages } = info.state;
  if (messages === 0) return 0;
  const { rows } = await db.query<{ dlq_seq: string }>(`SELECT dlq_seq FROM dead_letters WHERE dlq_seq BETWEEN $1 AND $2`, [first, last]);
  const have = new Set(rows.map((r) => Number(r.dlq_seq)));
  let written = 0;
  for (let seq = first; seq <= last; seq++) {
    if (have.has(seq)) continue;
    const m = await bus.jsm.streams.getMessage(bus.stream, { seq });
    const h = m?.header;
    const consumer = h?.get(HDR.dlqConsumer);
    const subject = h?.get(HDR.dlqSubject);
    const errorClass = h?.get(HDR.dlqErrorClass);
    // Not one of ours (or deleted from the stream): nothing to index.
    if (!m || !h || !consumer || !subject || (errorClass !== 'permanent' && errorClass !== 'transient')) continue;
    const messageId = h.get(DLQ_MSG_ID) || null;
    const headers: Record<string, string[]> = {};
    for (const [k, v] of h) if (!k.startsWith('Gswarm-Dlq-')) headers[k] = v;
    if (messageId) headers[HDR.msgId] = [messageId];
    const ok = await insertDeadLetter(db, {
      consumer,
      subject,
      messageId,
      scope: parseSubject(bus.prefix, subject)?.scope ?? '_',
      error: { class: errorClass, code: h.get(HDR.dlqErrorCode) || 'unknown', message: h.get(HDR.dlqReason) },
      deliveries: Number(h.get(HDR.dlqDeliveries)) || 0,
      streamSeq: Number(h.get(HDR.dlqStreamSeq)),
      dlqSeq: seq,
      data: m.data,
      headers,
      createdAt: m.time,
    });
    if (ok) written++;
  }
  return written;
}

const DLQ_MSG_ID = 'Gswarm-Dlq-Msg-Id';

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 1024);
