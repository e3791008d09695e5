// Timers for what no event triggers: every tick, each open scope gets a finality
// evaluation (quiescence, BLOCKED and EXPIRED depend on time passing) and a status
// tick, and each review whose deadline passed a review.escalated (governance.yaml
// `deadlines`). The message ids name the tick window, or the review and its level, so
// several bridges ticking at once publish each message once (JetStream drops the
// duplicates; the receiving step's inbox and the review's level drop later ones).
// A paused or closed scope gets no tick: time passing must not move it (its steps
// would only hold the messages). A paused scope's review deadlines still fall due;
// their escalations are held with the rest and applied on resume. Messages still held
// in a scope that was resumed (the resume's publishes did not all go out) are released
// again, under the resume's own message ids.
import type { JetStreamClient } from '@nats-io/jetstream';
import { publishEnvelope } from '../../shared/adapters/bus.ts';
import type { Queryable } from '../../shared/adapters/db.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { HoldReleased, message } from '../../shared/contract/messages.ts';
import { deadlineMessageId, dueAt, dueCutoffs } from '../../shared/domain/deadline.ts';
import { releaseId } from '../../shared/domain/hold.ts';
import type { Deadlines } from '../../shared/domain/policy.ts';
import { strandedHeld } from '../../shared/store/hold.ts';
import { dueReviews } from '../../shared/store/review-deadlines.ts';

/** The envelopes one tick publishes for one scope (window = floor(now / interval)). */
export function tickEnvelopes(scope: string, window: number): Envelope[] {
  const ts = new Date().toISOString();
  return [
    { id: `tick:${scope}:${window}:finality`, scope, type: 'finality.evaluate', payload: { reason: `timer (window ${window})` }, attempt: 1, source: 'ticker', ts },
    { id: `tick:${scope}:${window}:status`, scope, type: 'status.tick', payload: { window }, attempt: 1, source: 'ticker', ts },
  ];
}

/** The review.escalated envelopes due at `now`: one per pending review whose current level's deadline passed. */
export async function deadlineEnvelopes(db: Queryable, deadlines: Deadlines, now: number): Promise<Envelope[]> {
  const ts = new Date(now).toISOString();
  const out: Envelope[] = [];
  for (const r of await dueReviews(db, dueCutoffs(deadlines, now))) {
    const due = dueAt(r, deadlines, now);
    // The query and the pure rule agree by construction; the rule has the last word.
    if (due.action === 'none' || due.action === 'wait') continue;
    const m = message('review.escalated', {
      review_id: r.reviewId,
      kind: r.kind,
      action: due.action,
      ...(due.escalate_to ? { escalated_to: due.escalate_to } : {}),
      deadline: due.deadline.toISOString(),
    });
    out.push({ id: deadlineMessageId(r.reviewId, due.level), scope: r.scope, type: m.type, payload: m.payload, attempt: 1, source: 'ticker', ts });
  }
  return out;
}

/** A held message is stranded once it has outlived a resume's publishes by this much. */
export const STRANDED_AFTER_MS = 60_000;

/** hold.released again for each message still held in a scope no longer paused. */
export async function strandedReleases(db: Queryable, now: number): Promise<Envelope[]> {
  const ts = new Date(now).toISOString();
  return (await strandedHeld(db, STRANDED_AFTER_MS)).map((h) => ({
    id: releaseId(h.scope, h.consumer, h.messageId, h.release),
    scope: h.scope,
    type: 'hold.released',
    payload: HoldReleased.parse({ consumer: h.consumer, message_id: h.messageId, release: h.release }),
    attempt: 1,
    source: 'ticker',
    ts,
  }));
}

export interface TickOptions {
  /** governance.yaml's `deadlines`, read at each tick (an edited policy applies to the next one). None: no review expires. */
  deadlines?: () => Deadlines;
}

export async function tick(db: Queryable, js: JetStreamClient, prefix: string, intervalMs: number, now = Date.now(), opts: TickOptions = {}): Promise<number> {
  const window = Math.floor(now / intervalMs);
  const { rows } = await db.query<{ scope_id: string }>(`SELECT scope_id FROM scopes WHERE status IN ('open', 'blocked') AND hold IS NULL ORDER BY scope_id`);
  let published = 0;
  const send = async (envs: Envelope[]) => {
    for (const env of envs) {
      const ack = await publishEnvelope(js, prefix, env);
      if (!ack.duplicate) published++;
    }
  };
  await send(rows.flatMap(({ scope_id }) => tickEnvelopes(scope_id, window)));
  // After the scopes' ticks: a policy that fails to load stops deadlines, not evaluations.
  if (opts.deadlines) await send(await deadlineEnvelopes(db, opts.deadlines(), now));
  await send(await strandedReleases(db, now));
  return published;
}
