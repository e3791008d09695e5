// Timers for what no event triggers: every tick, each open scope gets a finality
// evaluation (quiescence, BLOCKED and EXPIRED depend on time passing) and a status
// tick. The message ids name the tick window, so several bridges ticking at once
// publish each message once (JetStream drops the duplicates). A paused or closed scope
// gets no tick: time passing must not move it (its steps would only hold the messages).
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEnvelope } from '../../shared/adapters/bus.ts';
import type { Queryable } from '../../shared/adapters/db.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';

/** The envelopes one tick publishes for one scope (window = floor(now / interval)). */
export function tickEnvelopes(scope: string, window: number): Envelope[] {
  const ts = new Date().toISOString();
  return [
    { id: `tick:${scope}:${window}:finality`, scope, type: 'finality.evaluate', payload: { reason: `timer (window ${window})` }, attempt: 1, source: 'ticker', ts },
    { id: `tick:${scope}:${window}:status`, scope, type: 'status.tick', payload: { window }, attempt: 1, source: 'ticker', ts },
  ];
}

export async function tick(db: Queryable, js: JetStreamClient, prefix: string, intervalMs: number, now = Date.now()): Promise<number> {
  const window = Math.floor(now / intervalMs);
  const { rows } = await db.query<{ scope_id: string }>(`SELECT scope_id FROM scopes WHERE status IN ('open', 'blocked') AND hold IS NULL ORDER BY scope_id`);
  let published = 0;
  for (const { scope_id } of rows) {
    for (const env of tickEnvelopes(scope_id, window)) {
      const ack = await publishEnvelope(js, prefix, env);
      if (!ack.duplicate) published++;
    }
  }
  return published;
}
