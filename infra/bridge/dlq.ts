// Dead-letter tooling.
//   npm run dlq -- list [--consumer fn-x] [--limit 50] [--json]
//   npm run dlq -- show <id>
//   npm run dlq -- replay <id>
// The dead-letter stream is the record: every command first writes the
// `dead_letters` rows it lacks from the stream (a bridge that dead-lettered while
// Postgres was down could not), so the list shows every dead letter.
// A replay republishes the original message, unchanged, on
// <prefix>-replay.<consumer>.<scope>.<type>, which only that consumer receives:
// other functions that handled the message already are not disturbed. Its
// envelope id is the same, so should the message have completed after all, the
// function's inbox returns the stored result instead of running it again.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { JetStreamClient } from '@nats-io/jetstream';
import { HDR, natsHeaders, replaySubject } from '../../shared/adapters/bus.ts';
import type { GuardedPool } from '../../shared/runtime/guarded.ts';
import { syncDeadLetters, type DeadLetterStream } from './dead-letter.ts';

export interface DeadLetterRow {
  id: string;
  created_at: Date;
  consumer: string;
  subject: string;
  message_id: string | null;
  scope_id: string | null;
  error_class: string;
  error_code: string;
  reason: string;
  deliveries: number;
  stream_seq: string;
  dlq_seq: string | null;
  replay_count: number;
  replayed_at: Date | null;
}

/** The newest dead letters; with `stream`, after writing the rows missing from the dead-letter stream. */
export async function listDeadLetters(db: GuardedPool, opts: { consumer?: string; limit?: number; stream?: DeadLetterStream } = {}): Promise<DeadLetterRow[]> {
  if (opts.stream) await syncDeadLetters(db, opts.stream);
  const { rows } = await db.query<DeadLetterRow & Record<string, unknown>>(
    `SELECT id, created_at, consumer, subject, message_id, scope_id, error_class, error_code, reason, deliveries,
            stream_seq, dlq_seq, replay_count, replayed_at
       FROM dead_letters WHERE ($1::text IS NULL OR consumer = $1) ORDER BY id DESC LIMIT $2`,
    [opts.consumer ?? null, opts.limit ?? 50],
  );
  return rows;
}

/** Republish dead letter `id` to its consumer alone. Returns the replay's stream sequence. */
export async function replayDeadLetter(js: JetStreamClient, db: GuardedPool, prefix: string, id: string): Promise<{ seq: number; subject: string }> {
  const { rows } = await db.query<{ consumer: string; subject: string; data: Buffer; headers: Record<string, string[]>; replay_count: number }>(
    `SELECT consumer, subject, data, headers, replay_count FROM dead_letters WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new Error(`no dead letter ${id}`);
  const h = natsHeaders();
  for (const [k, vs] of Object.entries(row.headers)) if (!k.startsWith('Nats-')) for (const v of vs) h.append(k, v);
  h.set(HDR.replayOf, id);
  const subject = replaySubject(prefix, row.consumer, row.subject);
  // A new message id per replay: a second replay is deliberate, not a duplicate.
  const ack = await js.publish(subject, row.data, { msgID: `replay:${id}:${row.replay_count + 1}`, headers: h });
  await db.query(`UPDATE dead_letters SET replay_count = replay_count + 1, replayed_at = now() WHERE id = $1`, [id]);
  return { seq: ack.seq, subject };
}

if (process.argv[1] && basename(process.argv[1]) === 'dlq.ts') {
  const { configOrExit } = await import('../../shared/config.ts');
  const { connectBus, jetStream } = await import('../../shared/adapters/bus.ts');
  const { createPool } = await import('../../shared/adapters/db.ts');
  const { guardPool } = await import('../../shared/runtime/guarded.ts');
  const env = configOrExit();
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { consumer: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [cmd, id] = positionals;
  const db = guardPool(createPool({ ...env, PG_POOL_MAX: 2 }));
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const nc = await connectBus(env, 'dlq', 'operator').catch((err: unknown) => {
    process.stderr.write(`dlq: NATS unreachable (${(err as Error).message}); dead letters whose row is missing are not shown\n`);
    return undefined;
  });
  try {
    if (nc) {
      const { jsm } = await jetStream(nc);
      const n = await syncDeadLetters(db, { jsm, stream: env.NATS_DLQ_STREAM, prefix: env.NATS_SUBJECT_PREFIX });
      if (n > 0) process.stderr.write(`dlq: wrote ${n} missing dead_letters row${n === 1 ? '' : 's'} from the dead-letter stream\n`);
    }
    if (cmd === 'list') {
      const rows = await listDeadLetters(db, { consumer: values.consumer, limit: values.limit ? Number(values.limit) : 50 });
      if (values.json) out(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) out('no dead letters');
      else {
        out(['id', 'created', 'consumer', 'subject', 'deliveries', 'error', 'replays', 'reason'].join('\t'));
        for (const r of rows) {
          out([r.id, r.created_at.toISOString(), r.consumer, r.subject, r.deliveries, `${r.error_class}/${r.error_code}`, r.replay_count, r.reason.slice(0, 120)].join('\t'));
        }
      }
    } else if (cmd === 'show' && id) {
      const { rows } = await db.query(`SELECT *, convert_from(data, 'UTF8') AS text FROM dead_letters WHERE id = $1`, [id]);
      if (!rows[0]) throw new Error(`no dead letter ${id}`);
      const { data: _bytes, ...rest } = rows[0] as Record<string, unknown>;
      out(JSON.stringify(rest, null, 2));
    } else if (cmd === 'replay' && id) {
      if (!nc) throw new Error('a replay publishes to NATS, which is unreachable');
      const { js } = await jetStream(nc);
      const r = await replayDeadLetter(js, db, env.NATS_SUBJECT_PREFIX, id);
      out(`replayed dead letter ${id} on ${r.subject} (stream seq ${r.seq})`);
    } else {
      process.stderr.write('usage: npm run dlq -- list [--consumer fn-x] [--limit N] [--json] | show <id> | replay <id>\n');
      process.exitCode = 2;
    }
  } catch (err) {
    process.stderr.write(`dlq: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await nc?.drain().catch(() => {});
    await db.pool.end();
  }
}
