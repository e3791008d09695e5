// Publishing test envelopes the way any publisher would: Nats-Msg-Id = envelope id.
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEnvelope } from '../../../shared/adapters/bus.ts';
import type { Envelope, EnvelopeInput } from '../../../shared/contract/envelope.ts';

export function envelope(type: string, id: string, payload: Record<string, unknown> = {}, scope = 'acme'): Envelope {
  return { id, scope, type, payload, attempt: 1, source: 'test' } satisfies EnvelopeInput as Envelope;
}

/** Publish in windows of `window` outstanding acks (fast, and no unbounded promise pile). */
export async function publishAll(js: JetStreamClient, prefix: string, envs: readonly Envelope[], window = 256): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (const e of envs) {
    const p: Promise<unknown> = publishEnvelope(js, prefix, e).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
}
